// Benchmark: the WebAssembly SIMD kernels — the baseline build and, where the runtime validates relaxed
// SIMD (Node >= 22, Deno, Chromium), the relaxed build (f32x4.relaxed_madd in every matmul) — against
// the scalar TypeScript reference backend (the peer), in the same process, single-threaded. The two
// builds run interleaved (run r of one, then run r of the other), each against its own peak.
// - linear (packed x·Wᵀ + b) on BERT-base shapes T×768·768ᵀ, T×768·3072ᵀ, T×3072·768ᵀ for T = 16,
//   128, 512: GFLOP/s and the fraction of the build's own register-resident multiply-add peak
//   (assembly/peak.ts: f32x4 mul+add, or relaxed_madd) sampled right before every matmul run, so
//   both see the same machine load;
// - attention products, softmax, layernorm, GELU, tanh, add, dotRows on BERT-base sizes: GB/s
//   (bytes read + written once) or GFLOP/s.
// Median and best of RUNS runs (each repeats the call until it lasts ≥ MIN_RUN_MS: short, so that on
// a shared machine some runs fall inside one scheduler slice); the load average; peak RSS at the end.
// Run: npm run bench:kernels   (or: npx tsx bench/kernels.ts [runs] [kernel-name-filter]); under Node 20
// only the baseline build runs — for both: <node 24> node_modules/tsx/dist/cli.mjs bench/kernels.ts
import { createReferenceBackend } from '../src/kernels/reference.js';
import { createPeakProbe, createWasmBackend } from '../src/kernels/wasm.js';
import { hasRelaxedSimd } from '../src/kernels/kernel-module.js';
import type { KernelBackend, Ptr } from '../src/kernels/backend.js';
import { cpus, loadavg } from 'node:os';
import { median } from './median.js';

const RUNS = Math.max(5, Number(process.argv[2] ?? 15));
/** Optional substring: only kernels whose name contains it (e.g. `gelu`). */
const ONLY = process.argv[3] ?? '';
const MIN_RUN_MS = 5;
/** The reference is ~30-50x slower; one call already passes this for the big shapes. */
const REF_MIN_RUN_MS = 40;
/** Runs of the reference: 5, its big shapes take seconds per call. */
const REF_RUNS = 5;

const loadBefore = loadavg().map((v) => v.toFixed(2)).join(' ');
const ref = createReferenceBackend();

interface Build {
  simd: 'baseline' | 'relaxed';
  be: KernelBackend;
  peak: Awaited<ReturnType<typeof createPeakProbe>>;
  peakSamples: number[];
}
const builds: Build[] = [];
for (const simd of hasRelaxedSimd() ? (['baseline', 'relaxed'] as const) : (['baseline'] as const)) {
  builds.push({ simd, be: await createWasmBackend({ simd }), peak: await createPeakProbe({ simd }), peakSamples: [] });
}

/** One ~10 ms run of a build's peak loop; records GFLOP/s. */
function samplePeak(b: Build): void {
  const iterations = 200_000;
  b.peak.run(iterations); // warm
  const t = performance.now();
  b.peak.run(iterations * 10);
  b.peakSamples.push((iterations * 10 * b.peak.flopsPerIteration) / ((performance.now() - t) * 1e6));
}

/** Repetitions of fn that last ≥ minMs (after a warm-up call). */
function calibrate(fn: () => void, minMs: number): number {
  fn(); // warm-up: compile tiers, touch memory
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t >= minMs || reps >= 1 << 20) break;
    reps *= 2;
  }
  return reps;
}

/** Seconds per call of each of `fns`, median and best of `runs` runs, the calls interleaved run by
 *  run (fns[0] run r, fns[1] run r, …) with `before(i)` (the peak sampler) ahead of each. */
function timeInterleaved(fns: Array<() => void>, runs: number, minMs: number, before?: (i: number) => void): Array<{ median: number; best: number }> {
  const reps = fns.map((fn) => calibrate(fn, minMs));
  const perCall = fns.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    fns.forEach((fn, i) => {
      before?.(i);
      const t = performance.now();
      for (let k = 0; k < reps[i]; k++) fn();
      perCall[i].push((performance.now() - t) / 1000 / reps[i]);
    });
  }
  return perCall.map((xs) => ({ median: median(xs), best: Math.min(...xs) }));
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
  /** Per build (same order as `builds`): rate of the median run and of the best run. */
  ours: Array<{ median: number; best: number }>;
  reference: number;
  withPeak: boolean;
}
const rows: Row[] = [];

