// Owns: search sessions over an index file (IndexSearch) — its rows read straight into the kernel
// heap and verified there (xxHash32 and finiteness, one wasm pass, as they arrive), scored by the
// SIMD kernels a window at a time, with top-k selection over the scores where the kernel wrote them.
// Two ways to hold the rows:
//   resident   every row in the heap, read and verified once at open (each query is then one pass
//              over memory; rows × row bytes of heap, ≤ 4 GiB under wasm32);
//   streaming  the rows read through a window of the heap on every pass, verified on the first
//              (memory bounded by the window, any size; each pass rereads the file, checked
//              unchanged first).
// And two kinds of rows to scan:
//   f32        the stored unit rows: exact search;
//   f16, int8  the index's smaller scan rows: a first pass keeps the best `rerank` candidates per
//              query, whose f32 rows are then read and scored exactly (the final scores are the f32
//              session's, bit for bit); only the small rows are held, never a second f32 copy.
// Cosine needs nothing at query time (rows are unit length); dot multiplies each score by the row's
// stored norm. Before the first result the offsets, strings and norms are verified too.
// Does not own: the file format and its checks (vector-index.ts), the kernels (assembly/), the batch
// plumbing shared with the matrix sessions (query-batch.ts) or selection (top-k.ts).
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import type { HashKind } from '../kernels/reference-search.js';
import { allScores, checkK, checkMetric, inPasses, MAX_QUERIES_PER_PASS, offerScores, scoreF32Window, SimilarityError, writeQueries, type Metric } from './query-batch.js';
import { quantizeQuery } from './row-encoding.js';
import type { SearchSession } from './similarity.js';
import { TopKSelector, type Scored } from './top-k.js';
import type { BlockHasher, VectorIndex } from './vector-index.js';
import type { SectionName } from './index-layout.js';

/** Heap bytes a streaming session reads the rows through (a multiple of the 64 KiB checksum block).
 *  Small enough that a window just read is still in cache when the kernels score it. */
export const DEFAULT_STREAM_WINDOW_BYTES = 4 << 20;

/** Blocks read (and verified) per call while loading rows or checking a section: 4 MiB. */
const LOAD_BLOCKS = 64;

/** Rows per window of scores when the rows are all in the heap (scores ≤ 16 MiB per batch). */
const RESIDENT_SCORE_ROWS = 16384;

/** Candidates re-ranked in f32 per query after a scan of f16 or int8 rows, by default: enough that
 *  the k best f32 rows are among them (recall@10 ≥ 0.99 on clustered 768-d vectors: bench/search-exact.ts). */
export function defaultRerank(k: number): number {
  return Math.max(4 * k, k + 100);
}

export interface IndexSearchOptions {
  metric?: Metric;
  /** 'resident' or 'streaming' (see the file header). */
  mode: 'resident' | 'streaming';
  /** Scan the index's f16/int8 rows and re-rank in f32 (default: true when the index has them);
   *  false scans the f32 rows: exact search. */
  scan?: boolean;
  /** Candidates per query re-ranked in f32 after a scan (default defaultRerank(k)). */
  rerank?: number;
  /** Heap bytes of a streaming window (default 4 MiB, rounded up to whole checksum blocks). */
  windowBytes?: number;
  /** Dispose the backend with the session. */
  ownsBackend?: boolean;
}

type RowKind = 'f32' | 'f16' | 'int8';

/** Where one pass finds its rows: each window's heap pointer, first row and row count. */
interface RowWindows {
  readonly windowRows: number;
  forEach(visit: (ptr: Ptr, row0: number, rows: number) => void): void;
}

/** A BlockHasher that runs the wasm kernel on bytes at heap pointer `ptr` (which dst views). */
function kernelHasher(backend: KernelBackend, out: Ptr, ptr: Ptr): BlockHasher {
  return (_dst, from, to, blockSize, kind: HashKind) => {
    const n = to - from;
    const full = Math.floor(n / blockSize);
    const rest = n - full * blockSize;
    if (full > 0) backend.hashBlocks(out, ptr + from, full, blockSize, kind);
    if (rest > 0) backend.hashBlocks(out + full * 8, ptr + from + full * blockSize, 1, rest, kind);
    return new Uint32Array(backend.memory.buffer, out, 2 * (full + (rest > 0 ? 1 : 0))).slice();
  };
}

