// Owns: the exact-search benchmark at corpus scale. Makes clustered 768-d unit vectors as a .npy
// (1000 centroids, seeded), indexes them with `kmed index --vectors` (f32, and --row-dtype int8 and
// f16), and prints one table of, in one run and one process where it can:
//   - reading the index file once (4 MiB reads; cold when this user may drop the page cache, else
//     said to be warm) against `kmed search --query-vectors` open + first exact query, end to end
//     (a fresh process, its peak RSS from /usr/bin/time);
//   - warm exact queries in both modes against their floor, interleaved: resident against a wasm
//     loop that loads every float of as many rows in the heap (sum_rows_f32, same threads);
//     streaming against reading the file's rows through the same window into the heap;
//   - searchMany(32) against 32 single queries (f32 exact; int8 scan rows);
//   - int8 and f16 scan rows (re-ranked in f32) against f32 exact: query time and recall@10;
//   - this process's peak RSS.
// Medians of RUNS runs. Needs `npm run build` (the CLI runs from dist/). Timings taken on a busy
// machine are not results. Run:
//   npx tsx bench/search-exact.ts [N=250000] [--threads 2] [--seed 1] [--runs 7]
// (1M rows = 3 GB of vectors: run under `flock /tmp/kmed-bigmem.lock`).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../src/node/index.js';
import { openSearchSession } from '../src/bi-encoder.js';
import { createBackend } from '../src/kernels/index.js';
import { fileSource } from '../src/node/fs/file-source.js';
import type { SearchSession } from '../src/search/similarity.js';
import { VectorIndex } from '../src/search/vector-index.js';
import { npyHeader } from '../test/helpers/npy-writer.js';
import { median } from './median.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 250_000);
const THREADS = flag('threads', 2);
const SEED = flag('seed', 1);
const RUNS = flag('runs', 7);
const D = 768;
const CENTROIDS = 1000;
const QUERIES = 64;
const CLI = 'dist/cli/main.js';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 2 ** 32;
  };
  return { u, gauss: () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) };
}

/** `count` unit vectors near `centroids` seeded directions (noise 0.5 per coordinate before scaling
 *  the centroid to length √D: well-separated clusters), written as a float32 .npy in 8 MiB pieces. */
function writeClusteredNpy(path: string, count: number, seed: number): void {
  const c = rng(SEED * 7919);
  const centroids = Float32Array.from({ length: CENTROIDS * D }, c.gauss);
  const r = rng(seed);
  const fd = openSync(path, 'w');
  writeSync(fd, npyHeader('<f4', [count, D]));
  const per = Math.floor((8 << 20) / (D * 4));
  const rows = new Float32Array(per * D);
  for (let r0 = 0; r0 < count; r0 += per) {
    const n = Math.min(per, count - r0);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(r.u() * CENTROIDS);
      let norm = 0;
      for (let d = 0; d < D; d++) {
        const x = centroids[k * D + d] + 0.5 * r.gauss();
        rows[i * D + d] = x;
        norm += x * x;
      }
      norm = Math.sqrt(norm);
      for (let d = 0; d < D; d++) rows[i * D + d] /= norm;
    }
    writeSync(fd, new Uint8Array(rows.buffer, 0, n * D * 4));
  }
  closeSync(fd);
}

function readNpyRows(path: string, count: number): Float32Array[] {
  const m = new Float32Array(count * D);
  const fd = openSync(path, 'r');
  readSync(fd, new Uint8Array(m.buffer), 0, m.byteLength, 128);
  closeSync(fd);
  return Array.from({ length: count }, (_, i) => m.subarray(i * D, (i + 1) * D));
}

