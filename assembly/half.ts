// Owns: IEEE binary16 (f16) storage — f32 -> f16 (round to nearest, ties to even; at load time) and
// f16 -> f32 (exact; every forward pass widens a Linear weight just before its matmul).
// Does not own: pointer/size validation (src/kernels/guard-lowp.ts), the layout of what is converted
// (an f16 Linear weight is the f32 packed layout of matmul.ts with each float stored as f16, so its
// widening is the packed f32 weight linear_f32 reads), or memory (the caller passes every buffer).
// src/kernels/reference-lowp.ts does the same bit operations in TypeScript.

const F32: usize = 4;
const F16: usize = 2;

/** One f32 -> f16 bit pattern, round to nearest even; overflow -> ±∞, NaN stays NaN (quiet). */
// @ts-ignore: decorator
@inline
function toHalf(f: f32): u32 {
  let x = reinterpret<u32>(f);
  const sign = (x >>> 16) & 0x8000;
  x &= 0x7fffffff;
  let h: u32;
  if (x >= 0x7f800000) {
    h = x > 0x7f800000 ? 0x7e00 | ((x >>> 13) & 0x3ff) : 0x7c00;
  } else if (x >= 0x477ff000) {
    // ≥ 65520, halfway between the largest f16 (65504, odd mantissa) and 2^16: rounds up to ∞.
    h = 0x7c00;
  } else if (x >= 0x38800000) {
    // Normal f16: rebias the exponent (127 -> 15) and round the 13 dropped bits to even; a mantissa
    // carry moves into the exponent, which is what rounding up to the next binade means.
    h = (x - 0x38000000 + 0xfff + ((x >>> 13) & 1)) >>> 13;
  } else if (x > 0x33000000) {
    // Subnormal f16 (units of 2^-24): shift the full significand, round to even by hand.
    const e = x >>> 23;
    const m = (x & 0x7fffff) | 0x800000;
    const shift = 126 - e;
    h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half: u32 = 1 << (shift - 1);
    if (rem > half || (rem == half && (h & 1) != 0)) h++;
  } else {
    // ≤ 2^-25 (2^-25 itself is a tie with 0, which is even).
    h = 0;
  }
  return sign | h;
}

/** dst[i] = f16(src[i]) for i < n. dst: n u16, src: n f32. */
export function f32ToF16(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<u16>(dst + <usize>i * F16, <u16>toHalf(load<f32>(src + <usize>i * F32)));
  }
}

/** 2^112: scales an f16 pattern shifted into f32 position (exponent bias 15 vs 127) to its value. */
const REBIAS: f32 = reinterpret<f32>(0x77800000);

/** Four u32 lanes holding f16 patterns -> their f32 values (exact, NaN payloads kept). */
// @ts-ignore: decorator
@inline
function widen4(u: v128): v128 {
  const sign = i32x4.shl(v128.and(u, i32x4.splat(0x8000)), 16);
  const em = v128.and(u, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(em, 13);
  // Normal and subnormal: the shifted pattern is the value · 2^-112 (a subnormal f32 when the f16
  // is subnormal), so one exact multiply by 2^112 rebiases both.
  const finite = f32x4.mul(shifted, f32x4.splat(REBIAS));
  // ∞ / NaN (exponent 31): all-ones f32 exponent, mantissa kept.
  const special = v128.or(shifted, i32x4.splat(0x7f800000));
  const isSpecial = i32x4.gt_s(em, i32x4.splat(0x7bff));
  return v128.or(v128.bitselect(special, finite, isSpecial), sign);
}

/** dst[i] = f32(src[i]) for i < n. dst: n f32, src: n u16 (f16 bit patterns). */
export function f16ToF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + <usize>i * F16);
    const o = dst + <usize>i * F32;
    v128.store(o, widen4(i32x4.extend_low_i16x8_u(h)));
    v128.store(o, widen4(i32x4.extend_high_i16x8_u(h)), 16);
  }
  for (; i < n; i++) {
    const u = i32x4.splat(<i32>load<u16>(src + <usize>i * F16));
    store<f32>(dst + <usize>i * F32, f32x4.extract_lane(widen4(u), 0));
  }
}
