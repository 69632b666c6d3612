// Owns: the arithmetic of relevance between embeddings — dot product, cosine, L2 normalisation,
// top-k selection — the SearchSession contract every exact-search session keeps, and the two
// sessions over a plain matrix of vectors (rows given by a RowReader, normalised here for cosine):
// ExactSearch, which holds the rows in the kernel backend's heap (rows × D × 4 bytes, at most
// ~1.3M × 768 under wasm32's 4 GiB), and StreamingSearch, which streams them through a bounded window
// of the heap on every pass (any number of rows; each pass rereads them). Both give the same scores
// bit for bit. Sessions over an index file, whose rows are stored ready for the metric and verified
// where they are read, are index-search.ts's.
// Does not own: where vectors come from (encoders, index files), what the rows mean (ids, texts), the
// batch scoring both share (query-batch.ts) or the selection (top-k.ts).
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import { allScores, checkK, checkMetric, inPasses, MAX_QUERIES_PER_PASS, scoreF32Window, SimilarityError, writeQueries, type Metric } from './query-batch.js';
import { TopKSelector, type Scored } from './top-k.js';

export { checkMetric, SimilarityError, type Metric } from './query-batch.js';
export type { Scored } from './top-k.js';

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new SimilarityError(
      'SIMILARITY_DIMENSION_MISMATCH',
      `cannot compare a ${a.length}-dimensional vector with a ${b.length}-dimensional one`,
    );
  }
}

/** Σ a[i]·b[i], accumulated in float64 so the only rounding left is the embeddings' own. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Euclidean length, float64. */
export function l2Norm(a: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * a[i];
  return Math.sqrt(sum);
}

/** cos(a, b). A zero vector has no direction; it scores 0 against everything rather than NaN,
 *  so one degenerate passage cannot poison a ranking. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = dot(a, b);
  const n = l2Norm(a) * l2Norm(b);
  return n === 0 ? 0 : d / n;
}

/** Scale `v` in place to unit length (left as is when it is all zeros); returns `v`. */
export function normalizeInPlace(v: Float32Array): Float32Array {
  const n = l2Norm(v);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i] / n;
  return v;
}

/** A unit-length copy of `v`. */
export function normalized(v: ArrayLike<number>): Float32Array {
  return normalizeInPlace(Float32Array.from(v));
}

/** score(a, b) under `metric`. */
export function similarity(a: ArrayLike<number>, b: ArrayLike<number>, metric: Metric = 'cosine'): number {
  return metric === 'cosine' ? cosine(a, b) : dot(a, b);
}

/** scores[q][p] = similarity(queries[q], passages[p]). */
export function scoreMatrix(
  queries: ArrayLike<number>[],
  passages: ArrayLike<number>[],
  metric: Metric = 'cosine',
): number[][] {
  checkMetric(metric);
  return queries.map((q) => passages.map((p) => similarity(q, p, metric)));
}

/**
 * Streaming top-k of scored rows offered one at a time in any order: higher score first, equal
 * scores keep the lower row first, NaN last. (TopKSelector, top-k.ts, is the allocation-free form
 * the sessions use on runs of scores.)
 */
export class TopK {
  readonly k: number;
  private readonly selector: TopKSelector;

  constructor(k: number) {
    this.k = checkK(k);
    this.selector = new TopKSelector(k);
  }

  push(index: number, score: number): void {
    this.selector.push(score, index);
  }

  /** Offer scores[i] with index offset + i for every i. */
  pushAll(scores: ArrayLike<number>, offset = 0): void {
    for (let i = 0; i < scores.length; i++) this.selector.push(scores[i], offset + i);
  }

  /** The kept items, best first. */
  result(): Scored[] {
    return this.selector.result();
  }
}

/** The k best of `scores`, best first (ties: lower index first). */
export function topK(scores: ArrayLike<number>, k: number): Scored[] {
  const top = new TopKSelector(Math.min(checkK(k), scores.length));
  top.offer(scores);
  return top.result();
}

/** Fills `dst` (rows × dimension floats, row-major) with rows [row0, row0 + rows) of the matrix. */
export type RowReader = (dst: Float32Array, row0: number, rows: number) => void;

