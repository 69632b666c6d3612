// Owns: how promptly `kmed index` stops on SIGINT without a terminal, on the full-size synthetic
// model (`kmed synth`, klue/bert-base shape), and why the design is what it is. Two tables:
//  1. Does a forward pass hold the thread that runs it? Encoder.embed of one batch on the main
//     thread, 1 and 2 threads: the longest event-loop gap (a 10 ms timer) against the embed time.
//  2. SIGINT to the "progress is saved" line and to exit, for `kmed index` built from this tree
//     (encoder on its own thread, the batch in flight abandoned) and, with --baseline, an older
//     dist/cli/main.js (which finished the batch first), interleaved, the same moments; with the
//     batch time (between two checkpoints) the older design had to wait for at worst, and the
//     peak RSS of each process (VmHWM).
// Not a test: timings only (correctness of the stop is test/cli-product.test.ts).
//
//   npm run build && npx tsx bench/index-interrupt.ts [--runs 5] [--batch-size 32] [--baseline /path/to/old/dist/cli/main.js]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './median.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg('--runs', '5'));
const BATCH = arg('--batch-size', '32');
const BASELINE = process.argv.includes('--baseline') ? resolve(arg('--baseline', '')) : undefined;
const CLI = resolve('dist/cli/main.js');
const CORPUS = resolve('test/fixtures/corpus/corpus.txt');
const VOCAB = resolve('test/fixtures/tokenizer/vocab.txt');

function run(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((done) => spawn(cmd, args, { stdio: 'inherit' }).on('exit', done));
}

/** Peak resident memory (VmHWM, MiB) of a running process, or NaN. */
function peakRss(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

interface Stop {
  lineMs: number;
  exitMs: number;
  rssMiB: number;
  count: number;
}

/** One `kmed index` run interrupted `delayMs` after its first checkpoint. */
async function interrupt(cli: string, model: string, work: string, threads: number, delayMs: number): Promise<Stop> {
  const out = join(work, `run-${threads}.kidx`);
  for (const p of [out, `${out}.partial`, `${out}.lock`]) rmSync(p, { recursive: true, force: true });
  const child = spawn(process.execPath, [cli, 'index', '--question-model', model, '--context-model', model, '--corpus', CORPUS, '--out', out, '--batch-size', BATCH, '--threads', String(threads)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let sent = 0;
  let lineMs = NaN;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (sent && Number.isNaN(lineMs) && stderr.includes('progress is saved')) lineMs = performance.now() - sent;
  });
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const checkpoint = join(`${out}.partial`, 'checkpoint.json');
  while (!existsSync(checkpoint) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, delayMs));
  const rssMiB = peakRss(child.pid!);
  sent = performance.now();
  child.kill('SIGINT');
  await exited;
  const exitMs = performance.now() - sent;
  const count = Number(/interrupted after (\d+) passages/.exec(stderr)?.[1] ?? NaN);
  return { lineMs, exitMs, rssMiB, count };
}

/** Time of one batch: first checkpoint to second, in an uninterrupted start. */
async function batchTime(model: string, work: string, threads: number): Promise<number> {
  const out = join(work, `batch-${threads}.kidx`);
  for (const p of [out, `${out}.partial`, `${out}.lock`]) rmSync(p, { recursive: true, force: true });
  const child = spawn(process.execPath, [CLI, 'index', '--question-model', model, '--context-model', model, '--corpus', CORPUS, '--out', out, '--batch-size', BATCH, '--threads', String(threads)], { stdio: 'ignore' });
  const checkpoint = join(`${out}.partial`, 'checkpoint.json');
  const countOf = () => {
    try {
      return (JSON.parse(readFileSync(checkpoint, 'utf8')) as { count: number }).count;
    } catch {
      return 0;
    }
  };
  while (countOf() === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  const first = performance.now();
  const n = countOf();
  while (countOf() === n && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - first;
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  return ms;
}

/** Longest event-loop gap while Encoder.embed runs one batch on the main thread. */
async function mainThreadGap(model: string, threads: number): Promise<{ embedMs: number; gapMs: number }> {
  const { Encoder } = (await import(resolve('dist/node/index.js'))) as typeof import('../src/node/index.js');
  const texts = readFileSync(CORPUS, 'utf8').split('\n').filter(Boolean).slice(0, Number(BATCH));
  const encoder = await Encoder.fromDirectory(model, { threads });
  await encoder.embed(texts.slice(0, 2));
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 10);
  const started = performance.now();
  await encoder.embed(texts);
  const embedMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  encoder.dispose();
  return { embedMs, gapMs: gap };
}

const work = mkdtempSync(join(tmpdir(), 'kmed-interrupt-'));
try {
  const model = join(work, 'model');
  if ((await run(process.execPath, [CLI, 'synth', '--seed', 'context', '--out', model, '--vocab', VOCAB])) !== 0) throw new Error('kmed synth failed');

  console.log(`\n## 1. Does the forward pass hold its thread? (full-size synthetic model, one batch of ${BATCH} passages, Encoder.embed on the main thread)\n`);
  console.log('| threads | embed ms | longest event-loop gap ms |\n|---|---|---|');
  for (const threads of [1, 2]) {
    const r = await mainThreadGap(model, threads);
    console.log(`| ${threads} | ${r.embedMs.toFixed(0)} | ${r.gapMs.toFixed(0)} |`);
  }

  console.log(`\n## 2. kmed index, SIGINT without a terminal (batch size ${BATCH}; ${RUNS} runs each, interleaved; medians)\n`);
  const builds: Array<[string, string]> = [['this tree', CLI], ...(BASELINE ? [['baseline', BASELINE] as [string, string]] : [])];
  console.log('| build | threads | SIGINT → saved line ms | SIGINT → exit ms | batch ms (worst wait before) | passages kept | peak RSS MiB |\n|---|---|---|---|---|---|---|');
  for (const threads of [1, 2]) {
    const batchMs = await batchTime(model, work, threads);
    const stops = new Map<string, Stop[]>(builds.map(([name]) => [name, []]));
    for (let r = 0; r < RUNS; r++) {
      // The signal lands at a different point of the batch in each run, the same for every build.
      const delay = Math.round((batchMs * (r + 0.5)) / RUNS);
      for (const [name, cli] of builds) stops.get(name)!.push(await interrupt(cli, model, work, threads, delay));
    }
    for (const [name] of builds) {
      const s = stops.get(name)!;
      const m = (f: (x: Stop) => number) => median(s.map(f)).toFixed(0);
      console.log(`| ${name} | ${threads} | ${m((x) => x.lineMs)} | ${m((x) => x.exitMs)} | ${batchMs.toFixed(0)} | ${[...new Set(s.map((x) => x.count))].join(', ')} | ${m((x) => x.rssMiB)} |`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
