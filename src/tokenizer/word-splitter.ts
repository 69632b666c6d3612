// Owns: the fast path of the pipeline: BertNormalizer with lowercase and strip_accents off
// (clean_text and handle_chinese_chars as configured) fused with BertPreTokenizer, in one pass over
// UTF-16 code units with one table lookup per BMP character and no per-character allocation.
// It must give exactly `preTokenize(normalize(text))` (test/tokenizer.test.ts checks both paths
// agree); the tokenizer falls back to those when lowercase or strip_accents is on.
// Does not own: WordPiece (wordpiece.ts) or added tokens (special-tokens.ts).
import { BMP_FLAGS, CHINESE, DROPPED, PUNCTUATION, WHITESPACE, charFlags } from './unicode.js';

/**
 * Call `emit` with each word of text[start, end) in order. `text` must be well-formed UTF-16
 * (unicode.ts toWellFormed): a high surrogate is always followed by a low one.
 */
export function splitWords(
  text: string,
  start: number,
  end: number,
  cleanText: boolean,
  handleChineseChars: boolean,
  emit: (word: string) => void,
): void {
  // Only these classes matter here; everything else continues the current word.
  const mask = WHITESPACE | PUNCTUATION | (cleanText ? DROPPED : 0) | (handleChineseChars ? CHINESE : 0);
  let wordStart = -1; // start of the current run of word characters, -1 when none
  let prefix = ''; // the part of the current word before a dropped character, if any
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    let flags: number;
    let len = 1;
    if (c < 0xd800 || c > 0xdfff) {
      flags = BMP_FLAGS[c] & mask;
    } else {
      flags = charFlags(((c - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00) + 0x10000) & mask;
      len = 2;
    }
    if (flags === 0) {
      if (wordStart < 0) wordStart = i;
      i += len;
      continue;
    }
    if ((flags & DROPPED) !== 0) {
      // clean_text removes the character: the word goes on across it ("a\u200bb" -> "ab").
      if (wordStart >= 0) prefix += text.slice(wordStart, i);
      wordStart = -1;
      i += len;
      continue;
    }
    // Whitespace, punctuation or a padded CJK character ends the current word.
    if (wordStart >= 0) {
      emit(prefix === '' ? text.slice(wordStart, i) : prefix + text.slice(wordStart, i));
      prefix = '';
      wordStart = -1;
    } else if (prefix !== '') {
      emit(prefix);
      prefix = '';
    }
    if ((flags & WHITESPACE) === 0) emit(text.slice(i, i + len));
    i += len;
  }
  if (wordStart >= 0) emit(prefix === '' ? text.slice(wordStart, end) : prefix + text.slice(wordStart, end));
  else if (prefix !== '') emit(prefix);
}
