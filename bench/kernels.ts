// Benchmark: the WebAssembly SIMD kernels against the scalar TypeScript reference backend (the peer),
// in the same process, single-threaded.
// - linear (packed x·Wᵀ + b) on BERT-base shapes T×768·768ᵀ, T×768·3072ᵀ, T×3072·768ᵀ for T = 16,
//   128, 512: GFLOP/s and the fraction of a register-resident f32x4 mul+add peak (assembly/peak.ts)
//   sampled right before every run, so both see the same machine load;
// - attention products, softmax, layernorm, GELU, tanh, add, dotRows on BERT-base sizes: GB/s
//   (bytes read + written once) or GFLOP/s.
// Median of RUNS runs (each run repeats the call until it lasts ≥ MIN_RUN_MS); peak RSS at the end.
// Run: npm run bench:kernels   (or: npx tsx bench/kernels.ts [runs] [kernel-name-filter])
import { createReferenceBackend } from '../src/kernels/reference.js';
import { createPeakProbe, createWasmBackend } from '../src/kernels/wasm.js';
import type { KernelBackend, Ptr } from '../src/kernels/backend.js';

const RUNS = Math.max(5, Number(process.argv[2] ?? 7));
/** Optional substring: only kernels whose name contains it (e.g. `gelu`). */
const ONLY = process.argv[3] ?? '';
const MIN_RUN_MS = 40;
/** The reference is ~50-100x slower; its runs are single calls once they pass this. */
const REF_MIN_RUN_MS = 40;

const wasm = await createWasmBackend();
const ref = createReferenceBackend();
const peak = await createPeakProbe();

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const peakSamples: number[] = [];
/** One ~10 ms run of the peak loop; returns GFLOP/s. */
function samplePeak(): number {
  const iterations = 200_000;
  peak.run(iterations); // warm
  const t = performance.now();
  peak.run(iterations * 10);
  const gflops = (iterations * 10 * peak.flopsPerIteration) / ((performance.now() - t) * 1e6);
  peakSamples.push(gflops);
  return gflops;
}

/**
 * Seconds per call: median over RUNS runs; each run repeats `fn` until it lasts ≥ minMs.
 * With `interleave`, it runs right before each run and the per-run ratio (its value × seconds per
 * call) is kept too: on a shared machine the load drifts, and a peak sampled next to each run
 * tracks it better than one measured once.
 */
function time(fn: () => void, minMs: number, interleave?: () => number): { median: number; best: number; ratios: number[] } {
  fn(); // warm-up: compile tiers, touch memory
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t >= minMs || reps >= 1 << 20) break;
    reps *= 2;
  }
  const perCall: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const near = interleave?.();
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    const sec = (performance.now() - t) / 1000 / reps;
    perCall.push(sec);
    if (near !== undefined) ratios.push(near * sec);
  }
  return { median: median(perCall), best: Math.min(...perCall), ratios };
}

