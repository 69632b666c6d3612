// Owns: the scalar TypeScript oracle of the lower-precision kernels (int8 quantization and Linear,
// f16 conversions), plus the bit-level helpers they share with the loader (f32 <-> f16, round half
// to even). Every f32 operation of assembly/quant.ts and assembly/half.ts is repeated here in the
// same order with Math.fround, so the wasm kernels must match this file bit for bit.
// Does not own: argument checks (guard-lowp.ts) or the heap (arena.ts, via `memory`).
//
// Layouts (those of assembly/quant.ts, so packed weights can be compared byte for byte):
// - quantized rows: row stride INp·2 + 16 bytes (INp = IN rounded up to 16): INp int16 (12-bit
//   values, see xLevels), the f32 scale, 12 bytes of zeros;
// - packed int8 weight: [OUT][INp] int8, then OUT f32 scales.
// The relaxed build (activations 'u7') differs in two places, mirrored here: geluQuantizeRows writes
// 7-bit rows — INp bytes in [0, 127] (asymmetric: x ≈ scale · (xq - zp)), INp zero bytes, then the
// f32 scale, the i32 zero point, 0, and the format tag 1 — which linearInt8 multiplies with
// i32x4.relaxed_dot_i8x16_i7x16_add_s (exact: the 7-bit operand is never negative); and the packed
// weight ends with OUT i32 sums Σ_k wq[n, k], so Σ_k x·w = scale · sw · (Σ_k xq·wq - zp · Σ_k wq),
// every integer exact.
import { f16BitsToF32Bits } from '../formats/safetensors.js';
import type { KernelBackend } from './backend.js';

/** The lower-precision kernels of a backend, called only with checked arguments. */
export type RawLowPrecisionKernels = Pick<
  KernelBackend,
  | 'quantizedRowsBytes'
  | 'quantizeRows'
  | 'packedLinearInt8Bytes'
  | 'packLinearInt8'
  | 'linearInt8'
  | 'linearInt8Add'
  | 'layerNormQuantizeRows'
  | 'geluQuantizeRows'
  | 'f32ToF16'
  | 'f16ToF32'
>;

/** Quantization constants shared with assembly/quant.ts. */
export const W_LEVELS = 127;
const X_LEVELS_MAX = 2047;
/** Activation levels of 7-bit rows ([0, 127]) and their format tag (assembly/quant.ts). */
const U7_LEVELS = 127;
const FORMAT_U7 = 1;
const TINY = Math.fround(1e-30);
const K_ALIGN = 16;
const ROW_TAIL = 16;

export const paddedIn = (IN: number): number => Math.ceil(IN / K_ALIGN) * K_ALIGN;

/** Activation levels each side of 0 for rows of IN: 2047 (12 bits), fewer where the integer sum
 *  L·127·INp could pass 2^31 - 1 (IN > 8256). */
export const xLevels = (IN: number): number => Math.min(X_LEVELS_MAX, Math.floor(0x7fffffff / (W_LEVELS * paddedIn(IN))));

/** Round half to even (WebAssembly's f32.nearest) of a value already rounded to f32. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round sends x.5 up; the even neighbour is wanted on exact ties.
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** max |x[i]| of a row, NaN if any element is NaN (as f32x4.max). */
function absMax(h: Float32Array, start: number, n: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const a = Math.abs(h[start + k]);
    if (Number.isNaN(a)) return NaN;
    if (a > m) m = a;
  }
  return m;
}

/** Scale and multiplier of a row with max |x| = m at `levels`; [0, 0] (zero row) or [NaN, 0]. */
function rowScale(m: number, levels: number): [scale: number, inv: number] {
  if (m >= TINY && m < Infinity) return [Math.fround(m / levels), Math.fround(levels / m)];
  return [m < Infinity ? 0 : NaN, 0];
}

/** nearest(x · inv) clamped to [-lim, lim], with f32 rounding of the product. */
const quantize = (x: number, inv: number, lim: number): number =>
  Math.min(lim, Math.max(-lim, roundHalfEven(Math.fround(x * inv))));

