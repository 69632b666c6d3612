// Owns: `npx tsx bench/threads-peer.ts` — our engine against onnxruntime-web on the same machine at
// the same moment: for each thread count, one child process loads both (ours from dist/, as users get
// it; ort-web on the same weights exported to ONNX) and times them in turns, run for run, so load
// from other programs on a shared machine slows both alike (bench/e2e.ts runs engines one after the
// other, which a busy machine skews). ort-web's thread count is process-wide, hence one child per
// count. Prints ms per sequence (median and min), and ours/ort-web throughput.
// Does not own: the engines (bench/e2e/engines.ts), the ONNX export (bench/peers/onnx-model.ts).
//
//   npm run build && npx tsx bench/threads-peer.ts [--threads 1,2] [--lengths 128,512] [--reps 7]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine, type Engine, type EnginePaths } from './e2e/engines.js';
import { materializeOnnxModel } from './peers/onnx-model.js';
import { middleRun } from './median.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CACHE = join(ROOT, '.bench-cache');
const MODEL_DIR = join(CACHE, 'threads-synthetic-context');
const ONNX_DIR = join(CACHE, 'threads-onnx');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const ints = (s: string) => s.split(',').map(Number);

interface ChildResult {
  threads: number;
  oursThreads: number;
  rows: { T: number; ours: number[]; web: number[] }[];
  load: [number, number];
}


async function child(threads: number, lengths: number[], reps: number): Promise<void> {
  const onnx = materializeOnnxModel({
    onnxDir: join(ROOT, 'test', 'fixtures', 'synthetic-base-onnx'),
    safetensorsPath: join(MODEL_DIR, 'model.safetensors'),
    outDir: ONNX_DIR,
  });
  const paths: EnginePaths = { root: ROOT, modelDir: MODEL_DIR, onnxPath: onnx.modelPath, onnxDataFile: onnx.dataFile };
  const ours: Engine = await loadEngine('ours', paths, threads);
  const web: Engine = await loadEngine('ort-web', paths, threads);
  const before = loadavg()[0];
  const rows: ChildResult['rows'] = [];
  for (const T of lengths) {
    const ids = new Int32Array(T);
    for (let t = 0; t < T; t++) ids[t] = t === 0 ? 2 : t === T - 1 ? 3 : 5 + ((t * 7919) % 30000);
    await ours.run([ids]); // warm-up
    await web.run([ids]);
    const row = { T, ours: [] as number[], web: [] as number[] };
    for (let r = 0; r < reps; r++) {
      // Alternate which goes first, so neither always runs right after the other's threads.
      for (const [engine, out] of (r % 2 ? [[web, row.web], [ours, row.ours]] : [[ours, row.ours], [web, row.web]]) as [Engine, number[]][]) {
        const t0 = performance.now();
        await engine.run([ids]);
        out.push(performance.now() - t0);
      }
    }
    rows.push(row);
  }
  const result: ChildResult = { threads, oursThreads: threads, rows, load: [before, loadavg()[0]] };
  console.log(JSON.stringify(result));
  await ours.dispose();
  await web.dispose();
  process.exit(0); // ort-web keeps its worker threads alive
}

function parent(): void {
  const threads = ints(option('--threads', '1,2'));
  const lengths = option('--lengths', '128,512');
  const reps = option('--reps', '7');
  if (!existsSync(join(ROOT, 'dist', 'node', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  if (!existsSync(join(MODEL_DIR, 'model.safetensors'))) {
    console.error(`making the synthetic context model in ${MODEL_DIR} (kmed synth, once)…`);
    execFileSync(process.execPath, ['dist/cli/main.js', 'synth', '--seed', 'context', '--out', MODEL_DIR, '--vocab', join(ROOT, 'test', 'fixtures', 'tokenizer', 'vocab.txt')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
  const results: ChildResult[] = [];
  for (const n of threads) {
    console.error(`ours and ort-web, ${n} thread(s), in turns…`);
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(n), '--lengths', lengths, '--reps', reps], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`child for ${n} thread(s) failed (exit ${r.status}): ${r.stdout}`);
    results.push(JSON.parse(line) as ChildResult);
  }
  console.log(`\nSynthetic klue/bert-base-shaped model, batch 1; ours and onnxruntime-web 1.30 (WebAssembly SIMD, in Node ${process.version}) timed in turns in one process per thread count; ms per sequence, median (min) of ${reps} runs each.\n`);
  console.log('| T | threads | ours ms/seq | ort-web ms/seq | ours / ort-web throughput | 1-min load during |');
  console.log('|---:|---:|---:|---:|---:|---|');
  for (const row of results.flatMap((r) => r.rows.map((x) => ({ ...x, threads: r.threads, load: r.load })))) {
    const o = middleRun(row.ours), w = middleRun(row.web);
    console.log(`| ${row.T} | ${row.threads} | ${o.toFixed(0)} (${Math.min(...row.ours).toFixed(0)}) | ${w.toFixed(0)} (${Math.min(...row.web).toFixed(0)}) | ${(w / o).toFixed(2)}× | ${row.load.map((l) => l.toFixed(2)).join(' → ')} |`);
  }
}

if (process.argv.includes('--child')) {
  await child(Number(option('--child', '1')), ints(option('--lengths', '128,512')), Number(option('--reps', '7')));
} else {
  parent();
}
