// Owns: AnnSearch, the search session of an index with a graph: the index's rows resident in a
// kernel heap (an ExactSearch, which also answers exact queries and scoreAll) and an HNSW graph over
// them, searched by the graph kernels — one query or many at once (split over the backend's
// threads), with a beam `ef` per session or per call.
// Does not own: the graph's building (build.ts), its file (graph-file.ts), the rows (../similarity.ts
// ExactSearch) or opening one for an index file (ann-index.ts).
import type { KernelBackend } from '../../kernels/backend.js';
import { CHUNKS_PER_THREAD } from '../../kernels/parallel-kernels.js';
import { NONE, searchSlotBytes } from '../../kernels/graph-layout.js';
import { ExactSearch, SimilarityError, normalizeInPlace, type Metric, type Scored, type SearchSession } from '../similarity.js';
import { AnnError } from './ann-error.js';
import type { HeapGraph } from './heap-graph.js';

/** The beam of a graph search when none is given: recall@10 ≥ 0.99 on the clustered sets of
 *  bench/search.ts at 250K rows with M = 16 (the beam is max(ef, k) in any case). */
export const DEFAULT_EF = 100;
/** Largest beam a search takes (each candidate costs 8 bytes of scratch per query in flight). */
export const MAX_EF = 1 << 16;

/** Per-call choices of a graph search session. */
export interface AnnQueryOptions {
  /** Beam width (default the session's `ef`); larger is slower and closer to exact. */
  ef?: number;
  /** Score every row instead (the exact answer; the graph is not used). */
  exact?: boolean;
}

/** Queries per graphSearch call: bounds the heap a batch takes (queries, results, scratch). */
const QUERIES_PER_CALL = 256;

export function checkEf(ef: number): number {
  if (!Number.isInteger(ef) || ef < 1 || ef > MAX_EF) throw new AnnError('ANN_BAD_OPTION', `ef = ${ef} must be an integer from 1 to ${MAX_EF}`);
  return ef;
}

/**
 * A search session over an index's rows and its HNSW graph: `search` / `searchMany` go through the
 * graph with beam `ef` (or score every row with `{ exact: true }`); `scoreAll` is exact. Made by
 * openAnnSearch (or BiEncoder.useGraph); dispose() gives the heap back.
 */
export class AnnSearch implements SearchSession {
  readonly rows: number;
  readonly dimension: number;
  readonly metric: Metric;
  /** The graph's settings and size. */
  readonly graph: HeapGraph;
  /** Beam width of searches that do not give one. */
  ef: number;
  private readonly exact: ExactSearch;
  private readonly backend: KernelBackend;
  private disposed = false;

  /**
   * A session over `exact`'s resident rows and `graph` (built over those rows, in the same heap);
   * the session owns both from now on (dispose() disposes them).
   */
  constructor(exact: ExactSearch, graph: HeapGraph, options: { ef?: number } = {}) {
    if (graph.backend !== exact.heapRows.backend || graph.rows !== exact.rows || graph.dimension !== exact.dimension) {
      throw new AnnError('ANN_BAD_OPTION', `the graph (${graph.rows} × ${graph.dimension}) is not over these rows (${exact.rows} × ${exact.dimension})`);
    }
    this.exact = exact;
    this.graph = graph;
    this.backend = graph.backend;
    this.rows = exact.rows;
    this.dimension = exact.dimension;
    this.metric = exact.metric;
    this.ef = checkEf(options.ef ?? DEFAULT_EF);
  }

  /** Where the rows lie in the heap (see ExactSearch.heapRows). */
  get heapRows(): ExactSearch['heapRows'] {
    return this.exact.heapRows;
  }

  /** Exact scores of every row (the graph is not used). */
  scoreAll(query: ArrayLike<number>): Float32Array {
    return this.exact.scoreAll(query);
  }

  /** The k best rows for `query`, best first: by the graph (approximate), or exactly when asked. */
  search(query: ArrayLike<number>, k: number, options: AnnQueryOptions = {}): Scored[] {
    if (options.exact) return this.exact.search(query, k);
    return this.searchMany([query], k, options)[0];
  }

  /** The k best rows for each query, by the graph: queries are searched together, split over the
   *  backend's threads (each answer is what `search` gives for that query alone). */
  searchMany(queries: ReadonlyArray<ArrayLike<number>>, k: number, options: AnnQueryOptions = {}): Scored[][] {
    if (this.disposed) throw new SimilarityError('SIMILARITY_DISPOSED', 'this search session was disposed');
    if (!Number.isInteger(k) || k < 0) throw new SimilarityError('SIMILARITY_BAD_K', `k must be a non-negative integer, got ${k}`);
    for (const q of queries) {
      if (q.length !== this.dimension) {
        throw new SimilarityError('SIMILARITY_DIMENSION_MISMATCH', `query has ${q.length} dimensions but the indexed vectors have ${this.dimension}`);
      }
    }
    if (options.exact) return this.exact.searchMany(queries, k);
    const ef = checkEf(options.ef ?? this.ef);
    const kk = Math.min(k, this.rows);
    if (kk === 0) return queries.map(() => []);
    const out: Scored[][] = [];
    const D = this.dimension;
    const backend = this.backend;
    for (let q0 = 0; q0 < queries.length; q0 += QUERIES_PER_CALL) {
      const nq = Math.min(QUERIES_PER_CALL, queries.length - q0);
      const slots = Math.max(1, Math.min(nq, backend.threads * CHUNKS_PER_THREAD));
      const mark = backend.mark();
      try {
        // Every allocation before any view.
        const qs = backend.alloc(nq * D * 4);
        const ids = backend.alloc(nq * kk * 4);
        const scores = backend.alloc(nq * kk * 4);
        const scratch = backend.alloc(slots * searchSlotBytes(this.rows, Math.max(ef, kk)));
        const qv = backend.f32(qs, nq * D);
        for (let i = 0; i < nq; i++) {
          const row = qv.subarray(i * D, (i + 1) * D);
          row.set(queries[q0 + i]);
          if (this.metric === 'cosine') normalizeInPlace(row);
        }
        backend.graphSearch(this.graph.descriptor, qs, nq, kk, ef, ids, scores, scratch, slots);
        const idv = new Uint32Array(backend.memory.buffer, ids, nq * kk);
        const sv = backend.f32(scores, nq * kk);
        for (let i = 0; i < nq; i++) {
          const hits: Scored[] = [];
          for (let r = 0; r < kk; r++) {
            const id = idv[i * kk + r];
            if (id === NONE) break;
            hits.push({ index: id, score: sv[i * kk + r] });
          }
          out.push(hits);
        }
      } finally {
        backend.release(mark);
      }
    }
    return out;
  }

  /** Give the heap back (graph, then rows) and stop the backend's threads if the rows owned it. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // LIFO: the graph was allocated after the rows.
    this.backend.release(this.graph.descriptor);
    this.exact.dispose();
  }
}
