// Owns: the int8 path — per-row dynamic quantization of activations, packing a Linear weight into
// per-output-channel int8 rows, and the int8 Linear (integer dot products, dequantized in f32).
// Does not own: pointer/size validation (src/kernels/guard-lowp.ts checks every call first), memory
// (the caller passes every buffer), or the f32 kernels (matmul.ts).
//
// Numbers (the reference in src/kernels/reference-lowp.ts does the same f32 operations, so results
// are bit-identical across backends and kernel variants):
// - activations: per row, sx = max|x| / 127, xq = nearest(x · (127 / max|x|)) in [-127, 127];
//   -128 never occurs, so a pair of products in any 16-bit intermediate stays below 2^15;
// - weights: per output channel n, sw = max|W[n]| / 63, wq = nearest(W · (63 / max|W[n]|)) in
//   [-63, 63], stored as wq + 64 in [1, 127]: the 7-bit unsigned operand that relaxed SIMD's
//   i8×i7 dot product needs (its result is implementation-defined when that operand's top bit is
//   set). The baseline kernel reads the same bytes, so both variants compute the same integers;
// - out[t, n] = f32(Σ_k xq·(wq + 64) − 64·Σ_k xq) · sx[t] · sw[n] + bias[n], integer sums exact
//   (|Σ| < 127·127·IN < 2^31), then three f32 roundings in that order.
// A row whose max|x| is 0 or below TINY quantizes to zeros with scale 0 (its output is the bias:
// 1/max would overflow); NaN or ±∞ anywhere in a row gives that row scale NaN, so its outputs are
// NaN, never a plausible number.
//
// Layouts (K_ALIGN = 16 so a k step is one v128 of bytes):
// - quantized rows: row r at q + r·qRowBytes(IN): INp = ceil(IN/16)·16 values (zero past IN) as
//   int16 in the baseline build, int8 in the relaxed one (X_BYTES), then scale f32, Σ xq i32,
//   8 bytes padding (rows stay 16-aligned). Only the kernels of the same build read them;
// - packed weight: [OUT][INp] u8 (wq + 64; 64, i.e. 0, past IN), then OUT f32 scales.
// Row ranges: every kernel takes a first row and a count, so a thread pool can split rows.

/** Bytes per k step: one v128 of int8. IN is padded to a multiple of this. */
const K_ALIGN: i32 = 16;
/** Bytes after each quantized row: scale (f32), Σ xq (i32), padding to 16. */
const ROW_TAIL: i32 = 16;
/** Levels each side of 0: activations use the full int8 range less -128, weights 7 bits. */
const X_LEVELS: f32 = 127;
const W_LEVELS: f32 = 63;
/** Added to a quantized weight so it is a 7-bit unsigned value. */
const W_OFFSET: i32 = 64;
/** Bytes per stored activation: the relaxed kernel reads int8 (16 per step); the baseline kernel
 *  reads int16 (the quantizer widens once, so the inner loop does one plain load per row instead
 *  of a load-and-widen: measured ~1.3x faster than widening int8 activations in the loop). */
const X_BYTES: i32 = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
/** Below this max|x| a row is treated as zero (1/max would overflow f32). */
const TINY: f32 = 1e-30;
const F32: usize = 4;
const V128: usize = 16;

/** IN rounded up to K_ALIGN. */
// @ts-ignore: decorator
@inline
export function paddedIn(IN: i32): i32 {
  return (IN + K_ALIGN - 1) & ~(K_ALIGN - 1);
}

/** Bytes per quantized activation row. */
export function qRowBytes(IN: i32): i32 {
  return paddedIn(IN) * X_BYTES + ROW_TAIL;
}

/** Bytes of a packed int8 Linear weight [OUT, IN] (rows then scales). */
export function packedLinearI8Bytes(OUT: i32, IN: i32): i32 {
  return OUT * paddedIn(IN) + OUT * <i32>F32;
}

/** max|x[0..n)|, NaN if any element is NaN (f32x4.max propagates NaN). */
function absMax(x: usize, n: i32): f32 {
  let m0 = f32x4.splat(0), m1 = m0;
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    m0 = f32x4.max(m0, f32x4.abs(v128.load(x + <usize>k * F32)));
    m1 = f32x4.max(m1, f32x4.abs(v128.load(x + <usize>k * F32, V128)));
  }
  m0 = f32x4.max(m0, m1);
  let m = max(max(f32x4.extract_lane(m0, 0), f32x4.extract_lane(m0, 1)), max(f32x4.extract_lane(m0, 2), f32x4.extract_lane(m0, 3)));
  for (; k < n; k++) m = max(m, abs(load<f32>(x + <usize>k * F32)));
  return m;
}

