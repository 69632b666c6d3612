// Owns: the end-to-end benchmark (`npm run bench:e2e [-- --quick]`, issue 5 item 2): the full-size
// klue-shaped synthetic model (`kmed synth --seed context`) run by our engine, onnxruntime-node
// (native) and onnxruntime-web (WebAssembly SIMD, in Node) on the same weights and the same seeded
// token ids, for T = 16, 128, 512, batch 1 and 8, 1 and 2 threads. Each engine at each thread count
// runs in its own child process (e2e/child.ts), one after the other, so peak RSS is its own and no
// two engines share the CPU. Prints markdown: ms per sequence, sequences/s, ours/peer throughput,
// load time, peak RSS, and a parity column (max |Δ| of pooler_output and last_hidden_state, ours vs
// each peer, from the same runs); also writes it to .bench-cache/e2e-results.md.
// Does not own: the engines (e2e/engines.ts), the ONNX weights (peers/onnx-model.ts), the model.
import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult, ChildSpec, OutputFiles, ParityCase, TimedCase } from './e2e/child.js';
import { ENGINE_NAMES, type EngineName, type EnginePaths } from './e2e/engines.js';
import { materializeOnnxModel } from './peers/onnx-model.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CACHE = join(ROOT, '.bench-cache');
const MODEL_DIR = join(CACHE, 'e2e-synthetic-context');
const ONNX_DIR = join(CACHE, 'e2e-onnx');
const OUT_DIR = join(CACHE, 'e2e-outputs');
const RESULTS_MD = join(CACHE, 'e2e-results.md');

/** Two f32 engines each within the fixtures' 1e-4 of float64 can differ by up to twice that. */
const PARITY_TOLERANCE = 2e-4;

interface Args {
  quick: boolean;
  engines: EngineName[];
  threads: number[];
  lengths: number[];
  batches: number[];
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, engines: [...ENGINE_NAMES], threads: [1, 2], lengths: [16, 128, 512], batches: [1, 8], seed: 20240917 };
  let lengthsGiven = false;
  const list = (v: string | undefined, flag: string): string[] => {
    if (!v) throw new Error(`${flag} needs a value`);
    return v.split(',').map((s) => s.trim()).filter(Boolean);
  };
  const ints = (v: string | undefined, flag: string): number[] =>
    list(v, flag).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: '${s}' is not a positive integer`);
      return n;
    });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--quick': args.quick = true; break;
      case '--engines':
        args.engines = list(argv[++i], a).map((e) => {
          if (!(ENGINE_NAMES as readonly string[]).includes(e)) throw new Error(`--engines: unknown engine '${e}' (${ENGINE_NAMES.join(', ')})`);
          return e as EngineName;
        });
        break;
      case '--threads': args.threads = ints(argv[++i], a); break;
      case '--lengths': args.lengths = ints(argv[++i], a); lengthsGiven = true; break;
      case '--batches': args.batches = ints(argv[++i], a); break;
      case '--seed': args.seed = ints(argv[++i], a)[0]; break;
      case '--help':
        process.stdout.write('npm run bench:e2e -- [--quick] [--engines ours,ort-node,ort-web] [--threads 1,2] [--lengths 16,128,512] [--batches 1,8] [--seed N]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument '${a}' (try --help)`);
    }
  }
  if (args.quick && !lengthsGiven) args.lengths = [16, 128];
  for (const T of args.lengths) if (T < 2 || T > 512) throw new Error(`--lengths: ${T} is outside [2, 512] (max_position_embeddings)`);
  return args;
}

/** Run counts: enough for a stable median in about `budgetMs` per case, fewer where one run is long. */
function timedCases(args: Args): TimedCase[] {
  const out: TimedCase[] = [];
  for (const T of args.lengths) {
    for (const B of args.batches) {
      const big = T * B >= 2048; // e.g. 512 x 8: one run of the slowest engine is ~30 s on this machine
      out.push(args.quick
        ? { T, B, budgetMs: 1000, minReps: 2, maxReps: 10 }
        : { T, B, budgetMs: big ? 0 : 5000, minReps: big ? 2 : 3, maxReps: 20 });
    }
  }
  return out;
}

/** One padded batch (untimed), so the parity check also covers the attention mask. */
const PARITY_CASES: ParityCase[] = [{ id: 'padded-128-61-7', lengths: [128, 61, 7] }];

