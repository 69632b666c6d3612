// Owns: splitting added tokens ([CLS], [SEP], [MASK], [PAD], [UNK], …) out of the text before the
// normalizer, as tokenizers' AddedVocabulary does: exact, case-sensitive matches, leftmost first and
// the longest token at that position (Aho-Corasick LeftmostLongest), non-overlapping; `single_word`
// discards a match touching a word character, `lstrip` / `rstrip` swallow the whitespace beside it.
// Tokens with normalized=false (all BERT special tokens) are matched in the raw text; those with
// normalized=true in each normalized piece (tokenizer.ts drives the two passes).
// Does not own: ids of ordinary words (wordpiece.ts).
import { WHITESPACE, charFlags } from './unicode.js';

export interface AddedTokenMatcherEntry {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

// Rust regex `\w` (Unicode): Alphabetic, M, Nd, Pc, Join_Control; used by single_word only.
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

/** Receives consecutive pieces covering the text: `id` is the added token's id, or -1 for plain text. */
export type SegmentSink = (start: number, end: number, id: number) => void;

export class AddedTokenMatcher {
  /** Candidates by first UTF-16 unit, longest first. */
  private readonly byFirst = new Map<number, AddedTokenMatcherEntry[]>();
  /** 1 where some token starts with that code unit: one byte read per character of text. */
  private readonly isFirst = new Uint8Array(0x10000);

  constructor(entries: readonly AddedTokenMatcherEntry[]) {
    for (const e of entries) {
      if (e.content === '') continue;
      const c = e.content.charCodeAt(0);
      this.isFirst[c] = 1;
      let list = this.byFirst.get(c);
      if (list === undefined) this.byFirst.set(c, (list = []));
      if (!list.some((x) => x.content === e.content)) list.push(e);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
  }

  get isEmpty(): boolean {
    return this.byFirst.size === 0;
  }

  /** Split text[from, to) into plain pieces and added tokens, in order (an empty range gives one empty piece). */
  split(text: string, from: number, to: number, sink: SegmentSink): void {
    let plainStart = from;
    let i = from;
    while (i < to) {
      if (this.isFirst[text.charCodeAt(i)] === 0) {
        i++;
        continue;
      }
      const match = this.longestAt(text, i, to);
      if (match === undefined) {
        i++;
        continue;
      }
      let start = i;
      let stop = i + match.content.length;
      if (match.singleWord && !this.isSingleWord(text, from, to, start, stop)) {
        // Discarded, and the search goes on after it, as the Rust iterator does.
        i = stop;
        continue;
      }
      if (match.lstrip) {
        let s = start;
        while (s > from && (charFlags(text.codePointAt(s - 1)!) & WHITESPACE) !== 0) s--;
        start = Math.max(s, plainStart);
      }
      if (match.rstrip) {
        while (stop < to && (charFlags(text.codePointAt(stop)!) & WHITESPACE) !== 0) stop++;
      }
      if (plainStart < start) sink(plainStart, start, -1);
      sink(start, stop, match.id);
      plainStart = stop;
      i = stop;
    }
    if (plainStart < to || plainStart === from) sink(plainStart, to, -1);
  }

  private longestAt(text: string, i: number, to: number): AddedTokenMatcherEntry | undefined {
    const list = this.byFirst.get(text.charCodeAt(i));
    if (list === undefined) return undefined;
    for (const e of list) {
      if (i + e.content.length <= to && text.startsWith(e.content, i)) return e;
    }
    return undefined;
  }

  private isSingleWord(text: string, from: number, to: number, start: number, stop: number): boolean {
    const before = start > from ? String.fromCodePoint(codePointBefore(text, start)) : '';
    const after = stop < to ? String.fromCodePoint(text.codePointAt(stop)!) : '';
    return !WORD_CHAR.test(before) && !WORD_CHAR.test(after);
  }
}

function codePointBefore(text: string, i: number): number {
  const c = text.charCodeAt(i - 1);
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = text.charCodeAt(i - 2);
    if (h >= 0xd800 && h <= 0xdbff) return text.codePointAt(i - 2)!;
  }
  return c;
}
