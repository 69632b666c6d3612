// Owns: the arithmetic of relevance between embeddings — dot product, cosine, L2 normalisation,
// top-k selection — and the two exact-search sessions behind one interface (SearchSession):
// ExactSearch, which scores one query against every row of a matrix held in the kernel backend's
// heap with the SIMD `dotRows` kernel (one copy of the rows per session: rows × D × 4 bytes of
// heap, so at most ~1.3M × 768 under wasm32's 4 GiB), and StreamingSearch, which streams the rows
// through a bounded window of the heap on every query (any number of rows, memory bounded by the
// window; each query rereads the rows). Both give the same scores bit for bit: the same
// normalisation and the same kernel on the same rows.
// Does not own: where vectors come from (encoders, index files) or what the rows mean (ids, texts).
import { KmedError } from '../errors/errors.js';
import type { KernelBackend, Ptr } from '../kernels/backend.js';

export class SimilarityError extends KmedError {}

/** How two embeddings are compared: cosine of the angle (the model card's choice) or raw dot. */
export type Metric = 'cosine' | 'dot';

export function checkMetric(metric: string): Metric {
  if (metric !== 'cosine' && metric !== 'dot') {
    throw new SimilarityError('SIMILARITY_BAD_METRIC', `unknown metric '${metric}': use 'cosine' or 'dot'`);
  }
  return metric;
}

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

export interface Scored {
  /** Row of the scored matrix (passage number in an index). */
  index: number;
  score: number;
}

/** `a` ranks before `b`: higher score first; equal scores keep input order so rankings are
 *  deterministic; NaN (which a valid index never produces) ranks last. */
function before(a: Scored, b: Scored): boolean {
  const sa = Number.isNaN(a.score) ? -Infinity : a.score;
  const sb = Number.isNaN(b.score) ? -Infinity : b.score;
  return sa > sb || (sa === sb && a.index < b.index);
}

/**
 * Streaming top-k: a min-heap of the k best seen so far (its root is the worst kept), so
 * selecting from n scores costs O(n log k) time and O(k) memory — scores can arrive in chunks.
 */
export class TopK {
  readonly k: number;
  private readonly heap: Scored[] = [];

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 0) {
      throw new SimilarityError('SIMILARITY_BAD_K', `k must be a non-negative integer, got ${k}`);
    }
    this.k = k;
  }

  push(index: number, score: number): void {
    if (this.k === 0) return;
    const item = { index, score };
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push(item);
      this.siftUp(heap.length - 1);
    } else if (before(item, heap[0])) {
      heap[0] = item;
      this.siftDown(0);
    }
  }

  /** Offer scores[i] with index offset + i for every i. */
  pushAll(scores: ArrayLike<number>, offset = 0): void {
    for (let i = 0; i < scores.length; i++) this.push(offset + i, scores[i]);
  }

  /** The kept items, best first. */
  result(): Scored[] {
    return [...this.heap].sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  // Heap order: a parent is "worse" (ranks after) than its children.
  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[parent], heap[i])) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && before(heap[worst], heap[l])) worst = l;
      if (r < heap.length && before(heap[worst], heap[r])) worst = r;
      if (worst === i) return;
      [heap[worst], heap[i]] = [heap[i], heap[worst]];
      i = worst;
    }
  }
}

/** The k best of `scores`, best first (ties: lower index first). */
export function topK(scores: ArrayLike<number>, k: number): Scored[] {
  const top = new TopK(Math.min(k, scores.length));
  top.pushAll(scores);
  return top.result();
}

/** Fills `dst` (rows × dimension floats, row-major) with rows [row0, row0 + rows) of the matrix. */
export type RowReader = (dst: Float32Array, row0: number, rows: number) => void;

// Rows copied into the heap per read: large enough to amortise the reader, small enough that the
// transient Float32Array view stays a few MiB whatever the matrix size.
const LOAD_CHUNK_FLOATS = 1 << 20;

