// Owns: the character classes of BertNormalizer and BertPreTokenizer, per Unicode code point,
// exactly as huggingface/tokenizers (Rust) decides them:
//   whitespace  = Rust `char::is_whitespace` (White_Space; '\t' '\n' '\r' included), normalizers/bert.rs
//   control     = unicode_categories `is_other()` (Cc, Cf, Co: NOT Cn) minus '\t' '\n' '\r'
//   dropped     = U+0000, U+FFFD or control (what clean_text filters out)
//   punctuation = ASCII punctuation (33-47, 58-64, 91-96, 123-126) or `is_punctuation()` (P*)
//   chinese     = the Rust `is_chinese_char` ranges (note U+2B820..U+2B91F is NOT one)
//   nonspacing  = Mn, only for strip_accents
// The category tables are the crate's own (Unicode 9.0, see unicode-tables.ts), not the running
// engine's `\p{…}`, because newer Unicode data would move characters between classes.
// Does not own: what the stages do with the classes (normalizer.ts, pre-tokenizer.ts, word-splitter.ts).
import { MARK_NONSPACING_RANGES, OTHER_RANGES, PUNCTUATION_RANGES } from './unicode-tables.js';

export const WHITESPACE = 1;
export const CONTROL = 2;
/** U+0000, U+FFFD and CONTROL: removed by clean_text. */
export const DROPPED = 4;
export const PUNCTUATION = 8;
export const CHINESE = 16;
export const NONSPACING_MARK = 32;

// Rust's White_Space list (core::unicode::white_space); U+180E left it in Unicode 6.3.
const WHITESPACE_RANGES: readonly number[] = [
  0x09, 0x0d, 0x20, 0x20, 0x85, 0x85, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029,
  0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000,
];

// tokenizers/src/normalizers/bert.rs `is_chinese_char`, range for range.
const CHINESE_RANGES: readonly number[] = [
  0x3400, 0x4dbf, 0x4e00, 0x9fff, 0xf900, 0xfaff, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740,
  0x2b81f, 0x2b920, 0x2ceaf, 0x2f800, 0x2fa1f,
];

function inRanges(ranges: readonly number[], cp: number): boolean {
  // Binary search over pairs: find the last pair whose first <= cp.
  let lo = 0;
  let hi = (ranges.length >>> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid * 2] <= cp) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi >= 0 && cp <= ranges[hi * 2 + 1];
}

function isAsciiPunctuation(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

/** The flags of one code point, computed from the range tables (slow; see `charFlags`). */
function computeFlags(cp: number): number {
  let flags = 0;
  if (inRanges(WHITESPACE_RANGES, cp)) flags |= WHITESPACE;
  if (cp !== 0x09 && cp !== 0x0a && cp !== 0x0d && inRanges(OTHER_RANGES, cp)) flags |= CONTROL;
  if (cp === 0 || cp === 0xfffd || (flags & CONTROL) !== 0) flags |= DROPPED;
  if (isAsciiPunctuation(cp) || inRanges(PUNCTUATION_RANGES, cp)) flags |= PUNCTUATION;
  if (inRanges(CHINESE_RANGES, cp)) flags |= CHINESE;
  if (inRanges(MARK_NONSPACING_RANGES, cp)) flags |= NONSPACING_MARK;
  return flags;
}

/**
 * Flags of every BMP code point, one byte each (64 KiB, built once at load): the hot loops index
 * this with `charCodeAt` and only binary-search for astral code points. Surrogate code units get
 * flags 0; callers decode pairs first and see no lone surrogate (tokenizer.ts makes input
 * well-formed). Built by sweeping the ranges' ~1000 boundaries and filling the runs between them,
 * the same flags computeFlags gives (test/tokenizer-char-classes): calling computeFlags 65,536
 * times made V8 optimise the loop, which cost ~4 MB of resident memory for good.
 */
export const BMP_FLAGS: Uint8Array = buildBmpFlags();

function buildBmpFlags(): Uint8Array {
  const ASCII_PUNCTUATION = [33, 47, 58, 64, 91, 96, 123, 126];
  const classes: [readonly number[], number][] = [
    [WHITESPACE_RANGES, WHITESPACE],
    [OTHER_RANGES, CONTROL],
    [PUNCTUATION_RANGES, PUNCTUATION],
    [ASCII_PUNCTUATION, PUNCTUATION],
    [CHINESE_RANGES, CHINESE],
    [MARK_NONSPACING_RANGES, NONSPACING_MARK],
  ];
  // Events: at code point `at`, flag `flag` gains (+1) or loses (-1) one covering range.
  const events: { at: number; flag: number; delta: number }[] = [];
  for (const [ranges, flag] of classes) {
    for (let i = 0; i < ranges.length; i += 2) {
      if (ranges[i] > 0xffff) continue;
      events.push({ at: ranges[i], flag, delta: 1 }, { at: Math.min(ranges[i + 1], 0xffff) + 1, flag, delta: -1 });
    }
  }
  events.sort((a, b) => a.at - b.at);
  const table = new Uint8Array(0x10000);
  const covering = new Map<number, number>();
  let from = 0;
  for (const e of events) {
    if (e.at > from) {
      table.fill(runFlags(covering), from, e.at);
      from = e.at;
    }
    covering.set(e.flag, (covering.get(e.flag) ?? 0) + e.delta);
  }
  if (from < 0x10000) table.fill(runFlags(covering), from);
  // The exceptions computeFlags makes by code point.
  for (const cp of [0x09, 0x0a, 0x0d]) table[cp] &= ~(CONTROL | DROPPED);
  table[0] |= DROPPED;
  table[0xfffd] |= DROPPED;
  table.fill(0, 0xd800, 0xe000);
  return table;
}

/** The flags of a run covered by `covering` (flag -> ranges covering it); control is dropped. */
function runFlags(covering: ReadonlyMap<number, number>): number {
  let flags = 0;
  for (const [flag, n] of covering) if (n > 0) flags |= flag;
  return flags & CONTROL ? flags | DROPPED : flags;
}

/** Flags of any code point (0..0x10FFFF). */
export function charFlags(cp: number): number {
  return cp < 0x10000 ? BMP_FLAGS[cp] : computeFlags(cp);
}

export const isWhitespace = (cp: number): boolean => (charFlags(cp) & WHITESPACE) !== 0;
export const isControl = (cp: number): boolean => (charFlags(cp) & CONTROL) !== 0;
export const isPunctuation = (cp: number): boolean => (charFlags(cp) & PUNCTUATION) !== 0;
export const isChineseChar = (cp: number): boolean => (charFlags(cp) & CHINESE) !== 0;
export const isMarkNonspacing = (cp: number): boolean => (charFlags(cp) & NONSPACING_MARK) !== 0;

/**
 * `text` with every lone surrogate replaced by U+FFFD: the string Rust would receive after the
 * UTF-8 encoding that every binding performs (TextEncoder does the same). U+FFFD is then dropped by
 * clean_text like the Rust normalizer drops it.
 */
export function toWellFormed(text: string): string {
  const s = text as string & { isWellFormed?: () => boolean; toWellFormed?: () => string };
  if (typeof s.isWellFormed === 'function' && typeof s.toWellFormed === 'function') {
    return s.isWellFormed() ? text : s.toWellFormed();
  }
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    out += text.slice(from, i) + '\ufffd';
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}
