// Owns: producing the bytes of an index file (format 3) — IndexEncoder turns raw vectors into their
// sections (unit rows, norms, scan rows and scales), takes offsets and strings (or sections copied
// whole from another index), checksums each section as it goes, and ends with the checksum table
// and the header — and serializeIndex, a whole small index in memory. Writes come out as
// {at, bytes} pairs, so one encoder serves a Uint8Array in memory and a file written piece by
// piece (node/indexing/index-file-writer.ts) alike, and a given input always gives the same bytes.
// Does not own: the layout (index-layout.ts), the row arithmetic (row-encoding.ts) or reading
// (vector-index.ts).
import {
  BlockChecksums, checksumTable, encodeHeader, IndexError, SECTIONS,
  type IndexLayout, type IndexMeta, type ScanDtype, type SectionName,
} from './index-layout.js';
import { Xxh32 } from '../formats/checksum.js';
import { f16Rows, int8Rows, unitRows } from './row-encoding.js';

/** Bytes to write at a file offset. */
export interface IndexWrite {
  at: number;
  bytes: Uint8Array;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian bytes of a typed array (a view of it on little-endian hosts, a copy elsewhere). */
export function littleEndianBytes(a: Float32Array | Uint16Array | Int8Array | Uint32Array): Uint8Array {
  if (littleEndianHost || a.BYTES_PER_ELEMENT === 1) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) view.setFloat32(i * 4, a[i], true);
    else if (a instanceof Uint16Array) view.setUint16(i * 2, a[i], true);
    else view.setUint32(i * 4, a[i], true);
  }
  return out;
}

/** Streams one index's sections into their places; see the file header. */
export class IndexEncoder {
  readonly layout: IndexLayout;
  private readonly meta: IndexMeta;
  private readonly cursor = {} as Record<SectionName, number>;
  private readonly sums = {} as Record<SectionName, BlockChecksums>;
  private rowsDone = 0;

  constructor(meta: IndexMeta, dimension: number, count: number, stringsLength: number, scan: ScanDtype | null = null) {
    this.meta = meta;
    this.layout = encodeHeader(meta, dimension, count, stringsLength, scan, 0).layout;
    for (const name of SECTIONS) {
      this.cursor[name] = 0;
      this.sums[name] = new BlockChecksums(this.layout.blockSize);
    }
  }

  /**
   * The next `raw.length / dimension` passages' vectors, as the encoder gave them: scaled to unit
   * length in place (`raw` is overwritten), with their norms and scan rows. Throws IndexError
   * (INDEX_BAD_INPUT) naming the passage for a non-finite value.
   */
  rows(raw: Float32Array): IndexWrite[] {
    const D = this.layout.dimension;
    const n = raw.length / D;
    if (!Number.isInteger(n) || this.rowsDone + n > this.layout.count) {
      throw new IndexError('INDEX_BAD_INPUT', `${raw.length} floats are not whole ${D}-dimensional rows within the index's ${this.layout.count}`);
    }
    const norms = new Float32Array(n);
    unitRows(raw, D, norms, this.rowsDone);
    this.rowsDone += n;
    const writes = [this.section('vectors', littleEndianBytes(raw)), this.section('norms', littleEndianBytes(norms))];
    if (this.layout.scan === 'f16') writes.push(this.section('scan', littleEndianBytes(f16Rows(raw))));
    if (this.layout.scan === 'int8') {
      const { values, scales } = int8Rows(raw, D, n);
      writes.push(this.section('scan', littleEndianBytes(values)), this.section('scales', littleEndianBytes(scales)));
    }
    return writes;
  }

  /** Append `bytes` to `name` (offsets and strings; or any section copied whole from an index of
   *  the same layout, as merging shards does). */
  section(name: SectionName, bytes: Uint8Array): IndexWrite {
    const span = this.layout.sections[name];
    const at = this.cursor[name];
    if (at + bytes.length > span.length) {
      throw new IndexError('INDEX_BAD_INPUT', `${bytes.length} more bytes of ${name} would pass its ${span.length}`);
    }
    this.cursor[name] = at + bytes.length;
    this.sums[name].update(bytes);
    return { at: span.start + at, bytes };
  }

  /** The checksum table and the header, once every section is complete. */
  finish(): IndexWrite[] {
    for (const name of SECTIONS) {
      if (this.cursor[name] !== this.layout.sections[name].length) {
        throw new IndexError('INDEX_BAD_INPUT', `${name} holds ${this.cursor[name]} of its ${this.layout.sections[name].length} bytes`);
      }
    }
    const perSection = {} as Record<SectionName, number[]>;
    for (const name of SECTIONS) perSection[name] = this.sums[name].finish();
    const table = checksumTable(perSection);
    const { layout } = this;
    const header = encodeHeader(this.meta, layout.dimension, layout.count, layout.stringsLength, layout.scan, new Xxh32().update(table).digest());
    return [{ at: layout.checksumsOffset, bytes: table }, { at: 0, bytes: header.bytes }];
  }
}

export interface IndexEntries {
  meta: IndexMeta;
  dimension: number;
  /** One vector of `dimension` floats per passage (any length: stored as unit rows and norms). */
  vectors: ArrayLike<number>[];
  ids: string[];
  texts: string[];
  /** A smaller copy of the rows for a first pass (default none). */
  scan?: ScanDtype | null;
}

/** The offsets table and strings block of ids and texts (UTF-8), as stored. */
export function encodeStrings(ids: string[], texts: string[]): { offsets: Uint8Array; strings: Uint8Array } {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets = new Uint8Array((2 * ids.length + 1) * 8);
  const view = new DataView(offsets.buffer);
  let s = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = encoder.encode(ids[i]);
    const text = encoder.encode(texts[i]);
    view.setBigUint64(16 * i, BigInt(s), true);
    view.setBigUint64(16 * i + 8, BigInt(s + id.length), true);
    s += id.length + text.length;
    parts.push(id, text);
  }
  view.setBigUint64(16 * ids.length, BigInt(s), true);
  const strings = new Uint8Array(s);
  let o = 0;
  for (const p of parts) {
    strings.set(p, o);
    o += p.length;
  }
  return { offsets, strings };
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
  const raw = new Float32Array(count * dimension);
  vectors.forEach((v, i) => {
    if (v.length !== dimension) {
      throw new IndexError('INDEX_BAD_INPUT', `vector ${i} has ${v.length} dimensions, expected ${dimension}`);
    }
    for (let d = 0; d < dimension; d++) raw[i * dimension + d] = v[d];
  });
  // Non-finite values (and finite float64s past float32's range) are refused by rows(), by passage.
  const { offsets, strings } = encodeStrings(ids, texts);
  const encoder = new IndexEncoder(meta, dimension, count, strings.length, entries.scan ?? null);
  const out = new Uint8Array(encoder.layout.fileLength);
  const put = (w: IndexWrite) => out.set(w.bytes, w.at);
  encoder.rows(raw).forEach(put);
  put(encoder.section('offsets', offsets));
  put(encoder.section('strings', strings));
  encoder.finish().forEach(put);
  return out;
}
