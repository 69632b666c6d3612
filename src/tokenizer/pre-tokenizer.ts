// Owns: BertPreTokenizer (tokenizers/src/pre_tokenizers/bert.rs): split normalized text on
// whitespace (Rust `char::is_whitespace`, removed), then isolate every punctuation character
// (ASCII punctuation or Unicode P*, see unicode.ts) as its own word. Never yields an empty word.
// Does not own: normalization (normalizer.ts) or the fused fast path (word-splitter.ts).
import { PUNCTUATION, WHITESPACE, charFlags } from './unicode.js';

/** Words of a normalized string, in order. */
export function preTokenize(normalized: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < normalized.length; ) {
    const cp = normalized.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    const flags = charFlags(cp);
    if ((flags & (WHITESPACE | PUNCTUATION)) === 0) {
      if (start < 0) start = i;
    } else {
      if (start >= 0) words.push(normalized.slice(start, i));
      start = -1;
      if ((flags & PUNCTUATION) !== 0) words.push(normalized.slice(i, i + len));
    }
    i += len;
  }
  if (start >= 0) words.push(normalized.slice(start));
  return words;
}
