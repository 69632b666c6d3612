// Owns: what `normalize: true` does to an embedding, one definition for every call that takes it
// (Encoder.embed / embedStream / embedIds, BiEncoder.encodeQueries / encodePassages /
// encodePassagesStream, and the worker's, which run these): v / ‖v‖₂, the norm summed in float64
// in index order and each quotient rounded to float32 — exactly `normalized(v)` of
// search/similarity.ts, so normalizing an un-normalized result later gives the same bits.
// A zero vector has no direction and cannot be made unit length: it is refused with
// ENCODER_ZERO_VECTOR naming the input, never returned as NaN (0/0) or silently left at zero.
// Does not own pooling (pooling.ts) or how vectors are compared (search/similarity.ts).
import { EncoderError } from '../errors/encoder-error.js';
import { l2Norm, normalizeInPlace } from '../search/similarity.js';

/** Scales `vector` (the embedding of input `index`) to unit length in place and returns it. */
export function normalizeEmbedding(vector: Float32Array, index: number): Float32Array {
  if (l2Norm(vector) === 0) {
    throw new EncoderError(
      'ENCODER_ZERO_VECTOR',
      `input ${index}: the embedding is all zeros, which has no direction, so normalize: true cannot make it a unit vector (embed without normalize to get it as it is)`,
    );
  }
  return normalizeInPlace(vector);
}
