// Owns: bench/search.ts — kmed's search beside native peers on clustered 768-d unit vectors, at the
// sizes asked (--rows 100000,250000; 1000000 on a quiet machine, under flock /tmp/kmed-bigmem.lock)
// and two difficulties (1000 well-separated centroids; 20000 overlapping ones), seeded. In one
// process, per data set: kmed exact (resident scan) and kmed's HNSW graph beside usearch (exact and
// HNSW) and hnswlib-node — build time and threads, cold open + first query, warm query latency
// (medians over --queries queries, the systems interleaved query by query), kmed int8 scan rows
// re-ranked in f32 (the index is written with them), recall@10 against
// exact over an ef sweep, the equal-recall comparison, index memory, RSS, and the scan floor.
// Not a test: it prints tables; timings are only comparable within one run.
//
//   npm run build:wasm && npx tsx bench/search.ts --rows 100000,250000
//   flock /tmp/kmed-bigmem.lock npx tsx bench/search.ts --rows 1000000
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSearchSession } from '../src/bi-encoder.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { VectorIndex } from '../src/search/vector-index.js';
import { ClusteredVectors } from '../test/helpers/clustered-vectors.js';
import { median } from './median.js';
import { writeSyntheticIndex } from './synthetic-index.js';
import { HnswlibGraph, KmedGraph, UsearchGraph, loadPeer, type AnnSystem, type GraphSettings, type HnswlibModule, type UsearchModule } from './search/systems.js';

const D = 768;
const K = 10;
/** Noise in 32-dimensional subspaces (test/helpers/clustered-vectors.ts): isotropic noise in 768
 *  dimensions makes all distances alike, a test of no index. */