/** An exact-search session over a [rows, dimension] matrix (ExactSearch, StreamingSearch, or an
 *  index's: index-search.ts). */
export interface SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  /** Every row's score against `query` (length `rows`, row order). */
  scoreAll(query: ArrayLike<number>): Float32Array;
  /** The k best rows for `query`, best first. */
  search(query: ArrayLike<number>, k: number): Scored[];
  /** The k best rows for each query, best first: the queries are scored together, in as few passes
   *  over the rows as the session's heap allows (up to 256 per pass), with a matrix–matrix kernel.
   *  A batch of two or more sums in another order than search() (assembly/dot.ts), so its scores
   *  may differ from search()'s in the last bits; they do not depend on the batch's size. */
  searchMany(queries: ReadonlyArray<ArrayLike<number>>, k: number): Scored[][];
  dispose(): void;
}

/** Bytes of heap a StreamingSearch uses for its window of rows by default (64 MiB). */
export const DEFAULT_WINDOW_BYTES = 64 << 20;

// Rows per window of scores when the rows are all in the heap: bounds the scores a batch of
// MAX_QUERIES_PER_PASS queries needs (16 MiB).
const RESIDENT_SCORE_ROWS = 16384;

function checkShape(rows: number, dimension: number): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dimension) || dimension <= 0) {
    throw new SimilarityError('SIMILARITY_BAD_SHAPE', `bad matrix shape [${rows}, ${dimension}]`);
  }
}

/** What both matrix sessions share: the heap for a batch of queries and their scores, and the
 *  passes of a batch over windows of rows the subclass provides. */
abstract class MatrixSearch implements SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  protected readonly backend: KernelBackend;
  protected readonly base: Ptr;
  protected queries: Ptr = 0;
  protected scores: Ptr = 0;
  protected ownsBackend = false;
  private disposed = false;

  protected constructor(backend: KernelBackend, rows: number, dimension: number, metric: Metric) {
    checkShape(rows, dimension);
    this.backend = backend;
    this.rows = rows;
    this.dimension = dimension;
    this.metric = metric;
    this.base = backend.mark();
  }

  /** Reserve the batch's heap (after the subclass's rows: nothing is allocated once views exist). */
  protected allocBatch(windowRows: number): void {
    this.queries = this.backend.alloc(MAX_QUERIES_PER_PASS * this.dimension * 4);
    this.scores = this.backend.alloc(Math.max(1, windowRows) * MAX_QUERIES_PER_PASS * 4);
  }

  /** Visit each window of rows in the heap, in row order: (pointer, first row, rows). */
  protected abstract windows(visit: (ptr: Ptr, row0: number, rows: number) => void): void;

  private pass(queries: ReadonlyArray<ArrayLike<number>>, tops: TopKSelector[], onScores?: (q: number, scores: Float32Array, row0: number) => void): void {
    if (this.disposed) throw new SimilarityError('SIMILARITY_DISPOSED', 'this search session was disposed');
    writeQueries(this.backend, this.queries, queries, this.dimension, this.metric);
    this.windows((ptr, row0, rows) => scoreF32Window(this.backend, ptr, row0, rows, this.dimension, this.queries, queries.length, this.scores, tops, undefined, onScores));
  }

  scoreAll(query: ArrayLike<number>): Float32Array {
    return allScores(this.rows, query, (q, tops, onScores) => this.pass(q, tops, onScores));
  }

  search(query: ArrayLike<number>, k: number): Scored[] {
    return this.searchMany([query], k)[0];
  }

  searchMany(queries: ReadonlyArray<ArrayLike<number>>, k: number): Scored[][] {
    return inPasses(queries, Math.min(checkK(k), this.rows), (q, tops) => this.pass(q, tops));
  }

  /** Give the heap back (and stop the backend, when the session was given it to own). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.release(this.base);
    if (this.ownsBackend) this.backend.dispose();
  }
}

/**
 * Exact search that streams the rows through a window of `windowBytes` in the backend's heap on
 * every pass: read a window of rows, normalise them there (cosine), score the batch, offer the
 * scores to each query's top-k, next window. Memory stays at the window whatever the row count.
 */
