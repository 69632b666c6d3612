// Owns: the WordPiece model (tokenizers/src/models/wordpiece/mod.rs `tokenize`): a word longer than
// max_input_chars_per_word code points is [UNK]; otherwise greedy longest-match-first from the left,
// pieces after the first looked up with the continuing-subword prefix ("##"); if any position has
// no match the whole word becomes one [UNK]. Plus a word -> ids cache, since real text repeats words.
// Does not own: finding words (word-splitter.ts / pre-tokenizer.ts) or the vocabulary file (vocab.ts).
import { TokenizerError } from './errors.js';
import type { Vocab } from './vocab.js';

export interface WordPieceOptions {
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
}

// The cache is cleared when full: simpler and cheaper than LRU bookkeeping, and a text stream's
// vocabulary of distinct words refills it quickly. Long words are not cached (rare, big keys).
const CACHE_LIMIT = 65_536;
const CACHE_MAX_WORD_UNITS = 48;

export class WordPiece {
  readonly unkId: number;
  private readonly maxChars: number;
  /** Every vocab token, for the first piece of a word (Rust looks the bare substring up). */
  private readonly first: ReadonlyMap<string, number>;
  /** Tokens that start with the prefix, keyed without it: no string concatenation per lookup. */
  private readonly cont = new Map<string, number>();
  /** Longest key of each map by its first UTF-16 unit (capped at 255): no match at a position
   *  can be longer, so the greedy search starts there instead of at the end of the word. */
  private readonly firstMaxUnits = new Uint8Array(0x10000);
  private readonly contMaxUnits = new Uint8Array(0x10000);
  /** True when some key is longer than 255 units: then the per-unit limits are not used. */
  private readonly longKeys: boolean;
  /** word -> id (one piece) or ids. */
  private readonly cache = new Map<string, number | readonly number[]>();

  constructor(vocab: Vocab, options: WordPieceOptions) {
    const unkId = vocab.ids.get(options.unkToken);
    if (unkId === undefined) {
      throw new TokenizerError(
        'TOKENIZER_MISSING_SPECIAL_TOKEN',
        `${vocab.fileName}: the unknown token ${JSON.stringify(options.unkToken)} (unk_token) is not in the vocabulary`,
      );
    }
    this.unkId = unkId;
    this.maxChars = options.maxInputCharsPerWord;
    this.first = vocab.ids;
    const prefix = options.continuingSubwordPrefix;
    for (const [token, id] of vocab.ids) {
      if (prefix !== '' && token.startsWith(prefix) && token.length > prefix.length) this.cont.set(token.slice(prefix.length), id);
    }
    // An empty prefix makes continuation pieces plain tokens.
    if (prefix === '') for (const [token, id] of vocab.ids) this.cont.set(token, id);
    const note = (table: Uint8Array, key: string): void => {
      if (key === '') return;
      const c = key.charCodeAt(0);
      table[c] = Math.max(table[c], Math.min(255, key.length));
    };
    for (const token of this.first.keys()) note(this.firstMaxUnits, token);
    for (const key of this.cont.keys()) note(this.contMaxUnits, key);
    this.longKeys = [...this.first.keys(), ...this.cont.keys()].some((k) => k.length > 255);
  }

  /** Append the ids of `word` (non-empty, well-formed) to `out`. */
  tokenizeInto(word: string, out: number[]): void {
    let hit = this.cache.get(word);
    if (hit === undefined) {
      const ids = this.tokenize(word);
      hit = ids.length === 1 ? ids[0] : ids;
      if (word.length <= CACHE_MAX_WORD_UNITS) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, hit);
      }
    }
    if (typeof hit === 'number') out.push(hit);
    else for (let k = 0; k < hit.length; k++) out.push(hit[k]);
  }

  /** The ids of one word, uncached. */
  tokenize(word: string): number[] {
    const n = word.length;
    if (n > this.maxChars && countCodePoints(word) > this.maxChars) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < n) {
      const map = start === 0 ? this.first : this.cont;
      const limit = this.longKeys ? n : (start === 0 ? this.firstMaxUnits : this.contMaxUnits)[word.charCodeAt(start)];
      let end = Math.min(n, start + limit);
      // Never cut a surrogate pair: pieces are whole code points, as Rust's char boundaries.
      if (end < n && isLowSurrogate(word.charCodeAt(end))) end--;
      let id: number | undefined;
      while (end > start) {
        id = map.get(word.slice(start, end));
        if (id !== undefined) break;
        end -= end - start >= 2 && isLowSurrogate(word.charCodeAt(end - 1)) ? 2 : 1;
      }
      if (id === undefined) return [this.unkId];
      ids.push(id);
      start = end;
    }
    return ids;
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

export function countCodePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) if (isLowSurrogate(s.charCodeAt(i))) n--;
  return n;
}