/** f32 bit pattern -> f16 bit pattern, round to nearest even (the same branches as assembly/half.ts).
 *  Bits in and out, so NaN payloads survive (a JS number may not keep them). */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const x = (bits & 0x7fffffff) >>> 0;
  let h: number;
  if (x >= 0x7f800000) h = x > 0x7f800000 ? 0x7e00 | ((x >>> 13) & 0x3ff) : 0x7c00;
  else if (x >= 0x477ff000) h = 0x7c00;
  else if (x >= 0x38800000) h = (x - 0x38000000 + 0xfff + ((x >>> 13) & 1)) >>> 13;
  else if (x > 0x33000000) {
    const e = x >>> 23;
    const m = (x & 0x7fffff) | 0x800000;
    const shift = 126 - e;
    h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
  } else h = 0;
  return sign | h;
}

let f16Values: Float32Array | undefined;

/** f16 bit pattern -> its f32 value, as a 65536-entry table (built on first use, 256 KiB). */
export function f16Table(): Float32Array {
  if (!f16Values) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
    f16Values = new Float32Array(bits.buffer);
  }
  return f16Values;
}

/** The f32 kernels the fused int8 kernels start with (the backend's own). */
type F32Halves = Pick<KernelBackend, 'layerNorm' | 'gelu'>;

/** Which int8 activation format (see the header): the baseline build's or the relaxed build's. */
export type Int8Activations = 'i12' | 'u7';

