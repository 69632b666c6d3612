// kmed's text-input policy (src/node/text-input/utf8-lines.ts) and its use on `kmed embed` / `kmed tokenize`
// stdin: invalid UTF-8 is refused naming line and byte offset (before: replaced by U+FFFD and
// dropped by the tokenizer, exit 0); a BOM at the very start is skipped (before: a JSON error); a
// BOM anywhere else is ordinary text. Each block prints its counts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, expectOneKmedLine, runCli } from './helpers/run-cli.js';
import { decodeUtf8Line, firstInvalidUtf8, readUtf8Lines, TextInputError } from '../src/node/text-input/utf8-lines.js';
import { loadTokenizerFromDirectory } from '../src/node/model-files/tokenizer-files.js';

const MODEL = 'test/fixtures/tiny-question';
const enc = new TextEncoder();
const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** A seeded xorshift, so a failure is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

async function collect(chunks: Array<Uint8Array | string>, source = 'in') {
  const out = [];
  for await (const l of readUtf8Lines((async function* () { yield* chunks; })(), source)) out.push(l);
  return out;
}

describe('utf8-lines', () => {
  it('firstInvalidUtf8 agrees with a fatal TextDecoder on 20000 seeded mutants of UTF-8 text', () => {
    const next = rng(20261130);
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const seedText = enc.encode('고혈압 amlodipine 5mg 😀 é ß ─ \u{10FFFF} \uFEFF end');
    let invalid = 0;
    const wrong: string[] = [];
    const throws = (u: Uint8Array) => {
      try {
        fatal.decode(u);
        return false;
      } catch {
        return true;
      }
    };
    for (let t = 0; t < 20000; t++) {
      const b = seedText.slice(0, 1 + Math.floor(next() * seedText.length));
      const flips = Math.floor(next() * 3);
      for (let f = 0; f < flips; f++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
      const valid = !throws(b);
      const at = firstInvalidUtf8(b);
      if (!valid) invalid++;
      // Valid exactly when nothing is reported; else everything before the reported byte is valid
      // and the sequence starting there is not.
      const agrees = valid ? at === -1 : at >= 0 && !throws(b.subarray(0, at)) && throws(b.subarray(0, Math.min(b.length, at + 4)));
      if (!agrees) wrong.push(`case ${t}: ${Buffer.from(b).toString('hex')} -> ${at}`);
    }
    expect(wrong).toEqual([]);
    console.log(`utf8-lines: 20000 seeded mutants, ${invalid} invalid, all located where a fatal TextDecoder agrees`);
  });

  it('BOM only at the very start is skipped; CRLF; lines split across chunks; errors name line and byte', async () => {
    const text = bytes([0xef, 0xbb, 0xbf], 'a\r\n', [0xef, 0xbb, 0xbf], 'b\n가나\nlast');
    // Every split point, including inside the BOM and inside the 3-byte Hangul characters.
    for (let cut = 0; cut <= text.length; cut++) {
      const lines = await collect([text.subarray(0, cut), text.subarray(cut)]);
      expect(lines.map((l) => l.text)).toEqual(['a', '\uFEFFb', '가나', 'last']);
      expect(lines.map((l) => l.start)).toEqual([0, 6, 11, 18]);
    }
    const bad = bytes('ok\n', 'xy', [0xc3], '\n');
    const error = await collect([bad], 'stdin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TextInputError);
    expect((error as TextInputError).code).toBe('TEXT_INVALID_UTF8');
    expect((error as Error).message).toBe('stdin line 2: not valid UTF-8 at byte offset 5 (byte 2 of the line, 0xc3); save the text as UTF-8');
    expect(() => decodeUtf8Line(bytes([0xed, 0xa0, 0x80]), 7, 100, 'f')).toThrow(/^f line 7: not valid UTF-8 at byte offset 100 \(byte 0/);
    const long = await (async () => {
      try {
        for await (const _ of readUtf8Lines((async function* () { yield new Uint8Array(10).fill(0x61); yield new Uint8Array(10).fill(0x61); })(), 'in', 15)) void _;
      } catch (e) {
        return e;
      }
    })();
    expect((long as TextInputError).code).toBe('TEXT_LINE_TOO_LONG');
    console.log(`utf8-lines: ${text.length + 1} chunk splits of a BOM/CRLF/Hangul input, 3 error cases`);
  });
});

describe('kmed embed / tokenize stdin', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it via pretest)`);
  });

  const badBytes: Array<[string, number[]]> = [
    ['lone continuation byte', [0x80]],
    ['cut 2-byte sequence', [0xc3]],
    ['overlong "/"', [0xc0, 0xaf]],
    ['surrogate U+D800', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xFF', [0xff]],
  ];

  it('invalid UTF-8 is refused with line and byte offset, after the lines before it are written', async () => {
    const first = '{"text": "첫 줄"}\n';
    const offset = Buffer.byteLength(first) + Buffer.byteLength('{"text": "ab');
    const runs = [];
    // Every class through tokenize; two through embed (the classes themselves are the fuzz's job).
    const cases: Array<[string, number[]]> = [
      ...badBytes.map(([, bad]): [string, number[]] => ['tokenize', bad]),
      ['embed', badBytes[1][1]],
      ['embed', badBytes[3][1]],
    ];
    for (const [command, bad] of cases) {
      runs.push(runCli([command, '--model', MODEL], { input: bytes(first, '{"text": "ab', bad, 'c"}\n', '{"text": "never"}\n') }));
    }
    const results = await Promise.all(runs);
    results.forEach((r) => {
      expectOneKmedLine(r, new RegExp(`^kmed: stdin line 2: not valid UTF-8 at byte offset ${offset} \\(byte 12 of the line, 0x[0-9a-f]{2}\\)`));
      expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    });
    console.log(`cli stdin: invalid UTF-8: ${results.length} cases (${badBytes.length} byte classes on tokenize, 2 on embed), ${results.length} refused naming line 2 and byte ${offset}`);
  });

  it('a BOM at the start of stdin is skipped; a BOM inside a line is text', async () => {
    const input = '{"text": "고혈압 진단"}\n{"text": "a\uFEFFb"}\n';
    const tokenizer = loadTokenizerFromDirectory(MODEL);
    const [plainTok, bomTok, plainEmb, bomEmb, midBom] = await Promise.all([
      runCli(['tokenize', '--model', MODEL], { input }),
      runCli(['tokenize', '--model', MODEL], { input: '\uFEFF' + input }),
      runCli(['embed', '--model', MODEL], { input }),
      runCli(['embed', '--model', MODEL], { input: '\uFEFF' + input }),
      runCli(['tokenize', '--model', MODEL], { input: '{"text": "a"}\n\uFEFF{"text": "b"}\n' }),
    ]);
    for (const r of [plainTok, bomTok, plainEmb, bomEmb]) expect(r.code, r.stderr).toBe(0);
    expect(bomTok.stdout).toBe(plainTok.stdout);
    expect(bomEmb.stdout).toBe(plainEmb.stdout);
    // Inside a string the BOM reaches the tokenizer as U+FEFF, exactly as the library sees it.
    expect(plainTok.stdout.split('\n')[1]).toBe(JSON.stringify({ ids: Array.from(tokenizer.encode('a\uFEFFb').ids) }));
    // Before the JSON of line 2 it is ordinary text, so that line is not JSON.
    expectOneKmedLine(midBom, /^kmed: stdin line 2: not valid JSON/);
    console.log('cli stdin: BOM: 2 commands give identical output with and without a leading BOM; a BOM on line 2 is text (1 JSON error, 1 in-string)');
  });

  it('CRLF input gives the same output as LF input', () => {
    const lines = ['{"text": "고혈압"}', '{"text": "amlodipine"}'];
    const lf = spawnSync(process.execPath, [CLI, 'tokenize', '--model', MODEL], { input: lines.join('\n') + '\n', encoding: 'utf8' });
    const crlf = spawnSync(process.execPath, [CLI, 'tokenize', '--model', MODEL], { input: lines.join('\r\n') + '\r\n', encoding: 'utf8' });
    expect(lf.status).toBe(0);
    expect(crlf.stdout).toBe(lf.stdout);
  });
});
