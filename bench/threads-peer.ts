// Owns: `npx tsx bench/threads-peer.ts` — our engine against onnxruntime-web on the same machine at
// the same moment: for each thread count, one child process loads both (ours from dist/, as users get
// it; ort-web on the same weights exported to ONNX) and times them in turns, run for run, so load
// from other programs on a shared machine slows both alike (bench/e2e.ts runs engines one after the
// other, which a busy machine skews). ort-web's thread count is process-wide, hence one child per
// count. Prints ms per sequence (median and min), and ours/ort-web throughput. `--dtypes f32,int8`
// loads ours once per weight format and times every one in the same turns.
// Does not own: the engines (bench/e2e/engines.ts), the ONNX export (bench/peers/onnx-model.ts).
//
//   npm run build && npx tsx bench/threads-peer.ts [--threads 1,2] [--lengths 128,512] [--reps 7] [--dtypes f32,int8]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine, type Engine, type EnginePaths, type OursDtype } from './e2e/engines.js';
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
  /** ours[d] = the runs of ours with dtypes[d]. */
  rows: { T: number; ours: number[][]; web: number[] }[];
  load: [number, number];
}


async function child(threads: number, lengths: number[], reps: number, dtypes: OursDtype[]): Promise<void> {
  const onnx = materializeOnnxModel({
    onnxDir: join(ROOT, 'test', 'fixtures', 'synthetic-base-onnx'),
    safetensorsPath: join(MODEL_DIR, 'model.safetensors'),
    outDir: ONNX_DIR,
  });
  const paths: EnginePaths = { root: ROOT, modelDir: MODEL_DIR, onnxPath: onnx.modelPath, onnxDataFile: onnx.dataFile };
  const ours: Engine[] = [];
  for (const dtype of dtypes) ours.push(await loadEngine('ours', paths, threads, dtype));
  const web: Engine = await loadEngine('ort-web', paths, threads);
  const before = loadavg()[0];
  const rows: ChildResult['rows'] = [];
  for (const T of lengths) {
    const ids = new Int32Array(T);
    for (let t = 0; t < T; t++) ids[t] = t === 0 ? 2 : t === T - 1 ? 3 : 5 + ((t * 7919) % 30000);
    for (const e of ours) await e.run([ids]); // warm-up
    await web.run([ids]);
    const row = { T, ours: ours.map(() => [] as number[]), web: [] as number[] };
    const turn: [Engine, number[]][] = [...ours.map((e, d): [Engine, number[]] => [e, row.ours[d]]), [web, row.web]];
    for (let r = 0; r < reps; r++) {
      // Rotate which goes first, so none always runs right after another's threads.
      for (let i = 0; i < turn.length; i++) {
        const [engine, out] = turn[(i + r) % turn.length];
        const t0 = performance.now();
        await engine.run([ids]);
        out.push(performance.now() - t0);
      }
    }
    rows.push(row);
  }
  const result: ChildResult = { threads, oursThreads: threads, rows, load: [before, loadavg()[0]] };
  console.log(JSON.stringify(result));
  for (const e of ours) await e.dispose();
  await web.dispose();
  process.exit(0); // ort-web keeps its worker threads alive
}

function parent(): void {
  const threads = ints(option('--threads', '1,2'));
  const lengths = option('--lengths', '128,512');
  const reps = option('--reps', '7');
  const dtypes = option('--dtypes', 'f32');
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
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(n), '--lengths', lengths, '--reps', reps, '--dtypes', dtypes], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`child for ${n} thread(s) failed (exit ${r.status}): ${r.stdout}`);
    results.push(JSON.parse(line) as ChildResult);
  }
  console.log(`\nSynthetic klue/bert-base-shaped model, batch 1; ours and onnxruntime-web 1.30 (WebAssembly SIMD, in Node ${process.version}) timed in turns in one process per thread count; ms per sequence, median (min) of ${reps} runs each.\n`);
  const names = dtypes.split(',').map((d) => (d === 'f32' ? 'ours' : `ours-${d}`));
  console.log(`| T | threads | ${names.map((n) => `${n} ms/seq`).join(' | ')} | ort-web ms/seq | ${names.map((n) => `${n} / ort-web throughput`).join(' | ')} | 1-min load during |`);
  console.log(`|---:|---:|${names.map(() => '---:|').join('')}---:|${names.map(() => '---:|').join('')}---|`);
  for (const row of results.flatMap((r) => r.rows.map((x) => ({ ...x, threads: r.threads, load: r.load })))) {
    const w = middleRun(row.web);
    const os = row.ours.map((runs) => middleRun(runs));
    console.log(`| ${row.T} | ${row.threads} | ${os.map((o, d) => `${o.toFixed(0)} (${Math.min(...row.ours[d]).toFixed(0)})`).join(' | ')} | ${w.toFixed(0)} (${Math.min(...row.web).toFixed(0)}) | ${os.map((o) => `${(w / o).toFixed(2)}×`).join(' | ')} | ${row.load.map((l) => l.toFixed(2)).join(' → ')} |`);
  }
}

if (process.argv.includes('--child')) {
  await child(Number(option('--child', '1')), ints(option('--lengths', '128,512')), Number(option('--reps', '7')), option('--dtypes', 'f32').split(',') as OursDtype[]);
} else {
  parent();
}
