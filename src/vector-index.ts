// Owns: the index file format — layout, serialisation of a small in-memory index, and validated
// random-access reading (VectorIndex) of header, vectors, ids and texts from any ByteSource, so an
// index of any size is read piece by piece and a damaged file is a typed error, never a bad read.
// Does not own: building an index from a corpus (node/index-builder.ts writes this same layout with
// `encodeHeader`) or scoring (similarity.ts).
//
// Layout (all integers little-endian; u64 values must stay below 2^53):
//
//   offset  size  field
//   0       8     magic "KMEDIDX\0"
//   8       4     u32 format version (1)
//   12      4     u32 dimension D
//   16      8     u64 count N (passages)
//   24      4     u32 meta length M (UTF-8 JSON at offset 64, see IndexMeta)
//   28      4     u32 reserved, 0
//   32      8     u64 vectors offset   = align16(64 + M)
//   40      8     u64 offsets offset   = vectors offset + N·D·4
//   48      8     u64 strings offset   = offsets offset + (2N + 1)·8
//   56      8     u64 file length      = strings offset + S
//   64      M     meta JSON, then zero padding to the vectors offset
//   ...           vectors: N rows of D float32 (the encoder's raw output, not normalised)
//   ...           offsets: 2N + 1 u64 into the strings block: [2i] id i start, [2i+1] text i start,
//                 [2i+2] the next id's start (= text i end); [0] = 0 and [2N] = S
//   ...           strings: S bytes of UTF-8, id 0, text 0, id 1, text 1, ...
//
// Every offset is implied by (M, D, N, S), so a reader recomputes them and any disagreement — or a
// file length that differs from the real size — is reported as corruption before anything is read.
import type { ByteSource } from './byte-source.js';
import { bytesSource } from './byte-source.js';
import { KmedError } from './errors.js';
import type { ModelIdentity } from './model-identity.js';

export class IndexError extends KmedError {}

export const INDEX_MAGIC = 'KMEDIDX\0';
export const INDEX_FORMAT_VERSION = 1;
export const PREAMBLE_BYTES = 64;
/** Beyond this a "dimension" is a corrupt header, not a model (BERT-large is 1024). */
export const MAX_DIMENSION = 65536;
const MAX_META_BYTES = 1 << 20;

/** What the index was made with: enough to refuse searching it with the wrong models. */
export interface IndexMeta {
  /** The passage encoder whose vectors are stored. */
  context_model: ModelIdentity;
  /** The question encoder meant to search it (null when unknown at build time). */
  question_model: ModelIdentity | null;
  /** Pooling used for the stored vectors ('pooler', 'cls' or 'mean'); queries must use the same. */
  pooling: string;
  /** Truncation length used when embedding passages. */
  max_length: number;
  /** The corpus the passages came from, when built from a file. */
  corpus?: { name: string; sha256?: string };
  /** Free-form producer string, e.g. 'kmed-dpr 0.1.0'. */
  created_by?: string;
}

