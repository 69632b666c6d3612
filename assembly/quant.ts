// Owns: the int8 path — packing a Linear weight into per-output-channel int8 rows, per-row dynamic
// quantization of activations, the int8 Linear (integer dot products, dequantized in f32), and the
// fusions around it (residual in the epilogue, LayerNorm → quantize, GELU → quantize).
// Does not own: pointer/size validation (src/kernels/guard-lowp.ts checks every call first), memory
// (the caller passes every buffer), or the f32 kernels (matmul.ts).
//
// Numbers (src/kernels/reference-lowp.ts does the same f32 operations in the same order, so results
// are bit-identical across backends and thread counts):
// - weights: per output channel n, sw = max|W[n]| / 127, wq = nearest(W · (127 / max|W[n]|)), int8;
// - activations: per row, sx = max|x| / L, xq = nearest(x · (L / max|x|)) in [-L, L] with
//   L = xLevels(IN) = 2047 (12 bits) for IN ≤ 8256. They are stored as int16 — the width
//   i32x4.dot_i16x8_s multiplies anyway (the int8 weights are widened on load), so 12 bits cost
//   nothing over 8 and remove most of the activation rounding error: on the synthetic
//   klue/bert-base the pooler cosine against f32 is 0.9997 instead of 0.9991 with 8-bit
//   activations (0.9981 with 7-bit weights). L shrinks for wider rows so |Σ_k xq·wq| ≤ L·127·INp
//   stays below 2^31: the integer sums are exact;
// - out[t, n] = f32(Σ_k xq·wq) · sx[t] · sw[n] + bias[n]: three f32 roundings in that order.
// Relaxed build (ASC_FEATURE_RELAXED_SIMD), GELU outputs only (geluQuantizeRows, the FFN-out
// Linear's input): 7-bit unsigned rows with a zero point (quantizeRowsU7), multiplied with
// i32x4.relaxed_dot_i8x16_i7x16_add_s — one vpdpbusd per 16 products where the CPU has AVX-VNNI
// (checked: V8 in Node 24 emits it on this Zen 5), pmaddubsw + pmaddwd + add elsewhere. Its result
// is implementation-defined only when the i7 operand has bit 7 set; the rows are in [0, 127], so it
// is exact and the same on every machine. Asymmetric fits GELU's skew (min ≈ -0.17, max large).
// The zero point is folded into Σ_k wq[n, k], packed with the weight: Σ(xq - zp)·wq =
// Σ xq·wq - zp·Σ wq, exact in i32. The FFN-out Linear on 7 bits runs ~2.3× as fast as on 12 bits
// here; 7 bits on every Linear would too, but gave pooler cosine 0.9980 on the synthetic model
// (below the 0.999 bar), FFN-out alone 0.9993. Each quantized row says its format in its tail, so
// linearQ8 needs no flag.
// A row whose max|x| is 0 or below TINY quantizes to zeros with scale 0 (its output is the bias:
// L/max would overflow); NaN or ±∞ anywhere in a row gives that row scale NaN, so its outputs are
// NaN, never a plausible number. The same holds per weight row (output channel).
//
// Layouts (INp = IN rounded up to K_ALIGN; zeros past IN):
// - quantized rows: row r at q + r·qRowBytes(IN): INp int16, then the f32 scale, 12 bytes of zeros
//   (rows stay 16-aligned); 7-bit rows: INp bytes, INp zero bytes, then the f32 scale, the i32 zero
//   point, 0, FORMAT_U7 (i32);
// - packed weight: [OUT][INp] int8, then OUT f32 scales; in the relaxed build then OUT i32 Σ_k wq.
// Row ranges: every kernel takes a first row and a count, so a thread pool can split rows.

import { layerNorm } from './layernorm';
import { gelu } from './activations';

