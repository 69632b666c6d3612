// Owns: the byte layout of an index file, format version 3 — the header fields, where every section
// lies, the block checksums (xxHash32) and their table, and encoding the header. docs/index-format.md
// describes the same layout for people; this file is the truth.
// Does not own: reading and verifying a file (vector-index.ts), turning vectors into stored rows
// (row-encoding.ts) or writing a whole file (index-encoder.ts).
//
// Layout, format version 3 (all integers little-endian; u64 values must stay below 2^53):
//
//   offset  size  field
//   0       8     magic "KMEDIDX\0"
//   8       4     u32 format version (3)
//   12      4     u32 dimension D
//   16      8     u64 count N (passages)
//   24      4     u32 meta length M (UTF-8 JSON at offset 128, see IndexMeta)
//   28      4     u32 checksum block size B (65536)
//   32      4     u32 scan rows: 0 none, 1 f16, 2 int8 (a smaller copy of the rows for a first pass)
//   36      4     reserved, 0
//   40      8     u64 vectors offset   = align64(128 + M)
//   48      8     u64 norms offset     = vectors offset + N·D·4
//   56      8     u64 scan offset      = norms offset + N·4
//   64      8     u64 scales offset    = scan offset + N·D·(0, 2 or 1)
//   72      8     u64 offsets offset   = scales offset + N·4 (int8 scan rows) or + 0
//   80      8     u64 strings offset   = offsets offset + (2N + 1)·8
//   88      8     u64 checksums offset = strings offset + S
//   96      8     u64 file length      = checksums offset + 4·(blocks of every section)
//   104     4     u32 xxHash32 of bytes 128 .. vectors offset (meta JSON and its zero padding)
//   108     4     u32 xxHash32 of the checksum table
//   112     12    reserved, 0
//   124     4     u32 xxHash32 of bytes 0 .. 124 (this preamble)
//   128     M     meta JSON, then zero padding to the vectors offset
//   ...           vectors: N rows of D float32, each scaled to unit length (all zeros for a zero
//                 vector), so cosine is one dot product and nothing is normalised at query time
//   ...           norms: N float32, each row's original Euclidean length (dot = unit dot · norm)
//   ...           scan: N rows of D f16 (IEEE binary16) or int8 values of the unit rows, or nothing
//   ...           scales: N float32, int8 row r's value d is scan[r][d] · scales[r] (int8 only)
//   ...           offsets: 2N + 1 u64 into the strings block: [2i] id i start, [2i+1] text i start,
//                 [2i+2] the next id's start (= text i end); [0] = 0 and [2N] = S
//   ...           strings: S bytes of UTF-8, id 0, text 0, id 1, text 1, ...
//   ...           checksum table: u32 xxHash32 of every B-byte block (the last one shorter) of each
//                 section in the order above (an empty section has none)
//
// Every offset is implied by (M, D, N, S, scan rows), so a reader recomputes them and any
// disagreement — or a file length that differs from the real size — is corruption. Every byte of
// the file is under exactly one checksum. xxHash32 (src/formats/checksum.ts) replaced format 2's
// CRC-32C because its four u32 lanes over 16-byte stripes are one wasm v128: the search verifies
// blocks where it reads them, in the heap, at memory speed (assembly/checksum.ts), where CRC-32C
// has no fast form without carry-less multiplies (~0.2–1.3 GB/s in TypeScript).
import { KmedError } from '../errors/errors.js';
import { Xxh32 } from '../formats/checksum.js';
import type { ModelIdentity } from '../model-identity.js';

export class IndexError extends KmedError {}

export const INDEX_MAGIC = 'KMEDIDX\0';
export const INDEX_FORMAT_VERSION = 3;
export const PREAMBLE_BYTES = 128;
/** Bytes per checksummed block of every section. */
export const CHECKSUM_BLOCK_BYTES = 65536;
/** Beyond this a "dimension" is a corrupt header, not a model (BERT-large is 1024). */
export const MAX_DIMENSION = 65536;
export const MAX_META_BYTES = 1 << 20;
/** Where the preamble's own checksum sits (it covers bytes 0 .. HEADER_HASH_AT). */
export const HEADER_HASH_AT = 124;
export const META_HASH_AT = 104;
export const TABLE_HASH_AT = 108;
export const SCAN_ROWS_AT = 32;

