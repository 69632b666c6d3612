// Owns: reading an index file (format 3, index-layout.ts) — VectorIndex, a validated random-access
// view of its header, rows, norms, scan rows, ids and texts over any ByteSource, so an index of any
// size is read piece by piece, every byte is checked against its block checksum before it is used,
// and a damaged file is a typed error, never a bad read. Older formats are refused with the command
// that rebuilds them. Also re-exports the layout and encoder names this module always exported.
// Does not own: the layout itself (index-layout.ts), writing files (index-encoder.ts,
// node/indexing/), or scoring (similarity.ts, search-session.ts).
//
// When checks happen. `open` verifies the preamble, the metadata and the checksum table (4 bytes per
// 64 KiB: ~190 KB at 1M × 768), so it costs milliseconds at any size. The offsets table (16 bytes
// per passage) is read, verified and checked whole on first use (a string read, a search session,
// verify). Every other block is verified the first time any byte of it is read through this
// VectorIndex — its xxHash32 against the table and, for float sections, every value finite, in one
// pass — and remembered as verified for the life of the object. A search session reads whole blocks
// straight into its heap and has them hashed there by a wasm kernel (readBlocks with a BlockHasher);
// everything else hashes in TypeScript. `verify()` (and `kmed verify-index`) checks the whole file.
import type { ByteSource } from '../formats/byte-source.js';
import { bytesSource } from '../formats/byte-source.js';
import { xxh32 } from '../formats/checksum.js';
import { Sha256 } from '../formats/sha256.js';
import type { KmedErrorCode } from '../errors/errors.js';
import { firstNonFinite, HASH_KIND, type HashKind } from '../kernels/reference-search.js';
import {
  checkMeta, computeLayout, HEADER_HASH_AT, INDEX_FORMAT_VERSION, INDEX_MAGIC, IndexError, layoutFields, MAX_DIMENSION,
  MAX_META_BYTES, META_HASH_AT, PREAMBLE_BYTES, SCAN_ROWS_AT, scanDtypeOfCode, SECTIONS, TABLE_HASH_AT,
  type IndexLayout, type IndexMeta, type ScanDtype, type SectionName,
} from './index-layout.js';

export {
  BlockChecksums, CHECKSUM_BLOCK_BYTES, checksumTable, computeLayout, encodeHeader, INDEX_FORMAT_VERSION, INDEX_MAGIC, IndexError,
  MAX_DIMENSION, PREAMBLE_BYTES, SCAN_DTYPES, SECTIONS,
  type IndexLayout, type IndexMeta, type ScanDtype, type SectionName, type SectionSpan, type ShardInfo,
} from './index-layout.js';
export { serializeIndex, type IndexEntries } from './index-encoder.js';

/** One passage of an index. */
export interface IndexEntry {
  id: string;
  text: string;
}

/**
 * Hashes whole blocks of bytes a caller holds: out[2b] = xxHash32 of block b of dst[from, to)
 * (blocks of `blockSize`, the last may be shorter), out[2b + 1] = 1 when it holds a value of `kind`
 * that is not finite. A search session passes one that runs the wasm kernel on its heap, where dst
 * lives; the default hashes in TypeScript.
 */
export type BlockHasher = (dst: Uint8Array, from: number, to: number, blockSize: number, kind: HashKind) => Uint32Array;

/** The TypeScript BlockHasher (xxh32 and a scan for non-finite values). */
export const hashBlocksInTypeScript: BlockHasher = (dst, from, to, blockSize, kind) => {
  const blocks = Math.ceil((to - from) / blockSize);
  const out = new Uint32Array(2 * blocks);
  for (let b = 0; b < blocks; b++) {
    const s = from + b * blockSize;
    const e = Math.min(s + blockSize, to);
    out[2 * b] = xxh32(dst, s, e);
    out[2 * b + 1] = firstNonFinite(dst, s, e - s, kind) >= 0 ? 1 : 0;
  }
  return out;
};

/** What each section holds, for the finiteness check of its blocks. */
export function sectionKind(name: SectionName, scan: ScanDtype | null): HashKind {
  if (name === 'vectors' || name === 'norms' || name === 'scales') return HASH_KIND.f32;
  if (name === 'scan' && scan === 'f16') return HASH_KIND.f16;
  return HASH_KIND.bytes;
}