/** Drop the page cache if this user may (root, writable /proc/sys/vm); false otherwise. */
function dropCaches(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function kmed(cliArgs: string[]): { ms: number; rssMiB: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, CLI, ...cliArgs], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`kmed ${cliArgs.join(' ')}: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { ms, rssMiB: kb / 1024, stdout: r.stdout };
}

const timeIt = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

const dir = mkdtempSync(join(tmpdir(), 'kmed-bench-search-'));
const rowsOut: string[][] = [];
const row = (...cells: string[]) => rowsOut.push(cells);
try {
  // A stand-in context model folder: a 768-wide config and placeholder weights, enough for the
  // fingerprint the import records (the vectors are synthetic, no weights are loaded).
  const model = join(dir, 'model');
  mkdirSync(model);
  writeFileSync(join(model, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: D, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 32000, max_position_embeddings: 512, type_vocab_size: 2, hidden_act: 'gelu', layer_norm_eps: 1e-12 }));
  writeFileSync(join(model, 'model.safetensors'), 'placeholder weights: the vectors were imported');
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, Array.from({ length: N }, (_, i) => `passage ${i}`).join('\n') + '\n');
  let t = performance.now();
  const vectors = join(dir, 'vectors.npy');
  writeClusteredNpy(vectors, N, SEED);
  const queriesPath = join(dir, 'queries.npy');
  writeClusteredNpy(queriesPath, QUERIES, SEED + 1000);
  const firstQuery = join(dir, 'query0.npy');
  writeClusteredNpy(firstQuery, 1, SEED + 1000);
  console.log(`wrote ${N} × ${D} clustered unit vectors (${CENTROIDS} centroids, seed ${SEED}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const indexes: Record<'f32' | 'int8' | 'f16', string> = { f32: join(dir, 'f32.kidx'), int8: join(dir, 'int8.kidx'), f16: join(dir, 'f16.kidx') };
  for (const [kind, out] of Object.entries(indexes)) {
    const extra = kind === 'f32' ? [] : ['--row-dtype', kind];
    const built = kmed(['index', '--corpus', corpus, '--vectors', vectors, '--context-model', model, '--out', out, ...extra]);
    console.log(`kmed index --vectors ${extra.join(' ')}: ${(built.ms / 1000).toFixed(1)} s, ${(statSync(out).size / 2 ** 30).toFixed(2)} GiB, peak RSS ${built.rssMiB.toFixed(0)} MiB`);
  }
  rmSync(vectors);

  // --- Cold: one read of the file vs kmed search --query-vectors, end to end -----------------------
  const cold = dropCaches();
  const path = indexes.f32;
  const fileBytes = statSync(path).size;
  const buf = new Uint8Array(4 << 20);
  const readOnce = () => {
    const fd = openSync(path, 'r');
    for (let at = 0; at < fileBytes; at += buf.length) readSync(fd, buf, 0, Math.min(buf.length, fileBytes - at), at);
    closeSync(fd);
  };
  const reads: number[] = [];
  const firsts: Array<{ ms: number; rssMiB: number }> = [];
  const starts: number[] = [];
  for (let run = 0; run < 3; run++) {
    if (cold) dropCaches();
    // The process's fixed cost in the same cache state: Node, kmed's modules and a tiny index.
    starts.push(kmed(['verify-index', 'test/fixtures/index/known-v3.kidx']).ms);
    if (cold) dropCaches();
    reads.push(timeIt(readOnce));
    if (cold) dropCaches();
    firsts.push(kmed(['search', '--index', path, '--query-vectors', firstQuery, '--json', '-k', '10', '--threads', String(THREADS)]));
  }
  const readMs = median(reads);
  const firstMs = median(firsts.map((f) => f.ms));
  const how = cold ? 'cold (page cache dropped before each)' : 'WARM page cache (no permission to drop it)';
  row(`read the ${(fileBytes / 2 ** 30).toFixed(2)} GiB index once, 4 MiB reads, ${how}`, fmt(readMs), '1.00×');
  row(`kmed search --query-vectors (1 query), process start to exit, ${how}`, fmt(firstMs), `${(firstMs / readMs).toFixed(2)}× the read; peak RSS ${median(firsts.map((f) => f.rssMiB)).toFixed(0)} MiB`);
  row(`of which the process's fixed cost: kmed verify-index of an 803-byte index, same cache state`, fmt(median(starts)), `${((firstMs - median(starts)) / readMs).toFixed(2)}× the read without it`);

  // --- Warm, in process: resident and streaming vs their floors ------------------------------------
  const queries = readNpyRows(queriesPath, QUERIES);
  const source = fileSource(path);
  const index = VectorIndex.open(source);
  const session = async (options: Parameters<typeof openSearchSession>[1]) => openSearchSession(index, { threads: THREADS, ...options });

  t = performance.now();
  const resident = await session({ mode: 'resident' });
  const openResidentMs = performance.now() - t;
  const floorBackend = await createBackend('wasm', { threads: THREADS });
  const floorRows = floorBackend.alloc(N * D * 4);
  const floorOut = floorBackend.alloc(N * 4);
  floorBackend.f32(floorRows, N * D).fill(0.001);
  const floor: number[] = [];
  const residentQ: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    floor.push(timeIt(() => floorBackend.sumRows(floorOut, floorRows, N, D)));
    residentQ.push(timeIt(() => resident.search(queries[run % QUERIES], 10)));
  }
  floorBackend.dispose();
  const floorMs = median(floor);
  const residentMs = median(residentQ);
  row(`resident session open (read + verify every row into the heap), ${THREADS} threads`, fmt(openResidentMs), `${(openResidentMs / readMs).toFixed(2)}× the read`);
  row(`floor: sum_rows_f32 over ${N} × ${D} in the heap (${((N * D * 4) / floorMs / 1e6).toFixed(1)} GB/s)`, fmt(floorMs), '1.00×');
  row(`warm exact query, resident (search, k = 10)`, fmt(residentMs), `${(residentMs / floorMs).toFixed(2)}× the floor`);

  // searchMany(32) vs single queries (resident).
  const batch = queries.slice(0, 32);
  const many: number[] = [];
  const singles: number[] = [];
  for (let run = 0; run < Math.max(3, Math.ceil(RUNS / 2)); run++) {
    many.push(timeIt(() => resident.searchMany(batch, 10)));
    singles.push(timeIt(() => resident.search(batch[run % 32], 10)));
  }
  const manyMs = median(many);
  const singleMs = median(singles);
  row(`searchMany(32 queries), resident`, fmt(manyMs), `${((32 * singleMs) / manyMs).toFixed(1)}× the single-query rate (${fmt(manyMs / 32)} ms per query)`);
  const exactTop = resident.searchMany(queries, 10);
  resident.dispose();

  // Streaming: its floor is reading the rows through the same window into the heap.
  const streaming = await session({ mode: 'streaming' });
  streaming.search(queries[0], 10); // the first pass verifies
  const windowBytes = 4 << 20;
  const streamBackend = await createBackend('wasm', { threads: 1 });
  const window = streamBackend.alloc(windowBytes);
  const span = index.layout.sections.vectors;
  const readRows = () => {
    const view = new Uint8Array(streamBackend.memory.buffer, window, windowBytes);
    for (let at = 0; at < span.length; at += windowBytes) source.readInto(span.start + at, view.subarray(0, Math.min(windowBytes, span.length - at)));
  };
  const streamFloor: number[] = [];
  const streamQ: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    streamFloor.push(timeIt(readRows));
    streamQ.push(timeIt(() => streaming.search(queries[run % QUERIES], 10)));
  }
  streamBackend.dispose();
  streaming.dispose();
  row(`floor: read the ${(span.length / 2 ** 30).toFixed(2)} GiB of rows through a 4 MiB heap window (warm page cache)`, fmt(median(streamFloor)), '1.00×');
  row(`warm exact query, streaming (search, k = 10)`, fmt(median(streamQ)), `${(median(streamQ) / median(streamFloor)).toFixed(2)}× the floor`);

  // --- Scan rows vs f32 --------------------------------------------------------------------------
  for (const kind of ['int8', 'f16'] as const) {
    const src = fileSource(indexes[kind]);
    const x = VectorIndex.open(src);
    const s: SearchSession = await openSearchSession(x, { threads: THREADS, mode: 'resident' });
    // All the queries once first (their recall): a candidate's f32 block is verified on its first
    // touch, ~64 KiB per candidate, which the timed runs should not count again.
    const firstTouch = timeIt(() => s.searchMany(queries, 10));
    const got = s.searchMany(queries, 10);
    const times: number[] = [];
    const manyTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      times.push(timeIt(() => s.search(queries[run % QUERIES], 10)));
      if (kind === 'int8') manyTimes.push(timeIt(() => s.searchMany(batch, 10)));
    }
    let found = 0;
    got.forEach((hits, q) => {
      const want = new Set(exactTop[q].map((h) => h.index));
      found += hits.filter((h) => want.has(h.index)).length;
    });
    s.dispose();
    src.close();
    const ms = median(times);
    row(`${kind} scan rows + f32 re-rank of max(4k, k + 100) candidates, resident (search, k = 10; the ${QUERIES} queries' first batch, verifying candidate blocks: ${fmt(firstTouch)} ms)`, fmt(ms), `${(residentMs / ms).toFixed(2)}× faster than f32; recall@10 ${(found / (10 * QUERIES)).toFixed(4)}`);
    if (kind === 'int8') {
      // The int8 batch kernel (dot_rows_many_i8) then 32 re-ranks: against this session's single
      // query and against the f32 session's.
      const manyMs = median(manyTimes);
      row(`int8 scan rows: searchMany(32 queries), resident`, fmt(manyMs), `${((32 * ms) / manyMs).toFixed(1)}× the int8 single-query rate; ${((32 * residentMs) / manyMs).toFixed(1)}× the f32 exact single-query rate (${fmt(manyMs / 32)} ms per query)`);
    }
  }
  source.close();
  row('peak RSS of this process (all the above)', (process.resourceUsage().maxRSS / 1024).toFixed(0) + ' MiB', '');

  console.log(`\n| ${N} × ${D}, ${THREADS} threads, median of ${RUNS} (cold: of 3) | ms | ratio |`);
  console.log('|---|---|---|');
  for (const r of rowsOut) console.log(`| ${r.join(' | ')} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
