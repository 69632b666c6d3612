// Owns: a strict JSON reader for untrusted headers (safetensors) that keeps what JSON.parse throws
// away: each number's lexeme (so `2`, `2.0` and `4e0` stay distinct, and integers up to 2^64 - 1
// stay exact as bigint), every object key in order with its duplicates, and lone surrogate escapes
// refused. Its grammar is serde_json's (RFC 8259 plus a nesting limit of 127), because the official
// safetensors library reads headers with serde_json and we must accept and refuse the same files.
// Does not own what the values mean (safetensors.ts) or error wording beyond position and reason.

/** A parsed JSON value. Objects keep their entries in order, duplicates included. */
export type JsonValue =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string; /** The value when `text` is a plain non-negative integer below 2^64. */ u64: bigint | undefined }
  | { kind: 'array'; items: JsonValue[] }
  | { kind: 'object'; entries: Array<[string, JsonValue]> };

export class StrictJsonError extends Error {
  constructor(
    readonly reason: string,
    /** UTF-16 index into the text where the problem was found. */
    readonly index: number,
  ) {
    super(`${reason} at character ${index}`);
  }
}

/** serde_json's recursion limit: 128 nested arrays/objects fail, 127 pass. */
export const MAX_JSON_DEPTH = 127;
const U64_MAX = (1n << 64n) - 1n;

/** Parse `text` (one JSON value, surrounded by optional JSON whitespace). Throws StrictJsonError. */
export function parseStrictJson(text: string): JsonValue {
  let i = 0;
  const n = text.length;
  const fail = (reason: string, at = i): never => {
    throw new StrictJsonError(reason, at);
  };
  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      i++;
    }
  };
  const expectWord = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`invalid literal (expected ${word})`);
  };
  const hex4 = (): number => {
    if (i + 4 > n) fail('unexpected end of \\u escape');
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(i++);
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 55 : c >= 0x61 && c <= 0x66 ? c - 87 : -1;
      if (d < 0) fail('invalid \\u escape', i - 1);
      v = v * 16 + d;
    }
    return v;
  };
  const readString = (): string => {
    i++; // opening quote
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(runStart, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(runStart, i);
      const escAt = i;
      i++;
      const e = text[i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = hex4();
          if (u >= 0xdc00 && u <= 0xdfff) fail('lone trailing surrogate in \\u escape', escAt);
          if (u >= 0xd800 && u <= 0xdbff) {
            // A leading surrogate must be followed at once by an escaped trailing one.
            if (text[i] !== '\\' || text[i + 1] !== 'u') fail('lone leading surrogate in \\u escape', escAt);
            i += 2;
            const lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail('lone leading surrogate in \\u escape', escAt);
            out += String.fromCharCode(u, lo);
          } else {
            out += String.fromCharCode(u);
          }
          break;
        }
        default:
          fail('invalid escape', escAt);
      }
      runStart = i;
    }
  };
  const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
  const readNumber = (): JsonValue => {
    const start = i;
    if (text.charCodeAt(i) === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) fail('invalid number');
    if (text.charCodeAt(i) === 0x30) {
      i++;
      if (isDigit(text.charCodeAt(i))) fail('invalid number (leading zero)');
    } else {
      while (isDigit(text.charCodeAt(i))) i++;
    }
    let integer = true;
    if (text.charCodeAt(i) === 0x2e) {
      integer = false;
      i++;
      if (!isDigit(text.charCodeAt(i))) fail('invalid number (no digit after the point)');
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      i++;
      const s = text.charCodeAt(i);
      if (s === 0x2b || s === 0x2d) i++;
      if (!isDigit(text.charCodeAt(i))) fail('invalid number (no exponent digits)');
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const lexeme = text.slice(start, i);
    let u64: bigint | undefined;
    // Only a plain non-negative integer is an unsigned integer to serde_json; `-0`, `2.0`, `4e0`
    // and integers past 2^64 - 1 become floats, which a usize field refuses.
    if (integer && lexeme[0] !== '-' && lexeme.length <= 20) {
      const v = BigInt(lexeme);
      if (v <= U64_MAX) u64 = v;
    }
    return { kind: 'number', text: lexeme, u64 };
  };
  const readValue = (depth: number): JsonValue => {
    skipWs();
    if (i >= n) fail('unexpected end of input');
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth + 1 > MAX_JSON_DEPTH) fail('recursion limit exceeded');
      i++;
      skipWs();
      if (c === '[') {
        const items: JsonValue[] = [];
        if (text[i] === ']') {
          i++;
          return { kind: 'array', items };
        }
        for (;;) {
          items.push(readValue(depth + 1));
          skipWs();
          if (text[i] === ',') i++;
          else if (text[i] === ']') {
            i++;
            return { kind: 'array', items };
          } else fail("expected ',' or ']'");
        }
      }
      const entries: Array<[string, JsonValue]> = [];
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries };
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail('expected a string key');
        const key = readString();
        skipWs();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        entries.push([key, readValue(depth + 1)]);
        skipWs();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return { kind: 'object', entries };
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '"') return { kind: 'string', value: readString() };
    if (c === 't') return expectWord('true'), { kind: 'bool', value: true };
    if (c === 'f') return expectWord('false'), { kind: 'bool', value: false };
    if (c === 'n') return expectWord('null'), { kind: 'null' };
    if (c === '-' || isDigit(text.charCodeAt(i))) return readNumber();
    return fail('expected a value');
  };
  const value = readValue(0);
  skipWs();
  if (i < n) fail('trailing characters');
  return value;
}

/** Short description of a value's type, for messages. */
export function jsonKind(v: JsonValue): string {
  return v.kind === 'number' ? (v.u64 === undefined ? `number ${v.text.slice(0, 40)}` : 'integer') : v.kind;
}
