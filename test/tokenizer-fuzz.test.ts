// Fuzz: 100,000 seeded random strings over all Unicode planes (lone surrogates included, see
// helpers/random-text.ts) never make the tokenizer throw, always give ids in [0, vocab size) framed
// by [CLS] … [SEP], and give the same ids from a second, fresh tokenizer (no state leaks through
// the word cache). The fused fast path must equal normalize + preTokenize on the same strings.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalize } from '../src/tokenizer/normalizer.js';
import { preTokenize } from '../src/tokenizer/pre-tokenizer.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { toWellFormed } from '../src/tokenizer/unicode.js';
import { splitWords } from '../src/tokenizer/word-splitter.js';
import { mulberry32, randomText } from './helpers/random-text.js';

const DIR = 'test/fixtures/tokenizer';
const files = {
  vocab: readFileSync(`${DIR}/vocab.txt`),
  tokenizerConfig: readFileSync(`${DIR}/tokenizer_config.json`),
  specialTokensMap: readFileSync(`${DIR}/special_tokens_map.json`),
  tokenizerJson: readFileSync(`${DIR}/tokenizer.json`),
};
const N = 100_000;
const SEED = 20240611;
const words = readFileSync(`${DIR}/vocab.txt`, 'utf8').split('\n').filter((w) => w !== '' && !w.startsWith('['));
const texts: string[] = [];
{
  const rand = mulberry32(SEED);
  for (let i = 0; i < N; i++) texts.push(randomText(rand, words));
}

/** FNV-1a over every id and a separator per text: one number that changes if any id does. */
function runAll(tok: BertTokenizer): { hash: number; tokens: number; problems: string[] } {
  let hash = 0x811c9dc5;
  let tokens = 0;
  const problems: string[] = [];
  for (let i = 0; i < texts.length; i++) {
    let ids: Int32Array;
    try {
      ids = tok.encode(texts[i], { maxLength: Infinity }).ids;
    } catch (error) {
      problems.push(`text ${i} ${JSON.stringify(texts[i]).slice(0, 120)} threw ${String(error)}`);
      continue;
    }
    if (ids[0] !== tok.clsId || ids[ids.length - 1] !== tok.sepId) problems.push(`text ${i}: not framed by [CLS] … [SEP]`);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (!(id >= 0 && id < tok.vocabSize)) problems.push(`text ${i}: id ${id} at ${k} out of range`);
      hash = Math.imul(hash ^ id, 0x01000193);
    }
    hash = Math.imul(hash ^ 0xffff, 0x01000193) >>> 0;
    tokens += ids.length;
  }
  return { hash, tokens, problems };
}

describe('tokenizer fuzz', () => {
  it(`${N} random strings: no throw, ids in range, deterministic across two fresh tokenizers`, () => {
    const t0 = performance.now();
    const first = runAll(BertTokenizer.fromFiles(files));
    const second = runAll(BertTokenizer.fromFiles(files));
    const chars = texts.reduce((n, t) => n + t.length, 0);
    console.log(
      `fuzz: ${N} strings, ${chars} UTF-16 units, ${first.tokens} ids, hash ${first.hash.toString(16)}, ` +
        `${((performance.now() - t0) / 1000).toFixed(2)} s for both runs`,
    );
    expect(first.problems.slice(0, 5)).toEqual([]);
    expect(second.hash).toBe(first.hash);
    expect(second.tokens).toBe(first.tokens);
    // The strings must really reach long words, lone surrogates and astral characters.
    expect(texts.some((t) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(t))).toBe(true);
    expect(texts.some((t) => /\p{L}{101,}/u.test(t))).toBe(true);
  });

  it('fast path == normalize + preTokenize, and the lowercase path never throws (20,000 strings)', () => {
    const opts = { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false };
    const lower = BertTokenizer.fromFiles({ vocab: files.vocab, tokenizerConfig: '{"do_lower_case": true}' });
    for (const raw of texts.slice(0, 20_000)) {
      const text = toWellFormed(raw);
      const fused: string[] = [];
      splitWords(text, 0, text.length, true, true, (w) => fused.push(w));
      const reference = preTokenize(normalize(text, opts));
      if (fused.length !== reference.length || fused.some((w, k) => w !== reference[k])) {
        expect.fail(`fast path differs on ${JSON.stringify(raw).slice(0, 200)}: ${JSON.stringify(fused)} vs ${JSON.stringify(reference)}`);
      }
      const ids = lower.encode(raw, { maxLength: Infinity }).ids;
      expect(ids.every((id) => id >= 0 && id < lower.vocabSize)).toBe(true);
    }
  });
});
