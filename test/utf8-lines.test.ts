// readUtf8Lines (src/node/text-input/utf8-lines.ts), the line reader behind `kmed embed` and
// `kmed tokenize` stdin, at its edges, with every answer written out: string and byte chunks, a
// final line with and without its newline, lines split across chunks, and the line-length limit
// exactly at, and one byte past, the limit, within one chunk and across chunks, naming the right
// line. (The decoding rules themselves: known-answers.test.ts and cli-text-input.test.ts.)
import { describe, expect, it } from 'vitest';
import { readUtf8Lines, type Utf8Line } from '../src/node/text-input/utf8-lines.js';

async function read(chunks: Array<string | Uint8Array>, max?: number): Promise<Utf8Line[]> {
  const out: Utf8Line[] = [];
  for await (const l of readUtf8Lines((async function* () { yield* chunks; })(), 'in', max)) out.push(l);
  return out;
}

async function failure(chunks: Array<string | Uint8Array>, max: number): Promise<string> {
  try {
    await read(chunks, max);
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'no error';
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('readUtf8Lines', () => {
  it('reads string chunks as their UTF-8 bytes', async () => {
    expect(await read(['가나\nd', 'e\n'])).toEqual([
      { text: '가나', line: 1, start: 0 },
      { text: 'de', line: 2, start: 7 },
    ]);
  });

  it('a final newline ends the last line (no empty line after it); without one the rest is a line', async () => {
    expect(await read([bytes('a\n')])).toEqual([{ text: 'a', line: 1, start: 0 }]);
    expect(await read([bytes('a\nb')])).toEqual([{ text: 'a', line: 1, start: 0 }, { text: 'b', line: 2, start: 2 }]);
    expect(await read([bytes('a\n'), bytes('b')])).toEqual([{ text: 'a', line: 1, start: 0 }, { text: 'b', line: 2, start: 2 }]);
    expect(await read([bytes('\n\n')])).toEqual([{ text: '', line: 1, start: 0 }, { text: '', line: 2, start: 1 }]);
    expect(await read([])).toEqual([]);
    expect(await read([new Uint8Array(0), bytes('')])).toEqual([]);
  });

  it('joins a line from three chunks, then reads the next lines of the same chunk from the right offset', async () => {
    expect(await read([bytes('ab'), bytes('cd'), bytes('e\nfg\nh\n')])).toEqual([
      { text: 'abcde', line: 1, start: 0 },
      { text: 'fg', line: 2, start: 6 },
      { text: 'h', line: 3, start: 9 },
    ]);
  });

  it('takes a line of exactly the limit, within a chunk and across chunks, and refuses one byte more', async () => {
    const max = 15;
    const exact = 'x'.repeat(max);
    expect((await read([bytes(`${exact}\n`)], max)).map((l) => l.text)).toEqual([exact]);
    expect((await read([bytes(exact.slice(0, 8)), bytes(exact.slice(8)), bytes('\n')], max)).map((l) => l.text)).toEqual([exact]);
    expect((await read([bytes(exact)], max)).map((l) => l.text)).toEqual([exact]);
    // Several lines in one chunk, each within the limit, their sum far beyond it.
    const nine = 'y'.repeat(9);
    expect((await read([bytes(`${nine}\n${nine}\n${nine}\n`)], max)).map((l) => l.text)).toEqual([nine, nine, nine]);

    const tooLong = (line: number) => `TEXT_LINE_TOO_LONG: in line ${line}: longer than ${max} bytes; is this one record per line?`;
    expect(await failure([bytes(`ok\n${'x'.repeat(max + 1)}\n`)], max)).toBe(tooLong(2));
    expect(await failure([bytes('ok\nxxxxxxxx'), bytes('xxxxxxxx\n')], max)).toBe(tooLong(2));
    expect(await failure([bytes('xxxxxxxx'), bytes('xxxxxxxx')], max)).toBe(tooLong(1));
    expect(await failure([bytes('a\nb\nxxxxxxxx'), bytes('xxxxxxxx')], max)).toBe(tooLong(3));
  });
});
