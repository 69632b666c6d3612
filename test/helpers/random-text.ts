// Owns: seeded random text for tokenizer fuzzing (test/tokenizer-fuzz.test.ts and the by-hand
// differential check against the Rust tokenizers): pieces drawn from every Unicode plane and from
// the classes BERT treats specially (controls, format characters, whitespace, CJK edges, marks,
// jamo, lone surrogates, fragments of special tokens, real vocabulary tokens), mixed lengths.

/** mulberry32: small, fast, and the same sequence in every JavaScript engine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = ['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]', '[CL', 'S]', '[', ']', '##', ' ', '  ', '\t', '\n', '\r\n'];
const WHITESPACE = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0x180e];
// [first, last] ranges for each class the normalizer or pre-tokenizer cares about.
const RANGES: Record<string, [number, number][]> = {
  ascii: [[0x20, 0x7e]],
  letters: [[0x61, 0x7a], [0x41, 0x5a], [0x30, 0x39]],
  hangul: [[0xac00, 0xd7a3]],
  jamo: [[0x1100, 0x11ff], [0x3130, 0x318f]],
  control: [[0x00, 0x1f], [0x7f, 0x9f], [0x200b, 0x200f], [0x2060, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffd], [0xe0000, 0xe007f], [0x0600, 0x0605], [0x0890, 0x0891]],
  cjk: [[0x4e00, 0x9fff], [0x3400, 0x4dbf], [0xf900, 0xfaff], [0x20000, 0x2a6df], [0x2b700, 0x2b9ff], [0x2ce90, 0x2cf00], [0x2f800, 0x2fa1f], [0x30000, 0x3134f]],
  marks: [[0x0300, 0x036f], [0x1ab0, 0x1aff], [0x20d0, 0x20ff]],
  punct: [[0x2010, 0x2027], [0x2e00, 0x2e5d], [0x3000, 0x303f], [0xff01, 0xff0f], [0xa1, 0xbf]],
  bmp: [[0x0000, 0xffff]], // includes lone surrogates on purpose
  astral: [[0x10000, 0x10ffff]],
  emoji: [[0x1f300, 0x1faff]],
  private: [[0xe000, 0xf8ff], [0xf0000, 0xf00ff]],
  surrogate: [[0xd800, 0xdfff]],
};
const KINDS = Object.keys(RANGES);

function fromRanges(rand: () => number, ranges: [number, number][]): string {
  const [a, b] = ranges[Math.floor(rand() * ranges.length)];
  const cp = a + Math.floor(rand() * (b - a + 1));
  // A single surrogate code unit becomes a lone surrogate in the string.
  return cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
}

/**
 * One random string. Most are short; one in twenty is long (up to ~400 pieces) and some repeat
 * one character many times so words pass the 100-character WordPiece limit.
 */
export function randomText(rand: () => number, words: readonly string[] = []): string {
  const r = rand();
  const pieces = r < 0.75 ? Math.floor(rand() * 16) : r < 0.97 ? 16 + Math.floor(rand() * 48) : 64 + Math.floor(rand() * 256);
  const kind = KINDS[Math.floor(rand() * KINDS.length)]; // each string leans towards one class
  let out = '';
  for (let i = 0; i < pieces; i++) {
    const p = rand();
    if (p < 0.1) out += FRAGMENTS[Math.floor(rand() * FRAGMENTS.length)];
    else if (p < 0.18) out += String.fromCodePoint(WHITESPACE[Math.floor(rand() * WHITESPACE.length)]);
    else if (p < 0.35 && words.length > 0) out += words[Math.floor(rand() * words.length)];
    else if (p < 0.6) out += fromRanges(rand, RANGES[kind]);
    else if (p < 0.605) out += fromRanges(rand, RANGES.letters).repeat(1 + Math.floor(rand() * 120));
    else out += fromRanges(rand, RANGES[KINDS[Math.floor(rand() * KINDS.length)]]);
  }
  return out;
}
