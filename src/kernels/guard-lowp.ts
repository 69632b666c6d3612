// Owns: argument checks for the lower-precision kernels (int8, f16), the counterpart of guard.ts for
// the contract's int8/f16 methods: every pointer must name a region inside the live arena, sizes
// must be integers in [0, 2^31), outputs may not overlap inputs — so a bad call is a KernelError,
// never a trap or an out-of-bounds read inside WebAssembly.
// Does not own: the arithmetic (reference-lowp.ts, assembly/quant.ts, assembly/half.ts).
// Regions here are counted in bytes: int8 and f16 buffers are not whole floats.
import type { Arena } from './arena.js';
import { KernelError } from './kernel-error.js';
import type { RawLowPrecisionKernels } from './reference-lowp.js';

/** Widest int8 row: activations keep 2^31 / (127 · 65536) = 258 levels each side there. */
export const MAX_INT8_IN = 65536;

interface Region {
  name: string;
  start: number;
  end: number;
}

export function guardLowPrecision(arena: Arena, raw: RawLowPrecisionKernels): RawLowPrecisionKernels {
  function size(op: string, label: string, v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: ${label} = ${v} must be an integer in [0, 2^31)`);
    }
  }

  /** `bytes` at `ptr`, aligned to `align`, inside the live arena [base, top). */
  function region(op: string, label: string, ptr: number, bytes: number, align: number): Region {
    if (!Number.isInteger(ptr) || ptr % align !== 0) {
      throw new KernelError('KERNEL_BAD_POINTER', `${op}: ${label} pointer ${ptr} is not a ${align}-byte aligned byte offset`);
    }
    const end = ptr + bytes;
    if (ptr < arena.base || end > arena.top) {
      throw new KernelError(
        'KERNEL_BAD_POINTER',
        `${op}: ${label} [${ptr}, ${end}) (${bytes} bytes) is outside the heap's live arena [${arena.base}, ${arena.top})`,
      );
    }
    return { name: label, start: ptr, end };
  }

  function disjoint(op: string, out: Region, ...inputs: Region[]): void {
    if (out.end === out.start) return;
    for (const r of inputs) {
      if (r.end > r.start && out.start < r.end && r.start < out.end) {
        throw new KernelError('KERNEL_OVERLAP', `${op}: output ${out.name} [${out.start}, ${out.end}) overlaps input ${r.name} [${r.start}, ${r.end})`);
      }
    }
  }

  function sizes(op: string, values: Record<string, number>): void {
    for (const [label, v] of Object.entries(values)) size(op, label, v);
  }

  /** The int8 kernels' integer sums are exact for IN ≤ MAX_INT8_IN (activation levels shrink as IN
   *  grows; past this they would fall under 8 bits). */
  function int8In(op: string, IN: number): void {
    if (IN > MAX_INT8_IN) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: IN = ${IN} is more than the int8 kernels' ${MAX_INT8_IN} inputs per row`);
    }
  }

  return {
    quantizedRowsBytes(T, IN) {
      sizes('quantizedRowsBytes', { T, IN });
      return raw.quantizedRowsBytes(T, IN);
    },
    quantizeRows(q, x, T, IN) {
      const op = 'quantizeRows';
      sizes(op, { T, IN });
      int8In(op, IN);
      const qr = region(op, 'q', q, raw.quantizedRowsBytes(T, IN), 16);
      disjoint(op, qr, region(op, 'x', x, T * IN * 4, 4));
      raw.quantizeRows(q, x, T, IN);
    },
    packedLinearInt8Bytes(OUT, IN) {
      sizes('packedLinearInt8Bytes', { OUT, IN });
      return raw.packedLinearInt8Bytes(OUT, IN);
    },
    packLinearInt8(dst, src, OUT, IN, r0, rows) {
      const op = 'packLinearInt8';
      sizes(op, { OUT, IN, r0, rows });
      int8In(op, IN);
      if (r0 + rows > OUT) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: rows [${r0}, ${r0 + rows}) are not inside the weight's ${OUT} rows`);
      }
      const d = region(op, 'dst', dst, raw.packedLinearInt8Bytes(OUT, IN), 16);
      disjoint(op, d, region(op, 'src', src, rows * IN * 4, 4));
      raw.packLinearInt8(dst, src, OUT, IN, r0, rows);
    },
    linearInt8(out, q, w, bias, T, IN, OUT) {
      const op = 'linearInt8';
      sizes(op, { T, IN, OUT });
      int8In(op, IN);
      const o = region(op, 'out', out, T * OUT * 4, 4);
      disjoint(
        op,
        o,
        region(op, 'q', q, raw.quantizedRowsBytes(T, IN), 16),
        region(op, 'w', w, raw.packedLinearInt8Bytes(OUT, IN), 16),
        region(op, 'bias', bias, OUT * 4, 4),
      );
      raw.linearInt8(out, q, w, bias, T, IN, OUT);
    },
    f32ToF16(dst, src, n) {
      const op = 'f32ToF16';
      size(op, 'n', n);
      disjoint(op, region(op, 'dst', dst, n * 2, 2), region(op, 'src', src, n * 4, 4));
      raw.f32ToF16(dst, src, n);
    },
    f16ToF32(dst, src, n) {
      const op = 'f16ToF32';
      size(op, 'n', n);
      disjoint(op, region(op, 'dst', dst, n * 4, 4), region(op, 'src', src, n * 2, 2));
      raw.f16ToF32(dst, src, n);
    },
  };
}
