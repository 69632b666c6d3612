// Owns: reading a file of query texts for `kmed search --queries FILE` (Node only): JSON lines, one
// object with a non-empty string "text" per line (other fields, such as BEIR's "_id", are ignored),
// blank lines skipped, under kmed's text-input policy (utf8-lines.ts: invalid UTF-8 refused with its
// line and byte). Each problem is one QueryFileError naming the file and the line.
// Does not own: embedding or searching the queries (src/cli/search.ts).
import { createReadStream } from 'node:fs';
import { KmedError } from '../../errors/errors.js';
import { readUtf8Lines } from './utf8-lines.js';

export class QueryFileError extends KmedError {}

/** More queries than this in one file are refused (a corpus given by mistake, not a batch). */
export const MAX_QUERIES = 1_000_000;

/** The query texts of `path`, in order. */
export async function readQueryFile(path: string): Promise<string[]> {
  const texts: string[] = [];
  for await (const { text, line } of readUtf8Lines(createReadStream(path), path)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new QueryFileError('QUERIES_BAD_LINE', `${path} line ${line}: not valid JSON (${(error as Error).message})`);
    }
    const query = (value as { text?: unknown })?.text;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof query !== 'string') {
      throw new QueryFileError('QUERIES_BAD_LINE', `${path} line ${line}: expected an object {"text": string}`);
    }
    if (query.trim() === '') throw new QueryFileError('QUERIES_BAD_LINE', `${path} line ${line}: "text" is empty`);
    if (texts.length === MAX_QUERIES) throw new QueryFileError('QUERIES_BAD_LINE', `${path} line ${line}: more than ${MAX_QUERIES} queries`);
    texts.push(query);
  }
  if (texts.length === 0) throw new QueryFileError('QUERIES_EMPTY', `${path} holds no queries (one JSON object {"text": ...} per line)`);
  return texts;
}