/** IN is padded to a multiple of this (one v128 of int8 weights). */
const K_ALIGN: i32 = 16;
/** Bytes after each quantized row: scale (f32), padding to 16. */
const ROW_TAIL: i32 = 16;
/** Weight levels each side of 0 (int8 without -128). */
const W_LEVELS: i32 = 127;
/** Activation levels each side of 0 for rows short enough (12 bits). */
const X_LEVELS_MAX: i32 = 2047;
/** Below this max|x| a row is treated as zero (levels / max would overflow f32). */
const TINY: f32 = 1e-30;
const F32: usize = 4;
const V128: usize = 16;
/** Quantized rows per block of linearQ8 (see there). */
const ROW_BLOCK_BYTES: i32 = 384 * 1024;

/** IN rounded up to K_ALIGN. */
// @ts-ignore: decorator
@inline
export function paddedIn(IN: i32): i32 {
  return (IN + K_ALIGN - 1) & ~(K_ALIGN - 1);
}

/** Activation levels for rows of IN: 2047, less where L·127·INp could pass 2^31 - 1 (IN > 8256). */
export function xLevels(IN: i32): i32 {
  return <i32>min<i64>(X_LEVELS_MAX, <i64>0x7fffffff / (<i64>W_LEVELS * <i64>paddedIn(IN)));
}

/** Activation levels of 7-bit rows: [0, 127], the operand relaxed_dot's i7 side takes. */
const U7_LEVELS: i32 = 127;
/** Row format tag (row tail + 12): 7-bit unsigned rows with a zero point (geluQuantizeRows in the
 *  relaxed build); 0 is the 12-bit rows'. */
const FORMAT_U7: i32 = 1;

/** Bytes per quantized activation row (either format: 7-bit rows use the first INp bytes). */
export function qRowBytes(IN: i32): i32 {
  return paddedIn(IN) * 2 + ROW_TAIL;
}

/** Bytes after a packed weight's OUT rows of INp int8: the f32 scales, and in the relaxed build the
 *  i32 row sums Σ_k wq[n, k] (the zero-point correction). */
export function packedTailBytesPerRow(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 8 : 4;
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

/** 1.5 · 2^23: adding it to an f32 of magnitude < 2^22 rounds it to an integer (to nearest even,
 *  the IEEE default) in the low mantissa bits. Two instructions instead of nearest + trunc_sat (the
 *  latter ~8 on V8 x64); the values here are bounded by the levels and never NaN. */
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;

/** nearest(x · inv) of 4 lanes as i32 (|x · inv| ≤ levels < 2^22). */
// @ts-ignore: decorator
@inline
function round4(x: v128, inv: v128): v128 {
  return i32x4.sub(f32x4.add(f32x4.mul(x, inv), f32x4.splat(MAGIC)), i32x4.splat(MAGIC_BITS));
}

/** The same for one value. */
// @ts-ignore: decorator
@inline
function round1(x: f32, inv: f32): i32 {
  return reinterpret<i32>(x * inv + MAGIC) - MAGIC_BITS;
}

/**
 * Quantize rows [0, rows) of x[rows, IN] (f32) into q (layout above): per row, scale max|x|/L.
 */
export function quantizeRows(q: usize, x: usize, rows: i32, IN: i32): void {
  const qs = <usize>qRowBytes(IN);
  const inp = paddedIn(IN);
  const levels = xLevels(IN);
  const lim = i16x8.splat(<i16>levels);
  const nlim = i16x8.splat(<i16>-levels);
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * <usize>IN * F32;
    const dst = q + <usize>r * qs;
    const m = absMax(src, IN);
    let scale: f32 = 0;
    let k = 0;
    if (m >= TINY && m < Infinity) {
      const invs: f32 = <f32>levels / m;
      const inv = f32x4.splat(invs);
      scale = m / <f32>levels;
      for (; k + 8 <= IN; k += 8) {
        const p = src + <usize>k * F32;
        let v = i16x8.narrow_i32x4_s(round4(v128.load(p), inv), round4(v128.load(p, V128), inv));
        // |x · inv| ≤ levels up to one f32 rounding, which nearest cannot carry past levels; the
        // clamp makes it a guarantee rather than an argument.
        v = i16x8.max_s(i16x8.min_s(v, lim), nlim);
        v128.store(dst + <usize>k * 2, v);
      }
      for (; k < IN; k++) store<i16>(dst + <usize>k * 2, <i16>min(max(round1(load<f32>(src + <usize>k * F32), invs), -levels), levels));
    } else if (!(m < Infinity)) {
      // NaN/±∞: zeros with scale NaN, so the row's outputs are NaN. Zero (or tiny) rows: scale 0.
      scale = NaN;
    }
    for (; k < inp; k++) store<i16>(dst + <usize>k * 2, 0);
    store<f32>(dst + <usize>inp * 2, scale);
    store<i32>(dst + <usize>inp * 2, 0, 4);
    store<i64>(dst + <usize>inp * 2, 0, 8);
  }
}

