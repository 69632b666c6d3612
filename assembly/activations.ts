// Owns: gelu_f32 (exact erf GELU, Hugging Face "gelu") and tanh_f32 (BertPooler), in place.
// Both are branch-free per v128 (every lane computes every path, a select picks), with the n % 4
// tail run through the same v128 code on a splat so tail and body agree bit for bit.
import { exp4 } from './expf';
import { madd } from './madd';

const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;
const SIGN_MASK: i32 = 0x80000000;

const SQRT1_2: f32 = 0.70710678118654752;
/** Beyond |x| = 20, Φ(-|x|) < 3e-89: the correction term is 0 and is computed as min(|x|, 20)·0 so
 *  that ±∞ gives ∞ and 0 (the limits) instead of ∞·0 = NaN. */
const GELU_CLAMP: f32 = 20.0;
// erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2): Numerical Recipes' erfcc (Chebyshev fit, fractional
// error < 1.2e-7 for every z ≥ 0, so it needs no range split and has no cancellation at large z).
const ERFC_A0: f32 = -1.26551223;
const ERFC_A1: f32 = 1.00002368;
const ERFC_A2: f32 = 0.37409196;
const ERFC_A3: f32 = 0.09678418;
const ERFC_A4: f32 = -0.18628806;
const ERFC_A5: f32 = 0.27886807;
const ERFC_A6: f32 = -1.13520398;
const ERFC_A7: f32 = 1.48851587;
const ERFC_A8: f32 = -0.82215223;
const ERFC_A9: f32 = 0.17087277;

/**
 * GELU(x) = x·Φ(x), Φ the normal CDF, computed as max(x, 0) - |x|·Φ(-|x|):
 * for x ≥ 0 that is x - x·Φ(-x), for x < 0 it is x·Φ(x). Φ(-|x|) = erfc(|x|/√2)/2 is small and
 * computed to a small *relative* error, so the result is x minus a small, accurate correction
 * (no 1 + erf cancellation for x < 0, no error growth for large x).
 * Measured: max |error| 2.4e-7 vs a float64 erf GELU over 2^20 points of [-10, 10] (at x ≈ 4.15,
 * i.e. half an ulp of the result: the final rounding, not the approximation, dominates); the test
 * enforces 1e-6.
 * Limits: GELU(+∞) = +∞, GELU(-∞) = 0, NaN → NaN.
 */
// @ts-ignore: decorator
@inline
function gelu4(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(a, f32x4.splat(SQRT1_2));
  const t = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(z, f32x4.splat(0.5))));
  // Horner steps as madd: one fused instruction each in the relaxed build (madd.ts), mul + add in
  // the baseline one (whose bits are unchanged).
  let p = madd(f32x4.splat(ERFC_A9), t, f32x4.splat(ERFC_A8));
  p = madd(p, t, f32x4.splat(ERFC_A7));
  p = madd(p, t, f32x4.splat(ERFC_A6));
  p = madd(p, t, f32x4.splat(ERFC_A5));
  p = madd(p, t, f32x4.splat(ERFC_A4));
  p = madd(p, t, f32x4.splat(ERFC_A3));
  p = madd(p, t, f32x4.splat(ERFC_A2));
  p = madd(p, t, f32x4.splat(ERFC_A1));
  p = madd(p, t, f32x4.splat(ERFC_A0));
  // Φ(-|x|) = erfc(z)/2 = t/2 · exp(P - z²).
  const phi = f32x4.mul(f32x4.mul(t, f32x4.splat(0.5)), exp4(f32x4.sub(p, f32x4.mul(z, z))));
  // pmin/pmax (one instruction each on x64, unlike min/max) pass a NaN first operand through.
  const c = f32x4.mul(f32x4.pmin(a, f32x4.splat(GELU_CLAMP)), phi);
  return f32x4.sub(f32x4.pmax(x, f32x4.splat(0)), c);
}