/** An exact-search session over a [rows, dimension] matrix: ExactSearch or StreamingSearch. */
export interface SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  /** Every row's score against `query` (length `rows`, row order). */
  scoreAll(query: ArrayLike<number>): Float32Array;
  /** The k best rows for `query`, best first. */
  search(query: ArrayLike<number>, k: number): Scored[];
  dispose(): void;
}

/** Bytes of heap a StreamingSearch uses for its window of rows by default (64 MiB). */
export const DEFAULT_WINDOW_BYTES = 64 << 20;

/**
 * Exact search that streams the rows through a window of `windowBytes` in the backend's heap on
 * every query: read a window of rows, normalise them there (cosine), one dotRows call, offer the
 * scores to a streaming top-k, next window. Memory stays at the window whatever the row count.
 */
export class StreamingSearch implements SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  readonly windowRows: number;
  private readonly backend: KernelBackend;
  private readonly read: RowReader;
  private readonly base: Ptr;
  private readonly window: Ptr;
  private readonly query: Ptr;
  private readonly scores: Ptr;
  private readonly ownsBackend: boolean;
  private disposed = false;

  constructor(
    backend: KernelBackend,
    rows: number,
    dimension: number,
    read: RowReader,
    options: { metric?: Metric; ownsBackend?: boolean; windowBytes?: number } = {},
  ) {
    this.metric = checkMetric(options.metric ?? 'cosine');
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dimension) || dimension <= 0) {
      throw new SimilarityError('SIMILARITY_BAD_SHAPE', `bad matrix shape [${rows}, ${dimension}]`);
    }
    this.backend = backend;
    this.rows = rows;
    this.dimension = dimension;
    this.read = read;
    this.ownsBackend = options.ownsBackend ?? false;
    this.windowRows = Math.max(1, Math.min(Math.max(rows, 1), Math.floor((options.windowBytes ?? DEFAULT_WINDOW_BYTES) / (dimension * 4))));
    this.base = backend.mark();
    this.window = backend.alloc(this.windowRows * dimension * 4);
    this.query = backend.alloc(dimension * 4);
    this.scores = backend.alloc(this.windowRows * 4);
  }

  /** Calls `visit(scores, row0)` for each window of scores, in row order. */
  private scan(query: ArrayLike<number>, visit: (scores: Float32Array, row0: number) => void): void {
    if (this.disposed) throw new SimilarityError('SIMILARITY_DISPOSED', 'this search session was disposed');
    if (query.length !== this.dimension) {
      throw new SimilarityError(
        'SIMILARITY_DIMENSION_MISMATCH',
        `query has ${query.length} dimensions but the indexed vectors have ${this.dimension}`,
      );
    }
    const D = this.dimension;
    const q = this.backend.f32(this.query, D);
    q.set(query);
    if (this.metric === 'cosine') normalizeInPlace(q);
    for (let row0 = 0; row0 < this.rows; row0 += this.windowRows) {
      const n = Math.min(this.windowRows, this.rows - row0);
      // Views are taken after every allocation (none happens here), and again per window since a
      // reader may be slow but never allocates in this heap.
      const view = this.backend.f32(this.window, n * D);
      this.read(view, row0, n);
      if (this.metric === 'cosine') {
        for (let r = 0; r < n; r++) normalizeInPlace(view.subarray(r * D, (r + 1) * D));
      }
      this.backend.dotRows(this.scores, this.window, this.query, n, D);
      visit(this.backend.f32(this.scores, n), row0);
    }
  }

  scoreAll(query: ArrayLike<number>): Float32Array {
    const out = new Float32Array(this.rows);
    this.scan(query, (scores, row0) => out.set(scores, row0));
    return out;
  }

  search(query: ArrayLike<number>, k: number): Scored[] {
    const top = new TopK(Math.min(k, this.rows));
    this.scan(query, (scores, row0) => top.pushAll(scores, row0));
    return top.result();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.release(this.base);
    if (this.ownsBackend) this.backend.dispose();
  }
}

