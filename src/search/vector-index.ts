// Owns: the index file format — layout, checksums, serialisation of a small in-memory index, and
// validated random-access reading (VectorIndex) of header, vectors, ids and texts from any
// ByteSource, so an index of any size is read piece by piece and a damaged file is a typed error,
// never a bad read.
// Does not own: building an index from a corpus (node/indexing/index-builder.ts writes this same layout with
// `encodeHeader` and `BlockChecksums`), merging shards (node/indexing/index-merge.ts) or scoring
// (similarity.ts).
//
// Layout, format version 2 (all integers little-endian; u64 values must stay below 2^53):
//
//   offset  size  field
//   0       8     magic "KMEDIDX\0"
//   8       4     u32 format version (2)
//   12      4     u32 dimension D
//   16      8     u64 count N (passages)
//   24      4     u32 meta length M (UTF-8 JSON at offset 96, see IndexMeta)
//   28      4     u32 checksum block size B (65536)
//   32      8     u64 vectors offset   = align16(96 + M)
//   40      8     u64 offsets offset   = vectors offset + N·D·4
//   48      8     u64 strings offset   = offsets offset + (2N + 1)·8
//   56      8     u64 checksums offset = strings offset + S
//   64      8     u64 file length      = checksums offset + 4·(blocks(vectors) + blocks(offsets) + blocks(strings))
//   72      4     u32 CRC-32C of bytes 96 .. vectors offset (meta JSON and its zero padding)
//   76      4     u32 CRC-32C of the checksum table
//   80      12    reserved, 0
//   92      4     u32 CRC-32C of bytes 0 .. 92 (this preamble)
//   96      M     meta JSON, then zero padding to the vectors offset
//   ...           vectors: N rows of D float32 (the encoder's raw output, not normalised)
//   ...           offsets: 2N + 1 u64 into the strings block: [2i] id i start, [2i+1] text i start,
//                 [2i+2] the next id's start (= text i end); [0] = 0 and [2N] = S
//   ...           strings: S bytes of UTF-8, id 0, text 0, id 1, text 1, ...
//   ...           checksum table: u32 CRC-32C of every B-byte block (the last one shorter) of the
//                 vectors, then of the offsets, then of the strings (an empty section has none)
//
// Every offset is implied by (M, D, N, S), so a reader recomputes them and any disagreement — or a
// file length that differs from the real size — is reported as corruption before anything is read.
// Every byte of the file is under exactly one checksum. CRC-32C (src/formats/checksum.ts) was chosen over
// xxHash64 by bench/checksum.ts: ~1.3 GB/s against ~0.1 GB/s for 64-bit arithmetic emulated in JS.
//
// When checks happen. `open` verifies the preamble, the metadata and the checksum table (4 bytes
// per 64 KiB: ~190 KB at 1M × 768), so it costs milliseconds at any size. The offsets table (16
// bytes per passage) is read, verified and checked whole on first use (a string read, a search
// session, verify). The vectors and strings (3 GB and more at 1M × 768) are verified lazily, block
// by block, the first time any byte of a block is read through this VectorIndex, and a verified
// block is remembered for the life of the object. openSearchSession verifies the offsets and
// strings and a search reads every vector block before it returns anything, so a damaged index
// never yields a result; `verify()` (and `kmed verify-index`) checks the whole file at once.
import type { ByteSource } from '../formats/byte-source.js';
import { bytesSource } from '../formats/byte-source.js';
import { crc32c } from '../formats/checksum.js';
import { Sha256 } from '../formats/sha256.js';
import { KmedError, type KmedErrorCode } from '../errors/errors.js';
import type { ModelIdentity } from '../model-identity.js';

export class IndexError extends KmedError {}