function ensureCheckpoint(log: (s: string) => void): void {
  const weights = join(MODEL_DIR, 'model.safetensors');
  if (existsSync(weights) && existsSync(join(MODEL_DIR, 'config.json')) && existsSync(join(MODEL_DIR, 'vocab.txt'))) return;
  const cli = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm run bench:e2e does)`);
  log(`kmed synth --seed context --out ${MODEL_DIR}`);
  // The test vocabulary: ids are random anyway, the encoder only needs a vocab.txt to load.
  execFileSync(process.execPath, [cli, 'synth', '--seed', 'context', '--out', MODEL_DIR,
    '--vocab', join(ROOT, 'test', 'fixtures', 'tokenizer', 'vocab.txt')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Read a file once so every engine's load finds it in the page cache, not the first one only. */
function warmPageCache(path: string): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 24);
  try {
    let pos = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0;) pos += n;
  } finally {
    closeSync(fd);
  }
}

/** Our threads option exists once dist's EncoderOptions declares it; until then ours runs 1 thread only. */
function oursHasThreads(): boolean {
  const dts = join(ROOT, 'dist', 'encoder.d.ts');
  return existsSync(dts) && /\bthreads\??\s*:/.test(readFileSync(dts, 'utf8'));
}

function runChild(spec: ChildSpec): Promise<ChildResult> {
  const specPath = join(OUT_DIR, `spec-${spec.engine}-t${spec.threads}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'e2e', 'child.ts'), specPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${spec.engine} (threads ${spec.threads}) exited with code ${code}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildResult);
      } catch (e) {
        reject(new Error(`${spec.engine} (threads ${spec.threads}) printed no result: ${String(e)}`));
      }
    });
  });
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

interface Diff {
  pooler: number;
  hidden: number;
}

/** max |a - b| over pooler_output, and over last_hidden_state's real rows only. */
function compare(a: OutputFiles, b: OutputFiles, lengths: number[], C: number): Diff {
  const maxAbs = (x: Float32Array, y: Float32Array, keep: (i: number) => boolean): number => {
    if (x.length !== y.length) return Infinity;
    let m = 0;
    for (let i = 0; i < x.length; i++) {
      if (!keep(i)) continue;
      const d = Math.abs(x[i] - y[i]);
      if (!(d <= m)) m = d;
    }
    return m;
  };
  if (a.T !== b.T) return { pooler: Infinity, hidden: Infinity };
  const T = a.T;
  const real = (i: number): boolean => {
    const row = Math.floor(i / C);
    return row % T < lengths[Math.floor(row / T)];
  };
  return {
    pooler: maxAbs(readF32(a.pooler), readF32(b.pooler), () => true),
    hidden: maxAbs(readF32(a.hidden), readF32(b.hidden), real),
  };
}

