// The corpus reader (src/node/text-input/corpus-reader.ts) on its own, with answers written out:
// line splitting across its 1 MiB read chunks (offsets of every line), the text policy (a BOM only
// at byte 0, CRLF, blank lines, invalid UTF-8 named by its file offset), what a .txt and a .jsonl
// line become, and the scan (passage count, size, the file's sha256, duplicate ids naming both
// lines, an empty corpus). Index builds use all of it; a passage cut at the wrong byte would be
// indexed without a complaint.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusFormat, countNonBlankLines, parsePassage, readRawLines, scanCorpus, type RawLine } from '../src/node/text-input/corpus-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string | Uint8Array, ext = '.txt'): string {
  const path = join(dir, `c${files++}${ext}`);
  writeFileSync(path, content);
  return path;
}

async function lines(path: string): Promise<Array<{ text: string; line: number; start?: number; end: number }>> {
  const out = [];
  for await (const raw of readRawLines(path)) out.push({ text: Buffer.from(raw.bytes).toString('utf8'), line: raw.line, start: raw.start, end: raw.end });
  return out;
}

const raw = (text: string | number[], line = 1, start = 0): RawLine => {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : Uint8Array.from(text);
  return { bytes, line, start, end: start + bytes.length + 1 };
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'no error';
};

