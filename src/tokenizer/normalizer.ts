// Owns: BertNormalizer (tokenizers/src/normalizers/bert.rs) as a string -> string function over
// code points, in the Rust order: clean_text (drop U+0000, U+FFFD and control characters, then map
// whitespace to ' '), handle_chinese_chars (' ' + c + ' '), strip_accents (NFD, drop Mn),
// lowercase (each code point on its own, as `NormalizedString::lowercase` does, so no final-sigma rule).
// This is the general path and the reference; the tokenizer uses word-splitter.ts instead when
// lowercase and strip_accents are both off (klue/bert-base), which fuses this with the pre-tokenizer.
// Does not own: splitting into words (pre-tokenizer.ts). Note: NFD comes from the JavaScript engine
// (Rust uses unicode-normalization); they differ only for characters newer than either table.
import { CHINESE, DROPPED, NONSPACING_MARK, WHITESPACE, charFlags } from './unicode.js';

export interface NormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

const lowerCache = new Map<number, string>();

/** Rust `char::to_lowercase` of one code point (may be several code points, e.g. U+0130). */
export function lowercaseCodePoint(cp: number): string {
  if (cp < 0x80) return String.fromCharCode(cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp);
  let s = lowerCache.get(cp);
  if (s === undefined) {
    s = String.fromCodePoint(cp).toLowerCase();
    lowerCache.set(cp, s);
  }
  return s;
}

/** Normalize one piece of text (input must be well-formed UTF-16, see unicode.ts toWellFormed). */
export function normalize(text: string, options: NormalizerOptions): string {
  const parts: string[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const flags = charFlags(cp);
    if (options.cleanText) {
      if ((flags & DROPPED) !== 0) continue;
      if ((flags & WHITESPACE) !== 0) {
        parts.push(' ');
        continue;
      }
    }
    if (options.handleChineseChars && (flags & CHINESE) !== 0) parts.push(' ', ch, ' ');
    else parts.push(ch);
  }
  let out = parts.join('');
  if (options.stripAccents) {
    const kept: string[] = [];
    for (const ch of out.normalize('NFD')) {
      if ((charFlags(ch.codePointAt(0)!) & NONSPACING_MARK) === 0) kept.push(ch);
    }
    out = kept.join('');
  }
  if (options.lowercase) {
    const lowered: string[] = [];
    for (const ch of out) lowered.push(lowercaseCodePoint(ch.codePointAt(0)!));
    out = lowered.join('');
  }
  return out;
}