/** The optional smaller copy of the rows an index may hold (`kmed index --rows f16|int8`). */
export type ScanDtype = 'f16' | 'int8';
export const SCAN_DTYPES: readonly ScanDtype[] = ['f16', 'int8'];
const SCAN_CODE: Record<ScanDtype, number> = { f16: 1, int8: 2 };

/** The scan rows named by header code `code`, null for none, undefined for an unknown code. */
export function scanDtypeOfCode(code: number): ScanDtype | null | undefined {
  if (code === 0) return null;
  return SCAN_DTYPES.find((d) => SCAN_CODE[d] === code);
}

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
  /** Only when the vectors were embedded elsewhere and imported (`kmed index --vectors FILE.npy`):
   *  the file's name, sha256 and dtype. context_model then names the model they are said to come from. */
  imported_vectors?: { file: string; sha256: string; dtype: string };
}

/** A shard holds passages [first, first + count) of the `total` passages of its corpus. */
export interface ShardInfo {
  index: number;
  of: number;
  first: number;
  total: number;
}

export type SectionName = 'vectors' | 'norms' | 'scan' | 'scales' | 'offsets' | 'strings';
/** Every section, in file (and checksum table) order. */
export const SECTIONS: readonly SectionName[] = ['vectors', 'norms', 'scan', 'scales', 'offsets', 'strings'];

export interface SectionSpan {
  start: number;
  length: number;
  /** Index of the section's first entry in the checksum table. */
  firstBlock: number;
  blocks: number;
}

export interface IndexLayout {
  dimension: number;
  count: number;
  metaLength: number;
  blockSize: number;
  /** The scan rows the file holds (null: none). */
  scan: ScanDtype | null;
  vectorsOffset: number;
  normsOffset: number;
  scanOffset: number;
  scalesOffset: number;
  offsetsOffset: number;
  stringsOffset: number;
  stringsLength: number;
  checksumsOffset: number;
  fileLength: number;
  /** Start, length and checksum-table place of each section. */
  sections: Record<SectionName, SectionSpan>;
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/** Bytes per value of the scan rows. */
export function scanValueBytes(scan: ScanDtype | null): number {
  return scan === 'f16' ? 2 : scan === 'int8' ? 1 : 0;
}

/** The byte layout implied by the free sizes (and the block size). */
export function computeLayout(
  metaLength: number,
  dimension: number,
  count: number,
  stringsLength: number,
  scan: ScanDtype | null = null,
  blockSize = CHECKSUM_BLOCK_BYTES,
): IndexLayout {
  const lengths: Record<SectionName, number> = {
    vectors: count * dimension * 4,
    norms: count * 4,
    scan: count * dimension * scanValueBytes(scan),
    scales: scan === 'int8' ? count * 4 : 0,
    offsets: (2 * count + 1) * 8,
    strings: stringsLength,
  };
  const sections = {} as Record<SectionName, SectionSpan>;
  let at = align64(PREAMBLE_BYTES + metaLength);
  let block = 0;
  for (const name of SECTIONS) {
    const blocks = Math.ceil(lengths[name] / blockSize);
    sections[name] = { start: at, length: lengths[name], firstBlock: block, blocks };
    at += lengths[name];
    block += blocks;
  }
  const checksumsOffset = at;
  const fileLength = checksumsOffset + 4 * block;
  if (!Number.isSafeInteger(fileLength)) {
    throw new IndexError('INDEX_TOO_LARGE', `an index of ${count} × ${dimension} vectors is too large to address`);
  }
  return {
    dimension, count, metaLength, blockSize, scan,
    vectorsOffset: sections.vectors.start,
    normsOffset: sections.norms.start,
    scanOffset: sections.scan.start,
    scalesOffset: sections.scales.start,
    offsetsOffset: sections.offsets.start,
    stringsOffset: sections.strings.start,
    stringsLength, checksumsOffset, fileLength, sections,
  };
}

/** The header fields at 40..96 (the u64 offsets), in order, with what each must equal. */
export function layoutFields(layout: IndexLayout): Array<[at: number, field: string, value: number]> {
  return [
    [40, 'vectors offset', layout.vectorsOffset],
    [48, 'norms offset', layout.normsOffset],
    [56, 'scan-rows offset', layout.scanOffset],
    [64, 'scales offset', layout.scalesOffset],
    [72, 'offsets-table offset', layout.offsetsOffset],
    [80, 'strings offset', layout.stringsOffset],
    [88, 'checksums offset', layout.checksumsOffset],
    [96, 'file length', layout.fileLength],
  ];
}

/**
 * xxHash32 of each `blockSize`-byte block of a byte stream fed in pieces of any size (a writer
 * checksums a section while it streams it out). `finish()` gives every block's hash, the unfinished
 * last one included.
 */
export class BlockChecksums {
  private readonly blockSize: number;
  private readonly hashes: number[] = [];
  private hash = new Xxh32();
  private filled = 0;