function heapBytes(backend: KernelBackend, ptr: Ptr, length: number): Uint8Array {
  return new Uint8Array(backend.memory.buffer, ptr, length);
}

/** An index's rows all in the heap, read and verified at construction. */
class ResidentRows implements RowWindows {
  readonly windowRows = RESIDENT_SCORE_ROWS;
  constructor(private readonly ptr: Ptr, private readonly rowBytes: number, private readonly count: number) {}

  static load(backend: KernelBackend, index: VectorIndex, name: SectionName, ptr: Ptr, hashOut: Ptr): void {
    const span = index.layout.sections[name];
    const B = index.layout.blockSize;
    for (let b = 0; b < span.blocks; b += LOAD_BLOCKS) {
      const at = ptr + b * B;
      const length = Math.min(LOAD_BLOCKS * B, span.length - b * B);
      index.readBlocks(name, b, heapBytes(backend, at, length), kernelHasher(backend, hashOut, at));
    }
  }

  forEach(visit: (ptr: Ptr, row0: number, rows: number) => void): void {
    for (let row0 = 0; row0 < this.count; row0 += this.windowRows) {
      visit(this.ptr + row0 * this.rowBytes, row0, Math.min(this.windowRows, this.count - row0));
    }
  }
}

/** An index's rows read through a window of the heap on every pass (verified on the first). Rows
 *  that straddle two windows are completed in a row-sized carry area just before the window. */
class StreamingRows implements RowWindows {
  readonly windowRows: number;
  constructor(
    private readonly backend: KernelBackend,
    private readonly index: VectorIndex,
    private readonly name: SectionName,
    private readonly rowBytes: number,
    private readonly window: Ptr,
    private readonly windowBytes: number,
    private readonly hashOut: Ptr,
  ) {
    this.windowRows = Math.floor((windowBytes + rowBytes) / rowBytes);
  }

  /** Heap bytes a window of `windowBytes` needs: the carry area, then the window. */
  static heapBytes(rowBytes: number, windowBytes: number): number {
    return rowBytes + windowBytes;
  }

  forEach(visit: (ptr: Ptr, row0: number, rows: number) => void): void {
    const { backend, index, name, rowBytes } = this;
    index.checkUnchanged();
    const span = index.layout.sections[name];
    const B = index.layout.blockSize;
    const perWindow = this.windowBytes / B;
    const start = this.window + rowBytes; // the window proper; the carry area lies before it
    let carry = 0;
    let row0 = 0;
    for (let b = 0; b < span.blocks; b += perWindow) {
      const length = Math.min(perWindow * B, span.length - b * B);
      index.readBlocks(name, b, heapBytes(backend, start, length), kernelHasher(backend, this.hashOut, start));
      const have = carry + length;
      const rows = Math.floor(have / rowBytes);
      if (rows > 0) visit(start - carry, row0, rows);
      const left = have - rows * rowBytes;
      if (left > 0) heapBytes(backend, this.window, rowBytes + length).copyWithin(rowBytes - left, rowBytes + length - left, rowBytes + length);
      carry = left;
      row0 += rows;
    }
    if (row0 !== index.count || carry !== 0) {
      throw new SimilarityError('SIMILARITY_BAD_SHAPE', `${index.name}: read ${row0} rows (+${carry} bytes) of ${index.count}`);
    }
  }
}

/** Search over an index file; see the file header. Open with IndexSearch.open (or the library's
 *  openSearchSession, which picks the mode). */
