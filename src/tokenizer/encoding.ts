// Owns: the Encoding shape handed to the model, and batch padding (right side, to the longest,
// with the pad id, attention 0, token type 0: what BertTokenizerFast does with padding="longest").
// Does not own: the ids themselves (tokenizer.ts, post-processor.ts).

/**
 * One tokenized text, ready for BertModel. Int32Array because the model copies ids straight into
 * its heap and every id fits; `Array.from(encoding.ids)` gives plain numbers (e.g. for JSON).
 */
export interface Encoding {
  /** input_ids, e.g. [CLS] … [SEP]. */
  ids: Int32Array;
  /** attention_mask: 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** token_type_ids: 0 for a single sequence. */
  tokenTypeIds: Int32Array;
}

export function encodingFromIds(ids: ArrayLike<number>, typeId = 0): Encoding {
  const n = ids.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = ids[i];
  return { ids: out, attentionMask: new Int32Array(n).fill(1), tokenTypeIds: new Int32Array(n).fill(typeId) };
}

/** Pad every encoding on the right to the longest one (T); returns new encodings of length T. */
export function padToLongest(encodings: readonly Encoding[], padId: number): Encoding[] {
  let T = 0;
  for (const e of encodings) T = Math.max(T, e.ids.length);
  return encodings.map((e) => {
    if (e.ids.length === T) return e;
    const ids = new Int32Array(T).fill(padId);
    const attentionMask = new Int32Array(T);
    const tokenTypeIds = new Int32Array(T);
    ids.set(e.ids);
    attentionMask.set(e.attentionMask);
    tokenTypeIds.set(e.tokenTypeIds);
    return { ids, attentionMask, tokenTypeIds };
  });
}