  constructor(blockSize = CHECKSUM_BLOCK_BYTES) {
    this.blockSize = blockSize;
  }

  update(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      const n = Math.min(this.blockSize - this.filled, bytes.length - i);
      this.hash.update(bytes, i, i + n);
      this.filled += n;
      i += n;
      if (this.filled === this.blockSize) {
        this.hashes.push(this.hash.digest());
        this.hash = new Xxh32();
        this.filled = 0;
      }
    }
  }

  /** The hashes of all blocks so far, the unfinished last one included; the object is then done. */
  finish(): number[] {
    if (this.filled > 0) this.hashes.push(this.hash.digest());
    this.filled = 0;
    return this.hashes;
  }
}

/** The checksum table as bytes: each section's block hashes, sections in file order. */
export function checksumTable(perSection: Record<SectionName, number[]>): Uint8Array {
  const all = SECTIONS.flatMap((name) => perSection[name]);
  const out = new Uint8Array(all.length * 4);
  const view = new DataView(out.buffer);
  all.forEach((c, i) => view.setUint32(i * 4, c, true));
  return out;
}

/** Throws IndexError (INDEX_BAD_META) unless `meta` has the fields every index needs. */
export function checkMeta(meta: IndexMeta, where: string): void {
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
 * the sections writes them first (or leaves room), then the sections and the checksum table, and
 * finally these bytes, which need the table's hash.
 */
export function encodeHeader(
  meta: IndexMeta,
  dimension: number,
  count: number,
  stringsLength: number,
  scan: ScanDtype | null,
  checksumTableHash: number,
): { bytes: Uint8Array; layout: IndexLayout } {
  checkMeta(meta, 'index header');
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
    throw new IndexError('INDEX_BAD_DIMENSION', `dimension ${dimension} is outside 1..${MAX_DIMENSION}`);
  }
  if (scan !== null && !SCAN_DTYPES.includes(scan)) {
    throw new IndexError('INDEX_BAD_INPUT', `scan rows '${String(scan)}' must be one of ${SCAN_DTYPES.join(', ')} (or none)`);
  }
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta));
  if (metaBytes.length > MAX_META_BYTES) {
    throw new IndexError('INDEX_BAD_META', `index metadata is ${metaBytes.length} bytes (limit ${MAX_META_BYTES})`);
  }
  const layout = computeLayout(metaBytes.length, dimension, count, stringsLength, scan);
  const bytes = new Uint8Array(layout.vectorsOffset);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(INDEX_MAGIC), 0);
  view.setUint32(8, INDEX_FORMAT_VERSION, true);
  view.setUint32(12, dimension, true);
  view.setBigUint64(16, BigInt(count), true);
  view.setUint32(24, metaBytes.length, true);
  view.setUint32(28, layout.blockSize, true);
  view.setUint32(SCAN_ROWS_AT, scan === null ? 0 : SCAN_CODE[scan], true);
  for (const [at, , value] of layoutFields(layout)) view.setBigUint64(at, BigInt(value), true);
  bytes.set(metaBytes, PREAMBLE_BYTES);
  view.setUint32(META_HASH_AT, new Xxh32().update(bytes, PREAMBLE_BYTES, bytes.length).digest(), true);
  view.setUint32(TABLE_HASH_AT, checksumTableHash >>> 0, true);
  view.setUint32(HEADER_HASH_AT, new Xxh32().update(bytes, 0, HEADER_HASH_AT).digest(), true);
  return { bytes, layout };
}
