// Owns: the load test of `kmed serve` (`npm run bench:serve [-- options]`, issue 13 item 1): a
// hand-written bounded HTTP client (node:http, keep-alive, on 127.0.0.1 only) runs 1, 8 and 64
// concurrent clients against the server, each client sending one text per POST /v1/embeddings and
// waiting for the answer, for a fixed time; every request it starts is awaited, so none is lost from
// the latency or error counts. Offline `Encoder.embed` throughput on the same texts, same model and
// thread count is measured in the same run, interleaved with the served cells (offline, then the
// three client counts, per round), and each served cell is reported as a fraction of its round's
// offline throughput. Models: the tiny fixtures and the full-size synthetic pair (`kmed synth`,
// cached in .bench-cache/). Also an overload cell (a server with a small --max-queue under 64
// clients: its 503s are deliberate) and a soak (`--soak SECONDS`) sampling the server's RSS every
// 10 s. Prints markdown tables (medians over rounds).
// Options: --seconds N (per cell, default 5), --rounds N (default 3), --models tiny,synthetic,
// --clients 1,8,64, --threads N (server and offline; default: one per core), --soak N (0: none),
// --soak-model tiny|synthetic, --serve-args 'FLAGS' (extra kmed serve flags for the measured servers).
// Does not own the server (src/node/server/) or correctness (test/serve.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Encoder } from '../src/node/encoder.js';
import { median } from './median.js';
import { CLI, load, modelDirs, percentile, ROOT, send, startServer, type Server } from './serve-load.js';

interface Args {
  seconds: number;
  rounds: number;
  models: string[];
  clients: number[];
  threads?: number;
  soak: number;
  soakModel: string;
  /** Extra `kmed serve` flags for the measured servers (e.g. --max-wait-ms 10). */
  serveArgs: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 5, rounds: 3, models: ['tiny', 'synthetic'], clients: [1, 8, 64], soak: 0, soakModel: 'tiny', serveArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--seconds': args.seconds = Number(value); i++; break;
      case '--rounds': args.rounds = Number(value); i++; break;
      case '--models': args.models = value.split(','); i++; break;
      case '--clients': args.clients = value.split(',').map(Number); i++; break;
      case '--threads': args.threads = Number(value); i++; break;
      case '--soak': args.soak = Number(value); i++; break;
      case '--soak-model': args.soakModel = value; i++; break;
      case '--serve-args': args.serveArgs = value.split(' ').filter(Boolean); i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return args;
}

/** Texts per second of `Encoder.embed` (batchSize 8, as `kmed embed`) over `texts`, for at least `seconds`. */
async function offline(encoder: Encoder, texts: string[], seconds: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  do {
    await encoder.embed(texts);
    n += texts.length;
  } while (performance.now() - t0 < seconds * 1000);
  return n / ((performance.now() - t0) / 1000);
}

