// Owns: kmed's one policy for text input, as lines of UTF-8 (stdin of `kmed embed` / `kmed tokenize`,
// and any reader that wants the same rules):
//   - invalid UTF-8 is refused, naming the line and the byte offset of the first bad byte (never
//     replaced or dropped: a changed passage would give a wrong answer that looks right);
//   - a UTF-8 BOM (EF BB BF) at the very start of the input is skipped; anywhere else it is
//     ordinary text (U+FEFF);
//   - lines end at '\n'; one '\r' before it is removed (CRLF files); a lone '\r' is text.
// Does not own what a line means (JSON, passage): the callers parse the text.
import { KmedError } from '../../errors/errors.js';

export class TextInputError extends KmedError {}

export interface Utf8Line {
  /** The decoded line, without its line ending (and without the BOM on the first line). */
  text: string;
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte in the input. */
  start: number;
}

/** A longer line is not a line of text but a file that is not one record per line. */
export const MAX_LINE_BYTES = 64 << 20;

// ignoreBOM: true keeps a U+FEFF in the output; the default would silently drop one at the start of
// every decode() call, i.e. of every line, not only of the input.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decode one line. `start` is the line's byte offset in the input (a BOM is skipped only at 0);
 * `source` names the input in errors, e.g. 'stdin' or a file path. Throws TextInputError
 * (TEXT_INVALID_UTF8) naming line and byte offset.
 */
export function decodeUtf8Line(bytes: Uint8Array, line: number, start: number, source: string): string {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new TextInputError(
      'TEXT_INVALID_UTF8',
      `${source} line ${line}: not valid UTF-8 at byte offset ${start + at} (byte ${at} of the line, 0x${bytes[at].toString(16).padStart(2, '0')}); ` +
        'save the text as UTF-8',
    );
  }
  if (start === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return text;
}

/**
 * Index of the first byte of `bytes` that starts an invalid UTF-8 sequence (a bad lead byte, a
 * missing or wrong continuation byte, an overlong form, a surrogate, a code point above U+10FFFF,
 * or a sequence cut off by the end), or -1 when all is valid. Follows the Unicode table of
 * well-formed byte sequences (Table 3-7).
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => j < n && bytes[j] >= lo && bytes[j] <= hi;
  for (let i = 0; i < n; ) {
    const b = bytes[i];
    if (b < 0x80) i++;
    else if (b >= 0xc2 && b <= 0xdf) {
      if (!cont(i + 1)) return i;
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      const lo = b === 0xe0 ? 0xa0 : 0x80; // E0: no overlong forms
      const hi = b === 0xed ? 0x9f : 0xbf; // ED: no surrogates
      if (!cont(i + 1, lo, hi) || !cont(i + 2)) return i;
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      const lo = b === 0xf0 ? 0x90 : 0x80; // F0: no overlong forms
      const hi = b === 0xf4 ? 0x8f : 0xbf; // F4: nothing above U+10FFFF
      if (!cont(i + 1, lo, hi) || !cont(i + 2) || !cont(i + 3)) return i;
      i += 4;
    } else return i;
  }
  return -1;
}

/**
 * The lines of a byte stream (e.g. process.stdin), decoded by decodeUtf8Line. Memory holds at most
 * one line beyond the current chunk; a line over `maxLineBytes` is TextInputError (TEXT_LINE_TOO_LONG).
 */
export async function* readUtf8Lines(
  input: AsyncIterable<Uint8Array | string>,
  source: string,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<Utf8Line> {
  // The unfinished line as the pieces it arrived in (joined once, when its '\n' comes: joining on
  // every chunk would copy a long line over and over).
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let start = 0; // input offset of the unfinished line
  let line = 0;
  for await (const piece of input) {
    const chunk = typeof piece === 'string' ? new TextEncoder().encode(piece) : piece;
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      line++;
      if (pendingBytes + nl - from > maxLineBytes) throw tooLong(source, line, maxLineBytes);
      const bytes = pendingBytes === 0 ? chunk.subarray(from, nl) : join([...pending, chunk.subarray(from, nl)], pendingBytes + nl - from);
      yield { text: decodeUtf8Line(bytes, line, start, source), line, start };
      start += bytes.length + 1;
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
    }
    if (from < chunk.length) {
      // Copy: the stream may reuse its chunk's memory.
      pending.push(chunk.slice(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > maxLineBytes) throw tooLong(source, line + 1, maxLineBytes);
    }
  }
  if (pendingBytes > 0) {
    line++;
    yield { text: decodeUtf8Line(join(pending, pendingBytes), line, start, source), line, start };
  }
}

function tooLong(source: string, line: number, max: number): TextInputError {
  return new TextInputError('TEXT_LINE_TOO_LONG', `${source} line ${line}: longer than ${max} bytes; is this one record per line?`);
}

function join(pieces: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
