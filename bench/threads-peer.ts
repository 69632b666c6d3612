// Owns: `npx tsx bench/threads-peer.ts` — our engine against onnxruntime-web on the same machine at
// the same moment: for each thread count, one child process loads both (ours from dist/, as users get
// it; ort-web on the same weights exported to ONNX) and times them in turns, run for run, so load
// from other programs on a shared machine slows both alike (bench/e2e.ts runs engines one after the
// other, which a busy machine skews). ort-web's thread count is process-wide, hence one child per
// count. Prints ms per sequence (median and min), and ours/ort-web throughput. `--dtypes f32,int8`
// loads ours once per weight format and times every one in the same turns; `--peers ort-web,ort-node`
// adds onnxruntime-node (native) to the turns; `--corpora` adds the corpus-throughput rows (40
// passages of ~79 tokens, 40 lines of ~18: ours through `embed`, the peers one sequence at a time).
// Does not own: the engines (bench/e2e/engines.ts), the ONNX export (bench/peers/onnx-model.ts).
//
//   npm run build && npx tsx bench/threads-peer.ts [--threads 1,2] [--lengths 128,512] [--reps 7] [--dtypes f32,int8]
//     [--peers ort-web,ort-node] [--corpora]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine, type Engine, type EngineName, type EnginePaths, type OursDtype } from './e2e/engines.js';
import { corpusTokens, loadCorpora } from './e2e/corpora.js';
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

/** An engine of a turn: ours in one weight format, or a peer. */
interface Timed {
  label: string;
  engine: Engine;
}

interface ChildResult {
  threads: number;
  /** Engine labels, in the order of every runs array below. */
  labels: string[];
  /** runs[e] = ms per sequence of engine e at length T, every timed run. */
  rows: { T: number; runs: number[][] }[];
  /** Corpus throughput: runs[e] = ms for the whole corpus. */
  corpora: { name: string; texts: number; tokens: number; runs: number[][] }[];
  load: [number, number];
  /** The child's peak RSS (every engine loaded in it at once), MiB. */
  peakRssMiB: number;
}

/** Run each engine's `step` once per round, rotating who goes first, `reps` rounds; ms per call. */
async function inTurns(engines: Timed[], reps: number, step: (e: Engine) => Promise<unknown>): Promise<number[][]> {
  const out = engines.map(() => [] as number[]);
  for (const e of engines) await step(e.engine); // warm-up: JIT and heap growth at these sizes
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < engines.length; i++) {
      const k = (i + r) % engines.length;
      const t0 = performance.now();
      await step(engines[k].engine);
      out[k].push(performance.now() - t0);
    }
  }
  return out;
}