/** How to rebuild, for messages about a file that cannot be used. */
const REBUILD = 'rebuild it with `kmed index --corpus CORPUS --out INDEX --force` (or restore a good copy)';

/** Blocks checksummed per read while verifying (4 MiB): bounds the scratch buffer. */
const VERIFY_GROUP_BLOCKS = 64;

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A validated, read-only view of an index file. Opening reads and checks the preamble, the
 * metadata and the checksum table; the offsets table is checked on first use, and every other block
 * is verified the first time it is read (see the file header).
 */
export class VectorIndex {
  readonly name: string;
  readonly meta: IndexMeta;
  readonly layout: IndexLayout;
  /** What the file holds, in a few characters: its metadata's and checksum table's xxHash32 and its
   *  length — equal for two copies of one index, different for any two different ones (the table
   *  hashes every byte of every section). Names an index without reading it. */
  readonly contentId: string;
  private readonly source: ByteSource;
  /** The offsets table as u32 halves (little-endian order): entry j = [2j] + [2j+1]·2^32; loaded,
   *  verified and checked on first use (loadOffsets). */
  private offsetsTable: Uint32Array | null = null;
  private readonly table: Uint32Array;
  /** verified[b] = 1 once block b (numbered as in the checksum table) matched its hash. */
  private readonly verified: Uint8Array;
  // ignoreBOM: an id or text that begins with U+FEFF keeps it (the default would drop it).
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private scratch = new Uint8Array(0);
  private fingerprintHex: string | undefined;