function fill(be: KernelBackend, p: Ptr, n: number, seed: number, lo = -1, hi = 1): void {
  const v = be.f32(p, n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
}

interface Row {
  kernel: string;
  shape: string;
  unit: string;
  ours: number;
  oursBest?: number;
  peakFraction?: number;
  reference: number;
}
const rows: Row[] = [];

/** Runs `setup` on both backends and times the returned call; `work` = flops or bytes per call. */
function bench(kernel: string, shape: string, unit: 'GFLOP/s' | 'GB/s', work: number, setup: (be: KernelBackend) => () => void, withPeak = false): void {
  if (!kernel.includes(ONLY)) return;
  const result: Partial<Row> = { kernel, shape, unit };
  for (const be of [wasm, ref]) {
    const mark = be.mark();
    const call = setup(be);
    const t = time(call, be === wasm ? MIN_RUN_MS : REF_MIN_RUN_MS, be === wasm && withPeak ? samplePeak : undefined);
    if (be === wasm) {
      result.ours = work / t.median / 1e9;
      result.oursBest = work / t.best / 1e9;
      // Fraction of the peak sampled just before each run (GFLOP/s of the run ÷ that peak).
      if (t.ratios.length) result.peakFraction = median(t.ratios.map((peakTimesSec) => work / 1e9 / peakTimesSec));
    } else result.reference = work / t.median / 1e9;
    be.release(mark);
  }
  rows.push(result as Row);
  process.stderr.write(`  ${kernel} ${shape}: ${result.ours!.toFixed(2)} ${unit}\n`);
}

// Linear layers of BERT-base.
const linearShapes: Array<[number, number]> = [[768, 768], [768, 3072], [3072, 768]];
for (const T of [16, 128, 512]) {
  for (const [IN, OUT] of linearShapes) {
    bench('linear', `${T}×${IN}·(${OUT}×${IN})ᵀ`, 'GFLOP/s', 2 * T * IN * OUT, (be) => {
      const x = be.alloc(T * IN * 4), w = be.alloc(OUT * IN * 4), b = be.alloc(OUT * 4);
      const packed = be.alloc(be.packedLinearBytes(OUT, IN)), out = be.alloc(T * OUT * 4);
      fill(be, x, T * IN, 1);
      fill(be, w, OUT * IN, 2);
      fill(be, b, OUT, 3);
      be.packLinear(packed, w, OUT, IN);
      return () => be.linear(out, x, packed, b, T, IN, OUT);
    }, true);
  }
}

// Attention for one sequence of L = 128 over all 12 heads (as bert.ts calls it).
{
  const L = 128, C = 768, HS = 64, NH = 12;
  bench('matmulNT (Q·Kᵀ, 12 heads)', `${L}×${L}×${HS}, ld ${C}`, 'GFLOP/s', 2 * NH * L * L * HS, (be) => {
    const q = be.alloc(L * C * 4), k = be.alloc(L * C * 4), s = be.alloc(L * L * 4);
    fill(be, q, L * C, 4);
    fill(be, k, L * C, 5);
    return () => {
      for (let h = 0; h < NH; h++) be.matmulNT(s, q + h * HS * 4, k + h * HS * 4, L, L, HS, C, C, L);
    };
  }, true);
  bench('matmulNN (P·V, 12 heads)', `${L}×${HS}×${L}, ld ${C}`, 'GFLOP/s', 2 * NH * L * L * HS, (be) => {
    const p = be.alloc(L * L * 4), v = be.alloc(L * C * 4), ctx = be.alloc(L * C * 4);
    fill(be, p, L * L, 6, 0, 1);
    fill(be, v, L * C, 7);
    return () => {
      for (let h = 0; h < NH; h++) be.matmulNN(ctx + h * HS * 4, p, v + h * HS * 4, L, HS, L, L, C, C);
    };
  }, true);
}

// Memory-bound kernels: bytes read + written once per call.
{
  const L = 128, C = 768, I = 3072, NH = 12;
  bench('softmaxRows (scale + mask)', `${NH * L}×${L}`, 'GB/s', NH * L * L * 4 * 2, (be) => {
    const x = be.alloc(NH * L * L * 4), mask = be.alloc(L * 4);
    fill(be, mask, L, 8, 0, 0);
    const src = be.alloc(NH * L * L * 4);
    fill(be, src, NH * L * L, 9, -8, 8);
    const h = (): Float32Array => be.f32(x, NH * L * L);
    const s = be.f32(src, NH * L * L);
    h().set(s);
    // In place: probabilities fed back in stay in [0, 1], so every call does the same work.
    return () => be.softmaxRows(x, mask, NH * L, L, 0.125);
  });
  bench('layerNorm', `${L}×${C}`, 'GB/s', (2 * L * C + 2 * C) * 4, (be) => {
    const x = be.alloc(L * C * 4), out = be.alloc(L * C * 4), g = be.alloc(C * 4), b = be.alloc(C * 4);
    fill(be, x, L * C, 10, -3, 3);
    fill(be, g, C, 11, 0.5, 1.5);
    fill(be, b, C, 12);
    return () => be.layerNorm(out, x, g, b, L, C, 1e-12);
  });
  bench('gelu (in place)', `${L}×${I}`, 'GB/s', L * I * 4 * 2, (be) => {
    const x = be.alloc(L * I * 4), src = be.alloc(L * I * 4);
    fill(be, src, L * I, 13, -6, 6);
    // Refresh the input each call (a copy, counted in the time) so GELU never runs on its own output.
    return () => {
      be.f32(x, L * I).set(be.f32(src, L * I));
      be.gelu(x, L * I);
    };
  });
  bench('tanh (in place)', `${NH}×${C}`, 'GB/s', NH * C * 4 * 2, (be) => {
    const x = be.alloc(NH * C * 4);
    fill(be, x, NH * C, 14, -3, 3);
    return () => be.tanh(x, NH * C);
  });
  bench('addInPlace', `${L}×${C}`, 'GB/s', L * C * 4 * 3, (be) => {
    const a = be.alloc(L * C * 4), b = be.alloc(L * C * 4);
    fill(be, a, L * C, 15, 0, 0);
    fill(be, b, L * C, 16, 0, 0);
    return () => be.addInPlace(a, b, L * C);
  });
  const R = 20_000;
  bench('dotRows (exact search)', `${R}×${C}`, 'GB/s', (R * C + C + R) * 4, (be) => {
    const m = be.alloc(R * C * 4), v = be.alloc(C * 4), out = be.alloc(R * 4);
    fill(be, m, R * C, 17);
    fill(be, v, C, 18);
    return () => be.dotRows(out, m, v, R, C);
  });
}

if (peakSamples.length === 0) samplePeak();
const peakMedian = median(peakSamples);

console.log(`\n### Kernels: wasm SIMD vs scalar reference (Node ${process.versions.node}, ${process.arch}, single thread, median of ${RUNS} runs)\n`);
console.log(`f32x4 mul+add peak (register-resident, assembly/peak.ts): median ${peakMedian.toFixed(1)} GFLOP/s, best ${Math.max(...peakSamples).toFixed(1)} (${peakSamples.length} samples interleaved with the runs)\n`);
console.log('% of peak: median over runs of (run GFLOP/s ÷ the peak sampled just before that run).\n');
console.log('| kernel | shape | wasm SIMD (median) | best run | % of peak | reference (peer) | speed-up |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const pct = r.peakFraction === undefined ? '' : `${(r.peakFraction * 100).toFixed(0)} %`;
  console.log(
    `| ${r.kernel} | ${r.shape} | ${r.ours.toFixed(2)} ${r.unit} | ${r.oursBest!.toFixed(2)} | ${pct} | ${r.reference.toFixed(3)} ${r.unit} | ${(r.ours / r.reference).toFixed(0)}× |`,
  );
}
console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