export interface IndexLayout {
  dimension: number;
  count: number;
  metaLength: number;
  vectorsOffset: number;
  offsetsOffset: number;
  stringsOffset: number;
  stringsLength: number;
  fileLength: number;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** The byte layout implied by the four free sizes. */
export function computeLayout(metaLength: number, dimension: number, count: number, stringsLength: number): IndexLayout {
  const vectorsOffset = align16(PREAMBLE_BYTES + metaLength);
  const offsetsOffset = vectorsOffset + count * dimension * 4;
  const stringsOffset = offsetsOffset + (2 * count + 1) * 8;
  const fileLength = stringsOffset + stringsLength;
  if (!Number.isSafeInteger(fileLength)) {
    throw new IndexError('INDEX_TOO_LARGE', `an index of ${count} × ${dimension} vectors is too large to address`);
  }
  return { dimension, count, metaLength, vectorsOffset, offsetsOffset, stringsOffset, stringsLength, fileLength };
}

function checkMeta(meta: IndexMeta, where: string): void {
  const isIdentity = (m: unknown): m is ModelIdentity =>
    typeof m === 'object' && m !== null && typeof (m as ModelIdentity).name === 'string' &&
    typeof (m as ModelIdentity).fingerprint === 'string';
  if (
    typeof meta !== 'object' || meta === null || !isIdentity(meta.context_model) ||
    !(meta.question_model === null || isIdentity(meta.question_model)) ||
    typeof meta.pooling !== 'string' || !Number.isInteger(meta.max_length)
  ) {
    throw new IndexError(
      'INDEX_BAD_META',
      `${where}: the metadata must hold context_model {name, fingerprint}, question_model, pooling and max_length`,
    );
  }
}

/**
 * Preamble + meta JSON + padding: the bytes from offset 0 up to the vectors. A writer that streams
 * vectors and strings writes exactly these first (or last, into a reserved gap) and then the blocks
 * in layout order.
 */
export function encodeHeader(
  meta: IndexMeta,
  dimension: number,
  count: number,
  stringsLength: number,
): { bytes: Uint8Array; layout: IndexLayout } {
  checkMeta(meta, 'index header');
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
    throw new IndexError('INDEX_BAD_DIMENSION', `dimension ${dimension} is outside 1..${MAX_DIMENSION}`);
  }
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  if (metaBytes.length > MAX_META_BYTES) {
    throw new IndexError('INDEX_BAD_META', `index metadata is ${metaBytes.length} bytes (limit ${MAX_META_BYTES})`);
  }
  const layout = computeLayout(metaBytes.length, dimension, count, stringsLength);
  const bytes = new Uint8Array(layout.vectorsOffset);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(INDEX_MAGIC), 0);
  view.setUint32(8, INDEX_FORMAT_VERSION, true);
  view.setUint32(12, dimension, true);
  view.setBigUint64(16, BigInt(count), true);
  view.setUint32(24, metaBytes.length, true);
  view.setUint32(28, 0, true);
  view.setBigUint64(32, BigInt(layout.vectorsOffset), true);
  view.setBigUint64(40, BigInt(layout.offsetsOffset), true);
  view.setBigUint64(48, BigInt(layout.stringsOffset), true);
  view.setBigUint64(56, BigInt(layout.fileLength), true);
  bytes.set(metaBytes, PREAMBLE_BYTES);
  return { bytes, layout };
}

/** Little-endian float32 bytes of `v` (a copy on big-endian hosts, a view of a copy elsewhere). */
export function float32Bytes(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i], true);
  return out;
}

export interface IndexEntries {
  meta: IndexMeta;
  dimension: number;
  /** One vector of `dimension` floats per passage. */
  vectors: ArrayLike<number>[];
  ids: string[];
  texts: string[];
}

