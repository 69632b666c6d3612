// Owns: the slowloris figure of `kmed serve` (`npm run bench:serve-slowloris [-- options]`): one
// server (tiny models by default, its default limits unless --serve-args says otherwise) is
// queried by 8 closed-loop clients (one text per POST /v1/embeddings) in two kinds of cell,
// interleaved round by round: "clean" (the clients alone) and "slowloris" (the same clients while
// 200 stalled sockets are held open — half stop inside their headers, half after 4 bytes of a
// 1000-byte body — and each one the server cuts is reopened at once, as the attack does). Per
// cell: live clients' p50 / p99 latency and requests/s, non-200 answers, the server's peak RSS
// (sampled every 50 ms from /proc/PID/status, else /metrics), and how many stalled sockets the
// server cut. Prints a markdown table: medians over rounds, and the pooled p99 of each kind.
// Options: --seconds N (per cell, default 5), --rounds N (default 3), --clients N (default 8),
// --stalled N (default 200), --model tiny|synthetic, --threads N, --serve-args 'FLAGS'.
// Does not own the server (src/node/server/) or correctness (test/serve-faults*.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { median } from './median.js';
import { CLI, load, percentile, ROOT, send, startServer, type Server } from './serve-load.js';

interface Args {
  seconds: number;
  rounds: number;
  clients: number;
  stalled: number;
  model: string;
  threads?: number;
  serveArgs: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 5, rounds: 3, clients: 8, stalled: 200, model: 'tiny', serveArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--seconds': args.seconds = Number(value); i++; break;
      case '--rounds': args.rounds = Number(value); i++; break;
      case '--clients': args.clients = Number(value); i++; break;
      case '--stalled': args.stalled = Number(value); i++; break;
      case '--model': args.model = value; i++; break;
      case '--threads': args.threads = Number(value); i++; break;
      case '--serve-args': args.serveArgs = value.split(' ').filter(Boolean); i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return args;
}

const STALLED_HEADERS = 'POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\n';
const STALLED_BODY = 'POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"in';

/** Holds `count` stalled connections open, reopening each one the server closes, until stop(). */
function slowloris(url: URL, count: number) {
  const sockets = new Set<Socket>();
  let stopping = false;
  let cut = 0;
  let opened = 0;
  const open = (i: number) => {
    if (stopping) return;
    opened++;
    const socket = connect(Number(url.port), url.hostname, () => socket.write(i % 2 ? STALLED_HEADERS : STALLED_BODY));
    sockets.add(socket);
    socket.on('data', () => {}); // the 408 the server sends before it cuts
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (stopping) return;
      cut++;
      // Reopen, as an attacker would, but not in a busy loop if the server refuses at once.
      setTimeout(() => open(i), 10);
    });
  };
  for (let i = 0; i < count; i++) open(i);
  return {
    stop(): { cut: number; opened: number } {
      stopping = true;
      for (const socket of sockets) socket.destroy();
      return { cut, opened };
    },
  };
}

/** Peak resident memory of `pid` while `during` runs: /proc/PID/status every 50 ms (Linux), else
 *  the server's own /metrics once at the end. */
async function peakRss<T>(server: Server, during: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  const pid = server.child.pid;
  const status = `/proc/${pid}/status`;
  let peak = 0;
  const sample = () => {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(status, 'utf8'));
    if (m) peak = Math.max(peak, Number(m[1]) / 1024);
  };
  const proc = pid !== undefined && existsSync(status);
  const timer = proc ? setInterval(sample, 50) : undefined;
  if (proc) sample();
  const value = await during();
  if (timer) clearInterval(timer);
  if (!proc) {
    const text = (await send(server.url, 'GET', '/metrics', undefined, new Agent())).body;
    peak = Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
  }
  return { value, peakMiB: peak };
}

interface Row {
  rps: number[];
  p50: number[];
  p99: number[];
  rss: number[];
  latencies: number[];
  errors: number;
  cut: number[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const texts = readFileSync(join(ROOT, 'test/fixtures/corpus/queries.txt'), 'utf8').split('\n').filter((l) => l !== '');
  const bodies = texts.map((t) => JSON.stringify({ model: 'question', input: t }));
  const server = await startServer(args.model, args.threads, args.serveArgs);
  const info = JSON.parse((await send(server.url, 'GET', '/info', undefined, new Agent())).body) as { limits: Record<string, number> };
  console.log(`# kmed serve under slowloris\n`);
  console.log(`${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start; model ${args.model}; ${args.rounds} rounds × ${args.seconds} s per cell; ` +
    `${args.clients} clients, one text per request; ${args.stalled} stalled sockets in the slowloris cells; server limits ${JSON.stringify(info.limits)}.\n`);

  const rows = new Map<string, Row>();
  const row = (kind: string) => rows.get(kind) ?? rows.set(kind, { rps: [], p50: [], p99: [], rss: [], latencies: [], errors: 0, cut: [] }).get(kind)!;
  for (let round = 0; round < args.rounds; round++) {
    for (const kind of ['clean', 'slowloris']) {
      const attack = kind === 'slowloris' ? slowloris(server.url, args.stalled) : undefined;
      // Let the stalled sockets connect and stall before the clients start.
      if (attack) await new Promise((resolve) => setTimeout(resolve, 500));
      const { value: cell, peakMiB } = await peakRss(server, () => load(server, args.clients, args.seconds, bodies));
      const sockets = attack?.stop();
      const r = row(kind);
      r.rps.push(cell.ok / cell.seconds);
      r.p50.push(percentile(cell.latencies, 50));
      r.p99.push(percentile(cell.latencies, 99));
      r.rss.push(peakMiB);
      r.latencies.push(...cell.latencies);
      r.errors += [...cell.statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
      r.cut.push(sockets?.cut ?? 0);
      process.stderr.write(`round ${round + 1} ${kind}: ${(cell.ok / cell.seconds).toFixed(1)} req/s, p99 ${percentile(cell.latencies, 99).toFixed(1)} ms, ` +
        `peak RSS ${peakMiB.toFixed(1)} MiB${sockets ? `, ${sockets.cut} stalled sockets cut of ${sockets.opened} opened` : ''}\n`);
      // Let the cut sockets' state drain before the next cell.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  const code = await server.stop();
  console.log('| cell | req/s | p50 ms | p99 ms | pooled p99 ms | non-200 | server peak RSS MiB | stalled sockets cut per cell |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [kind, r] of rows) {
    console.log(`| ${kind} | ${median(r.rps).toFixed(1)} | ${median(r.p50).toFixed(1)} | ${median(r.p99).toFixed(1)} | ${percentile(r.latencies, 99).toFixed(1)} | ` +
      `${r.errors} | ${median(r.rss).toFixed(1)} (max ${Math.max(...r.rss).toFixed(1)}) | ${kind === 'clean' ? '-' : median(r.cut).toFixed(0)} |`);
  }
  console.log(`\nmedians over ${args.rounds} rounds (cells interleaved clean, slowloris per round); server exit after SIGTERM: ${code}; ` +
    `load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

await main();
