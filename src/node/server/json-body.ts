// Owns: reading a JSON request body as `kmed serve` wants it — the bytes must be UTF-8 (invalid
// bytes are refused with their offset, as the CLI refuses them, never replaced: a changed text is
// a wrong vector that looks right), a non-UTF-8 charset is refused, and the nesting of arrays and
// objects is measured by one byte scan before JSON.parse runs, so a body nested a million deep is
// refused in one pass instead of holding the event loop. The parse itself is Fastify's (with its
// __proto__ / constructor poisoning checks).
// Does not own the body's size or time limits (Fastify / node:http, set in app.ts) or its schema
// (request-schema.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { firstInvalidUtf8 } from '../text-input/utf8-lines.js';
import { badRequest, HttpError } from './http-error.js';

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Byte offset at which the nesting of arrays and objects in JSON text `bytes` first goes deeper
 * than `maxDepth`, or -1. Brackets inside strings do not count. The text need not be valid JSON
 * (the parser judges that later): the scan only has to be linear and allocation-free. Safe on
 * UTF-8 bytes, since every byte of a multi-byte sequence is >= 0x80.
 */
export function jsonDepthExceeded(bytes: Uint8Array, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > maxDepth) return i;
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) {
      depth--;
    }
  }
  return -1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Replace Fastify's application/json parser with the strict one described above. */
export function useStrictJsonParser(app: FastifyInstance, maxJsonDepth: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer | string, done) => {
    try {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        throw new HttpError(415, 'SERVER_UNSUPPORTED_MEDIA_TYPE', `the body's charset is ${charset.slice(0, 40)}: send application/json in UTF-8`);
      }
      let text: string;
      try {
        text = UTF8.decode(bytes);
      } catch {
        const at = firstInvalidUtf8(bytes);
        throw badRequest(null, `the request body is not valid UTF-8 at byte offset ${at} (0x${bytes[at].toString(16).padStart(2, '0')}): send the JSON in UTF-8`, 'SERVER_INVALID_UTF8');
      }
      const deep = jsonDepthExceeded(bytes, maxJsonDepth);
      if (deep >= 0) {
        throw badRequest(null, `the request body nests arrays and objects deeper than ${maxJsonDepth} levels (at byte offset ${deep})`, 'SERVER_JSON_TOO_DEEP');
      }
      // A BOM would make JSON.parse fail; RFC 8259 lets a parser ignore one.
      parseJson(request, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, done);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
