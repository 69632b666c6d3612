// Owns: the index-opening API of the library — openSearchSession (a session over an index in a
// fresh kernel heap, its mode picked by the rule below), and turning a session's rows into hits
// ({id, score, text}) for one query or many, over one index or several searched as one.
// Does not own: the sessions themselves (index-search.ts), the kernels, or checking that an index
// suits a model (bi-encoder.ts checkIndexCompatibility).
//
// The mode rule (mode 'auto'): resident when the rows to scan fit `residentLimitBytes` (2 GiB by
// default), else streaming. A resident session pays one read of the rows at open and then scans
// memory (~25 GB/s); a streaming one reads the file on every pass. Both verify every row they read
// before any result, so for ONE pass — a command that knows all its queries, like `kmed search` —
// streaming costs the same read and holds only its window: the CLI always streams (src/cli/search.ts).
import type { EncoderOptions } from '../encoder.js';
import type { KernelBackend } from '../kernels/backend.js';
import { createBackend } from '../kernels/index.js';
import { IndexSearch, type IndexSearchOptions } from './index-search.js';
import { SimilarityError, type Metric } from './query-batch.js';
import type { SearchSession } from './similarity.js';
import { TopKSelector } from './top-k.js';
import type { VectorIndex } from './vector-index.js';
import { checkOptions, type AssertTrue, type SameKeys } from '../options/check-options.js';
import type { OPTION_GROUPS } from '../options/option-keys.js';
import { AnnSearch, type AnnQueryOptions } from './ann/ann-search.js';

/** One passage found for a query. */
export interface SearchHit {
  id: string;
  score: number;
  text: string;
}

/** Up to this many bytes of rows, mode 'auto' holds them in the heap (each query is then one pass
 *  over memory); past it, they are streamed through a window. */
export const DEFAULT_RESIDENT_LIMIT_BYTES = 2 ** 31;

type _SearchSessionOptionKeys = AssertTrue<SameKeys<SearchSessionOptions, typeof OPTION_GROUPS.searchSession>>;

export interface SearchSessionOptions {
  metric?: Metric;
  kind?: 'wasm' | 'reference';
  wasmBytes?: EncoderOptions['wasmBytes'];
  /** Kernel threads (default 1; more need SharedArrayBuffer, see EncoderOptions.threads). */
  threads?: number;
  /** 'resident': read every row into the heap once (fast repeated queries; rows × row bytes of heap,
   *  at most ~4 GiB); 'streaming': read the rows through a window on every pass (bounded memory,
   *  any size); 'auto' (default): resident up to `residentLimitBytes`. */
  mode?: 'auto' | 'resident' | 'streaming';
  /** Default 2 GiB. */
  residentLimitBytes?: number;
  /** Heap bytes of a streaming window (default 4 MiB). */
  windowBytes?: number;
  /** Exact f32 search even when the index holds f16/int8 scan rows (default: scan them and re-rank
   *  the candidates in f32 when it does). */
  exact?: boolean;
  /** Candidates per query re-ranked in f32 after a scan of f16/int8 rows (default max(4k, k + 100)). */
  rerank?: number;
}

/** The mode 'auto' picks for scanning `rowBytes` bytes of rows (see the file header). */
export function pickMode(rowBytes: number, options: Pick<SearchSessionOptions, 'mode' | 'residentLimitBytes'> = {}): 'resident' | 'streaming' {
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'resident' && mode !== 'streaming') {
    throw new SimilarityError('SIMILARITY_BAD_MODE', `mode '${String(mode)}' must be auto, resident or streaming`);
  }
  if (mode !== 'auto') return mode;
  return rowBytes > (options.residentLimitBytes ?? DEFAULT_RESIDENT_LIMIT_BYTES) ? 'streaming' : 'resident';
}

/**
 * A search session over `index` in a fresh kernel heap (see SearchSessionOptions). A heap per
 * session, so sessions can be disposed in any order (the arena is LIFO). The offsets, strings and
 * norms are verified here, and the rows as they are read (resident: here too), so a damaged index
 * is refused before any result is returned.
 */
export async function openSearchSession(index: VectorIndex, options: SearchSessionOptions = {}): Promise<SearchSession> {
  checkOptions('openSearchSession', options);
  const scan = options.exact ? false : index.scan !== null;
  const rowBytes = scan ? index.layout.sections.scan.length : index.layout.sections.vectors.length;
  const sessionOptions: IndexSearchOptions = {
    metric: options.metric, mode: pickMode(rowBytes, options), scan, rerank: options.rerank, windowBytes: options.windowBytes, ownsBackend: true,
  };
  // No tile probe: a search never runs the Linear it times.
  const backend: KernelBackend = await createBackend(options.kind ?? 'wasm', { wasmBytes: options.wasmBytes, threads: options.threads ?? 1, tileProbe: false });
  try {
    return IndexSearch.open(index, backend, sessionOptions);
  } catch (error) {
    backend.dispose();
    throw error;
  }
}

/** The k best passages of `index` for a question vector, best first, as {id, score, text}; a graph
 *  session (AnnSearch) takes `ef` and `exact`. */
export function searchSession(session: SearchSession, index: VectorIndex, query: ArrayLike<number>, k: number, options: AnnQueryOptions = {}): SearchHit[] {
  return searchSessionMany(session, index, [query], k, options)[0];
}

/** The k best passages of `index` for each question vector (scored together: see
 *  SearchSession.searchMany), best first. */
export function searchSessionMany(session: SearchSession, index: VectorIndex, queries: ReadonlyArray<ArrayLike<number>>, k: number, options: AnnQueryOptions = {}): SearchHit[][] {
  const found = session instanceof AnnSearch ? session.searchMany(queries, k, options)
    : queries.length === 1 ? [session.search(queries[0], k)] : session.searchMany(queries, k);
  return found.map((hits) => hits.map(({ index: row, score }) => {
    const { id, text } = index.entry(row);
    return { id, score, text };
  }));
}

/**
 * The k best passages over several indexes searched as one, best first: rows are numbered as in
 * the concatenation of the indexes in the order given, so for the shards of one corpus in shard
 * order the hits (and ties) are exactly those of the merged index.
 */
export function searchSessions(parts: ReadonlyArray<{ session: SearchSession; index: VectorIndex }>, query: ArrayLike<number>, k: number): SearchHit[] {
  return searchSessionsMany(parts, [query], k)[0];
}

/** searchSessions for many queries, each part scoring the whole batch together. */
export function searchSessionsMany(parts: ReadonlyArray<{ session: SearchSession; index: VectorIndex }>, queries: ReadonlyArray<ArrayLike<number>>, k: number): SearchHit[][] {
  const total = parts.reduce((n, p) => n + p.index.count, 0);
  const tops = queries.map(() => new TopKSelector(Math.min(k, total)));
  const bases: number[] = [];
  let base = 0;
  for (const { session, index } of parts) {
    bases.push(base);
    // Each part's own top k is enough: a global top-k row is in its part's top k.
    const found = queries.length === 1 ? [session.search(queries[0], k)] : session.searchMany(queries, k);
    found.forEach((hits, q) => hits.forEach((hit) => tops[q].push(hit.score, base + hit.index)));
    base += index.count;
  }
  return tops.map((top) => top.result().map(({ index: row, score }) => {
    let p = bases.length - 1;
    while (bases[p] > row) p--;
    const { id, text } = parts[p].index.entry(row - bases[p]);
    return { id, score, text };
  }));
}
