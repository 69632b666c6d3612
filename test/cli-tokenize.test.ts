// `kmed tokenize` end to end: spawn the built CLI (dist/ — `npm test` builds first via pretest; by
// hand run `npm run build`), feed JSON lines, and compare the printed ids with the golden ids.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizerFromDirectory } from '../src/node/model-files/tokenizer-files.js';

const MODEL = 'test/fixtures/tokenizer';
const CLI = 'dist/cli/main.js';
const golden = JSON.parse(readFileSync('test/fixtures/tokenizer-golden.json', 'utf8')) as {
  cases: { text: string; ids: number[] }[];
  truncation: { text: string; max_length: number; ids: number[] }[];
};

function kmed(args: string[], input: string) {
  const r = spawnSync(process.execPath, [CLI, 'tokenize', '--model', MODEL, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const idsOf = (stdout: string): number[][] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const obj = JSON.parse(l);
      expect(Object.keys(obj)).toEqual(['ids']);
      return obj.ids as number[];
    });

describe('kmed tokenize', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it via pretest)`);
  });

  it('prints the golden ids for each line, in order, skipping blank lines, without truncation', () => {
    const cases = golden.cases.filter((_, i) => i % 9 === 0); // ~77 cases of every kind
    const input = cases.map((c) => JSON.stringify({ text: c.text })).join('\n\n') + '\n';
    const r = kmed([], input);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(idsOf(r.stdout)).toEqual(cases.map((c) => c.ids));
  });

  it('--max-length truncates as Hugging Face does', () => {
    const cases = golden.truncation.filter((c) => c.max_length === 32);
    const r = kmed(['--max-length', '32'], cases.map((c) => JSON.stringify({ text: c.text })).join('\n'));
    expect(r.code).toBe(0);
    expect(idsOf(r.stdout)).toEqual(cases.map((c) => c.ids));
  });

  it('streams a few thousand lines identical to the library', () => {
    const lines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter((l) => l !== '');
    const texts = [...lines, ...lines, ...lines, ...lines];
    const r = kmed([], texts.map((text) => JSON.stringify({ text })).join('\r\n'));
    expect(r.code).toBe(0);
    const tok = loadTokenizerFromDirectory(MODEL);
    expect(idsOf(r.stdout)).toEqual(texts.map((t) => Array.from(tok.encode(t, { maxLength: Infinity }).ids)));
  });

  it('a bad line stops with one error naming its line number and a non-zero exit', () => {
    const ok = JSON.stringify({ text: golden.cases[5].text });
    const notJson = kmed([], `${ok}\n${ok}\n{"text": oops}\n${ok}\n`);
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr).toMatch(/^kmed: stdin line 3: not valid JSON/);
    expect(notJson.stderr.trim().split('\n')).toHaveLength(1);
    expect(idsOf(notJson.stdout)).toEqual([golden.cases[5].ids, golden.cases[5].ids]);
    for (const bad of ['{"txt": "a"}', '{"text": 5}', '["a"]', 'null']) {
      const r = kmed([], `${ok}\n\n${bad}\n`);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/stdin line 3: expected an object with a string "text"/);
    }
  });

  it('a missing model folder or a bad --max-length is one clear error', () => {
    const missing = spawnSync(process.execPath, [CLI, 'tokenize', '--model', 'test/fixtures/no-such-model'], { input: '', encoding: 'utf8' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no-such-model\/vocab\.txt: no such file/);
    const r = kmed(['--max-length', '1'], '');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--max-length/);
  });
});