/** Runs `setup` on both backends and times the returned call; `work` = flops or bytes per call. */
function bench(kernel: string, shape: string, unit: 'GFLOP/s' | 'GB/s', work: number, setup: (be: KernelBackend) => () => void, withPeak = false): void {
  if (!kernel.includes(ONLY)) return;
  const marks = builds.map((b) => b.be.mark());
  const calls = builds.map((b) => setup(b.be));
  const t = timeInterleaved(calls, RUNS, MIN_RUN_MS, withPeak ? (i) => samplePeak(builds[i]) : undefined);
  builds.forEach((b, i) => b.be.release(marks[i]));
  const refMark = ref.mark();
  const reference = work / timeInterleaved([setup(ref)], REF_RUNS, REF_MIN_RUN_MS)[0].median / 1e9;
  ref.release(refMark);
  const ours = t.map((x) => ({ median: work / x.median / 1e9, best: work / x.best / 1e9 }));
  rows.push({ kernel, shape, unit, ours, reference, withPeak });
  process.stderr.write(`  ${kernel} ${shape}: ${ours.map((o, i) => `${builds[i].simd} ${o.median.toFixed(2)}`).join(', ')} ${unit}\n`);
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

// The fused attention as bert.ts calls it (packs K_h and V_h, then both products on the Linear's
// tiles; softmax included in the time, not in the flops).
for (const L of [128, 512]) {
  const C = 768, HS = 64, NH = 12;
  bench('attention (fused, 12 heads)', `L=${L}, HS=${HS}, ld ${C}`, 'GFLOP/s', 2 * 2 * NH * L * L * HS, (be) => {
    const q = be.alloc(L * C * 4), k = be.alloc(L * C * 4), v = be.alloc(L * C * 4), ctx = be.alloc(L * C * 4);
    const scratch = be.alloc(be.attentionScratchBytes(NH, L, HS));
    fill(be, q, L * C, 10);
    fill(be, k, L * C, 11);
    fill(be, v, L * C, 12);
    return () => be.attention(ctx, q, k, v, scratch, NH, L, HS, C, 0.125);
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

for (const b of builds) if (b.peakSamples.length === 0) samplePeak(b);
const peaks = builds.map((b) => ({ median: median(b.peakSamples), best: Math.max(...b.peakSamples) }));

console.log(`\n### Kernels: wasm SIMD builds vs scalar reference (Node ${process.versions.node}, ${process.arch}, ${cpus()[0]?.model ?? ''}, single thread, ${RUNS} interleaved runs of each build, ${REF_RUNS} of the reference)\n`);
builds.forEach((b, i) => {
  const what = b.simd === 'relaxed' ? 'f32x4.relaxed_madd' : 'f32x4 mul+add';
  console.log(`${b.simd} build: ${what} peak (register-resident, assembly/peak.ts): median ${peaks[i].median.toFixed(1)} GFLOP/s, best ${peaks[i].best.toFixed(1)} (${b.peakSamples.length} samples interleaved with the matmul runs)`);
});
if (builds.length === 1) console.log(`relaxed build: not run (Node ${process.versions.node} does not validate relaxed SIMD; Node >= 22 does)`);
console.log(`load average while running: ${loadBefore} → ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other processes share the cores: compare "best" columns when it is high)\n`);
const buildCols = builds.map((b) => `${b.simd} median | best run | % of own peak (median / median) | % (best / best)`).join(' | ');
const ratioCol = builds.length > 1 ? ' relaxed / baseline (medians) |' : '';
console.log(`| kernel | shape | ${buildCols} |${ratioCol} reference (peer) median | baseline speed-up |`);
console.log(`|---|---|${builds.map(() => '---:|---:|---:|---:|').join('')}${builds.length > 1 ? '---:|' : ''}---:|---:|`);
for (const r of rows) {
  const flops = r.unit === 'GFLOP/s';
  const pct = (v: number): string => (flops ? `${(v * 100).toFixed(0)} %` : '');
  const cells = r.ours.map((o, i) => `${o.median.toFixed(2)} ${r.unit} | ${o.best.toFixed(2)} | ${pct(o.median / peaks[i].median)} | ${pct(o.best / peaks[i].best)}`).join(' | ');
  const ratio = builds.length > 1 ? ` ${(r.ours[1].median / r.ours[0].median).toFixed(2)}× |` : '';
  console.log(`| ${r.kernel} | ${r.shape} | ${cells} |${ratio} ${r.reference.toFixed(3)} ${r.unit} | ${(r.ours[0].median / r.reference).toFixed(0)}× |`);
}
console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