/** Texts and merged calls so far (the question encoder's kmed_batch_inputs histogram). */
async function batchStats(server: Server): Promise<{ sum: number; count: number }> {
  const text = (await send(server.url, 'GET', '/metrics', undefined, new Agent())).body;
  const read = (what: string) => Number(new RegExp(`^kmed_batch_inputs_${what}\\{model="question"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}

async function rssSeries(server: Server, seconds: number, bodies: string[]): Promise<Array<{ t: number; rssMiB: number; done: number }>> {
  const samples: Array<{ t: number; rssMiB: number; done: number }> = [];
  const metricsAgent = new Agent();
  const t0 = performance.now();
  let done = 0;
  const sample = async () => {
    const text = (await send(server.url, 'GET', '/metrics', undefined, metricsAgent)).body;
    const m = /^process_resident_memory_bytes (\d+)/m.exec(text);
    done = Number(/^kmed_inputs_total\{model="question"\} (\d+)/m.exec(text)?.[1] ?? 0);
    samples.push({ t: Math.round((performance.now() - t0) / 1000), rssMiB: m ? Number(m[1]) / 2 ** 20 : NaN, done });
  };
  await sample();
  const timer = setInterval(() => void sample(), 10_000);
  const cell = await load(server, 8, seconds, bodies);
  clearInterval(timer);
  await sample();
  const bad = [...cell.statuses].filter(([s]) => s !== 200);
  if (bad.length) process.stderr.write(`soak: non-200 answers ${JSON.stringify(Object.fromEntries(bad))}\n`);
  return samples;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const texts = readFileSync(join(ROOT, 'test/fixtures/corpus/queries.txt'), 'utf8').split('\n').filter((l) => l !== '');
  const bodies = texts.map((t) => JSON.stringify({ model: 'question', input: t }));
  console.log(`# kmed serve load test\n`);
  console.log(`${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start; ${args.rounds} rounds × ${args.seconds} s per cell; ` +
    `one text per request (test/fixtures/corpus/queries.txt, ${texts.length} questions), question encoder, threads ${args.threads ?? 'default'}.\n`);

  const rows: string[] = [];
  for (const model of args.models) {
    const server = await startServer(model, args.threads, args.serveArgs);
    const encoder = await Encoder.fromDirectory(modelDirs(model).question, { threads: args.threads });
    const perClients = new Map<number, { rps: number[]; fraction: number[]; p50: number[]; p99: number[]; perCall: number[]; statuses: Map<number, number> }>();
    const offlineRates: number[] = [];
    for (let round = 0; round < args.rounds; round++) {
      const off = await offline(encoder, texts, Math.min(args.seconds, 3));
      offlineRates.push(off);
      for (const clients of args.clients) {
        const before = await batchStats(server);
        const cell = await load(server, clients, args.seconds, bodies);
        const after = await batchStats(server);
        const rps = cell.ok / cell.seconds;
        const entry = perClients.get(clients) ?? { rps: [], fraction: [], p50: [], p99: [], perCall: [], statuses: new Map() };
        entry.perCall.push((after.sum - before.sum) / Math.max(1, after.count - before.count));
        entry.rps.push(rps);
        entry.fraction.push(rps / off);
        entry.p50.push(percentile(cell.latencies, 50));
        entry.p99.push(percentile(cell.latencies, 99));
        for (const [s, n] of cell.statuses) entry.statuses.set(s, (entry.statuses.get(s) ?? 0) + n);
        perClients.set(clients, entry);
        process.stderr.write(`${model} round ${round + 1}: offline ${off.toFixed(1)} texts/s, ${clients} clients ${rps.toFixed(1)} req/s\n`);
      }
    }
    encoder.dispose();
    const code = await server.stop();
    for (const [clients, e] of perClients) {
      const errors = [...e.statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
      const fivexx = [...e.statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
      rows.push(`| ${model} | ${clients} | ${median(e.rps).toFixed(1)} | ${median(offlineRates).toFixed(1)} | ${(100 * median(e.fraction)).toFixed(0)} % | ` +
        `${median(e.p50).toFixed(1)} | ${median(e.p99).toFixed(1)} | ${errors} | ${fivexx} | ${e.statuses.get(503) ?? 0} | ${median(e.perCall).toFixed(1)} |`);
    }
    if (code !== 0) rows.push(`| ${model} | server exited with ${code} after SIGTERM | | | | | | | | |`);
  }
  console.log('| model | clients | req/s (1 text each) | offline texts/s | served / offline | p50 ms | p99 ms | errors | 5xx | 503 | texts per forward call |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);

  // Overload on purpose: a queue of 8 texts under 64 clients; the 503s are the point.
  const overloaded = await startServer('tiny', args.threads, ['--max-queue', '8']);
  const cell = await load(overloaded, 64, args.seconds, bodies);
  await overloaded.stop();
  const other5xx = [...cell.statuses].filter(([s]) => s >= 500 && s !== 503).reduce((n, [, c]) => n + c, 0);
  console.log(`\nOverload (tiny, --max-queue 8, 64 clients, ${args.seconds} s): ${cell.ok} × 200 (${(cell.ok / cell.seconds).toFixed(1)} req/s, ` +
    `p50 ${percentile(cell.latencies, 50).toFixed(1)} ms, p99 ${percentile(cell.latencies, 99).toFixed(1)} ms), ${cell.statuses.get(503) ?? 0} × 503, ` +
    `${other5xx} other 5xx, ${cell.statuses.get(0) ?? 0} connection errors; all statuses ${JSON.stringify(Object.fromEntries(cell.statuses))}`);

  if (args.soak > 0) {
    const server = await startServer(args.soakModel, args.threads);
    const samples = await rssSeries(server, args.soak, bodies);
    await server.stop();
    console.log(`\nSoak (${args.soakModel}, 8 clients, ${args.soak} s): server RSS every ~10 s\n`);
    console.log('| t (s) | RSS MiB | texts embedded |');
    console.log('|---|---|---|');
    for (const s of samples) console.log(`| ${s.t} | ${s.rssMiB.toFixed(1)} | ${s.done} |`);
    const firstHalf = samples.filter((s) => s.t > 0 && s.t <= args.soak / 2).map((s) => s.rssMiB);
    const secondHalf = samples.filter((s) => s.t > args.soak / 2).map((s) => s.rssMiB);
    if (firstHalf.length && secondHalf.length) {
      console.log(`\nmedian RSS first half ${median(firstHalf).toFixed(1)} MiB, second half ${median(secondHalf).toFixed(1)} MiB ` +
        `(${(median(secondHalf) - median(firstHalf)).toFixed(1)} MiB)`);
    }
  }
  console.log(`\nload average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

await main();