/** A whole index in memory (for browsers and small corpora; the Node builder streams instead). */
export function serializeIndex(entries: IndexEntries): Uint8Array {
  const { meta, dimension, vectors, ids, texts } = entries;
  const count = vectors.length;
  if (ids.length !== count || texts.length !== count) {
    throw new IndexError(
      'INDEX_BAD_INPUT',
      `index input has ${count} vectors, ${ids.length} ids and ${texts.length} texts: they must match`,
    );
  }
  const encoder = new TextEncoder();
  const strings: Uint8Array[] = [];
  const offsets = new Array<number>(2 * count + 1);
  let s = 0;
  for (let i = 0; i < count; i++) {
    const id = encoder.encode(ids[i]);
    const text = encoder.encode(texts[i]);
    offsets[2 * i] = s;
    offsets[2 * i + 1] = s + id.length;
    s += id.length + text.length;
    strings.push(id, text);
  }
  offsets[2 * count] = s;
  const { bytes: header, layout } = encodeHeader(meta, dimension, count, s);
  const out = new Uint8Array(layout.fileLength);
  const view = new DataView(out.buffer);
  out.set(header, 0);
  for (let i = 0; i < count; i++) {
    const v = vectors[i];
    if (v.length !== dimension) {
      throw new IndexError('INDEX_BAD_INPUT', `vector ${i} has ${v.length} dimensions, expected ${dimension}`);
    }
    const base = layout.vectorsOffset + i * dimension * 4;
    for (let d = 0; d < dimension; d++) {
      if (!Number.isFinite(v[d])) {
        throw new IndexError('INDEX_BAD_INPUT', `vector ${i} has a non-finite value at dimension ${d}`);
      }
      view.setFloat32(base + d * 4, v[d], true);
    }
  }
  for (let j = 0; j < offsets.length; j++) view.setBigUint64(layout.offsetsOffset + j * 8, BigInt(offsets[j]), true);
  let o = layout.stringsOffset;
  for (const part of strings) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One passage of an index. */
export interface IndexEntry {
  id: string;
  text: string;
}

/**
 * A validated, read-only view of an index file. Opening reads the preamble, the metadata and the
 * offsets table (16 bytes per passage) and checks them; vectors and strings are read on demand.
 */
export class VectorIndex {
  readonly name: string;
  readonly meta: IndexMeta;
  readonly layout: IndexLayout;
  private readonly source: ByteSource;
  private readonly offsets: Float64Array;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  private constructor(source: ByteSource, meta: IndexMeta, layout: IndexLayout, offsets: Float64Array) {
    this.source = source;
    this.name = source.name;
    this.meta = meta;
    this.layout = layout;
    this.offsets = offsets;
  }

  get dimension(): number {
    return this.layout.dimension;
  }

  get count(): number {
    return this.layout.count;
  }

  static fromBytes(bytes: Uint8Array, name = 'index (bytes)'): VectorIndex {
    return VectorIndex.open(bytesSource(bytes, name));
  }

  static open(source: ByteSource): VectorIndex {
    const name = source.name;
    const fail = (code: string, message: string): never => {
      throw new IndexError(code, `${name}: ${message}`);
    };
    if (source.size < PREAMBLE_BYTES) {
      fail('INDEX_TRUNCATED', `${source.size} bytes is too short for an index (the header alone is ${PREAMBLE_BYTES})`);
    }
    const pre = new Uint8Array(PREAMBLE_BYTES);
    source.readInto(0, pre);
    const view = new DataView(pre.buffer);
    const magic = new TextDecoder('latin1').decode(pre.subarray(0, 8));
    if (magic !== INDEX_MAGIC) {
      fail('INDEX_BAD_MAGIC', `not a kmed index (bytes 0..8 are ${JSON.stringify(magic)}, expected "KMEDIDX\\0")`);
    }
    const version = view.getUint32(8, true);
    if (version !== INDEX_FORMAT_VERSION) {
      fail('INDEX_UNSUPPORTED_VERSION', `format version ${version} at offset 8; this kmed reads version ${INDEX_FORMAT_VERSION}`);
    }
    const u64 = (offset: number, field: string): number => {
      const v = view.getBigUint64(offset, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('INDEX_CORRUPT', `${field} at offset ${offset} is ${v}, beyond any real file`);
      return Number(v);
    };
    const dimension = view.getUint32(12, true);
    if (dimension < 1 || dimension > MAX_DIMENSION) {
      fail('INDEX_CORRUPT', `dimension ${dimension} at offset 12 is outside 1..${MAX_DIMENSION}`);
    }
    const count = u64(16, 'passage count');
    const metaLength = view.getUint32(24, true);
    if (metaLength > MAX_META_BYTES) fail('INDEX_CORRUPT', `metadata length ${metaLength} at offset 24 exceeds ${MAX_META_BYTES}`);
    const fileLength = u64(56, 'file length');
    if (fileLength !== source.size) {
      const how = fileLength > source.size ? 'INDEX_TRUNCATED' : 'INDEX_CORRUPT';
      fail(how, `header at offset 56 says the file is ${fileLength} bytes but it is ${source.size}` +
        (how === 'INDEX_TRUNCATED' ? ' (truncated: rebuild it with kmed index)' : ''));
    }
    // Bound the count by the real size before any arithmetic on it can overflow or allocate.
    if (count > source.size / (dimension * 4 + 16)) {
      fail('INDEX_TRUNCATED', `header at offset 16 claims ${count} passages, more than its ${source.size} bytes can hold`);
    }
    const stringsOffset = u64(48, 'strings offset');
    if (stringsOffset > fileLength) fail('INDEX_CORRUPT', `strings offset ${stringsOffset} at offset 48 is past the end (${fileLength})`);
    const layout = computeLayout(metaLength, dimension, count, fileLength - stringsOffset);
    const stored: Array<[number, string, number]> = [
      [32, 'vectors offset', layout.vectorsOffset],
      [40, 'offsets-table offset', layout.offsetsOffset],
      [48, 'strings offset', layout.stringsOffset],
    ];
    for (const [at, field, expected] of stored) {
      const got = u64(at, field);
      if (got !== expected) fail('INDEX_CORRUPT', `${field} at offset ${at} is ${got}, expected ${expected} for this header`);
    }

    const metaBytes = new Uint8Array(metaLength);
    source.readInto(PREAMBLE_BYTES, metaBytes);
    let meta: IndexMeta;
    try {
      meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(metaBytes)) as IndexMeta;
    } catch (error) {
      return fail('INDEX_BAD_META', `metadata at offset ${PREAMBLE_BYTES} is not valid UTF-8 JSON (${(error as Error).message})`);
    }
    checkMeta(meta, name);

    // The offsets table: checked once here so every later string read is in bounds.
    const entries = 2 * count + 1;
    const offsets = new Float64Array(entries);
    const CHUNK = 8192;
    const buf = new Uint8Array(CHUNK * 8);
    const bufView = new DataView(buf.buffer);
    let previous = 0;
    for (let j0 = 0; j0 < entries; j0 += CHUNK) {
      const n = Math.min(CHUNK, entries - j0);
      source.readInto(layout.offsetsOffset + j0 * 8, buf.subarray(0, n * 8));
      for (let j = 0; j < n; j++) {
        const v = bufView.getBigUint64(j * 8, true);
        const at = layout.offsetsOffset + (j0 + j) * 8;
        const value = Number(v);
        if (v > BigInt(layout.stringsLength) || value < previous || (j0 + j === 0 && value !== 0)) {
          fail('INDEX_CORRUPT', `string offset ${v} at byte ${at} is out of order or past the strings block (${layout.stringsLength} bytes)`);
        }
        offsets[j0 + j] = value;
        previous = value;
      }
    }
    if (offsets[entries - 1] !== layout.stringsLength) {
      fail('INDEX_CORRUPT', `the last string offset (byte ${layout.offsetsOffset + (entries - 1) * 8}) is ${offsets[entries - 1]}, expected ${layout.stringsLength}`);
    }
    return new VectorIndex(source, meta, layout, offsets);
  }

  /**
   * Copy rows [row0, row0 + rows) into `dst` (rows × dimension floats). A non-finite value is
   * corruption (an encoder never produces one) and is reported with its byte offset.
   */
  readVectors(dst: Float32Array, row0: number, rows: number): void {
    const D = this.dimension;
    if (!Number.isInteger(row0) || !Number.isInteger(rows) || row0 < 0 || rows < 0 || row0 + rows > this.count) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: rows [${row0}, ${row0 + rows}) are outside 0..${this.count}`);
    }
    if (dst.length < rows * D) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: destination holds ${dst.length} floats, ${rows * D} needed`);
    }
    const start = this.layout.vectorsOffset + row0 * D * 4;
    const bytes = new Uint8Array(dst.buffer, dst.byteOffset, rows * D * 4);
    this.source.readInto(start, bytes);
    if (!littleEndianHost) {
      const copy = bytes.slice();
      const view = new DataView(copy.buffer);
      for (let i = 0; i < rows * D; i++) dst[i] = view.getFloat32(i * 4, true);
    }
    for (let i = 0; i < rows * D; i++) {
      if (!Number.isFinite(dst[i])) {
        throw new IndexError(
          'INDEX_CORRUPT',
          `${this.name}: vector ${row0 + Math.floor(i / D)} holds a non-finite value at byte ${start + i * 4}`,
        );
      }
    }
  }

  /** All vectors of passage `i`, as a new array. */
  vector(i: number): Float32Array {
    const v = new Float32Array(this.dimension);
    this.readVectors(v, i, 1);
    return v;
  }

  private string(j: number, what: string, i: number): string {
    const start = this.offsets[j];
    const end = this.offsets[j + 1];
    const bytes = new Uint8Array(end - start);
    this.source.readInto(this.layout.stringsOffset + start, bytes);
    try {
      return this.decoder.decode(bytes);
    } catch {
      throw new IndexError(
        'INDEX_CORRUPT',
        `${this.name}: the ${what} of passage ${i} (byte ${this.layout.stringsOffset + start}) is not valid UTF-8`,
      );
    }
  }

  private checkRow(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: passage ${i} is outside 0..${this.count - 1}`);
    }
  }

  id(i: number): string {
    this.checkRow(i);
    return this.string(2 * i, 'id', i);
  }

  text(i: number): string {
    this.checkRow(i);
    return this.string(2 * i + 1, 'text', i);
  }

  entry(i: number): IndexEntry {
    return { id: this.id(i), text: this.text(i) };
  }
}
