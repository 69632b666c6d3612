// Owns: the graph file format — a graph index kept beside an index file (`INDEX.ann`), bound to
// that index by its fingerprint — its layout, checksums, writing it from a HeapGraph as a list of
// byte parts (the big sections are views of the heap: no copy), and reading it back straight into
// a backend's heap, verified block by block and checked whole (graph-integrity.ts) before any
// search can use it.
// Does not own: the index file (../vector-index.ts), building (build.ts), where files live (Node:
// src/node/indexing/ann-file.ts) or searching (ann-search.ts).
//
// Layout, format version 1 (integers little-endian):
//
//   offset  size  field
//   0       8     magic "KMEDANN\0"
//   8       4     u32 format version (1)
//   12      4     u32 structure (1 = HNSW)
//   16      4     u32 dimension D
//   20      4     u32 metric (0 cosine: rows unit length, 1 dot: rows as stored)
//   24      8     u64 rows N (the index's passage count)
//   32      4     u32 M (links per node above layer 0)
//   36      4     u32 M0 (links per node at layer 0 = 2M)
//   40      4     u32 ef_construction
//   44      4     u32 seed (node levels are drawn from (seed, row): levels.ts)
//   48      4     u32 entry node (0xFFFFFFFF when N = 0)
//   52      4     u32 top level (the entry's)
//   56      8     u64 upper slots U (Σ levels)
//   64      32    the index's fingerprint (sha256 of its header, metadata and checksum table)
//   96      4     u32 checksum block size B (65536)
//   100     4     u32 xxHash32 of the checksum table
//   104     20    reserved, 0
//   124     4     u32 xxHash32 of bytes 0 .. 124 (this header)
//   128     ...   levels: N bytes, zero-padded to a multiple of 16
//   ...           level0: N × (1 + M0) u32, per node a count then its links (slots past the count
//                 hold whatever the build left there: part of the bytes, not of the graph)
//   ...           upper: U × (1 + M) u32, node i's layer l ≥ 1 in slot (Σ_{j<i} levels[j]) + l - 1
//   ...           checksum table: u32 xxHash32 of every B-byte block of levels, then of level0, then
//                 of upper (the last block of each shorter; an empty section has none)
//
// Every byte is under a checksum; every size follows from (N, M, U), so a reader recomputes the
// length and refuses any other. The same rows and settings write the same bytes (no clock, no
// path inside).
import type { ByteSource } from '../../formats/byte-source.js';
import { xxh32 } from '../../formats/checksum.js';
import type { KernelBackend, Ptr } from '../../kernels/backend.js';
import type { KmedErrorCode } from '../../errors/errors.js';
import { BlockChecksums, CHECKSUM_BLOCK_BYTES } from '../vector-index.js';
import type { Metric } from '../similarity.js';
import { AnnError } from './ann-error.js';
import { checkGraphLinks } from './graph-integrity.js';
import { GRAPH_SECTIONS, HeapGraph, type GraphSection, type HnswSettings } from './heap-graph.js';
import { drawLevels } from './levels.js';

export const GRAPH_MAGIC = 'KMEDANN\0';
export const GRAPH_FORMAT_VERSION = 1;
export const GRAPH_HEADER_BYTES = 128;
const STRUCTURE_HNSW = 1;
const HEADER_HASH_AT = 124;
const NONE = 0xffffffff;
/** Blocks read and verified per read of a section (4 MiB at 64 KiB blocks). */
const READ_GROUP_BLOCKS = 64;

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** What a graph file says about itself (its header). */
export interface GraphFileHeader {
  dimension: number;
  metric: Metric;
  rows: number;
  settings: HnswSettings;
  M0: number;
  entry: number;
  top: number;
  upperSlots: number;
  /** sha256 hex of the index the graph was built for. */
  indexFingerprint: string;
  blockSize: number;
  tableHash: number;
}

interface Section {
  start: number;
  length: number;
  /** Bytes in the file: length rounded up (levels are padded to 16). */
  stored: number;
  firstBlock: number;
  blocks: number;
}

function layoutOf(rows: number, M: number, upperSlots: number, blockSize: number) {
  const lengths: Record<GraphSection, number> = {
    levels: rows,
    level0: rows * (1 + 2 * M) * 4,
    upper: upperSlots * (1 + M) * 4,
  };
  let at = GRAPH_HEADER_BYTES;
  let block = 0;
  const sections = {} as Record<GraphSection, Section>;
  for (const name of GRAPH_SECTIONS) {
    const stored = name === 'levels' ? align16(lengths[name]) : lengths[name];
    const blocks = Math.ceil(stored / blockSize);
    sections[name] = { start: at, length: lengths[name], stored, firstBlock: block, blocks };
    at += stored;
    block += blocks;
  }
  const fileLength = at + 4 * block;
  if (!Number.isSafeInteger(fileLength)) throw new AnnError('ANN_CORRUPT', `a graph of ${rows} rows is too large to address`);
  return { sections, checksumsOffset: at, blocks: block, fileLength };
}