export const INDEX_MAGIC = 'KMEDIDX\0';
export const INDEX_FORMAT_VERSION = 2;
export const PREAMBLE_BYTES = 96;
/** Bytes per checksummed block of the vectors, offsets and strings sections. */
export const CHECKSUM_BLOCK_BYTES = 65536;
/** Beyond this a "dimension" is a corrupt header, not a model (BERT-large is 1024). */
export const MAX_DIMENSION = 65536;
const MAX_META_BYTES = 1 << 20;
const HEADER_CRC_AT = 92;

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
  /** How the context encoder's weights were held ('f32', 'f16', 'int8'; absent: not recorded).
   *  int8 rows differ slightly from f32 ones, so a build never mixes them. */
  dtype?: string;
  /** The corpus the passages came from, when built from a file. */
  corpus?: { name: string; sha256?: string };
  /** Free-form producer string, e.g. 'kmed-dpr 0.1.0'. */
  created_by?: string;
  /** Only in a shard file (`kmed index --shard I/N`): which slice of the corpus's passages it holds. */
  shard?: ShardInfo;
}

/** A shard holds passages [first, first + count) of the `total` passages of its corpus. */
export interface ShardInfo {
  index: number;
  of: number;
  first: number;
  total: number;
}

export type SectionName = 'vectors' | 'offsets' | 'strings';
export const SECTIONS: readonly SectionName[] = ['vectors', 'offsets', 'strings'];

export interface IndexLayout {
  dimension: number;
  count: number;
  metaLength: number;
  blockSize: number;
  vectorsOffset: number;
  offsetsOffset: number;
  stringsOffset: number;
  stringsLength: number;
  checksumsOffset: number;
  fileLength: number;
  /** Start, length and first checksum-table entry of each checksummed section. */
  sections: Record<SectionName, { start: number; length: number; firstBlock: number; blocks: number }>;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** The byte layout implied by the four free sizes (and the block size). */
export function computeLayout(
  metaLength: number,
  dimension: number,
  count: number,
  stringsLength: number,
  blockSize = CHECKSUM_BLOCK_BYTES,
): IndexLayout {
  const vectorsOffset = align16(PREAMBLE_BYTES + metaLength);
  const offsetsOffset = vectorsOffset + count * dimension * 4;
  const stringsOffset = offsetsOffset + (2 * count + 1) * 8;
  const checksumsOffset = stringsOffset + stringsLength;
  const blocks = (n: number) => Math.ceil(n / blockSize);
  const vb = blocks(count * dimension * 4);
  const ob = blocks((2 * count + 1) * 8);
  const sb = blocks(stringsLength);
  const fileLength = checksumsOffset + 4 * (vb + ob + sb);
  if (!Number.isSafeInteger(fileLength)) {
    throw new IndexError('INDEX_TOO_LARGE', `an index of ${count} × ${dimension} vectors is too large to address`);
  }
  return {
    dimension, count, metaLength, blockSize, vectorsOffset, offsetsOffset, stringsOffset, stringsLength, checksumsOffset, fileLength,
    sections: {
      vectors: { start: vectorsOffset, length: offsetsOffset - vectorsOffset, firstBlock: 0, blocks: vb },
      offsets: { start: offsetsOffset, length: stringsOffset - offsetsOffset, firstBlock: vb, blocks: ob },
      strings: { start: stringsOffset, length: stringsLength, firstBlock: vb + ob, blocks: sb },
    },
  };
}

/**
 * CRC-32C of each `blockSize`-byte block of a byte stream fed in pieces of any size (a writer
 * checksums a section while it streams it out). `table()` gives the little-endian u32 entries.
 */
export class BlockChecksums {
  private readonly blockSize: number;
  private readonly crcs: number[] = [];
  private crc = 0;
  private filled = 0;

  constructor(blockSize = CHECKSUM_BLOCK_BYTES) {
    this.blockSize = blockSize;
  }

  update(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      const n = Math.min(this.blockSize - this.filled, bytes.length - i);
      this.crc = crc32c(bytes, this.crc, i, i + n);
      this.filled += n;
      i += n;
      if (this.filled === this.blockSize) {
        this.crcs.push(this.crc);
        this.crc = 0;
        this.filled = 0;
      }
    }
  }

