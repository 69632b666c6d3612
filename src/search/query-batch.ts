// Owns: what every search session does to a batch of queries — checking each (dimension, finite),
// writing it into the kernel heap ready for the metric (unit length for cosine), and scoring one
// window of f32 rows against the whole batch (dotRows for one query, dotRowsMany for several) into
// one TopKSelector per query, reading the scores where the kernel wrote them (no copy, no object
// per row). Shared by the matrix sessions (similarity.ts) and the index sessions (index-search.ts).
// Does not own: where rows come from, the kernels (assembly/dot.ts) or the selection (top-k.ts).
import { KmedError } from '../errors/errors.js';
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import { TopKSelector, type Scored } from './top-k.js';

export class SimilarityError extends KmedError {}

/** How two embeddings are compared: cosine of the angle (the model card's choice) or raw dot. */
export type Metric = 'cosine' | 'dot';

export function checkMetric(metric: string): Metric {
  if (metric !== 'cosine' && metric !== 'dot') {
    throw new SimilarityError('SIMILARITY_BAD_METRIC', `unknown metric '${metric}': use 'cosine' or 'dot'`);
  }
  return metric;
}

export function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 0) {
    throw new SimilarityError('SIMILARITY_BAD_K', `k must be a non-negative integer, got ${k}`);
  }
  return k;
}

/** Queries scored per pass over the rows at most (a longer batch takes several passes): bounds the
 *  heap a batch needs (queries and one window of scores) whatever its length. */
export const MAX_QUERIES_PER_PASS = 256;

/**
 * Check `queries` against `dimension` (SIMILARITY_DIMENSION_MISMATCH, SIMILARITY_NOT_FINITE naming
 * the query and the value) and write them, unit length for cosine (computed in float64; a zero query
 * stays zero), as consecutive f32 rows at `ptr` in the heap.
 */
export function writeQueries(backend: KernelBackend, ptr: Ptr, queries: ReadonlyArray<ArrayLike<number>>, dimension: number, metric: Metric): void {
  const heap = backend.f32(ptr, queries.length * dimension);
  queries.forEach((query, qi) => {
    const which = queries.length > 1 ? `query ${qi}` : 'query';
    if (query == null || typeof query.length !== 'number' || query.length !== dimension) {
      throw new SimilarityError(
        'SIMILARITY_DIMENSION_MISMATCH',
        `${which} has ${query?.length} dimensions but the indexed vectors have ${dimension}`,
      );
    }
    let sum = 0;
    for (let d = 0; d < dimension; d++) {
      const x = query[d];
      if (typeof x !== 'number' || !Number.isFinite(x) || !Number.isFinite(Math.fround(x))) {
        throw new SimilarityError('SIMILARITY_NOT_FINITE', `${which} has a non-finite value (${x}) at dimension ${d}`);
      }
      sum += x * x;
    }
    const row = heap.subarray(qi * dimension, (qi + 1) * dimension);
    const norm = metric === 'cosine' && sum > 0 ? Math.sqrt(sum) : 1;
    for (let d = 0; d < dimension; d++) row[d] = query[d] / norm;
  });
}

/** Selectors of `k` for each of `n` queries. */
export function selectors(n: number, k: number): TopKSelector[] {
  return Array.from({ length: n }, () => new TopKSelector(k));
}

/**
 * Score `rows` f32 rows at `rowsPtr` (rows row0.. of the matrix) against the `nq` queries at
 * `queriesPtr` into `scoresPtr` (nq × rows floats) and offer each query's scores to its selector.
 * `norms` (dot metric over unit rows): each score is multiplied by its row's norm first.
 * `onScores` (scoreAll) sees each query's scores of the window before they are offered.
 */
export function scoreF32Window(
  backend: KernelBackend,
  rowsPtr: Ptr,
  row0: number,
  rows: number,
  dimension: number,
  queriesPtr: Ptr,
  nq: number,
  scoresPtr: Ptr,
  tops: TopKSelector[],
  norms?: Float32Array,
  onScores?: (q: number, scores: Float32Array, row0: number) => void,
): void {
  if (rows === 0) return;
  if (nq === 1) backend.dotRows(scoresPtr, rowsPtr, queriesPtr, rows, dimension);
  else backend.dotRowsMany(scoresPtr, rowsPtr, queriesPtr, rows, nq, dimension, rows);
  offerScores(backend, scoresPtr, row0, rows, nq, tops, norms, onScores);
}

/** Offer nq × rows scores at `scoresPtr` (query-major) to the selectors, scaled by norms if given. */
export function offerScores(
  backend: KernelBackend,
  scoresPtr: Ptr,
  row0: number,
  rows: number,
  nq: number,
  tops: TopKSelector[],
  norms?: Float32Array,
  onScores?: (q: number, scores: Float32Array, row0: number) => void,
): void {
  const all = backend.f32(scoresPtr, nq * rows);
  for (let q = 0; q < nq; q++) {
    const scores = all.subarray(q * rows, (q + 1) * rows);
    if (norms) for (let r = 0; r < rows; r++) scores[r] *= norms[row0 + r];
    onScores?.(q, scores, row0);
    tops[q].offer(scores, row0);
  }
}

/** One pass of a session over its rows for a batch of queries: each query's selector is offered
 *  every row's score (`onScores` sees each window of them first). */
export type Pass = (queries: ReadonlyArray<ArrayLike<number>>, tops: TopKSelector[], onScores?: (q: number, scores: Float32Array, row0: number) => void) => void;

/** Every row's score against `query`, in row order, through one pass. */
export function allScores(rows: number, query: ArrayLike<number>, pass: Pass): Float32Array {
  const out = new Float32Array(rows);
  pass([query], selectors(1, 0), (_, scores, row0) => out.set(scores, row0));
  return out;
}

/** searchMany through passes of at most MAX_QUERIES_PER_PASS queries, each keeping `keep` rows per
 *  query; `finish` turns a batch's kept rows into its results (as they are, or re-ranked). */
export function inPasses(
  queries: ReadonlyArray<ArrayLike<number>>,
  keep: number,
  pass: Pass,
  finish: (batch: ReadonlyArray<ArrayLike<number>>, found: Scored[][]) => Scored[][] = (_, found) => found,
): Scored[][] {
  const out: Scored[][] = [];
  for (let q0 = 0; q0 < queries.length; q0 += MAX_QUERIES_PER_PASS) {
    const batch = queries.slice(q0, q0 + MAX_QUERIES_PER_PASS);
    const tops = selectors(batch.length, keep);
    pass(batch, tops);
    out.push(...finish(batch, tops.map((t) => t.result())));
  }
  return out;
}
