// Owns: reading a corpus file as passages, line by line with bounded memory (Node only): `.txt` is
// one passage per line (blank lines skipped), `.jsonl` one {"id", "text"} object per line. Every
// passage carries the byte offset where its line ends, so an interrupted index build can record
// exactly how much of the corpus it has consumed. A bad line is an error naming file and line.
// Does not own embedding or writing anything (index-builder.ts).
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { KmedError } from '../errors.js';
import { assertRegularFileAsync } from './regular-file.js';

export class CorpusError extends KmedError {}

export type CorpusFormat = 'txt' | 'jsonl';

export interface Passage {
  id: string;
  text: string;
  /** 1-based line number in the corpus file. */
  line: number;
}

/** One raw line: its bytes (no '\n'), its number, and the byte offset just past its '\n'. */
export interface RawLine {
  bytes: Uint8Array;
  line: number;
  end: number;
}

const READ_CHUNK = 1 << 20;
/** A longer "line" is not a passage but a file that is not one passage per line. */
export const MAX_LINE_BYTES = 64 << 20;

export function corpusFormat(path: string): CorpusFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.txt') return 'txt';
  if (ext === '.jsonl') return 'jsonl';
  throw new CorpusError(
    'CORPUS_BAD_FORMAT',
    `${path}: unknown corpus format '${ext || '(no extension)'}': use .txt (one passage per line) or .jsonl ({"id", "text"} per line)`,
  );
}

/** Lines of `path` with their end offsets; reads 1 MiB at a time, holds at most one line beyond.
 *  A line's `bytes` are only valid until the next line is requested (the read buffer is reused). */
export async function* readRawLines(path: string): AsyncGenerator<RawLine> {
  await assertRegularFileAsync(path, 'corpus'); // before open: a FIFO would block it forever
  let handle;
  try {
    handle = await open(path, 'r');
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
  } catch (error) {
    await handle?.close();
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CorpusError(
      missing ? 'CORPUS_NOT_FOUND' : 'CORPUS_UNREADABLE',
      missing ? `corpus ${path} not found` : `corpus ${path} cannot be read: ${(error as Error).message}`,
    );
  }
  try {
    const chunk = new Uint8Array(READ_CHUNK);
    let carry: Uint8Array = new Uint8Array(0);
    let position = 0; // file offset of carry[0]
    let line = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, position + carry.length);
      const data = bytesRead === 0 ? carry : concat(carry, chunk.subarray(0, bytesRead));
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
        line++;
        yield { bytes: data.subarray(start, nl), line, end: position + nl + 1 };
        start = nl + 1;
      }
      if (bytesRead === 0) {
        if (start < data.length) yield { bytes: data.subarray(start), line: line + 1, end: position + data.length };
        return;
      }
      if (data.length - start > MAX_LINE_BYTES) {
        throw new CorpusError('CORPUS_BAD_LINE', `${path} line ${line + 1}: longer than ${MAX_LINE_BYTES >> 20} MiB; is this one passage per line?`);
      }
      carry = data.slice(start);
      position += start;
    }
  } finally {
    await handle.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The passage on a line, or null for a blank line. Throws CorpusError naming path and line. */
export function parsePassage(raw: RawLine, format: CorpusFormat, path: string): Passage | null {
  let text: string;
  try {
    text = decoder.decode(raw.bytes);
  } catch {
    throw new CorpusError('CORPUS_BAD_LINE', `${path} line ${raw.line}: not valid UTF-8 (line ends at byte ${raw.end})`);
  }
  if (raw.line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.trim() === '') return null;
  if (format === 'txt') return { id: String(raw.line), text, line: raw.line };

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorpusError('CORPUS_BAD_LINE', `${path} line ${raw.line}: not valid JSON (${(error as Error).message})`);
  }
  const record = value as { id?: unknown; text?: unknown };
  const idOk = typeof record?.id === 'string' || (typeof record?.id === 'number' && Number.isFinite(record.id));
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !idOk || typeof record.text !== 'string') {
    throw new CorpusError('CORPUS_BAD_LINE', `${path} line ${raw.line}: expected an object {"id": string or number, "text": string}`);
  }
  if ((record.text as string).trim() === '') {
    throw new CorpusError('CORPUS_BAD_LINE', `${path} line ${raw.line}: "text" is empty`);
  }
  return { id: String(record.id), text: record.text as string, line: raw.line };
}

/** Rough passage count for a progress bar: lines holding anything but ASCII whitespace. */
export async function countNonBlankLines(path: string): Promise<number> {
  let count = 0;
  for await (const raw of readRawLines(path)) {
    const b = raw.bytes;
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0b && c !== 0x0c) {
        count++;
        break;
      }
    }
  }
  return count;
}