/** min(0, x) and max(0, x) over a row, [NaN, NaN] if any element is NaN (as f32x4.min/max). */
function rowRange(h: Float32Array, start: number, n: number): [lo: number, hi: number] {
  let lo = 0;
  let hi = 0;
  for (let k = 0; k < n; k++) {
    const v = h[start + k];
    if (Number.isNaN(v)) return [NaN, NaN];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** The lower-precision kernels over `memory` (views re-created per call: the heap may have grown);
 *  `f32()` gives the backend's layerNorm and gelu, which the fused kernels run before quantizing
 *  (the same composition as assembly/quant.ts, so each half matches its unfused kernel). */
export function referenceLowPrecisionKernels(memory: WebAssembly.Memory, f32: () => F32Halves, activations: Int8Activations = 'i12'): RawLowPrecisionKernels {
  const u7 = activations === 'u7';
  const rowStride = (IN: number) => paddedIn(IN) * 2 + ROW_TAIL;
  const tail = u7 ? 8 : 4;
  const k: RawLowPrecisionKernels = {
    quantizedRowsBytes: (T, IN) => T * rowStride(IN),
    quantizeRows(q, x, T, IN) {
      const h = new Float32Array(memory.buffer);
      const dv = new DataView(memory.buffer);
      const inp = paddedIn(IN);
      const levels = xLevels(IN);
      for (let t = 0; t < T; t++) {
        const src = x / 4 + t * IN;
        const dst = q + t * rowStride(IN);
        const [scale, inv] = rowScale(absMax(h, src, IN), levels);
        for (let k = 0; k < inp; k++) dv.setInt16(dst + k * 2, k < IN && inv !== 0 ? quantize(h[src + k], inv, levels) : 0, true);
        dv.setFloat32(dst + inp * 2, scale, true);
        for (let b = 4; b < ROW_TAIL; b++) dv.setUint8(dst + inp * 2 + b, 0);
      }
    },
    packedLinearInt8Bytes: (OUT, IN) => OUT * paddedIn(IN) + OUT * tail,
    packLinearInt8(dst, src, OUT, IN, r0, rows) {
      const h = new Float32Array(memory.buffer);
      const dv = new DataView(memory.buffer);
      const bytes = new Int8Array(memory.buffer);
      const inp = paddedIn(IN);
      for (let r = 0; r < rows; r++) {
        const s = src / 4 + r * IN;
        const d = dst + (r0 + r) * inp;
        const [scale, inv] = rowScale(absMax(h, s, IN), W_LEVELS);
        let sum = 0;
        for (let k = 0; k < inp; k++) {
          bytes[d + k] = k < IN && inv !== 0 ? quantize(h[s + k], inv, W_LEVELS) : 0;
          sum += bytes[d + k];
        }
        dv.setFloat32(dst + OUT * inp + (r0 + r) * 4, scale, true);
        if (u7) dv.setInt32(dst + OUT * inp + OUT * 4 + (r0 + r) * 4, sum, true);
      }
    },
    linearInt8(out, q, w, bias, T, IN, OUT) {
      const h = new Float32Array(memory.buffer);
      const dv = new DataView(memory.buffer);
      const xs = new Int16Array(memory.buffer);
      const xb = new Uint8Array(memory.buffer);
      const ws = new Int8Array(memory.buffer);
      const inp = paddedIn(IN);
      // One format per call, as the kernel: the tag of the first row.
      const rowsU7 = u7 && T > 0 && dv.getInt32(q + inp * 2 + 12, true) === FORMAT_U7;
      for (let t = 0; t < T; t++) {
        const qr = q + t * rowStride(IN);
        const xt = qr + inp * 2;
        const sx = dv.getFloat32(xt, true);
        const zp = dv.getInt32(xt + 4, true);
        for (let n = 0; n < OUT; n++) {
          const wr = w + n * inp;
          let acc = 0;
          if (rowsU7) {
            for (let k = 0; k < inp; k++) acc += xb[qr + k] * ws[wr + k];
            acc -= zp * dv.getInt32(w + OUT * inp + OUT * 4 + n * 4, true);
          } else {
            for (let k = 0; k < inp; k++) acc += xs[qr / 2 + k] * ws[wr + k];
          }
          const sw = dv.getFloat32(w + OUT * inp + n * 4, true);
          const f = Math.fround(Math.fround(Math.fround(acc) * sx) * sw);
          h[out / 4 + t * OUT + n] = f + h[bias / 4 + n];
        }
      }
    },
    linearInt8Add(out, q, w, bias, residual, T, IN, OUT) {
      k.linearInt8(out, q, w, bias, T, IN, OUT);
      const h = new Float32Array(memory.buffer);
      for (let i = 0; i < T * OUT; i++) h[out / 4 + i] = h[out / 4 + i] + h[residual / 4 + i];
    },
    layerNormQuantizeRows(out, q, x, gamma, beta, T, C, eps) {
      f32().layerNorm(out, x, gamma, beta, T, C, eps);
      k.quantizeRows(q, out, T, C);
    },
    geluQuantizeRows(q, x, T, IN) {
      f32().gelu(x, T * IN);
      if (u7) quantizeRowsU7(memory, q, x, T, IN);
      else k.quantizeRows(q, x, T, IN);
    },
    f32ToF16(dst, src, n) {
      const bits = new Uint32Array(memory.buffer);
      const u = new Uint16Array(memory.buffer);
      for (let i = 0; i < n; i++) u[dst / 2 + i] = f32BitsToF16Bits(bits[src / 4 + i]);
    },
    f16ToF32(dst, src, n) {
      const bits = new Uint32Array(memory.buffer);
      const u = new Uint16Array(memory.buffer);
      for (let i = 0; i < n; i++) bits[dst / 4 + i] = f16BitsToF32Bits(u[src / 2 + i]);
    },
  };

  return k;
}

/** The relaxed build's 7-bit rows (layout in the header): asymmetric over [min(x, 0), max(x, 0)]
 *  (assembly/quant.ts quantizeRowsU7, the same f32 operations in the same order). Exported for the
 *  tests, which quantize the wasm GELU's outputs with it (the reference GELU is float64). */
export function quantizeRowsU7(memory: WebAssembly.Memory, q: number, x: number, T: number, IN: number): void {
  const h = new Float32Array(memory.buffer);
  const dv = new DataView(memory.buffer);
  const inp = paddedIn(IN);
  for (let t = 0; t < T; t++) {
    const src = x / 4 + t * IN;
    const dst = q + t * (inp * 2 + ROW_TAIL);
    const [lo, hi] = rowRange(h, src, IN);
    const range = Math.fround(hi - lo);
    let scale = 0;
    let zp = 0;
    let inv = 0;
    if (range >= TINY && range < Infinity) {
      inv = Math.fround(U7_LEVELS / range);
      scale = Math.fround(range / U7_LEVELS);
      zp = Math.min(U7_LEVELS, Math.max(0, roundHalfEven(Math.fround(-lo * inv))));
    } else if (!(range < Infinity)) {
      scale = NaN;
    }
    for (let k = 0; k < 2 * inp; k++) {
      const v = k < IN && inv !== 0 ? Math.min(U7_LEVELS, Math.max(0, roundHalfEven(Math.fround(h[src + k] * inv)) + zp)) : 0;
      dv.setUint8(dst + k, v);
    }
    dv.setFloat32(dst + inp * 2, scale, true);
    dv.setInt32(dst + inp * 2 + 4, zp, true);
    dv.setInt32(dst + inp * 2 + 8, 0, true);
    dv.setInt32(dst + inp * 2 + 12, FORMAT_U7, true);
  }
}