  private constructor(source: ByteSource, meta: IndexMeta, layout: IndexLayout, table: Uint32Array, contentId: string) {
    this.source = source;
    this.contentId = contentId;
    this.name = source.name;
    this.meta = meta;
    this.layout = layout;
    this.table = table;
    this.verified = new Uint8Array(table.length);
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

  /** The smaller copy of the rows this index holds for a first pass ('f16', 'int8'), or null. */
  get scan(): ScanDtype | null {
    return this.layout.scan;
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
          `${INDEX_FORMAT_VERSION}: rows stored unit-length with their norms, xxHash32 block checksums verified at memory speed): ` +
          `rebuild it with \`kmed index --corpus CORPUS --out ${name} --force\``);
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
    if (xxh32(pre, 0, HEADER_HASH_AT) !== view.getUint32(HEADER_HASH_AT, true)) {
      fail('INDEX_CHECKSUM', `the header (bytes 0..${HEADER_HASH_AT}) fails its checksum (xxHash32 at offset ${HEADER_HASH_AT}): the file is damaged; ${REBUILD}`);
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
    const scan = scanDtypeOfCode(view.getUint32(SCAN_ROWS_AT, true));
    if (scan === undefined) fail('INDEX_CORRUPT', `scan-rows code ${view.getUint32(SCAN_ROWS_AT, true)} at offset ${SCAN_ROWS_AT} is not 0 (none), 1 (f16) or 2 (int8)`);
    const fileLength = u64(96, 'file length');
    if (fileLength !== source.size) {
      const how = fileLength > source.size ? 'INDEX_TRUNCATED' : 'INDEX_CORRUPT';
      fail(how, `header at offset 96 says the file is ${fileLength} bytes but it is ${source.size}` +
        (how === 'INDEX_TRUNCATED' ? ` (truncated: ${REBUILD})` : `: ${REBUILD}`));
    }
    // Bound the count by the real size before any arithmetic on it can overflow or allocate.
    if (count > source.size / (dimension * 4 + 20)) {
      fail('INDEX_TRUNCATED', `header at offset 16 claims ${count} passages, more than its ${source.size} bytes can hold`);
    }
    const stringsOffset = u64(80, 'strings offset');
    const checksumsOffset = u64(88, 'checksums offset');
    if (stringsOffset > checksumsOffset || checksumsOffset > fileLength) {
      fail('INDEX_CORRUPT', `strings offset ${stringsOffset} (at 80) and checksums offset ${checksumsOffset} (at 88) are out of order or past the end (${fileLength})`);
    }
    const layout = computeLayout(metaLength, dimension, count, checksumsOffset - stringsOffset, scan ?? null, blockSize);
    for (const [at, field, expected] of layoutFields(layout)) {
      const got = u64(at, field);
      if (got !== expected) fail('INDEX_CORRUPT', `${field} at offset ${at} is ${got}, expected ${expected} for this header`);
    }

    const metaBytes = new Uint8Array(layout.vectorsOffset - PREAMBLE_BYTES);
    source.readInto(PREAMBLE_BYTES, metaBytes);
    if (xxh32(metaBytes) !== view.getUint32(META_HASH_AT, true)) {
      fail('INDEX_CHECKSUM', `the metadata (bytes ${PREAMBLE_BYTES}..${layout.vectorsOffset}) fails its checksum (xxHash32 at offset ${META_HASH_AT}): the file is damaged; ${REBUILD}`);
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
    if (xxh32(tableBytes) !== view.getUint32(TABLE_HASH_AT, true)) {
      fail('INDEX_CHECKSUM', `the checksum table (bytes ${layout.checksumsOffset}..${layout.fileLength}) fails its checksum (xxHash32 at offset ${TABLE_HASH_AT}): the file is damaged; ${REBUILD}`);
    }
    const table = new Uint32Array(blocks);
    const tableView = new DataView(tableBytes.buffer);
    for (let b = 0; b < blocks; b++) table[b] = tableView.getUint32(b * 4, true);
    const hex = (at: number) => view.getUint32(at, true).toString(16).padStart(8, '0');
    return new VectorIndex(source, meta, layout, table, `${hex(META_HASH_AT)}${hex(TABLE_HASH_AT)}-${layout.fileLength}`);
  }

  /** Throws (the source's typed error) if the file changed since it was opened, where the source can
   *  tell (a file: size, times, inode); a search rereading the file checks before each pass. */
  checkUnchanged(): void {
    this.source.checkUnchanged?.();
  }

  /**
   * The offsets table: read (16 bytes per passage), verified against its checksums and checked (in
   * order, within the strings block) the first time a string is read, the index is verified or a
   * search session opens; not at open, which then reads only the header, meta and checksum table.
   */
  private loadOffsets(): Uint32Array {
    if (this.offsetsTable) return this.offsetsTable;
    const layout = this.layout;
    const count = layout.count;
    const section = layout.sections.offsets;
    // Read in one piece, verified and checked once, so every string read is in bounds. Kept as the
    // file's bytes (no decoded copy: 16 bytes per passage once, not twice) and read through u32
    // halves, which is also what the check uses.
    const offsetBytes = new Uint8Array(section.length);
    this.readBlocks('offsets', 0, offsetBytes);
    const offsets = littleEndianHost ? new Uint32Array(offsetBytes.buffer, 0, section.length / 4) : u32Copy(offsetBytes);
    const entries = 2 * count + 1;
    let previous = 0;
    for (let j = 0; j < entries; j++) {
      const value = offsets[2 * j + 1] * 4294967296 + offsets[2 * j];
      if (value > layout.stringsLength || value < previous || (j === 0 && value !== 0)) {
        throw new IndexError('INDEX_CORRUPT', `${this.name}: string offset ${value} at byte ${section.start + j * 8} is out of order or past the strings block (${layout.stringsLength} bytes)`);
      }
      previous = value;
    }
    if (previous !== layout.stringsLength) {
      throw new IndexError('INDEX_CORRUPT', `${this.name}: the last string offset (byte ${layout.offsetsOffset + (entries - 1) * 8}) is ${previous}, expected ${layout.stringsLength}`);
    }
    this.offsetsTable = offsets;
    return offsets;
  }

  /** Whether block `b` of section `name` has been verified (benches and sessions plan their reads by it). */
  isVerified(name: SectionName, b: number): boolean {
    return this.verified[this.layout.sections[name].firstBlock + b] === 1;
  }

  /**
   * Read whole blocks of `name`, from block `b0`, straight into `dst` (its length: whole blocks, the
   * section's short last block allowed), and verify the ones not verified yet, in place: `hash`
   * hashes them where they lie (a session's wasm kernel over its heap; TypeScript by default). A
   * block that fails is an IndexError naming it; a non-finite value one naming its row and byte.
   */
  readBlocks(name: SectionName, b0: number, dst: Uint8Array, hash: BlockHasher = hashBlocksInTypeScript): void {
    const section = this.layout.sections[name];
    const B = this.layout.blockSize;
    const from = b0 * B;
    const to = from + dst.length;
    if (!Number.isInteger(b0) || b0 < 0 || to > section.length || (dst.length % B !== 0 && to !== section.length)) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: ${dst.length} bytes from block ${b0} are not whole blocks of ${name} (${section.length} bytes)`);
    }
    this.source.readInto(section.start + from, dst);
    const b1 = b0 + Math.ceil(dst.length / B);
    // Hash each run of unverified blocks in one call.
    for (let b = b0; b < b1; ) {
      if (this.verified[section.firstBlock + b]) {
        b++;
        continue;
      }
      let e = b;
      while (e < b1 && !this.verified[section.firstBlock + e]) e++;
      const s = (b - b0) * B;
      const t = Math.min((e - b0) * B, dst.length);
      this.accept(name, b, hash(dst, s, t, B, sectionKind(name, this.layout.scan)), dst, s);
      b = e;
    }
  }

  /** Compare hashes (pairs as BlockHasher gives them) of blocks b.. whose bytes start at dst[at]. */
  private accept(name: SectionName, b: number, hashes: Uint32Array, dst: Uint8Array, at: number): void {
    const section = this.layout.sections[name];
    const B = this.layout.blockSize;
    for (let k = 0; 2 * k < hashes.length; k++) {
      const block = b + k;
      const start = section.start + block * B;
      const length = Math.min(B, section.length - block * B);
      if (hashes[2 * k] !== this.table[section.firstBlock + block]) {
        throw new IndexError('INDEX_CHECKSUM', `${this.name}: ${name} block ${block} (bytes ${start}..${start + length}) fails its checksum (xxHash32): the file is damaged; ${REBUILD}`);
      }
      if (hashes[2 * k + 1] !== 0) {
        const kind = sectionKind(name, this.layout.scan);
        const off = at + k * B;
        const i = block * B + firstNonFinite(dst, off, length, kind);
        throw new IndexError('INDEX_CORRUPT', `${this.name}: ${this.describeValue(name, i)} holds a non-finite value at byte ${section.start + i}: the file is damaged; ${REBUILD}`);
      }
      this.verified[section.firstBlock + block] = 1;
    }
  }

  /** "vector 3", "the norm of passage 3" … for byte `i` of a section. */
  private describeValue(name: SectionName, i: number): string {
    const D = this.dimension;
    if (name === 'vectors') return `vector ${Math.floor(i / (4 * D))}`;
    if (name === 'norms') return `the norm of passage ${i >> 2}`;
    if (name === 'scales') return `the int8 scale of passage ${i >> 2}`;
    return `the f16 row of passage ${Math.floor(i / (2 * D))}`;
  }

  /**
   * Copy bytes [offset, offset + dst.length) of `name` into dst, first verifying every block they
   * touch that is not verified yet (reading whole blocks for that, a group at a time).
   */
  readSection(name: SectionName, offset: number, dst: Uint8Array): void {
    const section = this.layout.sections[name];
    const B = this.layout.blockSize;
    const end = offset + dst.length;
    if (!Number.isInteger(offset) || offset < 0 || end > section.length) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: bytes [${offset}, ${end}) are outside ${name} (${section.length} bytes)`);
    }
    const b0 = Math.floor(offset / B);
    const b1 = Math.ceil(end / B);
    let allVerified = true;
    for (let b = b0; b < b1 && allVerified; b++) allVerified = this.verified[section.firstBlock + b] === 1;
    if (allVerified) {
      this.source.readInto(section.start + offset, dst);
      return;
    }
    // One scratch buffer per index, reused: a fresh 4 MiB per read costs its page faults each time.
    const need = Math.min((b1 - b0) * B, VERIFY_GROUP_BLOCKS * B);
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, Math.min(VERIFY_GROUP_BLOCKS * B, 4 * B)));
    for (let g = b0; g < b1; g += VERIFY_GROUP_BLOCKS) {
      const gEnd = Math.min(b1, g + VERIFY_GROUP_BLOCKS);
      const from = g * B;
      const to = Math.min(gEnd * B, section.length);
      const bytes = this.scratch.subarray(0, to - from);
      this.readBlocks(name, g, bytes);
      // The part of dst inside this group.
      const lo = Math.max(offset, from);
      const hi = Math.min(end, to);
      if (hi > lo) dst.set(bytes.subarray(lo - from, hi - from), lo - offset);
    }
  }

  /**
   * Verify every block of `name` not verified yet, through `dst` (a buffer of whole blocks: a
   * session passes a window of its heap and its kernel hasher; default a scratch buffer and
   * TypeScript). A full verify of a 1M × 768 index reads ~3 GB.
   */
  verifySection(name: SectionName, dst?: Uint8Array, hash?: BlockHasher): void {
    if (name === 'offsets') {
      this.loadOffsets();
      return;
    }
    const section = this.layout.sections[name];
    const B = this.layout.blockSize;
    const buf = dst ?? new Uint8Array(Math.min(B * VERIFY_GROUP_BLOCKS, section.length));
    const per = Math.max(1, Math.floor(buf.length / B));
    for (let b = 0; b < section.blocks; b += per) {
      let e = Math.min(section.blocks, b + per);
      while (e > b && this.verified[section.firstBlock + e - 1]) e--;
      let s = b;
      while (s < e && this.verified[section.firstBlock + s]) s++;
      if (s === e) continue;
      this.readBlocks(name, s, buf.subarray(0, Math.min(e * B, section.length) - s * B), hash);
    }
  }

  /**
   * Check the whole file: every checksum block, every float finite, every id and text valid UTF-8.
   * What `kmed verify-index` runs. Throws IndexError at the first problem.
   */
  verify(): void {
    for (const name of SECTIONS) this.verifySection(name);
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

  private checkRows(row0: number, rows: number, have: number, per: number): void {
    if (!Number.isInteger(row0) || !Number.isInteger(rows) || row0 < 0 || rows < 0 || row0 + rows > this.count) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: rows [${row0}, ${row0 + rows}) are outside 0..${this.count}`);
    }
    if (have < rows * per) {
      throw new IndexError('INDEX_OUT_OF_RANGE', `${this.name}: destination holds ${have} values, ${rows * per} needed`);
    }
  }

  /**
   * Copy the stored rows [row0, row0 + rows) into `dst` (rows × dimension floats): unit length (all
   * zeros for a zero vector); multiply by readNorms' values for the vectors as embedded. Blocks read
   * for the first time are verified (checksum, and every value finite).
   */
  readVectors(dst: Float32Array, row0: number, rows: number): void {
    const D = this.dimension;
    this.checkRows(row0, rows, dst.length, D);
    this.readFloats('vectors', row0 * D, rows * D, dst);
  }

  /** Copy the norms of passages [row0, row0 + rows) (the embedded vectors' Euclidean lengths) into dst. */
  readNorms(dst: Float32Array, row0: number, rows: number): void {
    this.checkRows(row0, rows, dst.length, 1);
    this.readFloats('norms', row0, rows, dst);
  }

  private readFloats(name: SectionName, first: number, n: number, dst: Float32Array): void {
    const bytes = new Uint8Array(dst.buffer, dst.byteOffset, n * 4);
    this.readSection(name, first * 4, bytes);
    if (!littleEndianHost) {
      const copy = bytes.slice();
      const view = new DataView(copy.buffer);
      for (let i = 0; i < n; i++) dst[i] = view.getFloat32(i * 4, true);
    }
  }

  /** The stored (unit-length) row of passage `i`, as a new array. */
  vector(i: number): Float32Array {
    const v = new Float32Array(this.dimension);
    this.readVectors(v, i, 1);
    return v;
  }

  /** The Euclidean length of passage `i`'s vector as embedded (vector(i) · norm(i) is that vector). */
  norm(i: number): number {
    const v = new Float32Array(1);
    this.readNorms(v, i, 1);
    return v[0];
  }

  /** Entry j of the offsets table (checked at first use: in order, within the strings block). */
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

/** Little-endian u32s of `bytes` on a big-endian host. */
function u32Copy(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}
