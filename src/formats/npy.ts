// Owns: reading NumPy .npy files of vectors (NpyMatrix) — the header parsed strictly (magic, version
// 1.0/2.0/3.0, a dict literal with exactly 'descr', 'fortran_order' and 'shape'), little-endian
// float32 or float16 in C order only, the data length checked against the shape, and rows read on
// demand from any ByteSource as f32 with every value checked finite — each problem a typed NpyError
// naming the file (and the row and column of a bad value). Hand-written and runtime-neutral (the
// search and the ANN index read vectors with it in any runtime).
// Does not own: what the vectors mean (the index builder, the CLI), or writing .npy files.
//
// The format (numpy.lib.format): "\x93NUMPY", major and minor version bytes, the header length
// (u16 LE in 1.0, u32 LE in 2.0 and 3.0), then the header: a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 768), } padded with spaces and ending
// in '\n' (Latin-1 in 1.0/2.0, UTF-8 in 3.0), then the data.
import type { ByteSource } from './byte-source.js';
import { KmedError } from '../errors/errors.js';

export class NpyError extends KmedError {}

export type NpyDtype = 'float32' | 'float16';

export interface NpyHeader {
  dtype: NpyDtype;
  /** Dimensions, outermost first (C order). */
  shape: number[];
  /** Byte offset of the first value. */
  dataOffset: number;
  /** Bytes per value (4 or 2). */
  itemSize: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Headers are a few hundred bytes; past this it is not a .npy header. */
const MAX_HEADER_BYTES = 1 << 16;
const DESCRS: Record<string, NpyDtype> = { '<f4': 'float32', '<f2': 'float16' };

/** Parse and check the header of `source` (a .npy file). */
export function parseNpyHeader(source: ByteSource): NpyHeader {
  const name = source.name;
  const fail = (code: 'NPY_BAD_MAGIC' | 'NPY_BAD_HEADER' | 'NPY_UNSUPPORTED_DTYPE' | 'NPY_FORTRAN_ORDER' | 'NPY_BAD_SHAPE' | 'NPY_SIZE_MISMATCH', message: string): never => {
    throw new NpyError(code, `${name}: ${message}`);
  };
  if (source.size < 10) fail('NPY_BAD_MAGIC', `${source.size} bytes is too short for a .npy file`);
  const prefix = new Uint8Array(12);
  source.readInto(0, prefix.subarray(0, Math.min(12, source.size)));
  if (!MAGIC.every((b, i) => prefix[i] === b)) fail('NPY_BAD_MAGIC', 'not a .npy file (it does not start with \\x93NUMPY): save the vectors with numpy.save');
  const major = prefix[6];
  const minor = prefix[7];
  if (![1, 2, 3].includes(major) || minor !== 0) fail('NPY_BAD_HEADER', `.npy format version ${major}.${minor} is not 1.0, 2.0 or 3.0`);
  const view = new DataView(prefix.buffer);
  const lengthBytes = major === 1 ? 2 : 4;
  if (source.size < 8 + lengthBytes) fail('NPY_BAD_HEADER', 'the file ends inside its header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (headerLength > MAX_HEADER_BYTES || dataOffset > source.size) fail('NPY_BAD_HEADER', `header length ${headerLength} at byte 8 runs past the file (${source.size} bytes)`);
  const headerBytes = new Uint8Array(headerLength);
  source.readInto(8 + lengthBytes, headerBytes);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('NPY_BAD_HEADER', 'the header is not valid UTF-8');
  }
  if (!header.endsWith('\n')) fail('NPY_BAD_HEADER', 'the header does not end with a newline');
  const dict = parseDict(header.trimEnd(), (why) => fail('NPY_BAD_HEADER', `header ${JSON.stringify(header.trimEnd())}: ${why}`));
  const { descr, fortran_order: fortran, shape } = dict;
  if (typeof descr !== 'string') return fail('NPY_BAD_HEADER', "'descr' must be a dtype string");
  const dtype = DESCRS[descr];
  if (!dtype) {
    const hint = descr === '>f4' || descr === '>f2' ? ' (big-endian: save little-endian, e.g. arr.astype("<f4"))' : ' (save float32 or float16: arr.astype(np.float32))';
    fail('NPY_UNSUPPORTED_DTYPE', `dtype '${descr}' is not little-endian float32 ('<f4') or float16 ('<f2')${hint}`);
  }
  if (fortran !== false) {
    fail('NPY_FORTRAN_ORDER', `fortran_order is ${String(fortran)}: the vectors must be in C order (save np.ascontiguousarray(arr))`);
  }
  if (!Array.isArray(shape)) return fail('NPY_BAD_HEADER', "'shape' must be a tuple");
  const itemSize = dtype === 'float32' ? 4 : 2;
  const values = shape.reduce((n, d) => n * d, 1);
  const expected = dataOffset + values * itemSize;
  if (!Number.isSafeInteger(expected) || expected !== source.size) {
    fail('NPY_SIZE_MISMATCH', `shape (${shape.join(', ')}) of ${dtype} needs ${values * itemSize} bytes of data after the ${dataOffset}-byte header, but the file has ${source.size - dataOffset}` +
      (expected > source.size ? ' (truncated?)' : ''));
  }
  return { dtype, shape, dataOffset, itemSize };
}

type PyValue = string | boolean | number[];

/** The dict literal of a .npy header: string keys; values a string, True/False or a tuple of
 *  non-negative integers. Exactly the three keys numpy writes; anything else is refused. */
function parseDict(text: string, fail: (why: string) => never): Record<string, PyValue> {
  let i = 0;
  const ws = () => {
    while (text[i] === ' ') i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) fail(`expected '${c}' at character ${i}`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') fail(`expected a quoted string at character ${i}`);
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail('unterminated string');
    const s = text.slice(i + 1, end);
    if (s.includes('\\')) fail('escapes in strings are not supported');
    i = end + 1;
    return s;
  };
  const value = (): PyValue => {
    ws();
    if (text[i] === "'" || text[i] === '"') return str();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (text[i] === '(') {
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ')') {
          i++;
          break;
        }
        const m = /^\d+/.exec(text.slice(i));
        if (!m) fail(`expected a dimension at character ${i}`);
        const n = Number(m![0]);
        if (!Number.isSafeInteger(n)) fail(`dimension ${m![0]} is too large`);
        dims.push(n);
        i += m![0].length;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') fail(`expected ',' or ')' at character ${i}`);
      }
      return dims;
    }
    return fail(`unexpected value at character ${i}`);
  };
  const out: Record<string, PyValue> = {};
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const key = str();
    if (!['descr', 'fortran_order', 'shape'].includes(key)) fail(`unknown key '${key}'`);
    if (key in out) fail(`key '${key}' appears twice`);
    expect(':');
    out[key] = value();
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(`expected ',' or '}' at character ${i}`);
  }
  ws();
  if (i !== text.length) fail(`text after the dict at character ${i}`);
  for (const key of ['descr', 'fortran_order', 'shape']) if (!(key in out)) fail(`key '${key}' is missing`);
  return out;
}