async function child(threads: number, lengths: number[], reps: number, dtypes: OursDtype[], peers: EngineName[], corpora: boolean): Promise<void> {
  const onnx = materializeOnnxModel({
    onnxDir: join(ROOT, 'test', 'fixtures', 'synthetic-base-onnx'),
    safetensorsPath: join(MODEL_DIR, 'model.safetensors'),
    outDir: ONNX_DIR,
  });
  const paths: EnginePaths = { root: ROOT, modelDir: MODEL_DIR, onnxPath: onnx.modelPath, onnxDataFile: onnx.dataFile };
  const engines: Timed[] = [];
  for (const dtype of dtypes) engines.push({ label: dtype === 'f32' ? 'ours' : `ours-${dtype}`, engine: await loadEngine('ours', paths, threads, dtype) });
  for (const peer of peers) engines.push({ label: peer, engine: await loadEngine(peer, paths, threads) });
  const before = loadavg()[0];
  const rows: ChildResult['rows'] = [];
  for (const T of lengths) {
    const ids = new Int32Array(T);
    for (let t = 0; t < T; t++) ids[t] = t === 0 ? 2 : t === T - 1 ? 3 : 5 + ((t * 7919) % 30000);
    rows.push({ T, runs: await inTurns(engines, reps, (e) => e.run([ids])) });
  }
  const corpusRows: ChildResult['corpora'] = [];
  if (corpora) {
    for (const c of await loadCorpora(ROOT, MODEL_DIR)) {
      const ids = c.ids.map((x) => Int32Array.from(x));
      corpusRows.push({ name: c.name, texts: c.texts.length, tokens: corpusTokens(c), runs: await inTurns(engines, Math.max(3, Math.ceil(reps / 2)), (e) => e.embedCorpus(c.texts, ids)) });
    }
  }
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const result: ChildResult = { threads, labels: engines.map((e) => e.label), rows, corpora: corpusRows, load: [before, loadavg()[0]], peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
  console.log(JSON.stringify(result));
  for (const e of engines) await e.engine.dispose();
  process.exit(0); // ort-web keeps its worker threads alive
}

function parent(): void {
  const threads = ints(option('--threads', '1,2'));
  const lengths = option('--lengths', '128,512');
  const reps = option('--reps', '7');
  const dtypes = option('--dtypes', 'f32');
  const peers = option('--peers', 'ort-web');
  const corpora = process.argv.includes('--corpora');
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
    console.error(`ours and ${peers}, ${n} thread(s), in turns…`);
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(n), '--lengths', lengths, '--reps', reps, '--dtypes', dtypes, '--peers', peers, ...(corpora ? ['--corpora'] : [])], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`child for ${n} thread(s) failed (exit ${r.status}): ${r.stdout}`);
    results.push(JSON.parse(line) as ChildResult);
  }
  const peerList = peers.split(',');
  console.log(`\nSynthetic klue/bert-base-shaped model, batch 1; ours and ${peerList.join(', ')} (onnxruntime 1.30; -web is WebAssembly SIMD in Node ${process.version}) timed in turns in one process per thread count; ms per sequence, median (min) of ${reps} runs each; ratios are peer ms / ours ms (throughput ratio).\n`);
  for (const res of results) {
    const ours = res.labels.filter((l) => !peerList.includes(l));
    const ratioCols = ours.flatMap((o) => peerList.map((p) => `${o} / ${p}`));
    console.log(`${res.threads} thread(s); 1-min load ${res.load.map((l) => l.toFixed(2)).join(' → ')}; child peak RSS ${res.peakRssMiB.toFixed(0)} MiB (every engine loaded at once)\n`);
    console.log(`| T | ${res.labels.map((l) => `${l} ms/seq`).join(' | ')} | ${ratioCols.join(' | ')} |`);
    console.log(`|---:|${res.labels.map(() => '---:|').join('')}${ratioCols.map(() => '---:|').join('')}`);
    for (const row of res.rows) {
      const med = row.runs.map((r) => middleRun(r));
      const at = (l: string) => med[res.labels.indexOf(l)];
      console.log(`| ${row.T} | ${med.map((m, e) => `${m.toFixed(0)} (${Math.min(...row.runs[e]).toFixed(0)})`).join(' | ')} | ${ours.flatMap((o) => peerList.map((p) => `${(at(p) / at(o)).toFixed(2)}×`)).join(' | ')} |`);
    }
    if (res.corpora.length) {
      console.log(`\n| corpus (${res.threads} thread(s)) | ${res.labels.map((l) => `${l} texts/s`).join(' | ')} | ${ratioCols.join(' | ')} |`);
      console.log(`|---|${res.labels.map(() => '---:|').join('')}${ratioCols.map(() => '---:|').join('')}`);
      for (const c of res.corpora) {
        const med = c.runs.map((r) => middleRun(r));
        const at = (l: string) => med[res.labels.indexOf(l)];
        console.log(`| ${c.name} (${c.texts} texts, ${(c.tokens / c.texts).toFixed(0)} tokens avg) | ${med.map((m) => ((1000 * c.texts) / m).toFixed(1)).join(' | ')} | ${ours.flatMap((o) => peerList.map((p) => `${(at(p) / at(o)).toFixed(2)}×`)).join(' | ')} |`);
      }
    }
    console.log('');
  }
}

if (process.argv.includes('--child')) {
  await child(Number(option('--child', '1')), ints(option('--lengths', '128,512')), Number(option('--reps', '7')), option('--dtypes', 'f32').split(',') as OursDtype[], option('--peers', 'ort-web').split(',') as EngineName[], process.argv.includes('--corpora'));
} else {
  parent();
}