/**
 * Quantize `n` floats at src into int8 at dst with multiplier inv (q = nearest(x · inv), saturated to
 * [-lim, lim]), zero-filling dst up to paddedIn(n). Returns Σ q.
 */
// @ts-ignore: decorator
@inline
function quantizeRow(dst: usize, src: usize, n: i32, inv: f32, lim: i32, wide: bool): i32 {
  const vinv = f32x4.splat(inv);
  const hi = i8x16.splat(<i8>lim);
  const lo = i8x16.splat(<i8>-lim);
  let sum = i32x4.splat(0);
  let k = 0;
  for (; k + 16 <= n; k += 16) {
    const p = src + <usize>k * F32;
    const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), vinv)));
    const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, V128), vinv)));
    const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 2 * V128), vinv)));
    const d = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 3 * V128), vinv)));
    let q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
    q = i8x16.max_s(i8x16.min_s(q, hi), lo);
    if (wide) {
      v128.store(dst + <usize>k * 2, i16x8.extend_low_i8x16_s(q));
      v128.store(dst + <usize>k * 2, i16x8.extend_high_i8x16_s(q), V128);
    } else {
      v128.store(dst + <usize>k, q);
    }
    // Σ q in i32: widen the clamped bytes (what is stored is what is summed).
    sum = i32x4.add(sum, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q)));
  }
  let s = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
  for (; k < n; k++) {
    let v = <i32>nearest(load<f32>(src + <usize>k * F32) * inv);
    v = min(max(v, -lim), lim);
    if (wide) store<i16>(dst + <usize>k * 2, <i16>v);
    else store<i8>(dst + <usize>k, <i8>v);
    s += v;
  }
  const end = paddedIn(n);
  for (; k < end; k++) {
    if (wide) store<i16>(dst + <usize>k * 2, 0);
    else store<i8>(dst + <usize>k, 0);
  }
  return s;
}

/**
 * Quantize rows [0, rows) of x[rows, IN] (f32) into q (layout above), per row: scale max|x|/127.
 */
export function quantizeRows(q: usize, x: usize, rows: i32, IN: i32): void {
  const qs = <usize>qRowBytes(IN);
  const inp = <usize>paddedIn(IN) * <usize>X_BYTES;
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * <usize>IN * F32;
    const dst = q + <usize>r * qs;
    const m = absMax(src, IN);
    let scale: f32 = 0;
    let sum = 0;
    if (m >= TINY && m < Infinity) {
      scale = m / X_LEVELS;
      sum = quantizeRow(dst, src, IN, X_LEVELS / m, <i32>X_LEVELS, X_BYTES == 2);
    } else {
      // Zero (or tiny) row: all zeros, scale 0. NaN/±∞: zeros with scale NaN, so outputs are NaN.
      memory.fill(dst, 0, inp);
      if (!(m < Infinity)) scale = NaN;
    }
    store<f32>(dst + inp, scale);
    store<i32>(dst + inp, sum, 4);
    store<i64>(dst + inp, 0, 8);
  }
}

/**
 * Pack rows [0, rows) of a Linear weight (f32, [rows, IN] at src: rows r0.. of W[OUT, IN]) into
 * `dstRows` (rows × INp bytes: the packed rows r0..) and `dstScales` (rows f32): per row
 * sw = max|w|/63, stored bytes nearest(w · 63/max|w|) + 64.
 */
export function packLinearI8(dstRows: usize, dstScales: usize, src: usize, rows: i32, IN: i32): void {
  const inp = <usize>paddedIn(IN);
  const offset = i8x16.splat(<i8>W_OFFSET);
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * <usize>IN * F32;
    const d = dstRows + <usize>r * inp;
    const m = absMax(s, IN);
    let scale: f32 = 0;
    if (m >= TINY && m < Infinity) {
      scale = m / W_LEVELS;
      quantizeRow(d, s, IN, W_LEVELS / m, <i32>W_LEVELS, false);
    } else {
      memory.fill(d, 0, inp);
      if (!(m < Infinity)) scale = NaN;
    }
    for (let k: usize = 0; k < inp; k += V128) v128.store(d + k, i8x16.add(v128.load(d + k), offset));
    store<f32>(dstScales + <usize>r * F32, scale);
  }
}

