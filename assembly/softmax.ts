// Owns: softmax_rows, the attention softmax (scale, additive mask, normalise), in place.
// Does not own: the mask's meaning (the caller builds it; 0 = keep, -∞ or a large negative = drop).
import { EXP_FLUSH_DEFAULT, exp4NonPositive } from './expf';

/**
 * Where attention's probabilities flush to 0: e^(v - max) < e^-64 ≈ 1.6e-28. Below ~1e-37 a
 * probability times a value of order 1 is a subnormal product, and subnormals cost the FPU a slow
 * path: on random-weight 512-token inputs whose scores span more than ~87 (5 % of them below 1e-30)
 * attention took 31 ms instead of 26 (one thread). Relative to the row's largest term (exactly 1) a
 * dropped term is < 2e-28, 1e-20 of an f32 ulp of the sum; softmax_rows itself keeps exp4's point.
 */
export const ATTENTION_FLUSH: f32 = -64.0;

/** Floats per v128. */
const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;

/** v = x·scale + mask of the 4 columns at byte offset c of a row (mask 0: none). */
// @ts-ignore: decorator
@inline
function scaled4(row: usize, mask: usize, c: usize, vs: v128): v128 {
  const v = f32x4.mul(v128.load(row + c), vs);
  return mask != 0 ? f32x4.add(v, v128.load(mask + c)) : v;
}

/** v = x·scale + mask of column c of a row (mask 0: none). */
// @ts-ignore: decorator
@inline
function scaled1(row: usize, mask: usize, c: i32, scale: f32): f32 {
  const v = load<f32>(row + <usize>c * F32) * scale;
  return mask != 0 ? v + load<f32>(mask + <usize>c * F32) : v;
}

/**
 * Passes 1 and 2 of softmax on one row: row[c] = exp(v[c] - max v), returns Σ row. A row with no
 * distribution (every v -∞) is written as zeros, or all NaN if a v is NaN, and returns 1, so that
 * the normalising pass leaves it as it is.
 */
// @ts-ignore: decorator
@inline
function expRow(row: usize, mask: usize, cols: i32, scale: f32, lo: f32): f32 {
  const vs = f32x4.splat(scale);
  const c4 = cols & ~(LANES - 1);
  // Pass 1: running max of v = x·scale + mask (not stored: pass 2 recomputes the same bits, which
  // is cheaper than a store and a reload). pmax is one maxps on x64 (f32x4.max is ~8 instructions
  // for wasm's NaN rules) but skips a NaN v; that is harmless: a NaN v gives a NaN exp in pass 2,
  // hence a NaN sum and an all-NaN row. Only an all -∞ row with a NaN needs a look (below).
  let m4 = f32x4.splat(-Infinity);
  for (let c: usize = 0; c < <usize>c4 * F32; c += V128) {
    m4 = f32x4.pmax(m4, scaled4(row, mask, c, vs));
  }
  let mx = max(max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
  for (let c = c4; c < cols; c++) mx = max(mx, scaled1(row, mask, c, scale));
  if (mx == -Infinity) {
    // Every v is -∞ or NaN: zeros, unless a NaN is there (then the row is NaN, as everywhere).
    let nan = false;
    for (let c = 0; c < cols; c++) {
      const v = scaled1(row, mask, c, scale);
      if (v != v) nan = true;
    }
    if (nan) {
      for (let c = 0; c < cols; c++) store<f32>(row + <usize>c * F32, NaN);
    } else {
      memory.fill(row, 0, <usize>cols * F32);
    }
    return 1;
  }
  // Pass 2: e = exp(v - max), stored; sum in one v128 accumulator + tail.
  const vm = f32x4.splat(mx);
  let s0 = f32x4.splat(0);
  for (let c: usize = 0; c < <usize>c4 * F32; c += V128) {
    const e = exp4NonPositive(f32x4.sub(scaled4(row, mask, c, vs), vm), lo);
    v128.store(row + c, e);
    s0 = f32x4.add(s0, e);
  }
  let sum = (f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 2)) + (f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 3));
  for (let c = c4; c < cols; c++) {
    const e = f32x4.extract_lane(exp4NonPositive(f32x4.splat(scaled1(row, mask, c, scale) - mx), lo), 0);
    store<f32>(row + <usize>c * F32, e);
    sum += e;
  }
  return sum;
}

/**
 * For each of `rows` rows of `cols` floats at x (contiguous, row r at x + r*cols*4):
 *   x[c] = exp(v[c] - max v) / Σ exp(v - max v),   v[c] = x[c]·scale + mask[c]
 * mask: `cols` floats added to every row, or 0 for no mask.
 * - Max subtraction: every exponent is ≤ 0, so nothing overflows and the largest term is exactly 1.
 * - A masked column (v - max < ln FLT_MIN, e.g. mask = -∞ or -3.4e38) gets exactly 0 (see expf.ts).
 * - A row whose every v is -∞ has no distribution: it is written as all zeros (not NaN).
 *   (One with NaN and -∞ only is NaN, as the NaN rule below says.)
 *   A finite large negative mask on every column instead gives the uniform row, as PyTorch does.
 * - NaN anywhere in a row makes the whole row NaN (max and sum propagate it).
 * - Division (not a multiply by 1/sum) so each output is correctly rounded from its f32 numerator.
 * Measured: max abs error 6e-8 vs the float64 reference on rows of 1…3072 columns (test/kernels.test.ts).
 */
export function softmaxRows(x: usize, mask: usize, rows: i32, cols: i32, scale: f32): void {
  softmaxRowsFlush(x, mask, rows, cols, scale, EXP_FLUSH_DEFAULT);
}

/** softmaxRows with exps below e^lo flushed to exactly 0 (lo ≥ ln FLT_MIN; attention: ATTENTION_FLUSH). */
export function softmaxRowsFlush(x: usize, mask: usize, rows: i32, cols: i32, scale: f32, lo: f32): void {
  const c4 = cols & ~(LANES - 1);
  const rowBytes = <usize>cols * F32;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowBytes;
    const sum = expRow(row, mask, cols, scale, lo);
    // Pass 3: normalise.
    const vsum = f32x4.splat(sum);
    for (let c: usize = 0; c < <usize>c4 * F32; c += V128) {
      v128.store(row + c, f32x4.div(v128.load(row + c), vsum));
    }
    for (let c = c4; c < cols; c++) {
      const p = row + <usize>c * F32;
      store<f32>(p, load<f32>(p) / sum);
    }
  }
}