describe('readRawLines', () => {
  it('gives every line with its number and byte range, the last one without a newline too', async () => {
    expect(await lines(file('ab\n\nc\r\nlast'))).toEqual([
      { text: 'ab', line: 1, start: 0, end: 3 },
      { text: '', line: 2, start: 3, end: 4 },
      { text: 'c\r', line: 3, start: 4, end: 7 },
      { text: 'last', line: 4, start: 7, end: 11 },
    ]);
    expect(await lines(file(''))).toEqual([]);
    expect(await lines(file('\n'))).toEqual([{ text: '', line: 1, start: 0, end: 1 }]);
  });

  it('splits lines that straddle its 1 MiB read chunks at the right bytes', async () => {
    const MiB = 1 << 20;
    // Line 1 ends 3 bytes before the first chunk's end; line 2 runs across it; line 3 ends exactly
    // on the second chunk's end (its newline is the chunk's last byte).
    const l1 = 'a'.repeat(MiB - 4);
    const l2 = 'b'.repeat(10);
    const l3 = 'c'.repeat(2 * MiB - (l1.length + 1 + l2.length + 1) - 1);
    const got = await lines(file(`${l1}\n${l2}\n${l3}\nd`));
    expect(got.map((l) => [l.text.length, l.line, l.start, l.end])).toEqual([
      [l1.length, 1, 0, MiB - 3],
      [10, 2, MiB - 3, MiB + 8],
      [l3.length, 3, MiB + 8, 2 * MiB],
      [1, 4, 2 * MiB, 2 * MiB + 1],
    ]);
    expect(got.map((l) => l.text[0])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a missing corpus', async () => {
    const error = await lines(join(dir, 'none.txt')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FS_NOT_FOUND', message: expect.stringContaining(join(dir, 'none.txt')) });
  });
});

describe('parsePassage', () => {
  it('.txt: the line is the passage, its id the line number; blank lines are none; CRLF and a first BOM go', () => {
    expect(parsePassage(raw('고혈압 관리', 7, 40), 'txt', 'c.txt')).toEqual({ id: '7', text: '고혈압 관리', line: 7 });
    expect(parsePassage(raw(' \t \r', 2, 5), 'txt', 'c.txt')).toBeNull();
    expect(parsePassage(raw('a\r', 2, 5), 'txt', 'c.txt')).toEqual({ id: '2', text: 'a', line: 2 });
    expect(parsePassage(raw('a\rb', 2, 5), 'txt', 'c.txt')?.text).toBe('a\rb');
    expect(parsePassage(raw([0xef, 0xbb, 0xbf, 0x61], 1, 0), 'txt', 'c.txt')?.text).toBe('a');
    expect(parsePassage(raw([0xef, 0xbb, 0xbf, 0x61], 2, 9), 'txt', 'c.txt')?.text).toBe('\uFEFFa');
    // Without a start offset, only line 1 is at the file's start.
    expect(parsePassage({ bytes: Uint8Array.from([0xef, 0xbb, 0xbf, 0x62]), line: 1, end: 5 }, 'txt', 'c.txt')?.text).toBe('b');
    expect(parsePassage({ bytes: Uint8Array.from([0xef, 0xbb, 0xbf, 0x62]), line: 3, end: 20 }, 'txt', 'c.txt')?.text).toBe('\uFEFFb');
  });

  it('.jsonl: {"id", "text"} with a string or finite number id', () => {
    expect(parsePassage(raw('{"id": "d-1", "text": "x"}'), 'jsonl', 'c.jsonl')).toEqual({ id: 'd-1', text: 'x', line: 1 });
    expect(parsePassage(raw('{"id": 2, "text": "x", "extra": true}'), 'jsonl', 'c.jsonl')?.id).toBe('2');
    expect(parsePassage(raw('{"id": 1.5e3, "text": "x"}'), 'jsonl', 'c.jsonl')?.id).toBe('1500');
    expect(parsePassage(raw('   ', 4), 'jsonl', 'c.jsonl')).toBeNull();
  });

  it('refuses a bad line naming the file and line, and invalid UTF-8 by its file offset', () => {
    const bad = (text: string | number[], format: 'txt' | 'jsonl' = 'jsonl', line = 3, start = 100) => codeOf(() => parsePassage(raw(text, line, start), format, 'c.jsonl'));
    expect(bad('{"id": "a", "text": "x"')).toMatch(/^CORPUS_BAD_LINE: c\.jsonl line 3: not valid JSON/);
    for (const shape of ['["a", "x"]', '"x"', 'null', '{"text": "x"}', '{"id": true, "text": "x"}', '{"id": null, "text": "x"}', '{"id": "a", "text": 5}', '{"id": {}, "text": "x"}']) {
      expect(bad(shape), shape).toBe('CORPUS_BAD_LINE: c.jsonl line 3: expected an object {"id": string or number, "text": string}');
    }
    expect(bad('{"id": "a", "text": " \\t "}')).toBe('CORPUS_BAD_LINE: c.jsonl line 3: "text" is empty');
    expect(bad([0x61, 0x62, 0xc3, 0x28], 'txt')).toBe('CORPUS_BAD_LINE: c.jsonl line 3: not valid UTF-8 (byte 102 of the file)');
    expect(bad([0xed, 0xa0, 0x80], 'txt', 1, 0)).toBe('CORPUS_BAD_LINE: c.jsonl line 1: not valid UTF-8 (byte 0 of the file)');
  });
});

describe('scanCorpus, countNonBlankLines, corpusFormat', () => {
  it('counts passages, measures the file and hashes exactly its bytes', async () => {
    const content = '\uFEFFfirst\n\n  \nsecond\r\nthird';
    const path = file(content);
    const bytes = Buffer.from(content, 'utf8');
    expect(await scanCorpus(path)).toEqual({ passages: 3, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(await countNonBlankLines(path)).toBe(3); // "" and "  " are blank; "second\r" is not
    const withNewline = file('a\nb\n');
    expect(await scanCorpus(withNewline)).toEqual({ passages: 2, bytes: 4, sha256: createHash('sha256').update('a\nb\n').digest('hex') });
  });

  it('refuses a duplicate .jsonl id naming both lines, and an empty corpus; .txt ids are line numbers', async () => {
    const dup = file('{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n\n{"id": "a", "text": "z"}\n', '.jsonl');
    await expect(scanCorpus(dup)).rejects.toMatchObject({ code: 'CORPUS_DUPLICATE_ID', message: `${dup} line 4: id "a" is already used on line 1: ids must be unique` });
    const numeric = file('{"id": 1, "text": "x"}\n{"id": "1", "text": "y"}\n', '.jsonl');
    await expect(scanCorpus(numeric)).rejects.toMatchObject({ code: 'CORPUS_DUPLICATE_ID' });
    expect((await scanCorpus(file('same\nsame\n'))).passages).toBe(2);
    await expect(scanCorpus(file(' \n\r\n\t\n'))).rejects.toMatchObject({ code: 'CORPUS_EMPTY' });
  });

  it('names the format from the extension, any case', () => {
    expect(corpusFormat('a/b.TXT')).toBe('txt');
    expect(corpusFormat('b.jsonl')).toBe('jsonl');
    expect(codeOf(() => corpusFormat('b.csv'))).toMatch(/^CORPUS_BAD_FORMAT: b\.csv: unknown corpus format '\.csv'/);
    expect(codeOf(() => corpusFormat('corpus'))).toMatch(/'\(no extension\)'/);
  });
});

describe('what mutation testing found unchecked in corpus-reader.ts', () => {
  it('a line of only spaces, tabs, CR, VT or FF is blank for the progress count', async () => {
    expect(await countNonBlankLines(file(' \n\t\n\r\n\v\n\f\n \t\r\v\f\n'))).toBe(0);
    expect(await countNonBlankLines(file('\u00a0\n'))).toBe(1); // NBSP is not ASCII whitespace
  });

  it('quotes at most 200 characters of a duplicate id, and says why an empty corpus is refused', async () => {
    const id = 'i'.repeat(300);
    const dup = file(`{"id": "${id}", "text": "x"}\n{"id": "${id}", "text": "y"}\n`, '.jsonl');
    const error = (await scanCorpus(dup).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(`${dup} line 2: id "${'i'.repeat(200)}" is already used on line 1: ids must be unique`);
    const empty = file('\n \n');
    await expect(scanCorpus(empty)).rejects.toThrow(`corpus ${empty} has no passages (every line is blank): nothing to index`);
  });

  it('names a folder given as the corpus, and closes the file after every read', async () => {
    const error = (await lines(dir).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(`${dir}: cannot read the corpus: is a folder, not a file (EISDIR); give the path of a file`);
    if (!existsSync('/proc/self/fd')) return console.log('corpus-reader: descriptor count not checked (no /proc/self/fd here)');
    const path = file('a\nb\n');
    await lines(path);
    const before = readdirSync('/proc/self/fd').length;
    for (let k = 0; k < 20; k++) await lines(path);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('without a start offset, a bad byte is placed from the line end', () => {
    const bytes = Uint8Array.from([0x61, 0x62, 0xff]);
    expect(codeOf(() => parsePassage({ bytes, line: 2, end: 10 }, 'txt', 'c.txt'))).toBe('CORPUS_BAD_LINE: c.txt line 2: not valid UTF-8 (byte 9 of the file)');
  });
});