/** [Σ lanes of c0, …, Σ lanes of c3] (integer sums: any order gives the same result). */
// @ts-ignore: decorator
@inline
function hsum4i(c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const s01 = i32x4.add(i32x4.shuffle(c0, c1, 0, 1, 4, 5), i32x4.shuffle(c0, c1, 2, 3, 6, 7));
  const s23 = i32x4.add(i32x4.shuffle(c2, c3, 0, 1, 4, 5), i32x4.shuffle(c2, c3, 2, 3, 6, 7));
  return i32x4.add(i32x4.shuffle(s01, s23, 0, 2, 4, 6), i32x4.shuffle(s01, s23, 1, 3, 5, 7));
}

/** Σ lanes of c. */
// @ts-ignore: decorator
@inline
function hsumi(c: v128): i32 {
  return i32x4.extract_lane(c, 0) + i32x4.extract_lane(c, 1) + i32x4.extract_lane(c, 2) + i32x4.extract_lane(c, 3);
}

/** Main tile shape. Baseline: 4 rows × 2 columns — per k step 2 load-and-widen of W (shared by the 4
 *  rows) + 4 plain loads of x, 8 dot + 8 add; 8 accumulators + 2 W + 1 x + 1 product register fit
 *  V8's 15 usable xmm registers (6 × 2 spills, measured 25 % slower). 2 × 4 needs 4 widenings per
 *  step: measured ~8 % slower. Relaxed: 2 rows × 4 columns, loads are plain for both operands. */
const MAIN_ROWS: i32 = ASC_FEATURE_RELAXED_SIMD ? 2 : 4;
const MAIN_COLS: i32 = ASC_FEATURE_RELAXED_SIMD ? 4 : 2;

/** Dequantize 4 integer sums of one row: f32(acc − 64·Σxq) · sx · sw[0..4) + bias[0..4), stored at o. */
// @ts-ignore: decorator
@inline
function finish4(o: usize, acc: v128, qrow: usize, tail: usize, sw: usize, bias: usize): void {
  const sx = load<f32>(qrow + tail);
  const corr = i32x4.splat(load<i32>(qrow + tail, 4) * W_OFFSET);
  let f = f32x4.convert_i32x4_s(i32x4.sub(acc, corr));
  f = f32x4.mul(f32x4.mul(f, f32x4.splat(sx)), v128.load(sw));
  v128.store(o, f32x4.add(f, v128.load(bias)));
}

/** The same for one output. */
// @ts-ignore: decorator
@inline
function finish1(o: usize, acc: i32, qrow: usize, tail: usize, sw: usize, bias: usize): void {
  const sx = load<f32>(qrow + tail);
  const f = <f32>(acc - load<i32>(qrow + tail, 4) * W_OFFSET);
  store<f32>(o, f * sx * load<f32>(sw) + load<f32>(bias));
}

/** 2 rows × 4 columns over INp bytes, baseline SIMD: widen 8 bytes to i16 (load8x8_s), then
 *  i32x4.dot_i16x8_s (pmaddwd) and add. */
