// The tokenizer against Hugging Face: every golden case (BertTokenizerFast, klue/bert-base settings)
// must give identical ids, with and without truncation, loaded with tokenizer.json and without it.
// Also: the fused fast path equals normalize + preTokenize, batches pad correctly, CRLF vocab, and
// the lowercase / strip_accents path behaves like BertNormalizer.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTokenizerFromDirectory } from '../src/node/model-files/tokenizer-files.js';
import { normalize } from '../src/tokenizer/normalizer.js';
import { preTokenize } from '../src/tokenizer/pre-tokenizer.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { CHINESE, DROPPED, PUNCTUATION, WHITESPACE, charFlags, toWellFormed } from '../src/tokenizer/unicode.js';
import { splitWords } from '../src/tokenizer/word-splitter.js';

const DIR = 'test/fixtures/tokenizer';
const file = (name: string) => readFileSync(`${DIR}/${name}`);
const golden = JSON.parse(readFileSync('test/fixtures/tokenizer-golden.json', 'utf8')) as {
  cases: { text: string; ids: number[]; tokens: string[] }[];
  truncation: { text: string; max_length: number; ids: number[] }[];
};

/** Fails with the first mismatching case spelled out (text, first differing position, both token lists). */
function expectAllCases(tok: BertTokenizer, label: string): void {
  let matched = 0;
  for (const [i, c] of golden.cases.entries()) {
    const ids = Array.from(tok.encode(c.text, { maxLength: Infinity }).ids);
    if (ids.length === c.ids.length && ids.every((id, k) => id === c.ids[k])) {
      matched++;
      continue;
    }
    const at = ids.findIndex((id, k) => id !== c.ids[k]);
    const msg =
      `${label}: case ${i} ${JSON.stringify(c.text).slice(0, 300)}\n` +
      `  first difference at position ${at < 0 ? Math.min(ids.length, c.ids.length) : at}\n` +
      `  want ${c.tokens.join(' ').slice(0, 400)}\n` +
      `  got  ${tok.idsToTokens(ids).join(' ').slice(0, 400)}`;
    console.log(msg);
    expect.fail(msg);
  }
  console.log(`${label}: ${matched}/${golden.cases.length} golden cases identical`);
  expect(matched).toBe(golden.cases.length);
}

describe('BertTokenizer vs Hugging Face golden ids', () => {
  const tok = loadTokenizerFromDirectory(DIR);

  it('has the fixture vocabulary and klue/bert-base settings', () => {
    expect(tok.vocabSize).toBe(10336);
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId]).toEqual([0, 1, 2, 3]);
    expect(tok.maxLength).toBe(512);
    expect(golden.cases.length).toBe(688);
  });

  it('gives identical ids for all golden cases (tokenizer.json present)', () => {
    expectAllCases(tok, 'with tokenizer.json');
  });

  it('gives identical ids for all golden cases from vocab.txt + tokenizer_config.json only', () => {
    const bare = BertTokenizer.fromFiles({ vocab: file('vocab.txt'), tokenizerConfig: file('tokenizer_config.json') });
    expectAllCases(bare, 'without tokenizer.json');
  });

  it('gives identical ids for every truncation case (keeps [CLS] and [SEP])', () => {
    let matched = 0;
    for (const [i, c] of golden.truncation.entries()) {
      const ids = Array.from(tok.encode(c.text, { maxLength: c.max_length }).ids);
      if (JSON.stringify(ids) !== JSON.stringify(c.ids)) {
        expect.fail(`truncation case ${i} (max_length ${c.max_length}) ${JSON.stringify(c.text).slice(0, 200)}\n  want ${c.ids}\n  got  ${ids}`);
      }
      matched++;
    }
    console.log(`truncation: ${matched}/${golden.truncation.length} cases identical`);
    expect(new Set(golden.truncation.map((c) => c.max_length))).toEqual(new Set([8, 32, 512]));
  });

  it('truncates to model_max_length (512) by default and not at all with Infinity', () => {
    const long = golden.truncation.find((c) => c.max_length === 512 && c.ids.length === 512);
    expect(long, 'a golden text longer than 512 tokens').toBeDefined();
    expect(Array.from(tok.encode(long!.text).ids)).toEqual(long!.ids);
    expect(tok.encode(long!.text, { maxLength: Infinity }).ids.length).toBeGreaterThan(512);
    expect(Array.from(tok.encode('고혈압 진단.', { addSpecialTokens: false }).ids)).toEqual(golden.cases[6].ids.slice(1, -1));
    expect(Array.from(tok.encode('고혈압 진단.', { maxLength: 2 }).ids)).toEqual([tok.clsId, tok.sepId]);
  });

  it('pads a batch to the longest with [PAD], attention 0, rows in order', () => {
    const texts = golden.cases.slice(3, 12).map((c) => c.text);
    const batch = tok.encodeBatch(texts, { maxLength: Infinity });
    const T = Math.max(...golden.cases.slice(3, 12).map((c) => c.ids.length));
    batch.forEach((row, b) => {
      const want = golden.cases[3 + b].ids;
      expect(row.ids.length).toBe(T);
      expect(Array.from(row.ids.subarray(0, want.length))).toEqual(want);
      expect(Array.from(row.ids.subarray(want.length)).every((id) => id === tok.padId)).toBe(true);
      expect(Array.from(row.attentionMask)).toEqual(Array.from({ length: T }, (_, k) => (k < want.length ? 1 : 0)));
      expect(Array.from(row.tokenTypeIds).every((t) => t === 0)).toBe(true);
    });
    expect(tok.encodeBatch([])).toEqual([]);
  });

  it('maps ids back to the golden tokens', () => {
    for (const c of golden.cases.slice(0, 60)) expect(tok.idsToTokens(c.ids)).toEqual(c.tokens);
  });

  it('reads a CRLF vocab with trailing spaces and no final newline the same way', () => {
    const crlf = readFileSync(`${DIR}/vocab.txt`, 'utf8').trimEnd().split('\n').map((t) => `${t} \r`).join('\n');
    const alt = BertTokenizer.fromFiles({ vocab: crlf.slice(0, -1), tokenizerConfig: file('tokenizer_config.json') });
    for (const c of golden.cases.slice(0, 100)) expect(Array.from(alt.encode(c.text, { maxLength: Infinity }).ids)).toEqual(c.ids);
  });
});