/**
 * Exact nearest-neighbour search over a [rows, dimension] matrix that lives in the backend's heap.
 * The rows are copied in once (and L2-normalised there for cosine, so each search is one dotRows
 * call); every query then costs one pass over the matrix. Call dispose() to give the heap back.
 */
export class ExactSearch implements SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  private readonly backend: KernelBackend;
  private readonly base: Ptr;
  private readonly matrix: Ptr;
  private readonly query: Ptr;
  private readonly scores: Ptr;
  private disposed = false;
  private ownsBackend = false;

  private constructor(backend: KernelBackend, rows: number, dimension: number, metric: Metric) {
    this.backend = backend;
    this.rows = rows;
    this.dimension = dimension;
    this.metric = metric;
    this.base = backend.mark();
    // Every allocation happens before any view is taken: growing the heap detaches old views.
    this.matrix = backend.alloc(rows * dimension * 4);
    this.query = backend.alloc(dimension * 4);
    this.scores = backend.alloc(Math.max(rows, 1) * 4);
  }

  /** Copy `rows` vectors of `dimension` floats into `backend`'s heap through `read`. */
  static create(
    backend: KernelBackend,
    rows: number,
    dimension: number,
    read: RowReader,
    options: { metric?: Metric; ownsBackend?: boolean } = {},
  ): ExactSearch {
    const metric = checkMetric(options.metric ?? 'cosine');
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dimension) || dimension <= 0) {
      throw new SimilarityError('SIMILARITY_BAD_SHAPE', `bad matrix shape [${rows}, ${dimension}]`);
    }
    const search = new ExactSearch(backend, rows, dimension, metric);
    search.ownsBackend = options.ownsBackend ?? false;
    const chunkRows = Math.max(1, Math.floor(LOAD_CHUNK_FLOATS / dimension));
    for (let row0 = 0; row0 < rows; row0 += chunkRows) {
      const n = Math.min(chunkRows, rows - row0);
      const view = backend.f32(search.matrix + row0 * dimension * 4, n * dimension);
      read(view, row0, n);
      if (metric === 'cosine') {
        for (let r = 0; r < n; r++) normalizeInPlace(view.subarray(r * dimension, (r + 1) * dimension));
      }
    }
    return search;
  }

  /** Where the rows lie in the backend's heap ([rows, dimension] f32, unit length for cosine), for
   *  structures built over them (a graph index: search/ann/); valid until dispose(). */
  get heapRows(): { backend: KernelBackend; ptr: Ptr } {
    if (this.disposed) throw new SimilarityError('SIMILARITY_DISPOSED', 'this search session was disposed');
    return { backend: this.backend, ptr: this.matrix };
  }

  /** Every row's score against `query` (length `rows`, row order). */
  scoreAll(query: ArrayLike<number>): Float32Array {
    if (this.disposed) throw new SimilarityError('SIMILARITY_DISPOSED', 'this search session was disposed');
    if (query.length !== this.dimension) {
      throw new SimilarityError(
        'SIMILARITY_DIMENSION_MISMATCH',
        `query has ${query.length} dimensions but the indexed vectors have ${this.dimension}`,
      );
    }
    const q = this.backend.f32(this.query, this.dimension);
    q.set(query);
    if (this.metric === 'cosine') normalizeInPlace(q);
    if (this.rows > 0) this.backend.dotRows(this.scores, this.matrix, this.query, this.rows, this.dimension);
    return this.backend.f32(this.scores, this.rows).slice();
  }

  /** The k best rows for `query`, best first. */
  search(query: ArrayLike<number>, k: number): Scored[] {
    return topK(this.scoreAll(query), k);
  }

  /** Give the rows' heap space back (and stop the backend, when the session was given it to own). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.release(this.base);
    if (this.ownsBackend) this.backend.dispose();
  }
}
