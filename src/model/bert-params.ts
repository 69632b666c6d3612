// Owns: the shape of a loaded BERT's parameters as the forward pass sees them — heap pointers
// (see ../kernels/backend.ts), grouped like Hugging Face's BertModel module tree. weights.ts fills it;
// bert.ts reads it. Nothing here allocates or computes.
import type { Ptr } from '../kernels/backend.js';

/** The word-embedding rows of a table left in its source (word-embedding-source.ts makes one). */
export interface WordEmbeddingSource {
  /** Throws if the source changed since the model loaded (called once per forward pass). */
  check(): void;
  /** dst[0 .. C) = row `id` as f32, rounded as the heap table of the model's dtype would hold it.
   *  `id` was validated against vocab_size by the caller. */
  readRow(id: number, dst: Float32Array): void;
}

/** How a big tensor is stored in the heap (weights.ts `dtype`; biases and LayerNorms stay f32). */
export type WeightDtype = 'f32' | 'f16' | 'int8';

/** nn.Linear: `weight` is already in the backend's packed layout (backend.packLinear). */
export interface LinearParams {
  weight: Ptr;
  bias: Ptr;
  inFeatures: number;
  outFeatures: number;
  /** Absent or 'f32': packLinear's layout; 'f16': that layout with every float as f16 (widened
   *  before each use); 'int8': packLinearInt8's layout (x quantized per row at run time). */
  dtype?: WeightDtype;
}

/** nn.LayerNorm (old checkpoints call weight/bias gamma/beta). */
export interface LayerNormParams {
  weight: Ptr;
  bias: Ptr;
}

/** One BertLayer: BertSelfAttention, BertSelfOutput, BertIntermediate, BertOutput. */
export interface BertLayerParams {
  query: LinearParams;
  key: LinearParams;
  value: LinearParams;
  /** attention.output.dense */
  attentionOutput: LinearParams;
  /** attention.output.LayerNorm */
  attentionLayerNorm: LayerNormParams;
  /** intermediate.dense */
  intermediate: LinearParams;
  /** output.dense */
  output: LinearParams;
  /** output.LayerNorm */
  outputLayerNorm: LayerNormParams;
}

export interface BertParams {
  /** [vocab_size, C], plain row-major (rows are gathered, never multiplied). */
  wordEmbeddings: Ptr;
  /** How wordEmbeddings is stored (absent: 'f32'): 'f16' [vocab_size, C] f16; 'int8' [vocab_size, C]
   *  int8 then [vocab_size] f32 row scales (value = q · scale). */
  wordEmbeddingsDtype?: WeightDtype;
  /** Set when the table was left in its source ('source' placement): rows come from here, and
   *  wordEmbeddings is 0. */
  wordEmbeddingSource?: WordEmbeddingSource;
  /** [max_position_embeddings, C] */
  positionEmbeddings: Ptr;
  /** [type_vocab_size, C] */
  tokenTypeEmbeddings: Ptr;
  embeddingsLayerNorm: LayerNormParams;
  layers: BertLayerParams[];
  /** pooler.dense (applied to the first token, then tanh). */
  pooler: LinearParams;
}