/** min(0, x[0..n)) and max(0, x[0..n)) of the last rowRange call, NaN if any element is NaN. */
let rangeLo: f32 = 0;
let rangeHi: f32 = 0;

/** Sets rangeLo, rangeHi for x[0..n) (f32x4.min/max propagate NaN). */
function rowRange(x: usize, n: i32): void {
  let lo = f32x4.splat(0), hi = lo;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const v = v128.load(x + <usize>k * F32);
    lo = f32x4.min(lo, v);
    hi = f32x4.max(hi, v);
  }
  let l = min(min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)), min(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)));
  let h = max(max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)), max(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)));
  for (; k < n; k++) {
    const v = load<f32>(x + <usize>k * F32);
    l = min(l, v);
    h = max(h, v);
  }
  rangeLo = l;
  rangeHi = h;
}

/**
 * 7-bit rows (relaxed build, GELU outputs): per row, asymmetric over [lo, hi] = [min(x, 0), max(x, 0)]:
 * range = hi - lo, scale = range/127, zp = clamp(nearest(-lo · 127/range), 0, 127),
 * xq = clamp(nearest(x · 127/range) + zp, 0, 127), bytes [0, INp) of the row (bytes [INp, 2·INp)
 * zero); x ≈ scale · (xq - zp). Zero/tiny range: zeros, scale 0, zp 0. NaN/±∞ (or a range past
 * f32, |x| > 1.7e38): scale NaN. Row tail: scale (f32), zp (i32), 0 (i32), FORMAT_U7 (i32).
 */
function quantizeRowsU7(q: usize, x: usize, rows: i32, IN: i32): void {
  const qs = <usize>qRowBytes(IN);
  const inp = paddedIn(IN);
  const top = i8x16.splat(<i8>U7_LEVELS);
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * <usize>IN * F32;
    const dst = q + <usize>r * qs;
    rowRange(src, IN);
    const range = rangeHi - rangeLo;
    let scale: f32 = 0;
    let zp = 0;
    let k = 0;
    if (range >= TINY && range < Infinity) {
      const invs: f32 = <f32>U7_LEVELS / range;
      scale = range / <f32>U7_LEVELS;
      zp = min(max(round1(-rangeLo, invs), 0), U7_LEVELS);
      const inv = f32x4.splat(invs);
      const z = i32x4.splat(zp);
      for (; k + 16 <= IN; k += 16) {
        const p = src + <usize>k * F32;
        const a = i16x8.narrow_i32x4_s(i32x4.add(round4(v128.load(p), inv), z), i32x4.add(round4(v128.load(p, V128), inv), z));
        const b = i16x8.narrow_i32x4_s(i32x4.add(round4(v128.load(p, 2 * V128), inv), z), i32x4.add(round4(v128.load(p, 3 * V128), inv), z));
        // narrow_u saturates below at 0; the min caps the one-level overshoot rounding can give.
        v128.store(dst + <usize>k, i8x16.min_u(i8x16.narrow_i16x8_u(a, b), top));
      }
      for (; k < IN; k++) store<u8>(dst + <usize>k, <u8>min(max(round1(load<f32>(src + <usize>k * F32), invs) + zp, 0), U7_LEVELS));
    } else if (!(range < Infinity)) {
      scale = NaN;
    }
    for (; k < inp; k++) store<u8>(dst + <usize>k, 0);
    memory.fill(dst + <usize>inp, 0, <usize>inp);
    const xt = dst + <usize>inp * 2;
    store<f32>(xt, scale);
    store<i32>(xt, zp, 4);
    store<i32>(xt, 0, 8);
    store<i32>(xt, FORMAT_U7, 12);
  }
}

