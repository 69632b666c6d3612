// Owns: what the serve benches share (bench/serve.ts, bench/serve-slowloris.ts): the bench model
// folders (tiny fixtures, or the full-size synthetic pair written once by `kmed synth` into
// .bench-cache/), starting `kmed serve` on a free port and waiting for /ready, a hand-written
// bounded HTTP client (node:http, keep-alive, 127.0.0.1 only) that awaits every request it starts,
// the closed-loop load of N clients, and the percentile the tables print.
// Does not own the server (src/node/server/) or what a bench measures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const CLI = join(ROOT, 'dist/cli/main.js');
const CACHE = join(ROOT, '.bench-cache');

/** The model folders of a bench model name. */
export function modelDirs(name: string): { question: string; context: string } {
  if (name === 'tiny') return { question: join(ROOT, 'test/fixtures/tiny-question'), context: join(ROOT, 'test/fixtures/tiny-context') };
  if (name !== 'synthetic') throw new Error(`unknown model ${name} (tiny or synthetic)`);
  const dirs = { question: join(CACHE, 'serve-synthetic-question'), context: join(CACHE, 'serve-synthetic-context') };
  mkdirSync(CACHE, { recursive: true });
  for (const role of ['question', 'context'] as const) {
    if (existsSync(join(dirs[role], 'model.safetensors'))) continue;
    process.stderr.write(`writing the synthetic ${role} model to ${dirs[role]} ...\n`);
    const r = spawnSync(process.execPath, [CLI, 'synth', '--seed', role, '--out', dirs[role], '--vocab', join(ROOT, 'test/fixtures/tokenizer/vocab.txt')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`kmed synth --seed ${role} failed`);
  }
  return dirs;
}

export interface Server {
  child: ChildProcess;
  url: URL;
  stop(): Promise<number | null>;
}

export async function startServer(model: string, threads: number | undefined, extra: string[] = []): Promise<Server> {
  const dirs = modelDirs(model);
  const args = [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--question-model', dirs.question, '--context-model', dirs.context, ...extra];
  if (threads) args.push('--threads', String(threads));
  // Access logs go to stderr; drop them (a pipe nobody reads would block the server).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let out = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(new URL(m[1]));
    });
    void exit.then((code) => reject(new Error(`server exited with ${code}`)));
  });
  for (;;) {
    const r = await send(url, 'GET', '/ready', undefined, new Agent());
    if (r.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    url,
    stop: async () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}

export function send(url: URL, method: string, path: string, body: string | undefined, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' })); // status 0: a connection error
    if (body) req.write(body);
    req.end();
  });
}

export interface Cell {
  ok: number;
  statuses: Map<number, number>;
  latencies: number[];
  seconds: number;
}

/** `clients` loops, each sending one text at a time until `seconds` pass; all started requests are awaited. */
export async function load(server: Server, clients: number, seconds: number, bodies: string[]): Promise<Cell> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const statuses = new Map<number, number>();
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let lastEnd = t0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const body = bodies[next++ % bodies.length];
        const start = performance.now();
        const r = await send(server.url, 'POST', '/v1/embeddings', body, agent);
        const end = performance.now();
        lastEnd = Math.max(lastEnd, end);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) {
          ok++;
          latencies.push(end - start);
        } else if (r.status === 503) {
          // A client that respects Retry-After would wait; here the point is to count them, so a
          // short pause keeps the loop from spinning.
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    }),
  );
  agent.destroy();
  return { ok, statuses, latencies, seconds: (lastEnd - t0) / 1000 };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