const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function bytesOfHex(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new AnnError('ANN_BAD_OPTION', `index fingerprint ${JSON.stringify(hex)} is not 64 hex digits`);
  return Uint8Array.from({ length: 32 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/**
 * The bytes of a graph file for `graph` (fully built) over an index with fingerprint
 * `indexFingerprint`, as parts to write in order: the header, the levels, views of the heap's
 * level-0 and upper lists (valid until the heap grows: write them before allocating), the table.
 */
export function graphFileParts(graph: HeapGraph, metric: Metric, indexFingerprint: string): Uint8Array[] {
  const { count, entry, top } = graph.state();
  if (count !== graph.rows) throw new AnnError('ANN_BAD_OPTION', `the graph links ${count} of its ${graph.rows} rows: build it first`);
  const layout = layoutOf(graph.rows, graph.settings.M, graph.upperSlots, CHECKSUM_BLOCK_BYTES);
  const levels = new Uint8Array(layout.sections.levels.stored);
  levels.set(graph.bytes('levels'));
  const body: Record<GraphSection, Uint8Array> = { levels, level0: graph.bytes('level0'), upper: graph.bytes('upper') };
  const crcs = GRAPH_SECTIONS.map((name) => {
    const sums = new BlockChecksums(CHECKSUM_BLOCK_BYTES);
    sums.update(body[name]);
    return sums.finish();
  });
  const all = crcs.flat();
  const table = new Uint8Array(all.length * 4);
  all.forEach((h, i) => new DataView(table.buffer).setUint32(i * 4, h, true));
  const header = new Uint8Array(GRAPH_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(new TextEncoder().encode(GRAPH_MAGIC), 0);
  view.setUint32(8, GRAPH_FORMAT_VERSION, true);
  view.setUint32(12, STRUCTURE_HNSW, true);
  view.setUint32(16, graph.dimension, true);
  view.setUint32(20, metric === 'cosine' ? 0 : 1, true);
  view.setBigUint64(24, BigInt(graph.rows), true);
  view.setUint32(32, graph.settings.M, true);
  view.setUint32(36, graph.M0, true);
  view.setUint32(40, graph.settings.efConstruction, true);
  view.setUint32(44, graph.settings.seed, true);
  view.setUint32(48, entry, true);
  view.setUint32(52, top, true);
  view.setBigUint64(56, BigInt(graph.upperSlots), true);
  header.set(bytesOfHex(indexFingerprint), 64);
  view.setUint32(96, CHECKSUM_BLOCK_BYTES, true);
  view.setUint32(100, xxh32(table), true);
  view.setUint32(HEADER_HASH_AT, xxh32(header, 0, HEADER_HASH_AT), true);
  return [header, levels, body.level0, body.upper, table];
}

/** The whole graph file in one array (browsers, tests; Node writes the parts). */
export function serializeGraph(graph: HeapGraph, metric: Metric, indexFingerprint: string): Uint8Array {
  const parts = graphFileParts(graph, metric, indexFingerprint);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const REBUILD = 'rebuild it with `kmed index --index INDEX --ann hnsw --force`';

/** Read and check a graph file's header (128 bytes); sizes against `source.size` too. */
export function readGraphHeader(source: ByteSource): GraphFileHeader {
  const name = source.name;
  const fail = (code: KmedErrorCode, message: string): never => {
    throw new AnnError(code, `${name}: ${message}`);
  };
  if (source.size < 12) fail('ANN_TRUNCATED', `${source.size} bytes is too short for a graph index (the header alone is ${GRAPH_HEADER_BYTES}): ${REBUILD}`);
  const head = new Uint8Array(Math.min(GRAPH_HEADER_BYTES, source.size));
  source.readInto(0, head);
  const magic = new TextDecoder('latin1').decode(head.subarray(0, 8));
  if (magic !== GRAPH_MAGIC) fail('ANN_BAD_MAGIC', `not a kmed graph index (bytes 0..8 are ${JSON.stringify(magic)}, expected "KMEDANN\\0")`);
  const view = new DataView(head.buffer);
  const version = view.getUint32(8, true);
  if (version !== GRAPH_FORMAT_VERSION) {
    fail('ANN_UNSUPPORTED_VERSION', `graph format version ${version} at offset 8; this kmed reads version ${GRAPH_FORMAT_VERSION}` +
      (version > GRAPH_FORMAT_VERSION && version < 100 ? ' (written by a newer kmed: upgrade kmed)' : `: ${REBUILD}`));
  }
  if (source.size < GRAPH_HEADER_BYTES) fail('ANN_TRUNCATED', `${source.size} bytes is too short for a graph index (the header alone is ${GRAPH_HEADER_BYTES}): ${REBUILD}`);
  if (xxh32(head, 0, HEADER_HASH_AT) !== view.getUint32(HEADER_HASH_AT, true)) {
    fail('ANN_CHECKSUM', `the header (bytes 0..${HEADER_HASH_AT}) fails its xxHash32 at offset ${HEADER_HASH_AT}: the file is damaged; ${REBUILD}`);
  }
  const u64 = (at: number, field: string): number => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(0x7fffffff)) fail('ANN_CORRUPT', `${field} at offset ${at} is ${v}, beyond any graph this kmed builds`);
    return Number(v);
  };
  if (view.getUint32(12, true) !== STRUCTURE_HNSW) fail('ANN_CORRUPT', `structure ${view.getUint32(12, true)} at offset 12 is not HNSW (1)`);
  const metricCode = view.getUint32(20, true);
  if (metricCode > 1) fail('ANN_CORRUPT', `metric ${metricCode} at offset 20 is neither cosine (0) nor dot (1)`);
  const settings = { M: view.getUint32(32, true), efConstruction: view.getUint32(40, true), seed: view.getUint32(44, true) };
  const header: GraphFileHeader = {
    dimension: view.getUint32(16, true),
    metric: metricCode === 0 ? 'cosine' : 'dot',
    rows: u64(24, 'row count'),
    settings,
    M0: view.getUint32(36, true),
    entry: view.getUint32(48, true),
    top: view.getUint32(52, true),
    upperSlots: u64(56, 'upper slot count'),
    indexFingerprint: hexOf(head.subarray(64, 96)),
    blockSize: view.getUint32(96, true),
    tableHash: view.getUint32(100, true),
  };
  if (settings.M < 2 || settings.M > 128 || header.M0 !== 2 * settings.M || settings.efConstruction < 1) {
    fail('ANN_CORRUPT', `M = ${settings.M}, M0 = ${header.M0}, ef_construction = ${settings.efConstruction} (offsets 32..44) are not settings kmed builds`);
  }
  if (header.blockSize !== CHECKSUM_BLOCK_BYTES) fail('ANN_CORRUPT', `checksum block size ${header.blockSize} at offset 96 is not ${CHECKSUM_BLOCK_BYTES}`);
  const layout = layoutOf(header.rows, settings.M, header.upperSlots, header.blockSize);
  if (layout.fileLength !== source.size) {
    const truncated = layout.fileLength > source.size;
    fail(truncated ? 'ANN_TRUNCATED' : 'ANN_CORRUPT', `the header says the file is ${layout.fileLength} bytes but it is ${source.size}` +
      `${truncated ? ' (truncated)' : ''}: ${REBUILD}`);
  }
  return header;
}

/** What the graph must fit: the index it sits beside, as searched. */
export interface GraphTarget {
  /** The index's fingerprint (VectorIndex.fingerprint()). */
  fingerprint: string;
  rows: number;
  dimension: number;
  metric: Metric;
  /** For messages: the index's name. */
  name: string;
  /** Accept the graph whatever metric it was built for (the caller decides per search). */
  anyMetric?: boolean;
}

/**
 * The graph file's header, checked against the index it should sit beside: ANN_INDEX_MISMATCH for
 * a graph of another index (or of this one before it changed), ANN_METRIC_MISMATCH for other
 * scores, ANN_CORRUPT for sizes that disagree under the same fingerprint. Reads 128 bytes.
 */
export function checkGraphTarget(source: ByteSource, target: GraphTarget): GraphFileHeader {
  const name = source.name;
  const header = readGraphHeader(source);
  const rebuild = `rebuild it with \`kmed index --index ${target.name} --ann hnsw --force\``;
  if (header.indexFingerprint !== target.fingerprint) {
    throw new AnnError('ANN_INDEX_MISMATCH', `${name}: this graph was built for another index (fingerprint ${header.indexFingerprint.slice(0, 12)}…) than ` +
      `${target.name} (${target.fingerprint.slice(0, 12)}…), or the index changed since: ${rebuild}`);
  }
  if (header.rows !== target.rows || header.dimension !== target.dimension) {
    throw new AnnError('ANN_CORRUPT', `${name}: the graph holds ${header.rows} × ${header.dimension} rows but ${target.name} has ${target.rows} × ${target.dimension}, with the same fingerprint: ${rebuild}`);
  }
  if (header.metric !== target.metric && !target.anyMetric) {
    throw new AnnError('ANN_METRIC_MISMATCH', `${name}: the graph was built for ${header.metric} scores, the search asks for ${target.metric}: search with ` +
      `--metric ${header.metric}, or exactly (--exact), or rebuild the graph with --metric ${target.metric}`);
  }
  return header;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Read a graph file into `backend`'s heap over the rows at `vectors` (the index's rows as the
 * search holds them: unit length for cosine). Refuses a graph built for another index, another
 * metric or with other sizes (ANN_INDEX_MISMATCH, ANN_METRIC_MISMATCH), and any damage: each block
 * is checked against its CRC as it is read, then the levels against (seed, row) and every link
 * (graph-integrity.ts). Nothing is searched before all of it passed.
 */
export function readGraphFile(source: ByteSource, target: GraphTarget, backend: KernelBackend, vectors: Ptr): HeapGraph {
  const name = source.name;
  const fail = (code: KmedErrorCode, message: string): never => {
    throw new AnnError(code, `${name}: ${message}`);
  };
  if (!littleEndianHost) fail('ANN_CORRUPT', 'graph indexes are read on little-endian hosts only');
  const header = checkGraphTarget(source, target);
  const layout = layoutOf(header.rows, header.settings.M, header.upperSlots, header.blockSize);
  const tableBytes = new Uint8Array(layout.blocks * 4);
  source.readInto(layout.checksumsOffset, tableBytes);
  if (xxh32(tableBytes) !== header.tableHash) {
    fail('ANN_CHECKSUM', `the checksum table (bytes ${layout.checksumsOffset}..${layout.fileLength}) fails its xxHash32 at offset 100: the file is damaged; ${REBUILD}`);
  }
  const table = new Uint32Array(tableBytes.buffer);

  /** Read `section` into dst (its first `dst.length` bytes are the section's), verifying each block. */
  const readSection = (section: GraphSection, dst: Uint8Array, padded: Uint8Array | null): void => {
    const s = layout.sections[section];
    const B = header.blockSize;
    const into = padded ?? dst;
    for (let g = 0; g < s.blocks; g += READ_GROUP_BLOCKS) {
      const from = g * B;
      const to = Math.min(s.stored, (g + READ_GROUP_BLOCKS) * B);
      const bytes = into.subarray(from, to);
      source.readInto(s.start + from, bytes);
      for (let b = g; b < Math.min(s.blocks, g + READ_GROUP_BLOCKS); b++) {
        const lo = b * B - from;
        const hi = Math.min(lo + B, bytes.length);
        if (xxh32(bytes, lo, hi) !== table[s.firstBlock + b]) {
          fail('ANN_CHECKSUM', `${section} block ${b} (bytes ${s.start + b * B}..${s.start + from + hi}) fails its xxHash32: the file is damaged; ${REBUILD}`);
        }
      }
    }
    if (padded) dst.set(padded.subarray(0, dst.length));
  };

  const levels = new Uint8Array(header.rows);
  readSection('levels', levels, new Uint8Array(layout.sections.levels.stored));
  const expected = drawLevels(header.rows, header.settings.M, header.settings.seed);
  for (let i = 0; i < header.rows; i++) {
    if (levels[i] !== expected[i]) fail('ANN_CORRUPT', `node ${i}'s level (byte ${GRAPH_HEADER_BYTES + i}) is ${levels[i]}, not the ${expected[i]} that seed ${header.settings.seed} draws: ${REBUILD}`);
  }
  let top = 0;
  let entry = NONE;
  for (let i = 0; i < header.rows; i++) {
    if (entry === NONE || levels[i] > top) {
      entry = i;
      top = levels[i];
    }
  }
  let slots = 0;
  for (let i = 0; i < header.rows; i++) slots += levels[i];
  if (header.entry !== entry || header.top !== (header.rows === 0 ? 0 : top) || header.upperSlots !== slots) {
    fail('ANN_CORRUPT', `entry ${header.entry} at level ${header.top} with ${header.upperSlots} upper slots (offsets 48..64) do not follow from the levels ` +
      `(entry ${entry}, level ${top}, ${slots} slots): ${REBUILD}`);
  }
  const graph = new HeapGraph(backend, vectors, header.rows, header.dimension, header.settings, levels, { entry, top });
  readSection('level0', graph.bytes('level0'), null);
  readSection('upper', graph.bytes('upper'), null);
  checkGraphLinks(graph, (section, byte) => layout.sections[section].start + byte, name);
  return graph;
}
