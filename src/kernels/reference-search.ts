// Owns: the scalar TypeScript search kernels (the oracle the wasm ones are tested against) and the
// type of the search part of a backend (RawSearchKernels): dot products of stored rows with
// queries (f32, f16, int8 rows; one or many queries), the bandwidth-floor sum, and block checksums with the finiteness
// check (xxHash32 from formats/checksum.ts, the same function index writers use).
// Does not own: argument checks (guard-search.ts), the wasm kernels (assembly/dot.ts,
// assembly/checksum.ts) or the heap (arena.ts).
import type { KernelBackend } from './backend.js';
import { xxh32 } from '../formats/checksum.js';
import { f16Table } from './reference-lowp.js';

/** The search kernels of a backend, called only with checked arguments. */
export type RawSearchKernels = Pick<KernelBackend, 'dotRows' | 'dotRowsMany' | 'dotRowsF16' | 'dotRowsI8' | 'dotRowsManyI8' | 'sumRows' | 'hashBlocks'>;

/** hashBlocks' `kind`: what the bytes hold, for the finiteness check. */
export const HASH_KIND = { bytes: 0, f32: 1, f16: 2 } as const;
export type HashKind = (typeof HASH_KIND)[keyof typeof HASH_KIND];

const F32 = 4;

/** Float64 accumulation, rounded to f32 once on store (the oracle's rule, as in reference.ts). */
export function referenceSearchKernels(memory: WebAssembly.Memory): RawSearchKernels {
  const f32 = () => new Float32Array(memory.buffer);
  const dot = (h: Float32Array, a: number, b: number, dim: number): number => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += h[a + d] * h[b + d];
    return s;
  };
  return {
    dotRows(out, matrix, vec, rows, dim) {
      const h = f32();
      for (let r = 0; r < rows; r++) h[out / F32 + r] = dot(h, matrix / F32 + r * dim, vec / F32, dim);
    },
    dotRowsMany(out, matrix, queries, rows, nq, dim, ldo) {
      const h = f32();
      for (let q = 0; q < nq; q++) {
        for (let r = 0; r < rows; r++) h[out / F32 + q * ldo + r] = dot(h, matrix / F32 + r * dim, queries / F32 + q * dim, dim);
      }
    },
    dotRowsF16(out, rows16, vec, rows, dim) {
      const h = f32();
      const u16 = new Uint16Array(memory.buffer);
      const table = f16Table();
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += table[u16[rows16 / 2 + r * dim + d]] * h[vec / F32 + d];
        h[out / F32 + r] = s;
      }
    },
    dotRowsI8(out, rows8, scales, q16, rows, dim, qScale) {
      const h = f32();
      const i8 = new Int8Array(memory.buffer);
      const i16 = new Int16Array(memory.buffer);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += i8[rows8 + r * dim + d] * i16[q16 / 2 + d];
        // The kernel's exact i32 sum, then f32(sum) · f32(scale · qScale): bit for bit.
        h[out / F32 + r] = Math.fround(s) * Math.fround(h[scales / F32 + r] * Math.fround(qScale));
      }
    },
    dotRowsManyI8(out, rows8, scales, q16s, qScales, rows, nq, dim, ldo) {
      const h = f32();
      const i8 = new Int8Array(memory.buffer);
      const i16 = new Int16Array(memory.buffer);
      for (let q = 0; q < nq; q++) {
        const qScale = h[qScales / F32 + q];
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let d = 0; d < dim; d++) s += i8[rows8 + r * dim + d] * i16[q16s / 2 + q * dim + d];
          h[out / F32 + q * ldo + r] = Math.fround(s) * Math.fround(h[scales / F32 + r] * qScale);
        }
      }
    },
    sumRows(out, matrix, rows, dim) {
      const h = f32();
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += h[matrix / F32 + r * dim + d];
        h[out / F32 + r] = s;
      }
    },
    hashBlocks(out, data, blocks, blockSize, kind) {
      const bytes = new Uint8Array(memory.buffer);
      const u32 = new Uint32Array(memory.buffer);
      for (let b = 0; b < blocks; b++) {
        const start = data + b * blockSize;
        u32[out / 4 + 2 * b] = xxh32(bytes, start, start + blockSize);
        u32[out / 4 + 2 * b + 1] = firstNonFinite(bytes, start, blockSize, kind as HashKind) >= 0 ? 1 : 0;
      }
    },
  };
}

/** Byte offset (from `start`) of the first value of `kind` in bytes[start, start + length) that is
 *  ±∞ or NaN, or -1. Little-endian values; f32 needs a length multiple of 4, f16 of 2. */
export function firstNonFinite(bytes: Uint8Array, start: number, length: number, kind: HashKind): number {
  if (kind === HASH_KIND.f32) {
    for (let i = 0; i + 4 <= length; i += 4) if ((bytes[start + i + 3] & 0x7f) === 0x7f && (bytes[start + i + 2] & 0x80) === 0x80) return i;
  } else if (kind === HASH_KIND.f16) {
    for (let i = 0; i + 2 <= length; i += 2) if ((bytes[start + i + 1] & 0x7c) === 0x7c) return i;
  }
  return -1;
}
