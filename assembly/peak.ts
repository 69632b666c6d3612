// Owns: peak_fma_f32, peak_dot_i16 and peak_dot_i8, bench-only kernels that measure how fast this engine can issue
// f32x4 multiply-adds, i32x4.dot_i16x8_s multiply-adds (the int8 Linear's instruction) and, in the
// relaxed build, i32x4.relaxed_dot_i8x16_i7x16_add_s (its 7-bit FFN-out rows) when nothing has to
// come from memory. bench/kernels.ts reports every matmul as a fraction of the f32
// one; bench/peaks.ts sets the two side by side, on one and two threads. Not used by the model.
//
// Shape of the loop: PEAK_CHAINS independent recurrences acc = acc * m + a. Each step is a mul
// followed by a dependent add (WebAssembly SIMD has no fused multiply-add without relaxed-simd), the
// same two instructions a matmul inner loop issues per v128 of output; in the relaxed build both are
// one relaxed_madd (madd.ts), as in that build's matmuls, so each build is measured against its own
// peak. With 3-cycle mul and add
// latency, 2 mul and 2 add pipes need 12 chains in flight to stay busy; m and a come in as arguments
// so neither Binaryen nor V8 can fold or hoist the multiply.

import { madd } from './madd';

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
    c0 = madd(c0, vm, va);
    c1 = madd(c1, vm, va);
    c2 = madd(c2, vm, va);
    c3 = madd(c3, vm, va);
    c4 = madd(c4, vm, va);
    c5 = madd(c5, vm, va);
    c6 = madd(c6, vm, va);
    c7 = madd(c7, vm, va);
    c8 = madd(c8, vm, va);
    c9 = madd(c9, vm, va);
    c10 = madd(c10, vm, va);
    c11 = madd(c11, vm, va);
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

/** Independent i32x4.dot_i16x8_s chains in flight (3-cycle latency + the add, 2 dot pipes). */
const DOT_CHAINS: i32 = 12;

/**
 * The int8 path's counterpart of peakFma: DOT_CHAINS recurrences acc = dot_i16x8_s(acc, m) + a, the
 * multiply-add pair linear_q8 issues per v128 of int16 activations (8 multiply-adds each). Integer
 * wrap-around is harmless; m and a come in as arguments, and each dot reads its chain's previous
 * value, so nothing can be hoisted. Runs `iterations` steps; returns a lane so the work is live.
 */
export function peakDotI16(iterations: i32, m: i32, a: i32): i32 {
  const vm = i16x8.splat(<i16>m);
  const va = i32x4.splat(a);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(1), c2 = i32x4.splat(2), c3 = i32x4.splat(3);
  let c4 = i32x4.splat(4), c5 = i32x4.splat(5), c6 = i32x4.splat(6), c7 = i32x4.splat(7);
  let c8 = i32x4.splat(8), c9 = i32x4.splat(9), c10 = i32x4.splat(10), c11 = i32x4.splat(11);
  for (let i = 0; i < iterations; i++) {
    c0 = i32x4.add(i32x4.dot_i16x8_s(c0, vm), va);
    c1 = i32x4.add(i32x4.dot_i16x8_s(c1, vm), va);
    c2 = i32x4.add(i32x4.dot_i16x8_s(c2, vm), va);
    c3 = i32x4.add(i32x4.dot_i16x8_s(c3, vm), va);
    c4 = i32x4.add(i32x4.dot_i16x8_s(c4, vm), va);
    c5 = i32x4.add(i32x4.dot_i16x8_s(c5, vm), va);
    c6 = i32x4.add(i32x4.dot_i16x8_s(c6, vm), va);
    c7 = i32x4.add(i32x4.dot_i16x8_s(c7, vm), va);
    c8 = i32x4.add(i32x4.dot_i16x8_s(c8, vm), va);
    c9 = i32x4.add(i32x4.dot_i16x8_s(c9, vm), va);
    c10 = i32x4.add(i32x4.dot_i16x8_s(c10, vm), va);
    c11 = i32x4.add(i32x4.dot_i16x8_s(c11, vm), va);
  }
  const s = i32x4.add(
    i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7))),
    i32x4.add(i32x4.add(c8, c9), i32x4.add(c10, c11)),
  );
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 3);
}

/** Integer ops (a multiply-add counts 2, as in GFLOP/s) one iteration of peakDotI16 performs. */
export function peakDotI16OpsPerIteration(): i32 {
  return DOT_CHAINS * 16;
}

/** Independent relaxed-dot chains in flight (vpdpbusd: ~4-cycle latency, 2 pipes). */
const DOT8_CHAINS: i32 = 12;

/**
 * The relaxed build's int8 instruction, i32x4.relaxed_dot_i8x16_i7x16_add_s (16 multiply-adds into
 * 4 lanes, one vpdpbusd where the CPU has VNNI), in DOT8_CHAINS recurrences acc = dot(m, a) + acc —
 * the step linear_q8 issues per v128 of 7-bit FFN-out rows. `a` is splat as bytes in [0, 127] (the
 * i7 operand's defined range). Returns 0 without running in the baseline build (no relaxed SIMD
 * there; peakDotI8OpsPerIteration says 0).
 */
export function peakDotI8(iterations: i32, m: i32, a: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  const vm = i8x16.splat(<i8>m);
  const va = i8x16.splat(<i8>(a & 127));
  let c0 = i32x4.splat(0), c1 = i32x4.splat(1), c2 = i32x4.splat(2), c3 = i32x4.splat(3);
  let c4 = i32x4.splat(4), c5 = i32x4.splat(5), c6 = i32x4.splat(6), c7 = i32x4.splat(7);
  let c8 = i32x4.splat(8), c9 = i32x4.splat(9), c10 = i32x4.splat(10), c11 = i32x4.splat(11);
  for (let i = 0; i < iterations; i++) {
    c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c0);
    c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c1);
    c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c2);
    c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c3);
    c4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c4);
    c5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c5);
    c6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c6);
    c7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c7);
    c8 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c8);
    c9 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c9);
    c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c10);
    c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(vm, va, c11);
  }
  const s = i32x4.add(
    i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7))),
    i32x4.add(i32x4.add(c8, c9), i32x4.add(c10, c11)),
  );
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 3);
}

/** Integer ops (a multiply-add counts 2) one iteration of peakDotI8 performs; 0 in the baseline build. */
export function peakDotI8OpsPerIteration(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? DOT8_CHAINS * 32 : 0;
}
