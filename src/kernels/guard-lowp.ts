// Owns: argument checks for the lower-precision kernels (int8, f16), the counterpart of guard.ts for
// the contract's int8/f16 methods: every pointer must name a region inside the live arena, sizes
// must be integers in [0, 2^31), outputs may not overlap inputs — so a bad call is a KernelError,
// never a trap or an out-of-bounds read inside WebAssembly.
// Does not own: the arithmetic (reference-lowp.ts, assembly/quant.ts, assembly/half.ts).
// Regions here are counted in bytes: int8 and f16 buffers are not whole floats. The checks
// themselves are guard-checks.ts's.
import type { ArgumentChecks } from './guard-checks.js';
import { KernelError } from './kernel-error.js';
import type { RawLowPrecisionKernels } from './reference-lowp.js';

/** Widest int8 row: activations keep 2^31 / (127 · 65536) = 258 levels each side there. */
export const MAX_INT8_IN = 65536;

export function guardLowPrecision(c: ArgumentChecks, raw: RawLowPrecisionKernels): RawLowPrecisionKernels {
  /** The int8 kernels' integer sums are exact for IN ≤ MAX_INT8_IN (activation levels shrink as IN
   *  grows; past this they would fall under 8 bits). */
  function int8In(op: string, IN: number): void {
    if (IN > MAX_INT8_IN) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: IN = ${IN} is more than the int8 kernels' ${MAX_INT8_IN} inputs per row`);
    }
  }
  /** What linearInt8 and linearInt8Add check alike: sizes, IN, and the out, q, w and bias regions
   *  (out first), which the caller checks for overlap with any inputs of its own. */
  function int8LinearRegions(op: string, out: number, q: number, w: number, bias: number, T: number, IN: number, OUT: number) {
    c.sizes(op, { T, IN, OUT });
    int8In(op, IN);
    return [
      c.bytes(op, 'out', out, T * OUT * 4, 4),
      c.bytes(op, 'q', q, raw.quantizedRowsBytes(T, IN), 16),
      c.bytes(op, 'w', w, raw.packedLinearInt8Bytes(OUT, IN), 16),
      c.bytes(op, 'bias', bias, OUT * 4, 4),
    ] as const;
  }

  /** quantizeRows' and geluQuantizeRows' checks: f32 rows x[T, IN] in, quantized rows q out. */
  function quantizeArgs(op: string, q: number, x: number, T: number, IN: number): void {
    c.sizes(op, { T, IN });
    int8In(op, IN);
    c.disjoint(op, c.bytes(op, 'q', q, raw.quantizedRowsBytes(T, IN), 16), c.bytes(op, 'x', x, T * IN * 4, 4));
  }

  return {
    quantizedRowsBytes(T, IN) {
      c.sizes('quantizedRowsBytes', { T, IN });
      return raw.quantizedRowsBytes(T, IN);
    },
    quantizeRows(q, x, T, IN) {
      quantizeArgs('quantizeRows', q, x, T, IN);
      raw.quantizeRows(q, x, T, IN);
    },
    packedLinearInt8Bytes(OUT, IN) {
      c.sizes('packedLinearInt8Bytes', { OUT, IN });
      return raw.packedLinearInt8Bytes(OUT, IN);
    },
    packLinearInt8(dst, src, OUT, IN, r0, rows) {
      const op = 'packLinearInt8';
      c.sizes(op, { OUT, IN, r0, rows });
      int8In(op, IN);
      if (r0 + rows > OUT) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: rows [${r0}, ${r0 + rows}) are not inside the weight's ${OUT} rows`);
      }
      const d = c.bytes(op, 'dst', dst, raw.packedLinearInt8Bytes(OUT, IN), 16);
      c.disjoint(op, d, c.bytes(op, 'src', src, rows * IN * 4, 4));
      raw.packLinearInt8(dst, src, OUT, IN, r0, rows);
    },
    linearInt8(out, q, w, bias, T, IN, OUT) {
      const [o, ...inputs] = int8LinearRegions('linearInt8', out, q, w, bias, T, IN, OUT);
      c.disjoint('linearInt8', o, ...inputs);
      raw.linearInt8(out, q, w, bias, T, IN, OUT);
    },
    linearInt8Add(out, q, w, bias, residual, T, IN, OUT) {
      const op = 'linearInt8Add';
      const [o, ...inputs] = int8LinearRegions(op, out, q, w, bias, T, IN, OUT);
      c.disjoint(op, o, ...inputs, c.bytes(op, 'residual', residual, T * OUT * 4, 4));
      raw.linearInt8Add(out, q, w, bias, residual, T, IN, OUT);
    },
    layerNormQuantizeRows(out, q, x, gamma, beta, T, C, eps) {
      const op = 'layerNormQuantizeRows';
      c.sizes(op, { T, C });
      int8In(op, C);
      if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: eps = ${eps} must be a finite number >= 0`);
      }
      const o = c.bytes(op, 'out', out, T * C * 4, 4);
      const xr = c.bytes(op, 'x', x, T * C * 4, 4);
      const qr = c.bytes(op, 'q', q, raw.quantizedRowsBytes(T, C), 16);
      c.sameOrDisjoint(op, o, xr);
      c.disjoint(op, o, qr, c.bytes(op, 'gamma', gamma, C * 4, 4), c.bytes(op, 'beta', beta, C * 4, 4));
      c.disjoint(op, qr, xr);
      raw.layerNormQuantizeRows(out, q, x, gamma, beta, T, C, eps);
    },
    geluQuantizeRows(q, x, T, IN) {
      quantizeArgs('geluQuantizeRows', q, x, T, IN);
      raw.geluQuantizeRows(q, x, T, IN);
    },
    f32ToF16(dst, src, n) {
      const op = 'f32ToF16';
      c.size(op, 'n', n);
      c.disjoint(op, c.bytes(op, 'dst', dst, n * 2, 2), c.bytes(op, 'src', src, n * 4, 4));
      raw.f32ToF16(dst, src, n);
    },
    f16ToF32(dst, src, n) {
      const op = 'f16ToF32';
      c.size(op, 'n', n);
      c.disjoint(op, c.bytes(op, 'dst', dst, n * 4, 4), c.bytes(op, 'src', src, n * 2, 2));
      raw.f16ToF32(dst, src, n);
    },
  };
}
