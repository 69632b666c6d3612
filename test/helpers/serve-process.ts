// `kmed serve` as a child process for the server tests: start it on a free port (resolving once
// the listening line is printed), wait for /ready, POST JSON, check OpenAI's error shape, and kill
// whatever is left at the end. The caller's KMED_* variables never leak into the child.
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { CLI } from './run-cli.js';

export const Q = 'test/fixtures/tiny-question';
export const C = 'test/fixtures/tiny-context';
export const MODELS = ['--question-model', Q, '--context-model', C];

export interface Server {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const servers: Server[] = [];

/** SIGKILL every server a test left running. */
export function killServers(): void {
  for (const s of servers.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
}

/** Start `kmed serve --port 0 ...`; resolves once the listening line is printed. */
export async function startServer(args: string[], env: Record<string, string> = {}): Promise<Server> {
  // No KMED_* setting from the caller's environment leaks in (an empty KMED_API_KEY is refused).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KMED_')));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...MODELS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, ...env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 120_000);
    const check = () => {
      const m = /^kmed: listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    void exit.then((code) => reject(new Error(`server exited with ${code} before listening: ${err}`)));
  });
  const server = { child, url, stdout: () => out, stderr: () => err, exit };
  servers.push(server);
  return server;
}

export async function waitReady(server: Server, headers: Record<string, string> = {}): Promise<void> {
  for (const until = Date.now() + 120_000; Date.now() < until; ) {
    const r = await fetch(`${server.url}/ready`, { headers });
    const body = (await r.json()) as { status: string };
    if (r.status === 200) {
      expect(body.status).toBe('ready');
      return;
    }
    // Before the models are loaded: 503, saying so, with a retry hint.
    expect(r.status).toBe(503);
    expect(body.status).toBe('loading');
    expect(r.headers.get('retry-after')).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('server never became ready');
}

export async function post(server: Server, path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return readAnswer(r);
}

/** A response's status, headers, text, and its JSON (undefined when the text is not JSON). */
export async function readAnswer(r: Response): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, json, text };
}

export function expectOpenAIError(r: Awaited<ReturnType<typeof post>>, status: number, param: string | null, mention: RegExp): void {
  expect(r.status, r.text).toBe(status);
  expect(Object.keys(r.json)).toEqual(['error']);
  expect(Object.keys(r.json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(r.json.error.param).toBe(param);
  expect(r.json.error.message).toMatch(mention);
  expect(typeof r.json.error.code).toBe('string');
}
