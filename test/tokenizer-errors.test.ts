// Bad tokenizer files and bad arguments: each must be a TokenizerError (a KmedError) with a stable
// code and a message naming the file and the problem, never a crash, a hang or a silent wrong answer.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KmedError } from '../src/errors/errors.js';
import { loadTokenizerFromDirectory } from '../src/node/model-files/tokenizer-files.js';
import { TokenizerError } from '../src/tokenizer/errors.js';
import { BertTokenizer, type TokenizerFiles } from '../src/tokenizer/tokenizer.js';
import { decodeText, describe as describeValue, parseJsonFile } from '../src/tokenizer/utf8.js';

const DIR = 'test/fixtures/tokenizer';
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##b'].join('\n');

/** The TokenizerError that `fn` throws; fails if it throws anything else or nothing. */
function caught(fn: () => unknown): TokenizerError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error).toBeInstanceOf(KmedError);
    return error as TokenizerError;
  }
  return expect.fail('expected a TokenizerError, nothing was thrown');
}

function expectError(fn: () => unknown, code: string, ...inMessage: (string | RegExp)[]): void {
  const error = caught(fn);
  expect(error.code).toBe(code);
  for (const part of inMessage) expect(error.message).toMatch(part);
}

const build = (files: Partial<TokenizerFiles>) => () => BertTokenizer.fromFiles(files as TokenizerFiles);

/** A fresh temporary folder, removed after the file's tests. */
const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmed-tok-'));
  made.push(dir);
  return dir;
}

describe('vocab.txt problems', () => {
  it('missing vocab', () => {
    expectError(build({}), 'TOKENIZER_MISSING_FILE', 'vocab.txt');
    const dir = tempDir();
    expectError(() => loadTokenizerFromDirectory(dir), 'TOKENIZER_MISSING_FILE', join(dir, 'vocab.txt'), 'no such file');
  });

  it('empty vocab', () => {
    expectError(build({ vocab: '' }), 'TOKENIZER_EMPTY_VOCAB', 'vocab.txt', 'empty');
    expectError(build({ vocab: new Uint8Array(0) }), 'TOKENIZER_EMPTY_VOCAB', 'vocab.txt');
  });

  it('vocab without [UNK], [CLS] or [SEP]', () => {
    for (const [token, role] of [['[UNK]', 'unk_token'], ['[CLS]', 'cls_token'], ['[SEP]', 'sep_token']]) {
      const vocab = VOCAB.split('\n').filter((t) => t !== token).join('\n');
      expectError(build({ vocab }), 'TOKENIZER_MISSING_SPECIAL_TOKEN', 'vocab.txt', token, role);
    }
  });

  it('a token on two lines, named with both line numbers', () => {
    expectError(build({ vocab: `${VOCAB}\nxyz\na\n` }), 'TOKENIZER_DUPLICATE_TOKEN', '"a"', 'line 6', 'line 9');
  });

  it('bytes that are not UTF-8, with the byte offset', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode(`${VOCAB}\n`), 0x61, 0xc3, 0x28, 0x0a]);
    expectError(build({ vocab: bytes }), 'TOKENIZER_BAD_ENCODING', 'vocab.txt', `byte offset ${bytes.length - 3}`);
  });

  it('contents of the wrong type', () => {
    expectError(build({ vocab: 42 as unknown as string }), 'TOKENIZER_BAD_INPUT', 'vocab.txt', 'number');
  });
});

describe('configuration file problems', () => {
  it('malformed JSON names the file', () => {
    expectError(build({ vocab: VOCAB, tokenizerConfig: '{"do_lower_case": false,' }), 'TOKENIZER_BAD_JSON', 'tokenizer_config.json', 'malformed JSON');
    expectError(build({ vocab: VOCAB, specialTokensMap: '{unk_token: "[UNK]"}' }), 'TOKENIZER_BAD_JSON', 'special_tokens_map.json');
    expectError(build({ vocab: VOCAB, tokenizerJson: '' }), 'TOKENIZER_BAD_JSON', 'tokenizer.json');
    expectError(build({ vocab: VOCAB, tokenizerConfig: new Uint8Array([0x7b, 0xff, 0x7d]) }), 'TOKENIZER_BAD_ENCODING', 'tokenizer_config.json', 'byte offset 1');
  });

  it('well-formed JSON with the wrong shape or types', () => {
    expectError(build({ vocab: VOCAB, tokenizerConfig: '[1, 2]' }), 'TOKENIZER_BAD_CONFIG', 'tokenizer_config.json', 'object');
    expectError(build({ vocab: VOCAB, tokenizerConfig: '{"do_lower_case": "yes"}' }), 'TOKENIZER_BAD_CONFIG', 'tokenizer_config.json', 'do_lower_case');
    expectError(build({ vocab: VOCAB, tokenizerConfig: '{"model_max_length": -5}' }), 'TOKENIZER_BAD_CONFIG', 'model_max_length');
    expectError(build({ vocab: VOCAB, specialTokensMap: '{"cls_token": 7}' }), 'TOKENIZER_BAD_CONFIG', 'special_tokens_map.json', 'cls_token');
    expectError(build({ vocab: VOCAB, specialTokensMap: '{"unk_token": null}' }), 'TOKENIZER_MISSING_SPECIAL_TOKEN', 'unk_token');
    expectError(build({ vocab: VOCAB, specialTokensMap: '{"sep_token": "[END]"}' }), 'TOKENIZER_MISSING_SPECIAL_TOKEN', '[END]', 'sep_token');
  });

  it('tokenizer.json: unsupported pipeline or a vocabulary that disagrees with vocab.txt', () => {
    const tj = JSON.parse(readFileSync(`${DIR}/tokenizer.json`, 'utf8'));
    const vocab = readFileSync(`${DIR}/vocab.txt`);
    const withJson = (edit: (j: typeof tj) => void) => {
      const copy = structuredClone(tj);
      edit(copy);
      return build({ vocab, tokenizerJson: JSON.stringify(copy) });
    };
    expectError(withJson((j) => (j.normalizer = { type: 'NFKC' })), 'TOKENIZER_UNSUPPORTED', 'tokenizer.json', 'normalizer', 'NFKC');
    expectError(withJson((j) => (j.model.type = 'BPE')), 'TOKENIZER_UNSUPPORTED', 'tokenizer.json', 'BPE');
    expectError(withJson((j) => (j.model.vocab['고혈압'] = 5)), 'TOKENIZER_VOCAB_MISMATCH', 'tokenizer.json', '고혈압', 'vocab.txt');
  });

  it('an unreadable file in a model folder names its path', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vocab.txt'), VOCAB);
    mkdirSync(join(dir, 'tokenizer_config.json')); // a folder where a file should be
    expectError(() => loadTokenizerFromDirectory(dir), 'TOKENIZER_MISSING_FILE', join(dir, 'tokenizer_config.json'), 'EISDIR');
    const dir2 = tempDir();
    writeFileSync(join(dir2, 'vocab.txt'), VOCAB);
    writeFileSync(join(dir2, 'special_tokens_map.json'), '{');
    expectError(() => loadTokenizerFromDirectory(dir2), 'TOKENIZER_BAD_JSON', `${dir2}/special_tokens_map.json`);
  });
});

