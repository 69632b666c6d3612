// Owns: the wasm bindings of the lower-precision kernels — the int8/f16 exports of assembly/index.ts
// (quant.ts, half.ts) and their mapping onto the contract's methods (pointer arithmetic for row
// ranges: packLinearInt8 writes rows r0.. and their scales (and row sums) inside one packed weight).
// Does not own: argument checks (guard-lowp.ts) or the kernels (assembly/quant.ts, assembly/half.ts).
import { paddedIn, type RawLowPrecisionKernels } from './reference-lowp.js';

/** The int8/f16 exports (the ABI, as in assembly/index.ts). */
export interface LowPrecisionExports {
  q_row_bytes_i8(IN: number): number;
  quantize_rows_i8(q: number, x: number, rows: number, IN: number): void;
  pack_linear_i8(dstRows: number, dstScales: number, dstSums: number, src: number, rows: number, IN: number): void;
  /** Bytes per output channel after a packed weight's int8 rows: 4 (scale) or 8 (scale, Σwq). */
  packed_i8_tail_bytes(): number;
  linear_q8(out: number, q: number, w: number, bias: number, rows: number, IN: number, OUT: number): void;
  linear_q8_add(out: number, q: number, w: number, bias: number, residual: number, rows: number, IN: number, OUT: number): void;
  layernorm_quantize_i8(out: number, q: number, x: number, gamma: number, beta: number, rows: number, C: number, eps: number): void;
  gelu_quantize_i8(q: number, x: number, rows: number, IN: number): void;
  f32_to_f16(dst: number, src: number, n: number): void;
  f16_to_f32(dst: number, src: number, n: number): void;
}

export const LOW_PRECISION_EXPORTS: ReadonlyArray<keyof LowPrecisionExports> = [
  'q_row_bytes_i8', 'quantize_rows_i8', 'pack_linear_i8', 'linear_q8', 'f32_to_f16', 'f16_to_f32',
  'linear_q8_add', 'layernorm_quantize_i8', 'gelu_quantize_i8', 'packed_i8_tail_bytes',
];

export function lowPrecisionKernels(ex: LowPrecisionExports): RawLowPrecisionKernels {
  const tail = ex.packed_i8_tail_bytes();
  return {
    // Sizes computed here in float64 (an i32 product in wasm could wrap for absurd sizes).
    quantizedRowsBytes: (T, IN) => T * ex.q_row_bytes_i8(IN),
    quantizeRows: (q, x, T, IN) => ex.quantize_rows_i8(q, x, T, IN),
    packedLinearInt8Bytes: (OUT, IN) => OUT * paddedIn(IN) + OUT * tail,
    packLinearInt8(dst, src, OUT, IN, r0, rows) {
      const inp = paddedIn(IN);
      // Row sums (relaxed build only; the baseline kernel ignores the pointer) after the OUT scales.
      ex.pack_linear_i8(dst + r0 * inp, dst + OUT * inp + r0 * 4, dst + OUT * inp + OUT * 4 + r0 * 4, src, rows, IN);
    },
    linearInt8: (out, q, w, bias, T, IN, OUT) => ex.linear_q8(out, q, w, bias, T, IN, OUT),
    linearInt8Add: (out, q, w, bias, residual, T, IN, OUT) => ex.linear_q8_add(out, q, w, bias, residual, T, IN, OUT),
    layerNormQuantizeRows: (out, q, x, gamma, beta, T, C, eps) => ex.layernorm_quantize_i8(out, q, x, gamma, beta, T, C, eps),
    geluQuantizeRows: (q, x, T, IN) => ex.gelu_quantize_i8(q, x, T, IN),
    f32ToF16: (dst, src, n) => ex.f32_to_f16(dst, src, n),
    f16ToF32: (dst, src, n) => ex.f16_to_f32(dst, src, n),
  };
}