/**
 * Pack rows [0, rows) of a Linear weight (f32, [rows, IN] at src: rows r0.. of W[OUT, IN]) into
 * `dstRows` (rows × INp int8: the packed rows r0..) and `dstScales` (rows f32): per row
 * sw = max|w|/127, wq = nearest(w · 127/max|w|); in the relaxed build also `dstSums` (rows i32,
 * Σ_k wq; the baseline build ignores it).
 */
export function packLinearI8(dstRows: usize, dstScales: usize, dstSums: usize, src: usize, rows: i32, IN: i32): void {
  const inp = paddedIn(IN);
  const lim = i8x16.splat(<i8>W_LEVELS);
  const nlim = i8x16.splat(<i8>-W_LEVELS);
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * <usize>IN * F32;
    const d = dstRows + <usize>r * <usize>inp;
    const m = absMax(s, IN);
    let scale: f32 = 0;
    let k = 0;
    if (m >= TINY && m < Infinity) {
      const invs: f32 = <f32>W_LEVELS / m;
      const inv = f32x4.splat(invs);
      scale = m / <f32>W_LEVELS;
      for (; k + 16 <= IN; k += 16) {
        const p = s + <usize>k * F32;
        const a = i16x8.narrow_i32x4_s(round4(v128.load(p), inv), round4(v128.load(p, V128), inv));
        const b = i16x8.narrow_i32x4_s(round4(v128.load(p, 2 * V128), inv), round4(v128.load(p, 3 * V128), inv));
        v128.store(d + <usize>k, i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(a, b), lim), nlim));
      }
      for (; k < IN; k++) store<i8>(d + <usize>k, <i8>min(max(round1(load<f32>(s + <usize>k * F32), invs), -W_LEVELS), W_LEVELS));
    } else if (!(m < Infinity)) {
      scale = NaN;
    }
    for (; k < inp; k++) store<i8>(d + <usize>k, 0);
    store<f32>(dstScales + <usize>r * F32, scale);
    if (ASC_FEATURE_RELAXED_SIMD) {
      // Σ_k wq[n, k] (|Σ| ≤ 127 · INp: exact in i32), for the zero-point correction of linearQ8.
      let acc = i32x4.splat(0);
      for (let j = 0; j < inp; j += 16) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(d + <usize>j))));
      store<i32>(dstSums + <usize>r * F32, hsumi(acc));
    }
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

/** Dequantize 4 integer sums of one row: f32(acc) · sx · sw[0..4) + bias[0..4), stored at o; plus
 *  the residual at o + rd when rd is not 0 (one more f32 add, after the bias: the order bert.ts's
 *  separate residual add had). */
// @ts-ignore: decorator
@inline
function finish4(o: usize, acc: v128, sx: f32, sw: usize, bias: usize, rd: usize): void {
  const f = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(acc), f32x4.splat(sx)), v128.load(sw));
  let r = f32x4.add(f, v128.load(bias));
  if (rd) r = f32x4.add(r, v128.load(o + rd));
  v128.store(o, r);
}