const DIFFICULTIES = {
  separated: { centroids: 1000, spread: 0.5, rank: 32 },
  overlapping: { centroids: 20000, spread: 2, rank: 32 },
} as const;
type Difficulty = keyof typeof DIFFICULTIES;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const ints = (s: string) => list(s).map((x) => {
  const n = Number(x);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${x}`);
  return n;
});

const ROWS = ints(option('rows', '100000,250000'));
const KINDS = list(option('difficulty', 'separated,overlapping')) as Difficulty[];
const QUERIES = ints(option('queries', '200'))[0];
const SETTINGS: GraphSettings = { M: ints(option('M', '16'))[0], efConstruction: ints(option('ef-construction', '200'))[0], threads: ints(option('threads', '2'))[0] };
const EFS = ints(option('efs', '16,32,64,100,128,200,300'));
const PEERS = list(option('peers', 'usearch,hnswlib'));
const TARGETS = [0.9, 0.95, 0.98, 0.99];
for (const k of KINDS) if (!(k in DIFFICULTIES)) throw new Error(`unknown difficulty ${k}: ${Object.keys(DIFFICULTIES).join(', ')}`);

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const rss = () => process.memoryUsage().rss;
const now = () => performance.now();

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function benchOne(rows: number, kind: Difficulty, dir: string): Promise<void> {
  const spec = { dimension: D, ...DIFFICULTIES[kind], seed: 1 };
  const gen = new ClusteredVectors(spec);
  const t0 = now();
  const data = new Float32Array(rows * D);
  gen.fill(data, 0, rows);
  const queries = Array.from({ length: QUERIES }, (_, i) => gen.rows(i, 1, 1));
  const indexPath = join(dir, `${kind}-${rows}.idx`);
  // With int8 scan rows: the exact and graph sessions use the f32 rows; the int8 session scans these.
  await writeSyntheticIndex(indexPath, rows, D, 1, { fill: (dst, r0, n) => dst.set(data.subarray(r0 * D, (r0 + n) * D)), scan: 'int8' });
  console.log(`\n## ${rows} rows × ${D}, ${kind} (${spec.centroids} centroids, noise norm ${spec.spread} in ${spec.rank} dimensions); ${QUERIES} queries; ` +
    `vectors ${mb(rows * D * 4)} MiB (made and written in ${((now() - t0) / 1000).toFixed(1)} s)\n`);

  // kmed exact, cold: open the index file, read and verify the f32 rows into the heap, first query.
  let t = now();
  const source = fileSource(indexPath, 'index');
  const exactSession = await openSearchSession(VectorIndex.open(source), { mode: 'resident', exact: true });
  exactSession.search(queries[0], K);
  const exactCold = now() - t;
  exactSession.dispose();
  source.close();
  // kmed int8 rows, cold: the same file's int8 scan rows resident, re-ranked in f32 (search-core's sessions).
  t = now();
  const int8Source = fileSource(indexPath, 'index');
  const int8Session = await openSearchSession(VectorIndex.open(int8Source), { mode: 'resident' });
  int8Session.search(queries[0], K);
  const int8Cold = now() - t;

  const systems: AnnSystem[] = [];
  const missing: string[] = [];
  const kmed = new KmedGraph(indexPath, SETTINGS);
  systems.push(kmed);
  const usearch = PEERS.includes('usearch') ? loadPeer<UsearchModule>('usearch') : {};
  if (usearch.module) systems.push(new UsearchGraph(usearch.module, data, D, join(dir, `${kind}-${rows}.usearch`), SETTINGS));
  else if (usearch.missing) missing.push(usearch.missing);
  const hnswlib = PEERS.includes('hnswlib') ? loadPeer<HnswlibModule>('hnswlib-node') : {};
  if (hnswlib.module) systems.push(new HnswlibGraph(hnswlib.module, data, D, join(dir, `${kind}-${rows}.hnswlib`), SETTINGS));
  else if (hnswlib.missing) missing.push(hnswlib.missing);

  const build = new Map<AnnSystem, number>();
  // CPU seconds of the process (every thread) beside wall time: on a shared machine the wall time
  // of a long build counts other work's share of the cores; CPU time / threads is what the build
  // would take on cores of its own (if its threads stay busy).
  const buildCpu = new Map<AnnSystem, number>();
  for (const s of systems) {
    t = now();
    const cpu0 = process.cpuUsage();
    await s.build();
    build.set(s, now() - t);
    const cpu = process.cpuUsage(cpu0);
    buildCpu.set(s, (cpu.user + cpu.system) / 1e6);
    console.error(`  built ${s.name} in ${((now() - t) / 1000).toFixed(1)} s (${buildCpu.get(s)!.toFixed(0)} CPU s)`);
  }
  const cold = new Map<AnnSystem, number>();
  const rssDelta = new Map<AnnSystem, number>();
  for (const s of systems) {
    const before = rss();
    t = now();
    await s.open();
    s.query(queries[0], K, EFS[0]);
    cold.set(s, now() - t);
    rssDelta.set(s, rss() - before);
  }

  // Ground truth and exact latency, kmed and usearch interleaved query by query.
  const truth: Set<number>[] = [];
  const exactMs: number[] = [];
  const usearchExactMs: number[] = [];
  const scanMs: number[] = [];
  const floorMs: number[] = [];
  const session = kmed.rowsSession;
  const { backend, ptr: rowsPtr } = session.heapRows;
  for (const q of queries) {
    t = now();
    truth.push(new Set(kmed.exact(q, K)));
    exactMs.push(now() - t);
    if (usearch.module) {
      t = now();
      usearch.module.exactSearch(data, q, D, K, 'ip', 1);
      usearchExactMs.push(now() - t);
    }
    // The scan alone (every row's score, copied out; no top-k), and the floor: one sequential read
    // of the resident rows (sum_rows_f32: every float loaded once, nothing else).
    t = now();
    session.scoreAll(q);
    scanMs.push(now() - t);
    const mark = backend.mark();
    const sums = backend.alloc(rows * 4);
    t = now();
    backend.sumRows(sums, rowsPtr, rows, D);
    floorMs.push(now() - t);
    backend.release(mark);
  }

  // int8 rows: latency and recall@10 against the f32 exact answer.
  const int8Ms: number[] = [];
  let int8Found = 0;
  queries.forEach((q, i) => {
    t = now();
    const hits = int8Session.search(q, K);
    int8Ms.push(now() - t);
    int8Found += hits.filter((h) => truth[i].has(h.index)).length;
  });
  int8Session.dispose();
  int8Source.close();

  // The ef sweep, systems interleaved query by query.
  const sweep = new Map<AnnSystem, Array<{ ef: number; recall: number; ms: number }>>();
  for (const s of systems) sweep.set(s, []);
  for (const ef of EFS) {
    const lat = new Map<AnnSystem, number[]>(systems.map((s) => [s, []]));
    const found = new Map<AnnSystem, number>(systems.map((s) => [s, 0]));
    queries.forEach((q, i) => {
      for (const s of systems) {
        t = now();
        const ids = s.query(q, K, ef);
        lat.get(s)!.push(now() - t);
        let hit = 0;
        for (let r = 0; r < ids.length; r++) if (truth[i].has(Number(ids[r]))) hit++;
        found.set(s, found.get(s)! + hit);
      }
    });
    for (const s of systems) sweep.get(s)!.push({ ef, recall: found.get(s)! / (K * QUERIES), ms: median(lat.get(s)!) });
  }

  const vectorBytes = rows * D * 4;
  const exactMedian = median(exactMs);
  console.log(table([
    ['system', 'build s (CPU s)', 'threads', 'cold ms (open + 1st query)', 'warm median ms', 'index MiB (× vectors)', 'RSS Δ at open MiB'],
    ['kmed exact (resident)', '-', '1', ms(exactCold), ms(exactMedian), `${mb(vectorBytes)} (1.00×)`, '-'],
    ['kmed int8 rows, f32 re-rank (resident)', '-', '1', ms(int8Cold), `${ms(median(int8Ms))} (recall ${(int8Found / (K * QUERIES)).toFixed(3)})`, '-', '-'],
    ...(usearch.module ? [['usearch exactSearch', '-', '1', '-', ms(median(usearchExactMs)), '-', '-']] : []),
    ...systems.map((s) => {
      const best = sweep.get(s)!.find((r) => r.recall >= 0.98) ?? sweep.get(s)!.at(-1)!;
      return [
        `${s.name} (M ${SETTINGS.M}, efC ${SETTINGS.efConstruction})`, `${(build.get(s)! / 1000).toFixed(1)} (${buildCpu.get(s)!.toFixed(0)})`, String(s.buildThreads), ms(cold.get(s)!),
        `${ms(best.ms)} (ef ${best.ef}, recall ${best.recall.toFixed(3)})`,
        s.indexBytes() ? `${mb(s.indexBytes())} (${(s.indexBytes() / vectorBytes).toFixed(2)}×)` : '-',
        mb(rssDelta.get(s)!),
      ];
    }),
  ]));
  console.log(`load average at the end of the builds and sweeps: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`\nbandwidth floor (one sequential read of the resident rows, sum_rows_f32): median ${ms(median(floorMs))} ms; ` +
    `scan (every score, copied out) ${ms(median(scanMs))} ms; exact query ${ms(exactMedian)} ms = ${(exactMedian / median(floorMs)).toFixed(2)}× the floor`);
  console.log(`kmed graph alone: ${mb(kmed.graphOnlyBytes())} MiB (${(kmed.graphOnlyBytes() / vectorBytes).toFixed(3)}× the vectors)\n`);

  console.log(table([
    ['ef', ...systems.flatMap((s) => [`${s.name} recall@10`, `${s.name} ms`])],
    ...EFS.map((ef, e) => [String(ef), ...systems.flatMap((s) => [sweep.get(s)![e].recall.toFixed(4), ms(sweep.get(s)![e].ms)])]),
  ]));

  const reach = (s: AnnSystem, target: number) => sweep.get(s)!.find((r) => r.recall >= target);
  const peer = systems.find((s) => s instanceof HnswlibGraph);
  console.log('\nequal recall: the smallest ef of the sweep reaching each recall@10, and its median latency');
  console.log(table([
    ['recall ≥', ...systems.map((s) => s.name), 'kmed / hnswlib-node', 'kmed speed-up over kmed exact'],
    ...TARGETS.map((target) => {
      const k = reach(kmed, target);
      const h = peer ? reach(peer, target) : undefined;
      return [
        String(target),
        ...systems.map((s) => {
          const r = reach(s, target);
          return r ? `ef ${r.ef}: ${ms(r.ms)} ms` : 'not reached';
        }),
        k && h ? `${(k.ms / h.ms).toFixed(2)}×` : '-',
        k ? `${(exactMedian / k.ms).toFixed(exactMedian / k.ms >= 10 ? 0 : 1)}×` : '-',
      ];
    }),
  ]));
  console.log(`\npeak RSS of the process so far: ${mb(process.resourceUsage().maxRSS * 1024)} MiB${missing.length ? `\nmissing peers: ${missing.join('; ')}` : ''}`);
  for (const s of systems) s.close();
}

const dir = mkdtempSync(join(option('dir', tmpdir()), 'kmed-search-bench-'));
try {
  console.log(`# bench/search.ts: ${new Date().toISOString().slice(0, 10)}, node ${process.version}, graph M ${SETTINGS.M}, ef-construction ${SETTINGS.efConstruction}, ${SETTINGS.threads} build threads`);
  for (const rows of ROWS) for (const kind of KINDS) await benchOne(rows, kind, dir);
} finally {
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}
