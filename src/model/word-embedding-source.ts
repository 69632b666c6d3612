// Owns: the word-embedding table left where it is stored ('source' placement) — rows read on demand
// from the weights' TensorSource, each rounded exactly as the heap table of the same dtype would hold
// it (f16 round trip, or int8 with its row scale), so both placements give bitwise the same model.
// Why: a forward pass gathers only its T·B rows, while the table is a quarter of bert-base's weights
// (32000 × 768 f32 = 98 MB, 24.6 MB as int8) that the heap would otherwise hold for good.
// Does not own: where the bytes live (a file in Node, bytes in memory: byte-source.ts, node/), the
// heap placement (weights.ts, weights-lowp.ts) or the gather itself (bert.ts via bert-lowp.ts).
import type { WeightDtype, WordEmbeddingSource } from './bert-params.js';
import { f16Table, f32BitsToF16Bits } from '../kernels/reference-lowp.js';
import { SafetensorsError } from '../formats/safetensors.js';
import type { TensorSource } from '../formats/tensor-source.js';
import type { FiniteCheck } from './finite.js';
import { quantizeEmbeddingRow } from './weights-lowp.js';

/** Where the word-embedding table lives: the kernel heap (read once at load) or its source
 *  (rows read per forward pass; the source must stay readable and unchanged). */
export type WordEmbeddingPlacement = 'heap' | 'source';
/** Every WordEmbeddingPlacement (the values the `wordEmbeddings` option accepts). */
export const WORD_EMBEDDING_PLACEMENTS: readonly WordEmbeddingPlacement[] = ['heap', 'source'];

export type { WordEmbeddingSource };


/** Rows of tensor `name` ([rows, cols]) of `tensors`, as a `dtype` model holds them. */
export function wordEmbeddingSource(tensors: TensorSource, name: string, cols: number, dtype: WeightDtype, check?: FiniteCheck): WordEmbeddingSource {
  const readRange = tensors.readRange?.bind(tensors);
  if (!readRange) {
    throw new SafetensorsError('SAFETENSORS_UNSUPPORTED_SOURCE', `${tensors.name}: cannot read rows of "${name}" on demand (no readRange); load the word embeddings into the heap instead`);
  }
  const unchanged = (): void => tensors.checkUnchanged?.();
  // Rows are checked for NaN/±Infinity as they are read (the table is never scanned whole).
  const shape = tensors.info(name)?.shape ?? [];
  const finite = (id: number, row: Float32Array): void => check?.(name, shape, row, id * cols);
  if (dtype === 'f32') {
    return {
      check: unchanged,
      readRow(id, dst) {
        readRange(name, id * cols, dst);
        finite(id, dst);
      },
    };
  }
  if (dtype === 'f16') {
    const table = f16Table();
    const bits = new Uint32Array(cols);
    const raw = new Float32Array(bits.buffer);
    return {
      check: unchanged,
      readRow(id, dst) {
        readRange(name, id * cols, raw);
        finite(id, raw);
        for (let c = 0; c < cols; c++) dst[c] = table[f32BitsToF16Bits(bits[c])];
      },
    };
  }
  const raw = new Float32Array(cols);
  const q = new Int8Array(cols);
  return {
    check: unchanged,
    readRow(id, dst) {
      readRange(name, id * cols, raw);
      finite(id, raw);
      const scale = quantizeEmbeddingRow(raw, 0, cols, q, 0);
      for (let c = 0; c < cols; c++) dst[c] = q[c] * scale;
    },
  };
}
