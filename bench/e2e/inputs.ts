// Owns: the token ids every engine of bench/e2e reads — random but seeded, so the three child
// processes regenerate exactly the same batches without passing megabytes between processes.
// Each sequence is [CLS]=2, T-2 ids drawn uniformly from [5, vocab_size), [SEP]=3 (ids 0-4 are the
// special tokens; the model never sees them inside a real sentence).
// Does not own: tokenization (no text is involved) or what the engines do with the ids.

import { mulberry32 } from '../../test/helpers/random-text.js';

export const CLS_ID = 2;
export const SEP_ID = 3;
const FIRST_ORDINARY_ID = 5;

/** B sequences with the given lengths (each >= 2), seeded by (seed, lengths) so cases differ. */
export function makeBatch(seed: number, lengths: readonly number[], vocabSize: number): Int32Array[] {
  let mixed = seed >>> 0;
  for (const L of lengths) mixed = Math.imul(mixed ^ L, 0x9e3779b1) >>> 0;
  const rand = mulberry32(mixed);
  return lengths.map((L) => {
    if (!Number.isInteger(L) || L < 2) throw new Error(`makeBatch: length ${L} must be an integer >= 2`);
    const ids = new Int32Array(L);
    ids[0] = CLS_ID;
    for (let t = 1; t < L - 1; t++) ids[t] = FIRST_ORDINARY_ID + Math.floor(rand() * (vocabSize - FIRST_ORDINARY_ID));
    ids[L - 1] = SEP_ID;
    return ids;
  });
}