/** The same for one output. */
// @ts-ignore: decorator
@inline
function finish1(o: usize, acc: i32, sx: f32, sw: usize, bias: usize, rd: usize): void {
  let r = <f32>acc * sx * load<f32>(sw) + load<f32>(bias);
  if (rd) r += load<f32>(o + rd);
  store<f32>(o, r);
}

/** Dequantize [row r c0, r c1, r+1 c0, r+1 c1] into two rows of 2 outputs (finish4's arithmetic). */
// @ts-ignore: decorator
@inline
function finish2x2(o: usize, os: usize, acc: v128, sx0: f32, sx1: f32, sw: usize, bias: usize, rd: usize): void {
  const sx = f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(sx0), 2, sx1), 3, sx1);
  const f = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(acc), sx), v128.load64_splat(sw));
  let r = f32x4.add(f, v128.load64_splat(bias));
  if (rd) r = f32x4.add(r, v128.load64_lane(o + os + rd, v128.load64_zero(o + rd), 1));
  v128.store64_lane(o, r, 0);
  v128.store64_lane(o + os, r, 1);
}

/**
 * 4 rows × 2 columns over INp: per k step of 8, 2 load-and-widen of W (load8x8_s, shared by the 4
 * rows) + 4 plain loads of x (already int16), 8 i32x4.dot_i16x8_s + 8 adds. 8 accumulators + 2 W
 * + 1 x + 1 product register fit V8's 15 usable xmm registers; 6 × 2 spills (measured 25 % slower),
 * 2 × 4 needs 4 widenings per step (~8 % slower).
 * Relaxed build: per k step of 16, 2 loads of W and 4 of x (bytes), 8 relaxed dots that accumulate
 * (one vpdpbusd each where the CPU has AVX-VNNI; pmaddubsw + pmaddwd + add without), then the
 * zero-point correction zp[row] · Σwq[col] subtracted from the exact integer sums.
 */
// @ts-ignore: decorator
@inline
function tile4x2(o0: usize, os: usize, q0: usize, qs: usize, w: usize, inp: usize, sw: usize, bias: usize, rd: usize, sums: usize, u7: bool): void {
  let a00 = i32x4.splat(0), a01 = a00, a10 = a00, a11 = a00;
  let a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const w1 = w + inp;
  const q1 = q0 + qs, q2 = q0 + qs * 2, q3 = q0 + qs * 3;
  if (ASC_FEATURE_RELAXED_SIMD && u7) {
    for (let k: usize = 0; k < inp; k += 16) {
      const y0 = v128.load(w + k);
      const y1 = v128.load(w1 + k);
      let x = v128.load(q0 + k);
      a00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y0, x, a00);
      a01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y1, x, a01);
      x = v128.load(q1 + k);
      a10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y0, x, a10);
      a11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y1, x, a11);
      x = v128.load(q2 + k);
      a20 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y0, x, a20);
      a21 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y1, x, a21);
      x = v128.load(q3 + k);
      a30 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y0, x, a30);
      a31 = i32x4.relaxed_dot_i8x16_i7x16_add_s(y1, x, a31);
    }
  } else {
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
  }
  const xt = inp * 2;
  let s0 = hsum4i(a00, a01, a10, a11);
  let s1 = hsum4i(a20, a21, a30, a31);
  if (ASC_FEATURE_RELAXED_SIMD && u7) {
    // [zp(r) · Σw(c0), zp(r) · Σw(c1), zp(r+1) · Σw(c0), zp(r+1) · Σw(c1)]: exact, like the sums.
    const ws = v128.load64_splat(sums);
    s0 = i32x4.sub(s0, i32x4.mul(zp2(load<i32>(q0 + xt, 4), load<i32>(q1 + xt, 4)), ws));
    s1 = i32x4.sub(s1, i32x4.mul(zp2(load<i32>(q2 + xt, 4), load<i32>(q3 + xt, 4)), ws));
  }
  finish2x2(o0, os, s0, load<f32>(q0 + xt), load<f32>(q1 + xt), sw, bias, rd);
  finish2x2(o0 + os * 2, os, s1, load<f32>(q2 + xt), load<f32>(q3 + xt), sw, bias, rd);
}