export class IndexSearch implements SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  /** The rows the first pass scans: 'f32' (exact), or the index's 'f16' / 'int8' scan rows. */
  readonly kind: RowKind;
  readonly mode: 'resident' | 'streaming';
  private readonly index: VectorIndex;
  private readonly backend: KernelBackend;
  private readonly base: Ptr;
  private readonly ownsBackend: boolean;
  private readonly rerankOption?: number;
  private windowsOf!: RowWindows;
  private queries: Ptr = 0;
  private queries16: Ptr = 0;
  private queryScales: Ptr = 0;
  private scores: Ptr = 0;
  private scales: Ptr = 0;
  private rerankRows: Ptr = 0;
  private rerankScores: Ptr = 0;
  private rerankCapacity = 0;
  private rerankBlock: Ptr = 0;
  private hashOut: Ptr = 0;
  private norms?: Float32Array;
  private disposed = false;

  private constructor(index: VectorIndex, backend: KernelBackend, options: IndexSearchOptions) {
    this.index = index;
    this.backend = backend;
    this.rows = index.count;
    this.dimension = index.dimension;
    this.metric = checkMetric(options.metric ?? 'cosine');
    this.mode = options.mode;
    const scan = options.scan ?? index.scan !== null;
    if (scan && index.scan === null) {
      throw new SimilarityError('SIMILARITY_NO_SCAN_ROWS', `${index.name} holds no f16 or int8 scan rows (built without --row-dtype): search it exactly`);
    }
    this.kind = scan ? index.scan! : 'f32';
    this.ownsBackend = options.ownsBackend ?? false;
    if (options.rerank !== undefined && (!Number.isInteger(options.rerank) || options.rerank < 1)) {
      throw new SimilarityError('SIMILARITY_BAD_K', `rerank must be a positive integer, got ${options.rerank}`);
    }
    this.rerankOption = options.rerank;
    this.base = backend.mark();
  }

  /**
   * A session over `index` in `backend`'s heap (see the file header). Verifies the offsets, strings
   * and norms (and, resident, every scanned row) before it returns; a damaged file is an IndexError.
   */
  static open(index: VectorIndex, backend: KernelBackend, options: IndexSearchOptions): IndexSearch {
    const session = new IndexSearch(index, backend, options);
    try {
      session.allocate(options.windowBytes);
    } catch (error) {
      session.dispose();
      throw error;
    }
    return session;
  }

  private get rowBytes(): number {
    return this.dimension * (this.kind === 'f32' ? 4 : this.kind === 'f16' ? 2 : 1);
  }

  private get section(): SectionName {
    return this.kind === 'f32' ? 'vectors' : 'scan';
  }

  private allocate(windowBytesOption?: number): void {
    const { backend, index } = this;
    const B = index.layout.blockSize;
    const D = this.dimension;
    // Every allocation first (growing the heap detaches views), then the reads.
    let rowsPtr = 0;
    let windowBytes = 0;
    if (this.mode === 'resident') {
      rowsPtr = backend.alloc(index.layout.sections[this.section].length);
    } else {
      const want = Math.max(windowBytesOption ?? DEFAULT_STREAM_WINDOW_BYTES, this.rowBytes, 1);
      windowBytes = Math.ceil(want / B) * B;
      rowsPtr = backend.alloc(StreamingRows.heapBytes(this.rowBytes, windowBytes));
    }
    if (this.kind === 'int8') this.scales = backend.alloc(this.rows * 4);
    const hashBlocks = Math.max(LOAD_BLOCKS, windowBytes / B) + 1;
    const hashOut = backend.alloc(hashBlocks * 8);
    this.hashOut = hashOut;
    // One checksum block of f32 rows, where a re-rank verifies a candidate's block on first touch.
    if (this.kind !== 'f32') this.rerankBlock = backend.alloc(B);
    const windowRows = this.mode === 'resident' ? RESIDENT_SCORE_ROWS : Math.floor((windowBytes + this.rowBytes) / this.rowBytes);
    this.queries = backend.alloc(MAX_QUERIES_PER_PASS * D * 4);
    if (this.kind === 'int8') {
      this.queries16 = backend.alloc(MAX_QUERIES_PER_PASS * D * 2);
      this.queryScales = backend.alloc(MAX_QUERIES_PER_PASS * 4);
    }
    // f32 and int8 rows score a whole batch per window (dotRowsMany, dotRowsManyI8); f16 one query.
    this.scores = backend.alloc(Math.max(1, Math.min(windowRows, this.rows)) * (this.kind === 'f16' ? 1 : MAX_QUERIES_PER_PASS) * 4);
    // Sections checked through a scratch window at the top of the heap, given back afterwards.
    const scratchMark = backend.mark();
    const scratch = backend.alloc(LOAD_BLOCKS * B);
    const verify = (name: SectionName) => index.verifySection(name, heapBytes(backend, scratch, LOAD_BLOCKS * B), kernelHasher(backend, hashOut, scratch));
    index.verifySection('offsets');
    verify('strings');
    verify('norms');
    backend.release(scratchMark);
    if (this.metric === 'dot') {
      this.norms = new Float32Array(this.rows);
      index.readNorms(this.norms, 0, this.rows);
    }
    if (this.kind === 'int8') ResidentRows.load(backend, index, 'scales', this.scales, hashOut);
    if (this.mode === 'resident') {
      ResidentRows.load(backend, index, this.section, rowsPtr, hashOut);
      this.windowsOf = new ResidentRows(rowsPtr, this.rowBytes, this.rows);
    } else {
      this.windowsOf = new StreamingRows(backend, index, this.section, this.rowBytes, rowsPtr, windowBytes, hashOut);
    }
  }

  /** Heap for re-ranking `n` candidates, grown on demand (at the top of the arena: it holds no
   *  views across calls). */
  private rerankHeap(n: number): void {
    if (n <= this.rerankCapacity) return;
    if (this.rerankCapacity > 0) this.backend.release(this.rerankRows);
    this.rerankRows = this.backend.alloc(n * this.dimension * 4);
    this.rerankScores = this.backend.alloc(n * 4);
    this.rerankCapacity = n;
  }

  private checkOpen(): void {
    if (this.disposed) throw new SimilarityError('SIMILARITY_DISPOSED', 'this search session was disposed');
  }

  /** One pass over the rows for a batch (≤ MAX_QUERIES_PER_PASS) of queries: each query's selector
   *  sees every row's first-pass score (exact f32, or the scan rows' approximation). */
  private pass(queries: ReadonlyArray<ArrayLike<number>>, tops: TopKSelector[], onScores?: (q: number, scores: Float32Array, row0: number) => void): void {
    this.checkOpen();
    const { backend, dimension: D } = this;
    writeQueries(backend, this.queries, queries, D, this.metric);
    const nq = queries.length;
    if (this.kind === 'f32') {
      this.windowsOf.forEach((ptr, row0, rows) => scoreF32Window(backend, ptr, row0, rows, D, this.queries, nq, this.scores, tops, this.norms, onScores));
      return;
    }
    if (this.kind === 'int8') {
      // Every query of the batch as int16 levels and its scale, side by side in the heap; one
      // kernel call per window scores them all (the same scores, bit for bit, as one at a time).
      const q16s = new Int16Array(backend.memory.buffer, this.queries16, nq * D);
      const qScales = backend.f32(this.queryScales, nq);
      for (let q = 0; q < nq; q++) {
        const { q16, scale } = quantizeQuery(backend.f32(this.queries + q * D * 4, D));
        q16s.set(q16, q * D);
        qScales[q] = scale;
      }
      this.windowsOf.forEach((ptr, row0, rows) => {
        const scales = this.scales + row0 * 4;
        if (nq === 1) backend.dotRowsI8(this.scores, ptr, scales, this.queries16, rows, D, qScales[0]);
        else backend.dotRowsManyI8(this.scores, ptr, scales, this.queries16, this.queryScales, rows, nq, D, rows);
        offerScores(backend, this.scores, row0, rows, nq, tops, this.norms, onScores);
      });
      return;
    }
    // f16 scan rows: one query per kernel call (dotRowsF16 is a one-query kernel).
    this.windowsOf.forEach((ptr, row0, rows) => {
      for (let q = 0; q < nq; q++) {
        backend.dotRowsF16(this.scores, ptr, this.queries + q * D * 4, rows, D);
        offerScores(backend, this.scores, row0, rows, 1, [tops[q]], this.norms, onScores ? (_, s, r0) => onScores(q, s, r0) : undefined);
      }
    });
  }

  /** f32 scores of each query's candidates (rows in `candidates`), into a top-k of `k`. */
  private rerank(queries: ReadonlyArray<ArrayLike<number>>, candidates: Scored[][], k: number): Scored[][] {
    const { backend, dimension: D } = this;
    // The f32 queries of the batch are still in the heap (pass wrote them).
    return candidates.map((cands, q) => {
      const rows = cands.map((c) => c.index).sort((a, b) => a - b);
      this.verifyRowBlocks(rows);
      this.rerankHeap(rows.length);
      const view = backend.f32(this.rerankRows, rows.length * D);
      rows.forEach((row, i) => this.index.readVectors(view.subarray(i * D, (i + 1) * D), row, 1));
      // The kernel the f32 pass uses for a batch of this size (dotRows alone, dotRowsMany in a batch:
      // their orders differ in the last bits), so the scores are that pass's, bit for bit.
      const query = this.queries + q * D * 4;
      if (queries.length === 1) backend.dotRows(this.rerankScores, this.rerankRows, query, rows.length, D);
      else backend.dotRowsMany(this.rerankScores, this.rerankRows, query, rows.length, 1, D, rows.length);
      const scores = backend.f32(this.rerankScores, rows.length);
      const top = new TopKSelector(Math.min(k, rows.length));
      // Scaled as offerScores scales (rounded to f32), so the scores are the exact session's bits.
      rows.forEach((row, i) => top.push(this.norms ? Math.fround(scores[i] * this.norms[row]) : scores[i], row));
      return top.result();
    });
  }

  /** The f32 blocks holding `rows` not verified yet, each read into the heap and verified there by
   *  the kernel (~13 GB/s, not TypeScript's ~1 GB/s), so readVectors then only reads. */
  private verifyRowBlocks(rows: number[]): void {
    const { index, backend } = this;
    const span = index.layout.sections.vectors;
    const B = index.layout.blockSize;
    const rowBytes = this.dimension * 4;
    for (const row of rows) {
      for (let b = Math.floor((row * rowBytes) / B); b <= Math.floor(((row + 1) * rowBytes - 1) / B); b++) {
        if (index.isVerified('vectors', b)) continue;
        const length = Math.min(B, span.length - b * B);
        index.readBlocks('vectors', b, heapBytes(backend, this.rerankBlock, length), kernelHasher(backend, this.hashOut, this.rerankBlock));
      }
    }
  }

  /** Every row's first-pass score against `query` (row order): exact for f32 rows; for f16/int8
   *  scan rows, their approximation of it (search() re-ranks its candidates in f32). */
  scoreAll(query: ArrayLike<number>): Float32Array {
    return allScores(this.rows, query, (q, tops, onScores) => this.pass(q, tops, onScores));
  }

  search(query: ArrayLike<number>, k: number): Scored[] {
    return this.searchMany([query], k)[0];
  }

  searchMany(queries: ReadonlyArray<ArrayLike<number>>, k: number): Scored[][] {
    const kk = Math.min(checkK(k), this.rows);
    const pass = (q: ReadonlyArray<ArrayLike<number>>, tops: TopKSelector[]) => this.pass(q, tops);
    if (this.kind === 'f32') return inPasses(queries, kk, pass);
    const keep = Math.min(this.rows, Math.max(kk, this.rerankOption ?? defaultRerank(kk)));
    return inPasses(queries, keep, pass, (batch, found) => this.rerank(batch, found, kk));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.release(this.base);
    if (this.ownsBackend) this.backend.dispose();
  }
}

