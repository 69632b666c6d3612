// Owns: turning one sequence's BERT outputs into one vector — `pooler` (pooler_output, what the
// model card of snumin44/medical-biencoder-ko-bert-* uses for similarity), `cls` (last_hidden_state
// row 0, before the pooler's dense + tanh) and `mean` (average of the real tokens' rows, i.e. under
// the attention mask). Does not own the forward pass (bert.ts) or normalization (similarity code).
import type { BertOutput } from './bert.js';
import { EncoderError } from '../errors/encoder-error.js';

export type Pooling = 'pooler' | 'cls' | 'mean';

export const POOLINGS: readonly Pooling[] = ['pooler', 'cls', 'mean'];

export function isPooling(value: unknown): value is Pooling {
  return typeof value === 'string' && (POOLINGS as readonly string[]).includes(value);
}

/** Throws a typed error naming the bad value; returns it typed otherwise. */
export function checkPooling(value: unknown): Pooling {
  if (!isPooling(value)) {
    throw new EncoderError('ENCODER_BAD_OPTION', `unknown pooling ${JSON.stringify(value)}: expected one of ${POOLINGS.join(', ')}`);
  }
  return value;
}

/**
 * The pooled vector [C] of sequence `b` (with `length` real tokens) of a batch output.
 * Always a fresh array, never a view into `out`.
 */
export function poolSequence(kind: Pooling, out: BertOutput, b: number, length: number): Float32Array {
  const { T, C } = out;
  switch (kind) {
    case 'pooler':
      return out.poolerOutput.slice(b * C, (b + 1) * C);
    case 'cls':
      return out.lastHiddenState.slice(b * T * C, b * T * C + C);
    case 'mean': {
      // Accumulate in float64: up to 512 rows would otherwise lose ~log2(512) bits in f32.
      const acc = new Float64Array(C);
      const h = out.lastHiddenState;
      for (let t = 0; t < length; t++) {
        const o = (b * T + t) * C;
        for (let c = 0; c < C; c++) acc[c] += h[o + c];
      }
      const v = new Float32Array(C);
      for (let c = 0; c < C; c++) v[c] = acc[c] / length;
      return v;
    }
  }
}
