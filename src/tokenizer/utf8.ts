// Owns: turning the caller's file contents (string, Uint8Array or ArrayBuffer) into a string,
// strictly: invalid UTF-8 is an error naming the file and the byte offset, never a silent U+FFFD.
// Does not own: reading files (src/node/model-files/tokenizer-files.ts) or parsing what they say.
import { TokenizerError } from './errors.js';

/** What BertTokenizer.fromFiles accepts for each file. */
export type FileContents = string | Uint8Array | ArrayBuffer;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * The text of `contents`. A leading byte-order mark is removed (HF would keep it as part of the
 * first token or key, which only ever breaks a file).
 */
export function decodeText(contents: FileContents, fileName: string): string {
  let text: string;
  if (typeof contents === 'string') {
    text = contents;
  } else if (contents instanceof Uint8Array || contents instanceof ArrayBuffer) {
    const bytes = contents instanceof Uint8Array ? contents : new Uint8Array(contents);
    try {
      text = decoder.decode(bytes);
    } catch (cause) {
      const at = firstInvalidUtf8Offset(bytes);
      throw new TokenizerError('TOKENIZER_BAD_ENCODING', `${fileName}: not valid UTF-8 at byte offset ${at}`, { cause });
    }
  } else {
    throw new TokenizerError(
      'TOKENIZER_BAD_INPUT',
      `${fileName}: expected a string, Uint8Array or ArrayBuffer, got ${describe(contents)}`,
    );
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parse JSON text, naming the file and the parser's complaint on failure. */
export function parseJsonFile(contents: FileContents, fileName: string): unknown {
  const text = decodeText(contents, fileName);
  try {
    return JSON.parse(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new TokenizerError('TOKENIZER_BAD_JSON', `${fileName}: malformed JSON (${why})`, { cause });
  }
}

/** A short description of a value of the wrong type, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}