  /** The CRCs of all blocks so far, the unfinished last one included; the object is then done. */
  finish(): number[] {
    if (this.filled > 0) this.crcs.push(this.crc);
    this.filled = 0;
    return this.crcs;
  }
}

/** The checksum table (vectors', offsets' then strings' block CRCs) as bytes. */
export function checksumTable(vectors: number[], offsets: number[], strings: number[]): Uint8Array {
  const all = [...vectors, ...offsets, ...strings];
  const out = new Uint8Array(all.length * 4);
  const view = new DataView(out.buffer);
  all.forEach((c, i) => view.setUint32(i * 4, c, true));
  return out;
}

function checkMeta(meta: IndexMeta, where: string): void {
  const isIdentity = (m: unknown): m is ModelIdentity =>
    typeof m === 'object' && m !== null && typeof (m as ModelIdentity).name === 'string' &&
    typeof (m as ModelIdentity).fingerprint === 'string';
  const shard = meta?.shard;
  const shardOk = shard === undefined || (typeof shard === 'object' && shard !== null &&
    [shard.index, shard.of, shard.first, shard.total].every((n) => Number.isSafeInteger(n) && n >= 0) &&
    shard.index < shard.of);
  if (
    typeof meta !== 'object' || meta === null || !isIdentity(meta.context_model) ||
    !(meta.question_model === null || isIdentity(meta.question_model)) ||
    typeof meta.pooling !== 'string' || !Number.isInteger(meta.max_length) || !shardOk
  ) {
    throw new IndexError(
      'INDEX_BAD_META',
      `${where}: the metadata must hold context_model {name, fingerprint}, question_model, pooling and max_length`,
    );
  }
}

/**
 * Preamble + meta JSON + padding: the bytes from offset 0 up to the vectors. A writer that streams
 * the sections writes a placeholder of this length first, then the sections and the checksum
 * table, and finally these bytes, which need the table's CRC.
 */