/** [a, a, b, b] as i32x4. */
// @ts-ignore: decorator
@inline
function zp2(a: i32, b: i32): v128 {
  return i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(a), 2, b), 3, b);
}

/** 1 row × 4 columns (rows past the last 4-row tile, e.g. the pooler's few rows). */
// @ts-ignore: decorator
@inline
function tile1x4(o0: usize, q0: usize, w: usize, inp: usize, sw: usize, bias: usize, rd: usize, sums: usize, u7: bool): void {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const w1 = w + inp, w2 = w + inp * 2, w3 = w + inp * 3;
  if (ASC_FEATURE_RELAXED_SIMD && u7) {
    for (let k: usize = 0; k < inp; k += 16) {
      const x0 = v128.load(q0 + k);
      a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(w + k), x0, a0);
      a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(w1 + k), x0, a1);
      a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(w2 + k), x0, a2);
      a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(w3 + k), x0, a3);
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
  const xt = inp * 2;
  let acc = hsum4i(a0, a1, a2, a3);
  if (ASC_FEATURE_RELAXED_SIMD && u7) acc = i32x4.sub(acc, i32x4.mul(i32x4.splat(load<i32>(q0 + xt, 4)), v128.load(sums)));
  finish4(o0, acc, load<f32>(q0 + xt), sw, bias, rd);
}

/** 1 row × 1 column (zero-point corrected in the relaxed build). */
function dot1(q0: usize, w: usize, inp: usize, sums: usize, u7: bool): i32 {
  let a = i32x4.splat(0);
  if (ASC_FEATURE_RELAXED_SIMD && u7) {
    for (let k: usize = 0; k < inp; k += 16) a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(w + k), v128.load(q0 + k), a);
    return hsumi(a) - load<i32>(q0 + inp * 2, 4) * load<i32>(sums);
  }
  for (let k: usize = 0; k < inp; k += 8) a = i32x4.add(a, i32x4.dot_i16x8_s(v128.load(q0 + k * 2), v128.load8x8_s(w + k)));
  return hsumi(a);
}

/**
 * out[rows, OUT] = dequant(q[rows] · Wqᵀ) + bias[OUT].
 * q: rows quantized by quantizeRows (row stride qRowBytes(IN)); w: packed by packLinearI8 for the
 * whole [OUT, IN] weight (rows, then OUT scales). out must not overlap q, w or bias.
 * Loop order: 2 columns of W (2·INp bytes) outer, kept in L1 while the quantized rows stream by;
 * a last odd column takes 1 × 1 dots, rows past the last 4-row tile 1 × 4 tiles. Each output is the
 * same exact integer sum and the same f32 arithmetic whichever tile computes it.
 */
export function linearQ8(out: usize, q: usize, w: usize, bias: usize, rows: i32, IN: i32, OUT: i32): void {
  linearQ8Add(out, q, w, bias, 0, rows, IN, OUT);
}

/**
 * linearQ8 with the residual added in the epilogue: out = (dequant(q · Wqᵀ) + bias) + residual
 * (residual [rows, OUT] f32, or 0 for none) — bit for bit linearQ8 then a separate `add`, without
 * the second pass over out. residual may not overlap out.
 */