const fmtMs = (ms: number | undefined): string => (ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const fmtRate = (r: number | undefined): string => (r === undefined ? '—' : r >= 100 ? r.toFixed(0) : r.toFixed(1));
const fmtRatio = (r: number | undefined): string => (r === undefined ? '—' : `${r.toFixed(2)}×`);
const fmtErr = (e: number): string => (Number.isFinite(e) ? e.toExponential(1) : 'mismatch');
const ok = (d: Diff): boolean => d.pooler <= PARITY_TOLERANCE && d.hidden <= PARITY_TOLERANCE;

function loadLine(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const started = performance.now();
  const loadBefore = loadLine();

  mkdirSync(CACHE, { recursive: true });
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  ensureCheckpoint(log);
  const weightsPath = join(MODEL_DIR, 'model.safetensors');
  const onnx = materializeOnnxModel({ onnxDir: join(ROOT, 'test', 'fixtures', 'synthetic-base-onnx'), safetensorsPath: weightsPath, outDir: ONNX_DIR, log });
  log(`ONNX peer model: ${onnx.modelPath} (${onnx.cached ? 'cached' : 'written'}; ${onnx.inlineChecked} inline tensors equal the checkpoint bit for bit)`);
  const config = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')) as { vocab_size: number; hidden_size: number };
  const C = config.hidden_size;
  warmPageCache(weightsPath);
  warmPageCache(onnx.dataPath);

  const paths: EnginePaths = { root: ROOT, modelDir: MODEL_DIR, onnxPath: onnx.modelPath, onnxDataFile: onnx.dataFile };
  const cases = timedCases(args);
  const oursThreads = oursHasThreads();
  const results = new Map<string, ChildResult>();
  const failures: string[] = [];
  const key = (e: EngineName, t: number): string => `${e}/t${t}`;
  for (const threads of args.threads) {
    for (const engine of args.engines) {
      if (engine === 'ours' && threads > 1 && !oursThreads) {
        log(`ours t${threads}: skipped (Encoder has no threads option yet)`);
        continue;
      }
      log(`${engine}, ${threads} thread${threads > 1 ? 's' : ''} ...`);
      try {
        results.set(key(engine, threads), await runChild({
          engine, threads, paths, seed: args.seed, vocabSize: config.vocab_size, cases, parityCases: PARITY_CASES, outDir: OUT_DIR,
        }));
      } catch (e) {
        failures.push(String(e instanceof Error ? e.message : e));
        log(`  FAILED: ${failures.at(-1)}`);
      }
    }
  }

  // ours' outputs do not depend on the thread count (work is split by output rows), so where ours
  // did not run at some thread count its 1-thread outputs stand in for the parity column.
  const oursAt = (t: number): ChildResult | undefined => results.get(key('ours', t)) ?? results.get(key('ours', 1));
  const caseOf = (r: ChildResult | undefined, T: number, B: number) => r?.cases.find((c) => c.T === T && c.B === B);

  const lines: string[] = [];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  lines.push(`Synthetic klue/bert-base-shaped model (110M params, f32), ${cpu}, ${cpus().length} cores, Node ${process.version}, ` +
    `onnxruntime-node/-web 1.30.0; ${args.quick ? 'quick run' : 'full run'}, seed ${args.seed}. ` +
    `Load average ${loadBefore} before, ${loadLine()} after.`);
  lines.push('');
  lines.push('| T | B | threads | ours ms/seq | ort-node ms/seq | ort-web ms/seq | ours seq/s | ort-node seq/s | ort-web seq/s | ours/ort-node | ours/ort-web | parity max\\|Δ\\| pooler · hidden: vs ort-node; vs ort-web | runs |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  let allAgree = true;
  let parityRows = 0;
  for (const threads of args.threads) {
    for (const { T, B } of cases) {
      const per = (e: EngineName) => {
        const c = caseOf(results.get(key(e, threads)), T, B);
        return c && { msPerSeq: c.medianMs / B, seqPerSec: (1000 * B) / c.medianMs, runs: c.runsMs.length };
      };
      const ours = per('ours');
      const node = per('ort-node');
      const web = per('ort-web');
      const parityCells: string[] = [];
      const oursCase = caseOf(oursAt(threads), T, B);
      for (const peer of ['ort-node', 'ort-web'] as const) {
        const p = caseOf(results.get(key(peer, threads)), T, B);
        if (!oursCase || !p) { parityCells.push('—'); continue; }
        const d = compare(oursCase.outputs, p.outputs, new Array<number>(B).fill(T), C);
        allAgree &&= ok(d);
        parityRows++;
        parityCells.push(`${fmtErr(d.pooler)} · ${fmtErr(d.hidden)} ${ok(d) ? '✓' : '✗'}`);
      }
      lines.push(`| ${T} | ${B} | ${threads} | ${fmtMs(ours?.msPerSeq)} | ${fmtMs(node?.msPerSeq)} | ${fmtMs(web?.msPerSeq)} | ` +
        `${fmtRate(ours?.seqPerSec)} | ${fmtRate(node?.seqPerSec)} | ${fmtRate(web?.seqPerSec)} | ` +
        `${fmtRatio(ours && node && ours.seqPerSec / node.seqPerSec)} | ${fmtRatio(ours && web && ours.seqPerSec / web.seqPerSec)} | ` +
        `${parityCells.join('; ')} | ${[ours, node, web].map((x) => x?.runs ?? '—').join('/')} |`);
    }
  }

  lines.push('');
  const fileMiB = (p: string): number => statSync(p).size / 2 ** 20;
  lines.push('| engine | threads | load ms | RSS after load MiB | peak RSS MiB | peak RSS / weights file |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const threads of args.threads) {
    for (const engine of args.engines) {
      const r = results.get(key(engine, threads));
      if (!r) continue;
      const file = engine === 'ours' ? fileMiB(weightsPath) : fileMiB(onnx.dataPath);
      lines.push(`| ${engine} | ${threads} | ${r.loadMs.toFixed(0)} | ${r.rssAfterLoadMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${(r.peakRssMiB / file).toFixed(2)} |`);
    }
  }

  // Extra checks, one line each.
  lines.push('');
  for (const p of PARITY_CASES) {
    const cells: string[] = [];
    const oursP = oursAt(1)?.parity.find((x) => x.id === p.id);
    for (const peer of ['ort-node', 'ort-web'] as const) {
      const q = results.get(key(peer, 1))?.parity.find((x) => x.id === p.id);
      if (!oursP || !q) continue;
      const d = compare(oursP.outputs, q.outputs, p.lengths, C);
      allAgree &&= ok(d);
      parityRows++;
      cells.push(`vs ${peer} ${fmtErr(d.pooler)} · ${fmtErr(d.hidden)} ${ok(d) ? '✓' : '✗'}`);
    }
    if (cells.length) lines.push(`- Padded batch (lengths ${p.lengths.join(', ')}; hidden compared on real tokens): ${cells.join('; ')}.`);
  }
  const nodeWeb: string[] = [];
  for (const { T, B } of cases) {
    const a = caseOf(results.get(key('ort-node', 1)), T, B);
    const b = caseOf(results.get(key('ort-web', 1)), T, B);
    if (a && b) {
      const d = compare(a.outputs, b.outputs, new Array<number>(B).fill(T), C);
      nodeWeb.push(`${T}×${B} ${fmtErr(d.pooler)} · ${fmtErr(d.hidden)}`);
    }
  }
  if (nodeWeb.length) lines.push(`- Peer against peer (ort-node vs ort-web, 1 thread), the noise floor of two f32 engines: ${nodeWeb.join('; ')}.`);
  const selfChecks: string[] = [];
  for (const r of results.values()) {
    const worst = Math.max(...r.cases.map((c) => c.timedVsParity));
    if (worst !== 0) selfChecks.push(`${r.engine} t${r.threads}: ${fmtErr(worst)}`);
  }
  lines.push(selfChecks.length
    ? `- Timed runs differ from the parity run of the same input: ${selfChecks.join('; ')}.`
    : '- Every timed run returned bit for bit the pooler of the parity run of the same input.');
  const t1 = results.get(key('ours', 1));
  for (const threads of args.threads.filter((t) => t > 1)) {
    const tn = results.get(key('ours', threads));
    if (!t1 || !tn) continue;
    const worst = Math.max(...t1.cases.map((c) => {
      const o = caseOf(tn, c.T, c.B);
      if (!o) return Infinity;
      const d = compare(c.outputs, o.outputs, new Array<number>(c.B).fill(c.T), C);
      return Math.max(d.pooler, d.hidden);
    }));
    lines.push(`- ours, ${threads} threads vs 1: max |Δ| ${worst === 0 ? '0 (bitwise identical)' : fmtErr(worst)}.`);
  }
  lines.push(`- ms/seq = median batch time / B, after one warm-up run (whose outputs the parity column compares); ` +
    `runs = timed runs per engine (ours/ort-node/ort-web). Parity ✓ = max |Δ| ≤ ${PARITY_TOLERANCE.toExponential(0)} on both outputs. ` +
    `Load = Encoder.fromDirectory vs InferenceSession.create (ort-web: including reading the files into memory).`);
  if (!oursThreads && args.threads.some((t) => t > 1)) lines.push('- ours has no `threads` option yet: its multi-thread rows are empty.');
  lines.push(`- Wall time of the whole bench: ${((performance.now() - started) / 1000).toFixed(0)} s.`);

  const md = `${lines.join('\n')}\n`;
  writeFileSync(RESULTS_MD, md);
  process.stdout.write(`\n${md}`);
  if (failures.length) {
    process.stderr.write(`\nFailed engines:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  } else if (parityRows > 0 && !allAgree) {
    process.stderr.write(`\nParity: some engines disagree beyond ${PARITY_TOLERANCE}\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:e2e: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