describe('bad arguments', () => {
  const tok = BertTokenizer.fromFiles({ vocab: VOCAB, tokenizerConfig: '{"do_lower_case": false}' });

  it('non-string text', () => {
    for (const bad of [undefined, null, 42, ['a'], { text: 'a' }]) {
      expectError(() => tok.encode(bad as unknown as string), 'TOKENIZER_BAD_INPUT', 'text must be a string');
    }
    expectError(() => tok.encodeBatch(['a', 7 as unknown as string]), 'TOKENIZER_BAD_INPUT', 'texts[1]');
    expectError(() => tok.encodeBatch('a' as unknown as string[]), 'TOKENIZER_BAD_INPUT', 'array');
  });

  it('bad maxLength, and one too small for [CLS] and [SEP]', () => {
    for (const bad of [-1, 1.5, NaN, '8']) {
      expectError(() => tok.encode('a', { maxLength: bad as number }), 'TOKENIZER_BAD_OPTION', 'maxLength');
    }
    expectError(() => tok.encode('a', { maxLength: 1 }), 'TOKENIZER_BAD_OPTION', 'maxLength 1', 'special tokens');
    expect(Array.from(tok.encode('a', { maxLength: 0, addSpecialTokens: false }).ids)).toEqual([]);
  });

  it('ids outside the vocabulary', () => {
    expect(tok.idsToTokens([2, 5, 6, 3])).toEqual(['[CLS]', 'a', '##b', '[SEP]']);
    expectError(() => tok.idsToTokens([2, 7]), 'TOKENIZER_BAD_ID', 'id 7', 'position 1');
    expectError(() => tok.idsToTokens([-1]), 'TOKENIZER_BAD_ID', 'id -1');
  });

  it('a vocabulary without [PAD] still encodes, but cannot pad a batch', () => {
    const noPad = BertTokenizer.fromFiles({ vocab: VOCAB.replace('[PAD]', '[unused0]'), tokenizerConfig: '{"do_lower_case": false}' });
    expect(noPad.encodeBatch(['a', 'a']).map((e) => e.ids.length)).toEqual([3, 3]);
    expectError(() => noPad.encodeBatch(['a', 'ab a']), 'TOKENIZER_MISSING_SPECIAL_TOKEN', 'pad_token');
  });
});

describe('file contents: types, descriptions and causes', () => {
  it('names the wrong type of each kind of value, cutting a long string at 40 characters', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(7)).toBe('number 7');
    expect(describeValue(false)).toBe('boolean false');
    expect(describeValue(5n)).toBe('bigint 5');
    expect(describeValue('short')).toBe('string "short"');
    expect(describeValue('x'.repeat(41))).toBe(`string "${'x'.repeat(40)}…"`);
    expect(describeValue('x'.repeat(40))).toBe(`string "${'x'.repeat(40)}"`);
    expectError(() => decodeText((() => 1) as unknown as string, 'vocab.txt'), 'TOKENIZER_BAD_INPUT', 'vocab.txt: expected a string, Uint8Array or ArrayBuffer, got a function');
  });

  it('keeps the decoder and parser errors as causes, and reads strings and ArrayBuffers as given', () => {
    const bad = caught(() => decodeText(new Uint8Array([0x61, 0xff]), 'f.txt'));
    expect(bad.cause).toBeInstanceOf(TypeError);
    const json = caught(() => parseJsonFile('{', 'f.json'));
    expect(json.cause).toBeInstanceOf(SyntaxError);
    expect(json.message).toContain(`f.json: malformed JSON (${(json.cause as Error).message})`);
    expect(decodeText('\uFEFFab', 'f')).toBe('ab');
    expect(decodeText('a\uFEFF', 'f')).toBe('a\uFEFF');
    expect(decodeText(new TextEncoder().encode('가').buffer as ArrayBuffer, 'f')).toBe('가');
    expect(parseJsonFile(new TextEncoder().encode('\uFEFF{"a": 1}'), 'f.json')).toEqual({ a: 1 });
  });
});