// @ts-ignore: decorator
@inline
function tile2x4(o0: usize, o1: usize, q0: usize, q1: usize, w: usize, inp: usize, sw: usize, bias: usize): void {
  let a00 = i32x4.splat(0), a01 = a00, a02 = a00, a03 = a00;
  let a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  const w1 = w + inp, w2 = w + inp * 2, w3 = w + inp * 3;
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (let k: usize = 0; k < inp; k += 16) {
      const x0 = v128.load(q0 + k);
      const x1 = v128.load(q1 + k);
      let y = v128.load(w + k);
      a00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, y, a00);
      a10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, y, a10);
      y = v128.load(w1 + k);
      a01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, y, a01);
      a11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, y, a11);
      y = v128.load(w2 + k);
      a02 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, y, a02);
      a12 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, y, a12);
      y = v128.load(w3 + k);
      a03 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, y, a03);
      a13 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, y, a13);
    }
  } else {
    for (let k: usize = 0; k < inp; k += 8) {
      const x0 = v128.load(q0 + k * 2);
      const x1 = v128.load(q1 + k * 2);
      let y = v128.load8x8_s(w + k);
      a00 = i32x4.add(a00, i32x4.dot_i16x8_s(x0, y));
      a10 = i32x4.add(a10, i32x4.dot_i16x8_s(x1, y));
      y = v128.load8x8_s(w1 + k);
      a01 = i32x4.add(a01, i32x4.dot_i16x8_s(x0, y));
      a11 = i32x4.add(a11, i32x4.dot_i16x8_s(x1, y));
      y = v128.load8x8_s(w2 + k);
      a02 = i32x4.add(a02, i32x4.dot_i16x8_s(x0, y));
      a12 = i32x4.add(a12, i32x4.dot_i16x8_s(x1, y));
      y = v128.load8x8_s(w3 + k);
      a03 = i32x4.add(a03, i32x4.dot_i16x8_s(x0, y));
      a13 = i32x4.add(a13, i32x4.dot_i16x8_s(x1, y));
    }
  }
  const xt = inp * <usize>X_BYTES;
  finish4(o0, hsum4i(a00, a01, a02, a03), q0, xt, sw, bias);
  finish4(o1, hsum4i(a10, a11, a12, a13), q1, xt, sw, bias);
}

/** 4 rows × 2 columns, baseline only: per k step 2 load-and-widen of W, 4 plain loads of x. */
// @ts-ignore: decorator
@inline
function tile4x2(o0: usize, os: usize, q0: usize, qs: usize, w: usize, inp: usize, sw: usize, bias: usize): void {
  let a00 = i32x4.splat(0), a01 = a00, a10 = a00, a11 = a00;
  let a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const w1 = w + inp;
  const q1 = q0 + qs, q2 = q0 + qs * 2, q3 = q0 + qs * 3;
  for (let k: usize = 0; k < inp; k += 8) {
    const y0 = v128.load8x8_s(w + k);
    const y1 = v128.load8x8_s(w1 + k);
    let x = v128.load(q0 + k * 2);
    a00 = i32x4.add(a00, i32x4.dot_i16x8_s(x, y0));
    a01 = i32x4.add(a01, i32x4.dot_i16x8_s(x, y1));
    x = v128.load(q1 + k * 2);
    a10 = i32x4.add(a10, i32x4.dot_i16x8_s(x, y0));
    a11 = i32x4.add(a11, i32x4.dot_i16x8_s(x, y1));
    x = v128.load(q2 + k * 2);
    a20 = i32x4.add(a20, i32x4.dot_i16x8_s(x, y0));
    a21 = i32x4.add(a21, i32x4.dot_i16x8_s(x, y1));
    x = v128.load(q3 + k * 2);
    a30 = i32x4.add(a30, i32x4.dot_i16x8_s(x, y0));
    a31 = i32x4.add(a31, i32x4.dot_i16x8_s(x, y1));
  }
  const xt = inp * <usize>X_BYTES;
  finish2x2(o0, os, hsum4i(a00, a01, a10, a11), q0, qs, xt, sw, bias);
  finish2x2(o0 + os * 2, os, hsum4i(a20, a21, a30, a31), q2, qs, xt, sw, bias);
}

/** Dequantize [row r c0, r c1, r+1 c0, r+1 c1] into two rows of 2 outputs (same arithmetic as finish4). */
// @ts-ignore: decorator
@inline
function finish2x2(o: usize, os: usize, acc: v128, q0: usize, qs: usize, tail: usize, sw: usize, bias: usize): void {
  const q1 = q0 + qs;
  const s0 = load<f32>(q0 + tail), s1 = load<f32>(q1 + tail);
  const c0 = load<i32>(q0 + tail, 4) * W_OFFSET, c1 = load<i32>(q1 + tail, 4) * W_OFFSET;
  const corr = i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(c0), 2, c1), 3, c1);
  const sx = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(s0), 2, s1), 3, s1);
  let f = f32x4.convert_i32x4_s(i32x4.sub(acc, corr));
  f = f32x4.mul(f32x4.mul(f, sx), v128.load64_splat(sw));
  f = f32x4.add(f, v128.load64_splat(bias));
  v128.store64_lane(o, f, 0);
  v128.store64_lane(o + os, f, 1);
}

