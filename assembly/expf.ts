// Owns: exp4, the f32x4 exponential that softmax, GELU and tanh share. Not exported to JavaScript.
//
// Method (Cephes expf): n = round(x·log2 e), r = x - n·ln2 in two parts (Cody–Waite: C1 has 9
// significant bits, so n·C1 is exact for |n| ≤ 128), e^r by a degree-5 minimax polynomial on
// |r| ≤ ln2/2, then scale by 2^n built directly in the exponent bits.
// Speed notes (V8 on x64): f32x4.min/max carry wasm's NaN and ±0 rules and cost ~8 instructions
// each, pmin/pmax are one minps/maxps — with x as the first operand they still pass a NaN x
// through. Rounding uses the 1.5·2^23 "magic number" add, which leaves n in the low mantissa bits,
// so 2^n needs an integer add and shift instead of roundps + the multi-instruction trunc_sat.
// Measured error: at most 0.98 ulp against Math.exp (float64) over every 4th f32 in [-87.34, 0]
// (2.8e8 values; a correctly rounded exp would be 0.5 ulp), i.e. relative error < 1.2e-7.
// Domain: every caller passes x ≤ ~0 (softmax: x - max; tanh: -2|x|; GELU: -z² + small), so the
// top is clamped at EXP_HI without an overflow path. Below EXP_LO (where e^x < FLT_MIN) the result
// is exactly 0: this is what makes masked softmax columns exactly 0, and denormals, which would be
// slow and are < 1.2e-38 anyway, never appear. NaN in gives NaN out.

import { madd } from './madd';

/** ln(FLT_MIN): below this e^x is subnormal; we return exactly 0. */
const EXP_LO: f32 = -87.33654;
/** Clamp for the top so 2^n stays finite (n ≤ 127); callers never come near it. */
const EXP_HI: f32 = 88.0;
const LOG2E: f32 = 1.44269504088896341;
/** ln 2 = C1 - C2 (C1 = 0.693359375 exactly, 9 bits). */
const EXP_C1: f32 = 0.693359375;
const EXP_C2: f32 = -2.12194440e-4;
// Cephes expf minimax coefficients for (e^r - 1 - r)/r² on |r| ≤ ln2/2.
const EXP_P0: f32 = 1.9875691500e-4;
const EXP_P1: f32 = 1.3981999507e-3;
const EXP_P2: f32 = 8.3334519073e-3;
const EXP_P3: f32 = 4.1665795894e-2;
const EXP_P4: f32 = 1.6666665459e-1;
const EXP_P5: f32 = 5.0000001201e-1;

/** 1.5·2^23: adding it to |v| < 2^22 rounds v to an integer (nearest, ties to even) held in the
 *  low mantissa bits. */
const ROUND_MAGIC: f32 = 12582912.0;
/** Bit pattern of ROUND_MAGIC. */
const ROUND_MAGIC_BITS: i32 = 0x4b400000;
const EXP_BIAS: i32 = 127;

// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  return expCore(x, f32x4.pmin(f32x4.pmax(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI)), EXP_LO);
}

/**
 * exp4 for x ≤ 0 (or -∞, or NaN) — softmax's x - max — without the two clamps: the same bits as
 * exp4 there. On [EXP_LO, 0] the clamps change nothing; below EXP_LO the unclamped 2^n is garbage
 * (the i32 exponent add wraps; nothing traps) but the final mask replaces it with 0 either way.
 * Two fewer instructions of ~27, on the 3.1 M exps per layer of a 512-token attention.
 * lo (≥ EXP_LO) is where results flush to exactly 0: EXP_LO keeps exp4's bits; attention passes a
 * higher one (see softmax.ts, ATTENTION_FLUSH).
 */
// @ts-ignore: decorator
@inline
export function exp4NonPositive(x: v128, lo: f32): v128 {
  return expCore(x, x, lo);
}

/** exp4's flush point, for exp4NonPositive callers that keep its bits. */
export const EXP_FLUSH_DEFAULT: f32 = EXP_LO;

/** The shared body: xc is x, clamped where the caller's domain needs it. */
// @ts-ignore: decorator
@inline
function expCore(x: v128, xc: v128, lo: f32): v128 {
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const n = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(EXP_C1)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(EXP_C2)));
  // Horner steps as madd (fused in the relaxed build, madd.ts; the baseline build's bits unchanged).
  let p = madd(f32x4.splat(EXP_P0), r, f32x4.splat(EXP_P1));
  p = madd(p, r, f32x4.splat(EXP_P2));
  p = madd(p, r, f32x4.splat(EXP_P3));
  p = madd(p, r, f32x4.splat(EXP_P4));
  p = madd(p, r, f32x4.splat(EXP_P5));
  // e^r = 1 + r + r²·p, added small-to-large.
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  // 2^n: n in [-126, 127] after the clamp, so the biased exponent n + 127 is in [1, 254].
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(EXP_BIAS - ROUND_MAGIC_BITS)), 23);
  const e = f32x4.mul(y, scale);
  // x < lo (EXP_LO for exp4; including -∞) → exactly 0. NaN compares false and keeps its NaN.
  return v128.andnot(e, f32x4.lt(x, f32x4.splat(lo)));
}
