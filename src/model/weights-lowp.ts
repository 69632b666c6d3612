// Owns: loading the big tensors in lower precision — every Linear weight and the word embeddings
// as int8 or f16 — read a few rows at a time and converted on the way into their heap place, so the
// model is never held in f32 (peak ≈ the stored model + two chunks of rows).
// Does not own: finding tensors and checking shapes (weights.ts), the numerics (kernels: packLinear,
// packLinearInt8, f32ToF16; word-embedding quantization below mirrors quantizeRows' row scales).
//
// Stored forms (see bert-params.ts): an int8 Linear is backend.packLinearInt8's layout; an f16
// Linear is backend.packLinear's layout with each float as f16 (widened back per forward pass);
// int8 word embeddings are [vocab, C] int8 then [vocab] f32 row scales (max|row|/127, round half to
// even, like the Linear weights' channels); f16 word embeddings are [vocab, C] f16.
import type { BertTensorSpec } from './bert-tensors.js';
import type { WeightDtype } from './bert-params.js';
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import { roundHalfEven, W_LEVELS } from '../kernels/reference-lowp.js';
import type { TensorSource } from '../formats/tensor-source.js';
import type { FiniteCheck } from './finite.js';

/** Rows converted per step: a multiple of any packed panel width, and small: the load scratch
 *  (2 chunks of the widest row, 384 KiB) stays in the heap for good, so it counts in peak RSS. */
export const CHUNK_ROWS = 16;

/** BertModel's name of the word-embedding table (weights.ts places it; see isLowPrecision). */
export const WORD_EMBEDDINGS = 'embeddings.word_embeddings.weight';
const TINY = Math.fround(1e-30);

/** Whether `spec` is stored in `dtype` (the rest stays f32: biases, LayerNorms, small embeddings). */
export function isLowPrecision(spec: BertTensorSpec, dtype: WeightDtype): boolean {
  return dtype !== 'f32' && (spec.kind === 'linear-weight' || spec.name === WORD_EMBEDDINGS);
}

/** Heap bytes of `spec` stored in `dtype` (isLowPrecision must hold). */
export function lowPrecisionBytes(backend: KernelBackend, spec: BertTensorSpec, dtype: WeightDtype): number {
  const [rows, cols] = spec.shape;
  if (spec.kind === 'linear-weight') {
    return dtype === 'int8' ? backend.packedLinearInt8Bytes(rows, cols) : backend.packedLinearBytes(rows, cols) / 2;
  }
  return dtype === 'int8' ? embeddingScalesOffset(rows, cols) + rows * 4 : rows * cols * 2;
}

/** Byte offset of the row scales in an int8 [rows, cols] table (after the values, 4-aligned). */
export function embeddingScalesOffset(rows: number, cols: number): number {
  return Math.ceil((rows * cols) / 4) * 4;
}

/** f32 floats of heap scratch loadLowPrecision needs for tensors up to `maxCols` wide: a chunk of
 *  source rows and a chunk of packed rows. */
export function lowPrecisionScratchFloats(maxCols: number): number {
  return 2 * CHUNK_ROWS * maxCols;
}

/**
 * Read tensor `sourceName` (shape spec.shape) from `tensors` and store it at `dst` in `dtype`.
 * `scratch` holds lowPrecisionScratchFloats(cols) floats. `check` sees each chunk of rows as read.
 */
export function loadLowPrecision(
  backend: KernelBackend,
  tensors: TensorSource,
  sourceName: string,
  spec: BertTensorSpec,
  dtype: WeightDtype,
  dst: Ptr,
  scratch: Ptr,
  check?: FiniteCheck,
): void {
  const [rows, cols] = spec.shape;
  const readRows = rowReader(tensors, sourceName, rows, cols);
  const raw = scratch;
  const packed = scratch + CHUNK_ROWS * cols * 4;
  for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows - r0);
    readRows(r0, backend.f32(raw, n * cols));
    check?.(sourceName, spec.shape, backend.f32(raw, n * cols), r0 * cols);
    if (spec.kind === 'linear-weight' && dtype === 'int8') {
      backend.packLinearInt8(dst, raw, rows, cols, r0, n);
    } else if (spec.kind === 'linear-weight') {
      // Rows r0.. (r0 a multiple of the panel width) pack into one contiguous run of panels, which
      // starts at row r0's offset in the whole packed weight; the last chunk carries the padding.
      const floats = backend.packedLinearBytes(n, cols) / 4;
      backend.packLinear(packed, raw, n, cols);
      backend.f32ToF16(dst + r0 * cols * 2, packed, floats);
    } else if (dtype === 'f16') {
      backend.f32ToF16(dst + r0 * cols * 2, raw, n * cols);
    } else {
      quantizeEmbeddingRows(backend, dst, rows, cols, r0, backend.f32(raw, n * cols));
    }
  }
}

/** Per-row int8 (scale max|row|/127, nearest even) of rows r0.. of a [rows, cols] table. */
function quantizeEmbeddingRows(backend: KernelBackend, dst: Ptr, rows: number, cols: number, r0: number, src: Float32Array): void {
  const n = src.length / cols;
  const q = new Int8Array(backend.memory.buffer, dst + r0 * cols, n * cols);
  const scales = new Float32Array(backend.memory.buffer, dst + embeddingScalesOffset(rows, cols) + r0 * 4, n);
  for (let r = 0; r < n; r++) scales[r] = quantizeEmbeddingRow(src, r * cols, cols, q, r * cols);
}

/**
 * One word-embedding row src[at .. at + cols) to int8 at q[qAt ..]; returns its scale (value = q ·
 * scale). The single definition of int8 embedding rows, for the heap table and for rows read on
 * demand (word-embedding-source.ts), so both placements give the same numbers.
 */
export function quantizeEmbeddingRow(src: Float32Array, at: number, cols: number, q: Int8Array, qAt: number): number {
  let max = 0;
  for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(src[at + c]));
  // NaN/∞ rows keep scale NaN (a token embedding of NaN, as in f32); zero rows scale 0.
  if (!(max < Infinity)) {
    q.fill(0, qAt, qAt + cols);
    return NaN;
  }
  // Rows below 1e-30 store zeros with scale 0, as quantizeRows does (127/max would overflow).
  const tiny = !(max >= TINY);
  const inv = tiny ? 0 : Math.fround(W_LEVELS / max);
  for (let c = 0; c < cols; c++) q[qAt + c] = roundHalfEven(Math.fround(src[at + c] * inv));
  return tiny ? 0 : Math.fround(max / W_LEVELS);
}

/**
 * A function reading rows [r0, r0 + n) of a [rows, cols] tensor into dst: straight from the source
 * when it can read ranges, else from one whole-tensor read kept (in JS memory, freed after) for
 * the tensor's other chunks.
 */
function rowReader(tensors: TensorSource, name: string, rows: number, cols: number): (r0: number, dst: Float32Array) => void {
  if (tensors.readRange) {
    const readRange = tensors.readRange.bind(tensors);
    return (r0, dst) => readRange(name, r0 * cols, dst);
  }
  let whole: Float32Array | undefined;
  return (r0, dst) => {
    if (!whole) {
      whole = new Float32Array(rows * cols);
      tensors.read(name, whole);
    }
    dst.set(whole.subarray(r0 * cols, r0 * cols + dst.length));
  };
}
