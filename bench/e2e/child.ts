// Owns: one engine at one thread count, alone in its own process (so its peak RSS is its own):
// load it (timed), then for each case warm up once — keeping that run's full outputs for the
// parity column — and time several runs; write the outputs as raw f32 files and print one JSON
// line of results on stdout. Progress goes to stderr.
// Does not own: choosing cases or comparing engines (../e2e.ts), or the engines themselves.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadEngine, type EngineName, type EngineOutputs, type EnginePaths, type OursDtype } from './engines.js';
import { makeBatch } from './inputs.js';
import { corpusTokens, type Corpus, type CorpusResult } from './corpora.js';
import { median } from '../median.js';

export interface TimedCase {
  T: number;
  B: number;
  /** Time to spend on timed runs (after the warm-up); reps = budget / warm-up time, clamped. */
  budgetMs: number;
  minReps: number;
  maxReps: number;
}

export interface ParityCase {
  id: string;
  /** Sequence lengths of one padded batch. */
  lengths: number[];
}

export interface ChildSpec {
  engine: EngineName;
  /** Weight format (ours only; the peers run f32). */
  dtype: OursDtype;
  /** 'ours', 'ours-int8', 'ort-node', ...: names files and log lines. */
  label: string;
  threads: number;
  paths: EnginePaths;
  seed: number;
  vocabSize: number;
  cases: TimedCase[];
  parityCases: ParityCase[];
  /** Corpus-throughput rows: each corpus embedded whole, `corpusReps` timed passes after a warm-up. */
  corpora: Corpus[];
  corpusReps: number;
  /** Folder for the outputs (raw little-endian f32). */
  outDir: string;
}

export interface OutputFiles {
  pooler: string;
  hidden: string;
  T: number;
}

export interface CaseResult {
  T: number;
  B: number;
  warmupMs: number;
  runsMs: number[];
  medianMs: number;
  /** VmHWM after this case (cases run smallest first, so this is close to the case's own peak). */
  hwmMiB: number;
  /** max |pooler of the last timed run - pooler of the warm-up run| (the parity outputs). */
  timedVsParity: number;
  outputs: OutputFiles;
}

export interface ChildResult {
  engine: EngineName;
  label: string;
  threads: number;
  loadMs: number;
  rssAfterLoadMiB: number;
  peakRssMiB: number;
  /** 1-minute load average when the process started and when it ended (the machine is shared). */
  loadAverage: [number, number];
  cases: CaseResult[];
  corpora: CorpusResult[];
  parity: Array<{ id: string; lengths: number[]; outputs: OutputFiles }>;
}

function procStatusMiB(field: 'VmHWM' | 'VmRSS'): number {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) / 1024 : NaN;
}


function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as the maximum
  }
  return m;
}

function save(spec: ChildSpec, tag: string, out: EngineOutputs): OutputFiles {
  const base = join(spec.outDir, `${spec.label}-t${spec.threads}-${tag}`);
  const files = { pooler: `${base}.pooler.f32`, hidden: `${base}.hidden.f32`, T: out.T };
  writeFileSync(files.pooler, new Uint8Array(out.pooler.buffer, out.pooler.byteOffset, out.pooler.byteLength));
  writeFileSync(files.hidden, new Uint8Array(out.hidden.buffer, out.hidden.byteOffset, out.hidden.byteLength));
  return files;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ChildSpec;
  const loadAtStart = loadavg()[0];
  const label = `${spec.label} t${spec.threads}`;
  const log = (line: string): void => void process.stderr.write(`  [${label}] ${line}\n`);

  const t0 = performance.now();
  const engine = await loadEngine(spec.engine, spec.paths, spec.threads, spec.dtype);
  const loadMs = performance.now() - t0;
  const rssAfterLoadMiB = procStatusMiB('VmRSS');
  log(`loaded in ${loadMs.toFixed(0)} ms, RSS ${rssAfterLoadMiB.toFixed(0)} MiB`);

  const cases: CaseResult[] = [];
  for (const c of spec.cases) {
    const batch = makeBatch(spec.seed, new Array<number>(c.B).fill(c.T), spec.vocabSize);
    const w0 = performance.now();
    const full = await engine.outputs(batch);
    const warmupMs = performance.now() - w0;
    const reps = Math.max(c.minReps, Math.min(c.maxReps, Math.ceil(c.budgetMs / warmupMs)));
    const runsMs: number[] = [];
    let pooled: Float32Array = new Float32Array(0);
    for (let r = 0; r < reps; r++) {
      const s = performance.now();
      pooled = await engine.run(batch);
      runsMs.push(performance.now() - s);
    }
    const result: CaseResult = {
      T: c.T,
      B: c.B,
      warmupMs,
      runsMs,
      medianMs: median(runsMs),
      hwmMiB: procStatusMiB('VmHWM'),
      timedVsParity: maxAbsDiff(pooled, full.pooler),
      outputs: save(spec, `T${c.T}-B${c.B}`, full),
    };
    cases.push(result);
    log(`T=${c.T} B=${c.B}: ${reps} runs, median ${result.medianMs.toFixed(1)} ms (${(result.medianMs / c.B).toFixed(1)} ms/seq)`);
  }

  const corpora: CorpusResult[] = [];
  for (const c of spec.corpora) {
    const ids = c.ids.map((x) => Int32Array.from(x));
    await engine.embedCorpus(c.texts, ids); // warm-up: JIT and heap growth at these lengths
    const runsMs: number[] = [];
    for (let r = 0; r < spec.corpusReps; r++) {
      const s = performance.now();
      const n = await engine.embedCorpus(c.texts, ids);
      runsMs.push(performance.now() - s);
      if (n !== c.texts.length) throw new Error(`${c.name}: ${n} vectors for ${c.texts.length} texts`);
    }
    corpora.push({ name: c.name, texts: c.texts.length, tokens: corpusTokens(c), runsMs, medianMs: median(runsMs) });
    log(`${c.name}: ${spec.corpusReps} runs, median ${median(runsMs).toFixed(0)} ms (${((1000 * c.texts.length) / median(runsMs)).toFixed(1)} passages/s)`);
  }

  const parity: ChildResult['parity'] = [];
  for (const p of spec.parityCases) {
    const out = await engine.outputs(makeBatch(spec.seed, p.lengths, spec.vocabSize));
    parity.push({ id: p.id, lengths: p.lengths, outputs: save(spec, p.id, out) });
  }
  await engine.dispose();

  const result: ChildResult = {
    engine: spec.engine,
    label: spec.label,
    threads: spec.threads,
    loadMs,
    rssAfterLoadMiB,
    peakRssMiB: procStatusMiB('VmHWM'),
    loadAverage: [loadAtStart, loadavg()[0]],
    cases,
    corpora,
    parity,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  // ort-web keeps worker threads alive; the result is out, so leave now.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
