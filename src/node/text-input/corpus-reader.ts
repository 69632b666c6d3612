// Owns: reading a corpus file as passages, line by line with bounded memory (Node only): `.txt` is
// one passage per line (blank lines skipped), `.jsonl` one {"id", "text"} object per line. Every
// passage carries the byte offset where its line ends, so an interrupted index build can record
// exactly how much of the corpus it has consumed. A bad line is an error naming file and line.
// Text policy (the same as every other text input of kmed): the bytes must be UTF-8 — invalid
// UTF-8 is refused naming the line and the file byte offset of the first bad byte, never replaced;
// a UTF-8 BOM (EF BB BF) at the very start of the file is skipped; a BOM anywhere else is ordinary
// text (U+FEFF). scanCorpus reads the whole corpus once before anything is embedded: every line
// parsed, ids unique (a duplicate names both lines), passages counted, the file's sha256.
// Does not own embedding or writing anything (index-builder.ts).
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { KmedError } from '../../errors/errors.js';
import { assertRegularFileAsync } from '../fs/regular-file.js';

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
  /** File offset of bytes[0]. */
  start?: number;
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
        yield { bytes: data.subarray(start, nl), line, end: position + nl + 1, start: position + start };
        start = nl + 1;
      }
      if (bytesRead === 0) {
        if (start < data.length) yield { bytes: data.subarray(start), line: line + 1, end: position + data.length, start: position + start };
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

// ignoreBOM: keep U+FEFF as text; the one BOM that is skipped (at byte 0 of the file) is cut below.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The passage on a line, or null for a blank line. Throws CorpusError naming path and line. */
export function parsePassage(raw: RawLine, format: CorpusFormat, path: string): Passage | null {
  let text: string;
  try {
    text = decoder.decode(raw.bytes);
  } catch {
    const at = (raw.start ?? raw.end - raw.bytes.length) + Math.max(0, firstInvalidUtf8(raw.bytes));
    throw new CorpusError('CORPUS_BAD_LINE', `${path} line ${raw.line}: not valid UTF-8 (byte ${at} of the file)`);
  }
  if ((raw.start ?? (raw.line === 1 ? 0 : 1)) === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
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

/**
 * Index of the first byte of `bytes` that does not belong to a well-formed UTF-8 sequence
 * (overlongs, surrogates and code points past U+10FFFF included, as TextDecoder judges), or -1.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (i + k >= n || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

export interface CorpusScan {
  /** Passages in the corpus (non-blank lines). */
  passages: number;
  /** File size in bytes, and its sha256 (lower-case hex). */
  bytes: number;
  sha256: string;
}

/**
 * Read the whole corpus once: every line must parse, every id must be unique (`.jsonl`; a `.txt`
 * passage's id is its line number), and the passages are counted and the file hashed. Throws
 * CorpusError naming the line (for a duplicate, both lines); an empty corpus is CORPUS_EMPTY.
 */
export async function scanCorpus(path: string, format: CorpusFormat = corpusFormat(path)): Promise<CorpusScan> {
  const hash = createHash('sha256');
  const seen = format === 'jsonl' ? new Map<string, number>() : null;
  let passages = 0;
  let bytes = 0;
  for await (const raw of readRawLines(path)) {
    hash.update(raw.bytes);
    if (raw.end - (raw.start ?? 0) > raw.bytes.length) hash.update('\n');
    bytes = raw.end;
    const passage = parsePassage(raw, format, path);
    if (passage === null) continue;
    if (seen) {
      const first = seen.get(passage.id);
      if (first !== undefined) {
        throw new CorpusError('CORPUS_DUPLICATE_ID', `${path} line ${passage.line}: id ${JSON.stringify(passage.id.slice(0, 200))} is already used on line ${first}: ids must be unique`);
      }
      seen.set(passage.id, passage.line);
    }
    passages++;
  }
  if (passages === 0) {
    throw new CorpusError('CORPUS_EMPTY', `corpus ${path} has no passages (every line is blank): nothing to index`);
  }
  return { passages, bytes, sha256: hash.digest('hex') };
}