/** 1 row × 4 columns. */
// @ts-ignore: decorator
@inline
function tile1x4(o0: usize, q0: usize, w: usize, inp: usize, sw: usize, bias: usize): void {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const w1 = w + inp, w2 = w + inp * 2, w3 = w + inp * 3;
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (let k: usize = 0; k < inp; k += 16) {
      const x0 = v128.load(q0 + k);
      a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, v128.load(w + k), a0);
      a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, v128.load(w1 + k), a1);
      a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, v128.load(w2 + k), a2);
      a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, v128.load(w3 + k), a3);
    }
  } else {
    for (let k: usize = 0; k < inp; k += 8) {
      const x0 = v128.load(q0 + k * 2);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w + k)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w1 + k)));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w2 + k)));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x0, v128.load8x8_s(w3 + k)));
    }
  }
  finish4(o0, hsum4i(a0, a1, a2, a3), q0, inp * <usize>X_BYTES, sw, bias);
}

/** 1 row × 1 column (the OUT % 4 tail). */
function dot1(q0: usize, w: usize, inp: usize): i32 {
  let a = i32x4.splat(0);
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (let k: usize = 0; k < inp; k += 16) a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(q0 + k), v128.load(w + k), a);
  } else {
    for (let k: usize = 0; k < inp; k += 8) a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(q0 + k * 2), v128.load8x8_s(w + k)));
  }
  return hsumi(a);
}

/**
 * out[rows, OUT] = dequant(q[rows] · Wqᵀ) + bias[OUT].
 * q: rows quantized by quantizeRows (row stride qRowBytes(IN)); w: packed by packLinearI8 for the
 * whole [OUT, IN] weight (rows, then OUT scales). out must not overlap q, w or bias.
 * Loop order: a few columns of W (MAIN_COLS·INp bytes) outer, kept in L1 while the quantized rows
 * stream by; rows past the last full tile take 1 × 4 tiles, a last odd column 1 × 1 dots. Each output
 * is the same exact integer sum and the same f32 arithmetic whichever tile computes it.
 */
export function linearQ8(out: usize, q: usize, w: usize, bias: usize, rows: i32, IN: i32, OUT: i32): void {
  const inp = <usize>paddedIn(IN);
  const xt = inp * <usize>X_BYTES;
  const qs = <usize>qRowBytes(IN);
  const os = <usize>OUT * F32;
  const scales = w + <usize>OUT * inp;
  const mainRows = rows - rows % MAIN_ROWS;
  const mainCols = OUT - OUT % MAIN_COLS;
  for (let n = 0; n < mainCols; n += MAIN_COLS) {
    const wn = w + <usize>n * inp;
    const sw = scales + <usize>n * F32;
    const bn = bias + <usize>n * F32;
    const on = out + <usize>n * F32;
    for (let t = 0; t < mainRows; t += MAIN_ROWS) {
      const o0 = on + <usize>t * os;
      const q0 = q + <usize>t * qs;
      if (ASC_FEATURE_RELAXED_SIMD) tile2x4(o0, o0 + os, q0, q0 + qs, wn, inp, sw, bn);
      else tile4x2(o0, os, q0, qs, wn, inp, sw, bn);
    }
  }
  // Columns past the main tiles, for the main rows.
  for (let n = mainCols; n < OUT; n++) {
    for (let t = 0; t < mainRows; t++) {
      const q0 = q + <usize>t * qs;
      finish1(out + <usize>t * os + <usize>n * F32, dot1(q0, w + <usize>n * inp, inp), q0, xt, scales + <usize>n * F32, bias + <usize>n * F32);
    }
  }
  // Rows past the main tiles (all of them when rows < MAIN_ROWS, e.g. the pooler's B rows).
  for (let t = mainRows; t < rows; t++) {
    const q0 = q + <usize>t * qs;
    const o0 = out + <usize>t * os;
    let n = 0;
    for (; n + 4 <= OUT; n += 4) tile1x4(o0 + <usize>n * F32, q0, w + <usize>n * inp, inp, scales + <usize>n * F32, bias + <usize>n * F32);
    for (; n < OUT; n++) finish1(o0 + <usize>n * F32, dot1(q0, w + <usize>n * inp, inp), q0, xt, scales + <usize>n * F32, bias + <usize>n * F32);
  }
}
