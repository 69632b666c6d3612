// Owns: the batch-scan benchmark — how many queries per second each scan kernel answers when it is
// given one query per pass over the rows against a batch of them, at a row count that does not fit
// in the caches (default 250000 × 768: 768 MB of f32 rows). Per kernel, interleaved run by run:
//   dotRows (1 query)   against dotRowsMany (NQ queries), f32 rows;
//   dotRowsI8 (1 query) against dotRowsManyI8 (NQ queries), int8 rows with per-row scales;
//   sumRows, the bandwidth floor of the f32 rows;
// timed in CPU time of the process (all threads: on a shared machine a long call is preempted
// more often than a short one, which wall time counts), with each call's rate in GB/s of rows and G multiply-adds/s, and the batch's speed-up in queries
// per second over the one-query kernel (the searchMany ratio, without top-k and re-rank).
// The compute ceiling of each batch kernel is bench/peaks.ts's (f32 mul+add; i16 dot) on as many
// threads. Not a test: it prints a table; timings compare only within one run.
//
//   npx tsx bench/search-batch.ts [--rows 250000] [--queries 32] [--threads 2] [--runs 7]
import { loadavg } from 'node:os';
import { createBackend } from '../src/kernels/index.js';
import { median } from './median.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option('rows', 250_000);
const NQ = option('queries', 32);
const THREADS = option('threads', 2);
const RUNS = option('runs', 7);
const D = 768;

const be = await createBackend('wasm', { threads: THREADS });
const rows32 = be.alloc(N * D * 4);
const rows8 = be.alloc(N * D);
const scales = be.alloc(N * 4);
const q32 = be.alloc(NQ * D * 4);
const q16 = be.alloc(NQ * D * 2);
const qScales = be.alloc(NQ * 4);
const out = be.alloc(N * NQ * 4);
{
  // Seeded values in range (the scores are not looked at, only the time).
  let s = 12345;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const f = be.f32(rows32, N * D);
  for (let i = 0; i < f.length; i++) f[i] = next() * 0.1;
  const b = new Int8Array(be.memory.buffer, rows8, N * D);
  for (let i = 0; i < b.length; i++) b[i] = Math.round(next() * 254);
  be.f32(scales, N).fill(1e-3);
  const q = be.f32(q32, NQ * D);
  for (let i = 0; i < q.length; i++) q[i] = next() * 0.1;
  const h = new Int16Array(be.memory.buffer, q16, NQ * D);
  for (let i = 0; i < h.length; i++) h[i] = Math.round(next() * 8190);
  be.f32(qScales, NQ).fill(1e-4);
}

/** CPU milliseconds of the process (every thread) spent in fn: on a machine shared with other
 *  work a long call is preempted more often than a short one, which wall time would count. */
const time = (fn: () => void): number => {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
};
const kernels: Record<string, () => void> = {
  'sumRows (floor, f32 rows)': () => be.sumRows(out, rows32, N, D),
  'dotRows (1 query, f32)': () => be.dotRows(out, rows32, q32, N, D),
  [`dotRowsMany (${NQ} queries, f32)`]: () => be.dotRowsMany(out, rows32, q32, N, NQ, D, N),
  'dotRowsI8 (1 query, int8)': () => be.dotRowsI8(out, rows8, scales, q16, N, D, 1e-4),
  [`dotRowsManyI8 (${NQ} queries, int8)`]: () => be.dotRowsManyI8(out, rows8, scales, q16, qScales, N, NQ, D, N),
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(kernels).map((k) => [k, []]));
for (const fn of Object.values(kernels)) fn(); // warm-up
for (let run = 0; run < RUNS; run++) for (const [name, fn] of Object.entries(kernels)) times[name].push(time(fn));
const ms = (name: string) => median(times[name]);

const rowBytes = (name: string) => (name.includes('int8') ? N * D : N * D * 4);
const queriesOf = (name: string) => (name.includes('1 query') || name.includes('floor') ? 1 : NQ);
const single = (name: string) => (name.includes('int8') ? 'dotRowsI8 (1 query, int8)' : 'dotRows (1 query, f32)');
console.log(`# bench/search-batch.ts: ${N} × ${D}, ${THREADS} threads, median of ${RUNS}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
console.log('| kernel | CPU ms per call (all threads) | GB/s of rows per CPU | G multiply-adds/s per CPU | queries per CPU-second | × the 1-query kernel\'s queries/s |');
console.log('|---|---|---|---|---|---|');
for (const name of Object.keys(kernels)) {
  const t = ms(name);
  const nq = queriesOf(name);
  const qps = (nq * 1000) / t;
  const speedup = name.includes('Many') ? `${(qps / ((1000) / ms(single(name)))).toFixed(2)}×` : '-';
  console.log(`| ${name} | ${t.toFixed(1)} | ${(rowBytes(name) / t / 1e6).toFixed(1)} | ${name.includes('floor') ? '-' : ((N * D * nq) / t / 1e6).toFixed(1)} | ${name.includes('floor') ? '-' : qps.toFixed(1)} | ${speedup} |`);
}
console.log(`\nf32 1-query vs the floor: ${(ms('dotRows (1 query, f32)') / ms('sumRows (floor, f32 rows)')).toFixed(2)}×; int8 1-query vs f32 1-query: ${(ms('dotRows (1 query, f32)') / ms('dotRowsI8 (1 query, int8)')).toFixed(2)}× faster`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
be.dispose();