export function linearQ8Add(out: usize, q: usize, w: usize, bias: usize, residual: usize, rows: i32, IN: i32, OUT: i32): void {
  // The residual as an offset from the output address (0: none); wraps harmlessly when below out.
  const rd: usize = residual ? residual - out : 0;
  const inp = <usize>paddedIn(IN);
  const xt = inp * 2;
  const qs = <usize>qRowBytes(IN);
  // One format per call (the rows of one quantizing kernel): 7-bit rows take the relaxed dot.
  const u7: bool = ASC_FEATURE_RELAXED_SIMD && rows > 0 && load<i32>(q + xt, 12) == FORMAT_U7;
  const os = <usize>OUT * F32;
  const scales = w + <usize>OUT * inp;
  const sums = scales + <usize>OUT * F32;
  const mainRows = rows & ~3;
  const mainCols = OUT & ~1;
  // Row blocks of at most ROW_BLOCK_BYTES of quantized rows (a multiple of 4 rows): every column
  // pair re-reads the block, which must stay in L2; W (2 rows in L1 at a time) is read once per block.
  const block = max(4, (<i32>(<usize>ROW_BLOCK_BYTES / qs)) & ~3);
  for (let t0 = 0; t0 < mainRows; t0 += block) {
    const t1 = min(mainRows, t0 + block);
    for (let n = 0; n < mainCols; n += 2) {
      const wn = w + <usize>n * inp;
      const sw = scales + <usize>n * F32;
      const bn = bias + <usize>n * F32;
      const on = out + <usize>n * F32;
      for (let t = t0; t < t1; t += 4) tile4x2(on + <usize>t * os, os, q + <usize>t * qs, qs, wn, inp, sw, bn, rd, sums + <usize>n * F32, u7);
    }
  }
  if (mainCols < OUT) {
    const n = mainCols;
    for (let t = 0; t < mainRows; t++) {
      const q0 = q + <usize>t * qs;
      finish1(out + <usize>t * os + <usize>n * F32, dot1(q0, w + <usize>n * inp, inp, sums + <usize>n * F32, u7), load<f32>(q0 + xt), scales + <usize>n * F32, bias + <usize>n * F32, rd);
    }
  }
  for (let t = mainRows; t < rows; t++) {
    const q0 = q + <usize>t * qs;
    const o0 = out + <usize>t * os;
    const sx = load<f32>(q0 + xt);
    let n = 0;
    for (; n + 4 <= OUT; n += 4) tile1x4(o0 + <usize>n * F32, q0, w + <usize>n * inp, inp, scales + <usize>n * F32, bias + <usize>n * F32, rd, sums + <usize>n * F32, u7);
    for (; n < OUT; n++) finish1(o0 + <usize>n * F32, dot1(q0, w + <usize>n * inp, inp, sums + <usize>n * F32, u7), sx, scales + <usize>n * F32, bias + <usize>n * F32, rd);
  }
}

/**
 * LayerNorm then quantizeRows, row by row (the row is still in L1 when it is quantized): out ←
 * layerNorm(x) (f32, the residual the next block adds), q ← quantizeRows(out) — bit for bit the two
 * kernels one after the other. out may equal x.
 */
export function layerNormQuantizeRows(out: usize, q: usize, x: usize, gamma: usize, beta: usize, rows: i32, C: i32, eps: f32): void {
  const rowBytes = <usize>C * F32;
  const qs = <usize>qRowBytes(C);
  for (let r = 0; r < rows; r++) {
    const o = out + <usize>r * rowBytes;
    layerNorm(o, x + <usize>r * rowBytes, gamma, beta, 1, C, eps);
    quantizeRows(q + <usize>r * qs, o, 1, C);
  }
}

/**
 * GELU in place then quantizeRows, row by row: x ← GELU(x), q ← quantizeRows(x) — bit for bit the two
 * kernels one after the other (gelu is element-wise, its tail agrees with its body).
 */
export function geluQuantizeRows(q: usize, x: usize, rows: i32, IN: i32): void {
  const rowBytes = <usize>IN * F32;
  const qs = <usize>qRowBytes(IN);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    gelu(xr, IN);
    if (ASC_FEATURE_RELAXED_SIMD) quantizeRowsU7(q + <usize>r * qs, xr, 1, IN);
    else quantizeRows(q + <usize>r * qs, xr, 1, IN);
  }
}