describe('pipeline stages', () => {
  it('classifies all 1,112,064 code points as the Rust tokenizers does (Unicode 9 tables, not the engine\'s)', () => {
    // Made by running the real BertNormalizer + BertPreTokenizer on "a" + c + "b" for every c
    // (the generator is stored in the file).
    const fixture = JSON.parse(readFileSync('test/fixtures/tokenizer-char-classes.json', 'utf8')) as { runs: [number, number, string][] };
    const want = new Uint8Array(0x110000).fill(0x6f); // 'o': an ordinary word character
    for (const [first, last, k] of fixture.runs) want.fill(k.charCodeAt(0), first, last + 1);
    const bad: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const f = charFlags(cp);
      const ours = f & DROPPED ? 'd' : f & WHITESPACE ? 'w' : f & CHINESE ? 'c' : f & PUNCTUATION ? 'p' : 'o';
      if (ours.charCodeAt(0) !== want[cp]) bad.push(`U+${cp.toString(16).toUpperCase()} ours ${ours} rust ${String.fromCharCode(want[cp])}`);
    }
    expect(bad.slice(0, 10)).toEqual([]);
    // The spots where Unicode 9 and today's Unicode disagree are what this guards.
    expect(String.fromCharCode(want[0x2e45])).toBe('o'); // punctuation since Unicode 10
    expect(String.fromCharCode(want[0x0890])).toBe('o'); // format character since Unicode 14
  });

  it('the fused fast path equals normalize + preTokenize on every golden text', () => {
    const opts = { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false };
    for (const c of golden.cases) {
      const text = toWellFormed(c.text);
      const fused: string[] = [];
      splitWords(text, 0, text.length, true, true, (w) => fused.push(w));
      expect(fused).toEqual(preTokenize(normalize(text, opts)));
      const raw: string[] = [];
      splitWords(text, 0, text.length, false, false, (w) => raw.push(w));
      expect(raw).toEqual(preTokenize(normalize(text, { ...opts, cleanText: false, handleChineseChars: false })));
    }
  });

  it('BertNormalizer: controls and U+FFFD dropped, whitespace to spaces, CJK padded (astral too)', () => {
    const opts = { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false };
    expect(normalize('a\u0000b\ufffdc\u200bd\te\nf\rg\u000bh', opts)).toBe('abcd e f gh');
    expect(normalize('x高\u{20000}\u{2B820}y', opts)).toBe('x 高  \u{20000} \u{2B820}y');
    expect(preTokenize("don't\u3000stop!?")).toEqual(['don', "'", 't', 'stop', '!', '?']);
  });

  it('do_lower_case: lowercases and (strip_accents null) strips accents, special tokens still exact', () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'cafe', 'i', '##stanbul', '[', 'cls', ']'].join('\n');
    const tok = BertTokenizer.fromFiles({ vocab, tokenizerConfig: '{"do_lower_case": true}' });
    const tokens = (s: string) => tok.idsToTokens(tok.encode(s, { addSpecialTokens: false }).ids);
    expect(tokens('HeLLo CAFÉ İstanbul')).toEqual(['hello', 'cafe', 'i', '##stanbul']);
    expect(tokens('[CLS][cls][MASK]')).toEqual(['[CLS]', '[', 'cls', ']', '[MASK]']);
    const keepAccents = BertTokenizer.fromFiles({ vocab, tokenizerConfig: '{"do_lower_case": true, "strip_accents": false}' });
    expect(keepAccents.idsToTokens(keepAccents.encode('CAFÉ', { addSpecialTokens: false }).ids)).toEqual(['[UNK]']);
  });
});
