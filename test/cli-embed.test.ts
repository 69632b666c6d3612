// `kmed embed` end to end: spawn the built CLI (dist/ — `npm test` builds first via pretest; by hand
// run `npm run build`), feed JSON lines, and compare every printed vector with the library's own
// result for the same input (exactly: the CLI prints each float32 so that it reads back bit for bit).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../src/node/encoder.js';

const MODEL = 'test/fixtures/tiny-question';
const CLI = 'dist/cli/main.js';

function kmed(args: string[], input: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function parseEmbeddings(stdout: string): Float32Array[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const obj = JSON.parse(l);
      expect(Object.keys(obj)).toEqual(['embedding']);
      return Float32Array.from(obj.embedding as number[]);
    });
}

describe('kmed embed', () => {
  let enc: Encoder;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it via pretest)`);
    enc = await Encoder.fromDirectory(MODEL);
  });

  const texts = ['high blood pressure 처방 사례', '고혈압 진단.\n환자 상담', '', 'Amlodipine 5mg 1일 1회 처방.'];

  it('embeds text and ids lines in order, identical to the library (pooler)', async () => {
    const ids = [2, 1234, 567, 3];
    const lines = [
      JSON.stringify({ text: texts[0] }),
      JSON.stringify({ ids }),
      JSON.stringify({ text: texts[1] }),
      '',
      JSON.stringify({ text: texts[2] }),
      JSON.stringify({ text: texts[3] }),
    ];
    const r = kmed(['embed', '--model', MODEL], lines.join('\n') + '\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = parseEmbeddings(r.stdout);
    const fromTexts = await enc.embed(texts);
    const [fromIds] = await enc.embedIds([ids]);
    const want = [fromTexts[0], fromIds, fromTexts[1], fromTexts[2], fromTexts[3]];
    expect(got).toHaveLength(want.length);
    got.forEach((v, i) => expect(v, `output line ${i + 1}`).toEqual(want[i]));
  });

  it('honours --pooling, --max-length and --batch-size', async () => {
    const input = texts.map((text) => JSON.stringify({ text })).join('\n');
    const r = kmed(['embed', '--model', MODEL, '--pooling', 'mean', '--max-length', '5', '--batch-size', '2'], input);
    expect(r.code, r.stderr).toBe(0);
    const want = await enc.embed(texts, { pooling: 'mean', maxLength: 5 });
    parseEmbeddings(r.stdout).forEach((v, i) => expect(v, `line ${i + 1}`).toEqual(want[i]));
  });

  it.each([
    ['not JSON', '{"text": "ok"}\n{oops\n', /line 2: not valid JSON/],
    ['no text or ids', '{"text": "ok"}\n{"txt": "x"}\n', /line 2: expected an object with "text" or "ids"/],
    ['text not a string', '{"text": 5}\n', /line 1: "text" must be a string/],
    ['id out of range', '{"ids": [2, 99999, 3]}\n', /line 1: "ids" position 1: token id 99999 .*vocab_size=10336/],
    ['empty ids', '{"text": "a"}\n\n{"ids": []}\n', /line 3: "ids" is empty/],
  ])('a bad line (%s) fails with a message naming the line', (_, input, message) => {
    const r = kmed(['embed', '--model', MODEL], input);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // Lines before the bad one were still written.
    expect(r.stdout.split('\n').filter(Boolean).length).toBe(input.split('\n').findIndex((l) => !/^\{"text": "(ok|a)"\}$/.test(l)));
  });

  it('a missing model folder or file is one clear error', () => {
    const r = kmed(['embed', '--model', 'test/fixtures/no-such-model'], '{"text": "x"}\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-model does not exist/);
    const r2 = kmed(['embed', '--model', 'test/fixtures/tokenizer'], '{"text": "x"}\n');
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/config\.json is missing/);
  });

  it('--threads 1 and 2 give the library\'s vectors; --threads 0 is refused', async () => {
    const input = texts.map((text) => JSON.stringify({ text })).join('\n');
    const want = await enc.embed(texts);
    for (const threads of ['1', '2']) {
      const r = kmed(['embed', '--model', MODEL, '--threads', threads], input);
      expect(r.code, r.stderr).toBe(0);
      parseEmbeddings(r.stdout).forEach((v, i) => expect(v, `--threads ${threads}, line ${i + 1}`).toEqual(want[i]));
    }
    const bad = kmed(['embed', '--model', MODEL, '--threads', '0'], input);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--threads.*expected a positive integer, got '0'/);
  });

  it('rejects an unknown pooling', () => {
    const r = kmed(['embed', '--model', MODEL, '--pooling', 'max'], '{"text": "x"}\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown pooling "max"/);
  });
});