/** f16 bit pattern -> number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * A 2-D .npy file of float32 or float16 vectors, [rows, cols] in C order (a 1-D file is one row),
 * read row by row as f32.
 */
export class NpyMatrix {
  readonly name: string;
  readonly header: NpyHeader;
  readonly rows: number;
  readonly cols: number;
  private readonly source: ByteSource;

  private constructor(source: ByteSource, header: NpyHeader, rows: number, cols: number) {
    this.source = source;
    this.name = source.name;
    this.header = header;
    this.rows = rows;
    this.cols = cols;
  }

  /** Open `source`, checking the header and size (NpyError otherwise). */
  static open(source: ByteSource, options: { allowVector?: boolean } = {}): NpyMatrix {
    const header = parseNpyHeader(source);
    const shape = header.shape;
    const ok = shape.length === 2 || (options.allowVector && shape.length === 1);
    if (!ok) {
      throw new NpyError('NPY_BAD_SHAPE', `${source.name}: shape (${shape.join(', ')}) is not 2-D [rows, dimension]${options.allowVector ? ' (or 1-D: one vector)' : ''}`);
    }
    const [rows, cols] = shape.length === 2 ? shape : [1, shape[0]];
    if (cols < 1) throw new NpyError('NPY_BAD_SHAPE', `${source.name}: shape (${shape.join(', ')}) has vectors of 0 dimensions`);
    return new NpyMatrix(source, header, rows, cols);
  }

  get dtype(): NpyDtype {
    return this.header.dtype;
  }

  /** Rows [row0, row0 + n) as f32 into dst (n × cols floats); NpyError (NPY_NOT_FINITE) naming the
   *  file, row and column of the first value that is ±∞ or NaN (or beyond float32, for f16 none). */
  readRows(dst: Float32Array, row0: number, n: number): void {
    const { cols, header } = this;
    if (!Number.isInteger(row0) || !Number.isInteger(n) || row0 < 0 || n < 0 || row0 + n > this.rows || dst.length < n * cols) {
      throw new NpyError('NPY_OUT_OF_RANGE', `${this.name}: rows [${row0}, ${row0 + n}) are outside 0..${this.rows} (or the destination is short)`);
    }
    const bytes = new Uint8Array(n * cols * header.itemSize);
    this.source.readInto(header.dataOffset + row0 * cols * header.itemSize, bytes);
    const view = new DataView(bytes.buffer);
    const count = n * cols;
    if (header.dtype === 'float32') {
      for (let i = 0; i < count; i++) dst[i] = view.getFloat32(i * 4, true);
    } else {
      for (let i = 0; i < count; i++) dst[i] = halfToFloat(view.getUint16(i * 2, true));
    }
    for (let i = 0; i < count; i++) {
      if (!Number.isFinite(dst[i])) {
        const r = row0 + Math.floor(i / cols);
        throw new NpyError('NPY_NOT_FINITE', `${this.name}: row ${r} (passage ${r}) has a non-finite value (${dst[i]}) at column ${i % cols} (byte ${header.dataOffset + (row0 * cols + i) * header.itemSize})`);
      }
    }
  }
}
