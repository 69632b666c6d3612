// Owns: softmax_rows, the attention softmax (scale, additive mask, normalise), in place.
// Does not own: the mask's meaning (the caller builds it; 0 = keep, -∞ or a large negative = drop).
import { exp4 } from './expf';

/** Floats per v128. */
const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;

/**
 * For each of `rows` rows of `cols` floats at x (contiguous, row r at x + r*cols*4):
 *   x[c] = exp(v[c] - max v) / Σ exp(v - max v),   v[c] = x[c]·scale + mask[c]
 * mask: `cols` floats added to every row, or 0 for no mask.
 * - Max subtraction: every exponent is ≤ 0, so nothing overflows and the largest term is exactly 1.
 * - A masked column (v - max < ln FLT_MIN, e.g. mask = -∞ or -3.4e38) gets exactly 0 (see expf.ts).
 * - A row whose every v is -∞ has no distribution: it is written as all zeros (not NaN).
 *   A finite large negative mask on every column instead gives the uniform row, as PyTorch does.
 * - NaN anywhere in a row makes the whole row NaN (max and sum propagate it).
 * - Division (not a multiply by 1/sum) so each output is correctly rounded from its f32 numerator.
 * Measured: max abs error 6e-8 vs the float64 reference on rows of 1…3072 columns (test/kernels.test.ts).
 */
export function softmaxRows(x: usize, mask: usize, rows: i32, cols: i32, scale: f32): void {
  const vs = f32x4.splat(scale);
  const c4 = cols & ~(LANES - 1);
  const rowBytes = <usize>cols * F32;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowBytes;
    // Pass 1: v = x·scale + mask (stored back), running max.
    // pmax is one maxps on x64 (f32x4.max is ~8 instructions for wasm's NaN rules) but drops NaN,
    // so NaN lanes are tracked on the side (v ≠ v) and fold into the max afterwards.
    let m4 = f32x4.splat(-Infinity);
    let nan4 = f32x4.splat(0);
    for (let c: usize = 0; c < <usize>c4 * F32; c += V128) {
      let v = f32x4.mul(v128.load(row + c), vs);
      if (mask != 0) v = f32x4.add(v, v128.load(mask + c));
      v128.store(row + c, v);
      m4 = f32x4.pmax(m4, v);
      nan4 = v128.or(nan4, f32x4.ne(v, v));
    }
    let mx = max(max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
    if (v128.any_true(nan4)) mx = NaN;
    for (let c = c4; c < cols; c++) {
      const p = row + <usize>c * F32;
      let v = load<f32>(p) * scale;
      if (mask != 0) v += load<f32>(mask + <usize>c * F32);
      store<f32>(p, v);
      mx = max(mx, v);
    }
    if (mx == -Infinity) {
      memory.fill(row, 0, rowBytes);
      continue;
    }
    // Pass 2: e = exp(v - max), stored; sum in two v128 accumulators + tail.
    const vm = f32x4.splat(mx);
    let s0 = f32x4.splat(0);
    for (let c: usize = 0; c < <usize>c4 * F32; c += V128) {
      const e = exp4(f32x4.sub(v128.load(row + c), vm));
      v128.store(row + c, e);
      s0 = f32x4.add(s0, e);
    }
    let sum = (f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 2)) + (f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 3));
    for (let c = c4; c < cols; c++) {
      const p = row + <usize>c * F32;
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(p) - mx)), 0);
      store<f32>(p, e);
      sum += e;
    }
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