/** In place x[i] = GELU(x[i]) for i < n. */
export function gelu(x: usize, n: i32): void {
  // Two independent v128 per step: one gelu4 is a ~100-cycle dependency chain (division, two
  // polynomials, exp), so a second chain in the same iteration lets the core overlap them.
  const n8 = n & ~(2 * LANES - 1);
  for (let i: usize = 0; i < <usize>n8 * F32; i += 2 * V128) {
    const a = gelu4(v128.load(x + i));
    const b = gelu4(v128.load(x + i, V128));
    v128.store(x + i, a);
    v128.store(x + i, b, V128);
  }
  const n4 = n & ~(LANES - 1);
  if (n8 < n4) v128.store(x + <usize>n8 * F32, gelu4(v128.load(x + <usize>n8 * F32)));
  for (let i = n4; i < n; i++) {
    const p = x + <usize>i * F32;
    store<f32>(p, f32x4.extract_lane(gelu4(f32x4.splat(load<f32>(p))), 0));
  }
}

/** Below this |x|, tanh uses its Taylor series (the exp form would lose relative accuracy). */
const TANH_SMALL: f32 = 0.25;
// tanh x = x·(1 + x²·(T1 + x²·(T2 + x²·(T3 + x²·T4)))), Taylor: next term 1382/155925·x^11 < 4e-9·|x|
// at |x| = 0.25, far below f32 rounding.
const TANH_T1: f32 = -0.33333333333333333; // -1/3
const TANH_T2: f32 = 0.13333333333333333; // 2/15
const TANH_T3: f32 = -0.053968253968253968; // -17/315
const TANH_T4: f32 = 0.021869488536155203; // 62/2835

/**
 * tanh(x) = sign(x)·(1 - e)/(1 + e), e = exp(-2|x|) ∈ (0, 1], so nothing overflows; for |x| ≥ 9.01
 * (1 - e) rounds to 1 and the result saturates at exactly ±1 (±∞ included: e = 0). Small |x| use
 * the Taylor form. NaN → NaN (it fails the small test and exp keeps it). -0 → -0.
 * Measured: max |error| 8.9e-8 vs Math.tanh over 2^20 points of [-20, 20], relative error < 6e-8
 * for |x| < 0.25 (test/kernels.test.ts enforces 2e-7 and 4 ulp).
 */
// @ts-ignore: decorator
@inline
function tanh4(x: v128): v128 {
  const a = f32x4.abs(x);
  const e = exp4(f32x4.mul(a, f32x4.splat(-2.0)));
  const big = f32x4.div(f32x4.sub(f32x4.splat(1.0), e), f32x4.add(f32x4.splat(1.0), e));
  const a2 = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.mul(f32x4.splat(TANH_T4), a2), f32x4.splat(TANH_T3));
  p = f32x4.add(f32x4.mul(p, a2), f32x4.splat(TANH_T2));
  p = f32x4.add(f32x4.mul(p, a2), f32x4.splat(TANH_T1));
  const small = f32x4.add(a, f32x4.mul(a, f32x4.mul(p, a2)));
  // Both paths work on |x| (results ≥ 0); the sign of x is put back last, so -0 stays -0.
  const magnitude = v128.bitselect(small, big, f32x4.lt(a, f32x4.splat(TANH_SMALL)));
  return v128.or(magnitude, v128.and(x, i32x4.splat(SIGN_MASK)));
}

/** In place x[i] = tanh(x[i]) for i < n. */
export function tanh(x: usize, n: i32): void {
  const n4 = n & ~(LANES - 1);
  for (let i: usize = 0; i < <usize>n4 * F32; i += V128) v128.store(x + i, tanh4(v128.load(x + i)));
  for (let i = n4; i < n; i++) {
    const p = x + <usize>i * F32;
    store<f32>(p, f32x4.extract_lane(tanh4(f32x4.splat(load<f32>(p))), 0));
  }
}