export function encodeHeader(
  meta: IndexMeta,
  dimension: number,
  count: number,
  stringsLength: number,
  checksumTableCrc: number,
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
  view.setUint32(28, layout.blockSize, true);
  view.setBigUint64(32, BigInt(layout.vectorsOffset), true);
  view.setBigUint64(40, BigInt(layout.offsetsOffset), true);
  view.setBigUint64(48, BigInt(layout.stringsOffset), true);
  view.setBigUint64(56, BigInt(layout.checksumsOffset), true);
  view.setBigUint64(64, BigInt(layout.fileLength), true);
  bytes.set(metaBytes, PREAMBLE_BYTES);
  view.setUint32(72, crc32c(bytes, 0, PREAMBLE_BYTES, bytes.length), true);
  view.setUint32(76, checksumTableCrc >>> 0, true);
  view.setUint32(HEADER_CRC_AT, crc32c(bytes, 0, 0, HEADER_CRC_AT), true);
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
  // Sizes first (the header's own length depends only on the meta); the header is filled in last.
  const { layout } = encodeHeader(meta, dimension, count, s, 0);
  const out = new Uint8Array(layout.fileLength);
  const view = new DataView(out.buffer);
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
  const crcs = SECTIONS.map((name) => {
    const { start, length } = layout.sections[name];
    const sums = new BlockChecksums(layout.blockSize);
    sums.update(out.subarray(start, start + length));
    return sums.finish();
  });
  const table = checksumTable(crcs[0], crcs[1], crcs[2]);
  out.set(table, layout.checksumsOffset);
  out.set(encodeHeader(meta, dimension, count, s, crc32c(table)).bytes, 0);
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian u32s of `bytes` on a big-endian host. */
function u32Copy(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** One passage of an index. */
export interface IndexEntry {
  id: string;
  text: string;
}

/** How to rebuild, for messages about a file that cannot be used. */
const REBUILD = 'rebuild it with `kmed index --corpus CORPUS --out INDEX --force` (or restore a good copy)';

/** Blocks checksummed per read while verifying (4 MiB): bounds the scratch buffer. */
const VERIFY_GROUP_BLOCKS = 64;

/**
 * A validated, read-only view of an index file. Opening reads and checks the preamble, the
 * metadata and the checksum table; the offsets table is checked on first use, and vectors and
 * strings are read on demand, each checksum block verified the first time it is read (see the
 * file header).
 */
export class VectorIndex {
  readonly name: string;
  readonly meta: IndexMeta;
  readonly layout: IndexLayout;
  private readonly source: ByteSource;
  /** The offsets table as u32 halves (little-endian order): entry j = [2j] + [2j+1]·2^32; loaded,
   *  verified and checked on first use (loadOffsets). */
  private offsetsTable: Uint32Array | null = null;
  private readonly table: Uint32Array;
  /** verified[b] = 1 once block b (numbered as in the checksum table) matched its CRC. */
  private readonly verified: Uint8Array;
  // ignoreBOM: an id or text that begins with U+FEFF keeps it (the default would drop it).
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private scratch = new Uint8Array(0);
  private fingerprintHex: string | undefined;

  private constructor(source: ByteSource, meta: IndexMeta, layout: IndexLayout, table: Uint32Array, verified: Uint8Array) {
    this.source = source;
    this.name = source.name;
    this.meta = meta;
    this.layout = layout;
    this.table = table;
    this.verified = verified;
  }

  get dimension(): number {
    return this.layout.dimension;
  }

  get count(): number {
    return this.layout.count;
  }

  /**
   * sha256 (hex) of the header, the metadata and the checksum table: every byte of the file is
   * under one of them, so two indexes with the same fingerprint hold the same bytes (as far as
   * their block checksums tell). What a graph index beside this file is bound to. Costs one read
   * of the header and metadata (the table is in memory since open).
   */
  fingerprint(): string {
    if (this.fingerprintHex) return this.fingerprintHex;
    const hasher = new Sha256();
    const head = new Uint8Array(this.layout.vectorsOffset);
    this.source.readInto(0, head);
    hasher.update(head);
    const table = new Uint8Array(this.table.length * 4);
    const view = new DataView(table.buffer);
    this.table.forEach((crc, i) => view.setUint32(i * 4, crc, true));
    hasher.update(table);
    this.fingerprintHex = hasher.digestHex();
    return this.fingerprintHex;
  }

  static fromBytes(bytes: Uint8Array, name = 'index (bytes)'): VectorIndex {
    return VectorIndex.open(bytesSource(bytes, name));
  }

  static open(source: ByteSource): VectorIndex {
    const name = source.name;
    const fail = (code: KmedErrorCode, message: string): never => {
      throw new IndexError(code, `${name}: ${message}`);
    };
    if (source.size < 12) {
      fail('INDEX_TRUNCATED', `${source.size} bytes is too short for an index (the header alone is ${PREAMBLE_BYTES})`);
    }
    const first = new Uint8Array(12);
    source.readInto(0, first);
    const magic = new TextDecoder('latin1').decode(first.subarray(0, 8));
    if (magic !== INDEX_MAGIC) {
      fail('INDEX_BAD_MAGIC', `not a kmed index (bytes 0..8 are ${JSON.stringify(magic)}, expected "KMEDIDX\\0")`);
    }
    const version = new DataView(first.buffer).getUint32(8, true);
    if (version !== INDEX_FORMAT_VERSION) {
      if (version >= 1 && version < INDEX_FORMAT_VERSION) {
        fail('INDEX_OLD_VERSION', `index format version ${version} was written by an older kmed (this one reads version ` +
          `${INDEX_FORMAT_VERSION}, which adds checksums): rebuild it with \`kmed index --corpus CORPUS --out ${name} --force\``);
      }
      fail('INDEX_UNSUPPORTED_VERSION', `format version ${version} at offset 8; this kmed reads version ${INDEX_FORMAT_VERSION}` +
        (version > INDEX_FORMAT_VERSION && version < 100 ? ' (written by a newer kmed: upgrade kmed)' : ` (damaged header: ${REBUILD})`));
    }
    if (source.size < PREAMBLE_BYTES) {
      fail('INDEX_TRUNCATED', `${source.size} bytes is too short for an index (the header alone is ${PREAMBLE_BYTES}): ${REBUILD}`);
    }
    const pre = new Uint8Array(PREAMBLE_BYTES);
    source.readInto(0, pre);
    const view = new DataView(pre.buffer);
    if (crc32c(pre, 0, 0, HEADER_CRC_AT) !== view.getUint32(HEADER_CRC_AT, true)) {
      fail('INDEX_CHECKSUM', `the header (bytes 0..${HEADER_CRC_AT}) fails its CRC-32C at offset ${HEADER_CRC_AT}: the file is damaged; ${REBUILD}`);
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
    const blockSize = view.getUint32(28, true);
    if (blockSize < 4096 || blockSize > 1 << 26 || (blockSize & (blockSize - 1)) !== 0) {
      fail('INDEX_CORRUPT', `checksum block size ${blockSize} at offset 28 is not a power of two in 4 KiB..64 MiB`);
    }
    const fileLength = u64(64, 'file length');
    if (fileLength !== source.size) {
      const how = fileLength > source.size ? 'INDEX_TRUNCATED' : 'INDEX_CORRUPT';
      fail(how, `header at offset 64 says the file is ${fileLength} bytes but it is ${source.size}` +
        (how === 'INDEX_TRUNCATED' ? ` (truncated: ${REBUILD})` : `: ${REBUILD}`));
    }
    // Bound the count by the real size before any arithmetic on it can overflow or allocate.
    if (count > source.size / (dimension * 4 + 16)) {
      fail('INDEX_TRUNCATED', `header at offset 16 claims ${count} passages, more than its ${source.size} bytes can hold`);
    }
    const stringsOffset = u64(48, 'strings offset');
    const checksumsOffset = u64(56, 'checksums offset');
    if (stringsOffset > checksumsOffset || checksumsOffset > fileLength) {
      fail('INDEX_CORRUPT', `strings offset ${stringsOffset} (at 48) and checksums offset ${checksumsOffset} (at 56) are out of order or past the end (${fileLength})`);
    }
    const layout = computeLayout(metaLength, dimension, count, checksumsOffset - stringsOffset, blockSize);
    const stored: Array<[number, string, number]> = [
      [32, 'vectors offset', layout.vectorsOffset],
      [40, 'offsets-table offset', layout.offsetsOffset],
      [48, 'strings offset', layout.stringsOffset],
      [64, 'file length', layout.fileLength],
    ];
    for (const [at, field, expected] of stored) {
      const got = u64(at, field);
      if (got !== expected) fail('INDEX_CORRUPT', `${field} at offset ${at} is ${got}, expected ${expected} for this header`);
    }

    const metaBytes = new Uint8Array(layout.vectorsOffset - PREAMBLE_BYTES);
    source.readInto(PREAMBLE_BYTES, metaBytes);
    if (crc32c(metaBytes) !== view.getUint32(72, true)) {
      fail('INDEX_CHECKSUM', `the metadata (bytes ${PREAMBLE_BYTES}..${layout.vectorsOffset}) fails its CRC-32C at offset 72: the file is damaged; ${REBUILD}`);
    }
    let meta: IndexMeta;
    try {
      meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(metaBytes.subarray(0, metaLength))) as IndexMeta;
    } catch (error) {
      return fail('INDEX_BAD_META', `metadata at offset ${PREAMBLE_BYTES} is not valid UTF-8 JSON (${(error as Error).message})`);
    }
    checkMeta(meta, name);

    const blocks = (layout.fileLength - layout.checksumsOffset) / 4;
    const tableBytes = new Uint8Array(blocks * 4);
    source.readInto(layout.checksumsOffset, tableBytes);
    if (crc32c(tableBytes) !== view.getUint32(76, true)) {
      fail('INDEX_CHECKSUM', `the checksum table (bytes ${layout.checksumsOffset}..${layout.fileLength}) fails its CRC-32C at offset 76: the file is damaged; ${REBUILD}`);
    }
    const table = new Uint32Array(blocks);
    const tableView = new DataView(tableBytes.buffer);
    for (let b = 0; b < blocks; b++) table[b] = tableView.getUint32(b * 4, true);
    const verified = new Uint8Array(blocks);

    return new VectorIndex(source, meta, layout, table, verified);
  }


  /**
   * The offsets table: read (16 bytes per passage), verified against its checksums and checked (in
   * order, within the strings block) the first time a string is read, the index is verified or a
   * search session opens; not at open, which then reads only the header, meta and checksum table.
   */
  private loadOffsets(): Uint32Array {
    if (this.offsetsTable) return this.offsetsTable;
    const layout = this.layout;
    const blockSize = layout.blockSize;
    const count = layout.count;
    const fail = (code: KmedErrorCode, message: string): never => {
      throw new IndexError(code, `${this.name}: ${message}`);
    };
    // Read in one piece, verified block by block and checked once, so every string read is in
    // bounds. Kept as the file's bytes (no decoded copy: 16 bytes per
    // passage once, not twice) and read through u32 halves, which is also what the check uses.
    const section = layout.sections.offsets;
    const offsetBytes = new Uint8Array(section.length);
    this.source.readInto(section.start, offsetBytes);
    for (let b = 0; b < section.blocks; b++) {
      const from = b * blockSize;
      const to = Math.min(from + blockSize, section.length);
      if (crc32c(offsetBytes, 0, from, to) !== this.table[section.firstBlock + b]) {
        fail('INDEX_CHECKSUM', `offsets block ${b} (bytes ${section.start + from}..${section.start + to}) fails its CRC-32C: the file is damaged; ${REBUILD}`);
      }
      this.verified[section.firstBlock + b] = 1;
    }
    const offsets = littleEndianHost ? new Uint32Array(offsetBytes.buffer, 0, section.length / 4) : u32Copy(offsetBytes);
    const entries = 2 * count + 1;
    let previous = 0;
    for (let j = 0; j < entries; j++) {
      const value = offsets[2 * j + 1] * 4294967296 + offsets[2 * j];
      if (value > layout.stringsLength || value < previous || (j === 0 && value !== 0)) {
        fail('INDEX_CORRUPT', `string offset ${value} at byte ${section.start + j * 8} is out of order or past the strings block (${layout.stringsLength} bytes)`);
      }
      previous = value;
    }
    if (previous !== layout.stringsLength) {
      fail('INDEX_CORRUPT', `the last string offset (byte ${layout.offsetsOffset + (entries - 1) * 8}) is ${previous}, expected ${layout.stringsLength}`);
    }
    this.offsetsTable = offsets;
    return offsets;
  }

  /**
   * Copy bytes [offset, offset + dst.length) of `section` into dst, first verifying every block
   * they touch that is not verified yet (reading whole blocks for that, a group at a time).
   */
  readSection(name: SectionName, offset: number, dst: Uint8Array): void {
    const section = this.layout.sections[name];
    const B = this.layout.blockSize;
    const end = offset + dst.length;
    const b0 = Math.floor(offset / B);
    const b1 = Math.ceil(end / B);
    let allVerified = true;
    for (let b = b0; b < b1; b++) {
      if (!this.verified[section.firstBlock + b]) {
        allVerified = false;
        break;
      }
    }
    if (allVerified) {
      this.source.readInto(section.start + offset, dst);
      return;
    }
    // One scratch buffer per index, reused: a fresh 4 MiB per read costs its page faults each time.
    const need = Math.min((b1 - b0) * B, VERIFY_GROUP_BLOCKS * B);
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, Math.min(VERIFY_GROUP_BLOCKS * B, 4 * B)));
    const scratch = this.scratch;
    for (let g = b0; g < b1; g += VERIFY_GROUP_BLOCKS) {
      const gEnd = Math.min(b1, g + VERIFY_GROUP_BLOCKS);
      const from = g * B;
      const to = Math.min(gEnd * B, section.length);
      const bytes = scratch.subarray(0, to - from);
      this.source.readInto(section.start + from, bytes);
      for (let b = g; b < gEnd; b++) {
        const blockNo = section.firstBlock + b;
        if (this.verified[blockNo]) continue;
        const s = (b - g) * B;
        const e = Math.min(s + B, bytes.length);
        if (crc32c(bytes, 0, s, e) !== this.table[blockNo]) {
          throw new IndexError(
            'INDEX_CHECKSUM',
            `${this.name}: ${name} block ${b} (bytes ${section.start + b * B}..${section.start + b * B + (e - s)}) fails its CRC-32C: the file is damaged; ${REBUILD}`,
          );
        }
        this.verified[blockNo] = 1;
      }
      // The part of dst inside this group.
      const lo = Math.max(offset, from);
      const hi = Math.min(end, to);
      if (hi > lo) dst.set(bytes.subarray(lo - from, hi - from), lo - offset);
    }
  }

  /**
   * Verify every block of `section` not verified yet. A full verify of a
   * 1M × 768 index reads ~3 GB at ~1.3 GB/s of CRC-32C.
   */
  verifySection(name: SectionName): void {
    if (name === 'offsets') {
      this.loadOffsets();
      return;
    }
    const section = this.layout.sections[name];
    const group = this.layout.blockSize * VERIFY_GROUP_BLOCKS;
    const buf = new Uint8Array(Math.min(group, section.length));
    for (let at = 0; at < section.length; at += group) this.readSection(name, at, buf.subarray(0, Math.min(group, section.length - at)));
  }

  /**
   * Check the whole file: every checksum block, every vector finite, every id and text valid
   * UTF-8. What `kmed verify-index` runs. Throws IndexError at the first problem.
   */
  verify(): void {
    for (const name of SECTIONS) this.verifySection(name);
    const D = this.dimension;
    const rowsPerRead = Math.max(1, Math.floor((1 << 20) / D));
    const rows = new Float32Array(rowsPerRead * D);
    for (let r = 0; r < this.count; r += rowsPerRead) this.readVectors(rows, r, Math.min(rowsPerRead, this.count - r));
    // Ids and texts decoded from 4 MiB windows of the strings block (one read per window, not
    // two per passage).
    const WINDOW = 4 << 20;
    let window = { start: 0, bytes: new Uint8Array(0) };
    for (let j = 0; j < 2 * this.count; j++) {
      const end = this.offset(j + 1);
      if (end > window.start + window.bytes.length) {
        const start = this.offset(j);
        const bytes = new Uint8Array(Math.min(Math.max(WINDOW, end - start), this.layout.stringsLength - start));
        this.readSection('strings', start, bytes);
        window = { start, bytes };
      }
      this.string(j, j % 2 === 0 ? 'id' : 'text', j >> 1, window);
    }
  }

  /**
   * Copy rows [row0, row0 + rows) into `dst` (rows × dimension floats). Blocks read for the first
   * time are checked against their CRC; a non-finite value is corruption too (an encoder never
   * produces one) and is reported with its byte offset.
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
    this.readSection('vectors', row0 * D * 4, bytes);
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

  /** Entry j of the offsets table (checked at open: in order, within the strings block). */
  private offset(j: number): number {
    const t = this.offsetsTable ?? this.loadOffsets();
    return t[2 * j + 1] * 4294967296 + t[2 * j];
  }

  private string(j: number, what: string, i: number, window?: { start: number; bytes: Uint8Array }): string {
    const start = this.offset(j);
    const end = this.offset(j + 1);
    let bytes: Uint8Array;
    if (window && start >= window.start && end <= window.start + window.bytes.length) {
      bytes = window.bytes.subarray(start - window.start, end - window.start);
    } else {
      bytes = new Uint8Array(end - start);
      this.readSection('strings', start, bytes);
    }
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
