// Owns: peak_fma_f32, a bench-only kernel that measures how fast this engine can issue f32x4
// multiply-adds when nothing has to come from memory. bench/kernels.ts reports every matmul as a
// fraction of it. Not used by the model.
//
// Shape of the loop: PEAK_CHAINS independent recurrences acc = acc * m + a. Each step is a mul
// followed by a dependent add (WebAssembly SIMD has no fused multiply-add without relaxed-simd), the
// same two instructions a matmul inner loop issues per v128 of output. With 3-cycle mul and add
// latency, 2 mul and 2 add pipes need 12 chains in flight to stay busy; m and a come in as arguments
// so neither Binaryen nor V8 can fold or hoist the multiply.

/** Independent accumulators in flight (enough to hide mul + add latency on 2 + 2 FP pipes). */
const PEAK_CHAINS: i32 = 12;

/** Runs `iterations` steps; each does PEAK_CHAINS f32x4 mul+add = PEAK_CHAINS * 8 flops. */
export function peakFma(iterations: i32, m: f32, a: f32): f32 {
  const vm = f32x4.splat(m);
  const va = f32x4.splat(a);
  let c0 = f32x4.splat(0.0), c1 = f32x4.splat(0.1), c2 = f32x4.splat(0.2), c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4), c5 = f32x4.splat(0.5), c6 = f32x4.splat(0.6), c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8), c9 = f32x4.splat(0.9), c10 = f32x4.splat(1.0), c11 = f32x4.splat(1.1);
  for (let i = 0; i < iterations; i++) {
    c0 = f32x4.add(f32x4.mul(c0, vm), va);
    c1 = f32x4.add(f32x4.mul(c1, vm), va);
    c2 = f32x4.add(f32x4.mul(c2, vm), va);
    c3 = f32x4.add(f32x4.mul(c3, vm), va);
    c4 = f32x4.add(f32x4.mul(c4, vm), va);
    c5 = f32x4.add(f32x4.mul(c5, vm), va);
    c6 = f32x4.add(f32x4.mul(c6, vm), va);
    c7 = f32x4.add(f32x4.mul(c7, vm), va);
    c8 = f32x4.add(f32x4.mul(c8, vm), va);
    c9 = f32x4.add(f32x4.mul(c9, vm), va);
    c10 = f32x4.add(f32x4.mul(c10, vm), va);
    c11 = f32x4.add(f32x4.mul(c11, vm), va);
  }
  // Tree-sum so the result depends on every chain and nothing is dead code.
  const s = f32x4.add(
    f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
    f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)),
  );
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Flops one iteration of peakFma performs. */
export function peakFmaFlopsPerIteration(): i32 {
  return PEAK_CHAINS * 8;
}