export class StreamingSearch extends MatrixSearch {
  readonly windowRows: number;
  private readonly read: RowReader;
  private readonly window: Ptr;

  constructor(
    backend: KernelBackend,
    rows: number,
    dimension: number,
    read: RowReader,
    options: { metric?: Metric; ownsBackend?: boolean; windowBytes?: number } = {},
  ) {
    super(backend, rows, dimension, checkMetric(options.metric ?? 'cosine'));
    this.read = read;
    this.ownsBackend = options.ownsBackend ?? false;
    this.windowRows = Math.max(1, Math.min(Math.max(rows, 1), Math.floor((options.windowBytes ?? DEFAULT_WINDOW_BYTES) / (dimension * 4))));
    this.window = backend.alloc(this.windowRows * dimension * 4);
    this.allocBatch(this.windowRows);
  }

  protected windows(visit: (ptr: Ptr, row0: number, rows: number) => void): void {
    const D = this.dimension;
    for (let row0 = 0; row0 < this.rows; row0 += this.windowRows) {
      const n = Math.min(this.windowRows, this.rows - row0);
      const view = this.backend.f32(this.window, n * D);
      this.read(view, row0, n);
      if (this.metric === 'cosine') for (let r = 0; r < n; r++) normalizeInPlace(view.subarray(r * D, (r + 1) * D));
      visit(this.window, row0, n);
    }
  }
}

/**
 * Exact nearest-neighbour search over a [rows, dimension] matrix that lives in the backend's heap.
 * The rows are copied in once (and L2-normalised there for cosine, so each pass is only kernels);
 * every query batch then costs one pass over the matrix. Call dispose() to give the heap back.
 */
export class ExactSearch extends MatrixSearch {
  private readonly matrix: Ptr;

  private constructor(backend: KernelBackend, rows: number, dimension: number, metric: Metric) {
    super(backend, rows, dimension, metric);
    // Every allocation happens before any view is taken: growing the heap detaches old views.
    this.matrix = backend.alloc(rows * dimension * 4);
    this.allocBatch(Math.min(rows, RESIDENT_SCORE_ROWS));
  }

  /** Copy `rows` vectors of `dimension` floats into `backend`'s heap through `read` (normalised
   *  there for cosine, unless `unitRows` says they already are: an index's stored rows, whose bits
   *  are then scored as they are). */
  static create(
    backend: KernelBackend,
    rows: number,
    dimension: number,
    read: RowReader,
    options: { metric?: Metric; ownsBackend?: boolean; unitRows?: boolean } = {},
  ): ExactSearch {
    const metric = checkMetric(options.metric ?? 'cosine');
    checkShape(rows, dimension);
    const search = new ExactSearch(backend, rows, dimension, metric);
    search.ownsBackend = options.ownsBackend ?? false;
    // Rows copied into the heap per read: a few MiB, whatever the matrix size.
    const chunkRows = Math.max(1, Math.floor((1 << 20) / dimension));
    for (let row0 = 0; row0 < rows; row0 += chunkRows) {
      const n = Math.min(chunkRows, rows - row0);
      const view = backend.f32(search.matrix + row0 * dimension * 4, n * dimension);
      read(view, row0, n);
      if (metric === 'cosine' && !options.unitRows) {
        for (let r = 0; r < n; r++) normalizeInPlace(view.subarray(r * dimension, (r + 1) * dimension));
      }
    }
    return search;
  }

  /** Where the rows lie in the backend's heap ([rows, dimension] f32, unit length for cosine), for
   *  structures built over them (a graph index: search/ann/); valid until dispose(). */
  get heapRows(): { backend: KernelBackend; ptr: Ptr } {
    return { backend: this.backend, ptr: this.matrix };
  }

  protected windows(visit: (ptr: Ptr, row0: number, rows: number) => void): void {
    for (let row0 = 0; row0 < this.rows; row0 += RESIDENT_SCORE_ROWS) {
      visit(this.matrix + row0 * this.dimension * 4, row0, Math.min(RESIDENT_SCORE_ROWS, this.rows - row0));
    }
  }
}
