// Owns: how vectors become the rows an index stores and how a query meets the smaller rows — unit
// rows and their norms (f32), the f16 and int8 (per-row scale) copies of the unit rows, and the
// int16 quantization of a query for the int8 scan. Runtime-neutral, deterministic (plain float64
// arithmetic rounded to f32 once), so one input always gives the same bytes.
// Does not own: where rows are written (index-encoder.ts), the layout (index-layout.ts) or the scans
// (assembly/dot.ts).
import { f32BitsToF16Bits } from '../kernels/reference-lowp.js';
import { IndexError } from './index-layout.js';

/**
 * In place: each of the `rows` rows of `dimension` floats in `v` scaled to unit length (a zero row
 * stays zero), its Euclidean length (float64, rounded to f32) into norms[r]. Throws IndexError
 * (INDEX_BAD_INPUT) naming the row (numbered from `firstRow`) for a non-finite value.
 */
export function unitRows(v: Float32Array, dimension: number, norms: Float32Array, firstRow = 0): void {
  const rows = norms.length;
  for (let r = 0; r < rows; r++) {
    const base = r * dimension;
    let sum = 0;
    for (let d = 0; d < dimension; d++) {
      const x = v[base + d];
      if (!Number.isFinite(x)) {
        throw new IndexError('INDEX_BAD_INPUT', `vector ${firstRow + r} has a non-finite value (${x}) at dimension ${d}`);
      }
      sum += x * x;
    }
    const norm = Math.sqrt(sum);
    norms[r] = norm;
    if (!Number.isFinite(Math.fround(norm))) {
      throw new IndexError('INDEX_BAD_INPUT', `vector ${firstRow + r} has a length (${norm}) beyond float32`);
    }
    if (norm > 0) for (let d = 0; d < dimension; d++) v[base + d] = v[base + d] / norm;
  }
}

/** The f16 bit patterns of `unit` (round to nearest even). */
export function f16Rows(unit: Float32Array): Uint16Array {
  const bits = new Uint32Array(unit.buffer, unit.byteOffset, unit.length);
  const out = new Uint16Array(unit.length);
  for (let i = 0; i < unit.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

/** int8 levels each side of zero. */
export const INT8_LEVELS = 127;

/**
 * int8 copies of `rows` rows of `dimension` unit floats: per row, scale = max|x| / 127 (f32) and
 * value = round(x / scale) (half away from zero), so x ≈ value · scale; an all-zero row has scale 0.
 */
export function int8Rows(unit: Float32Array, dimension: number, rows: number): { values: Int8Array; scales: Float32Array } {
  const values = new Int8Array(rows * dimension);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * dimension;
    let max = 0;
    for (let d = 0; d < dimension; d++) max = Math.max(max, Math.abs(unit[base + d]));
    const scale = Math.fround(max / INT8_LEVELS);
    scales[r] = scale;
    if (scale === 0) continue;
    for (let d = 0; d < dimension; d++) {
      const q = unit[base + d] / scale;
      values[base + d] = Math.max(-INT8_LEVELS, Math.min(INT8_LEVELS, Math.sign(q) * Math.round(Math.abs(q))));
    }
  }
  return { values, scales };
}

/** The int16 levels a query gets against int8 rows of `dimension` values: 4095 (12 bits) while
 *  127 · levels · dimension stays below 2^31 (dotRowsI8 sums exactly), fewer past 4128 dimensions. */
export function int8QueryLevels(dimension: number): number {
  return Math.max(1, Math.min(4095, Math.floor((2 ** 31 - 1) / (INT8_LEVELS * dimension))));
}

/** A query as int16 levels for the int8 scan: q ≈ q16 · scale. */
export function quantizeQuery(query: ArrayLike<number>): { q16: Int16Array; scale: number } {
  const levels = int8QueryLevels(query.length);
  let max = 0;
  for (let d = 0; d < query.length; d++) max = Math.max(max, Math.abs(query[d]));
  const scale = Math.fround(max / levels);
  const q16 = new Int16Array(query.length);
  if (scale > 0) {
    for (let d = 0; d < query.length; d++) {
      const q = query[d] / scale;
      q16[d] = Math.max(-levels, Math.min(levels, Math.sign(q) * Math.round(Math.abs(q))));
    }
  }
  return { q16, scale };
}
