// Owns: the graph index of an index file, end to end in any runtime — building one for a
// VectorIndex (rows into a kernel heap, unit length for cosine; the graph linked on the backend's
// threads; the file's bytes handed to a writer as parts) and opening a search session from an
// index and its graph file (refused before any row is loaded when the graph belongs to another
// index or another metric).
// Does not own: where files live and how they are written (src/node/indexing/ann-file.ts), the
// format (graph-file.ts), the build order (build.ts) or the session (ann-search.ts).
import type { ByteSource } from '../../formats/byte-source.js';
import { createBackend, type BackendKind, type WasmBackendOptions } from '../../kernels/index.js';
import { ExactSearch, checkMetric, type Metric } from '../similarity.js';
import type { VectorIndex } from '../vector-index.js';
import { AnnSearch } from './ann-search.js';
import { buildHnswGraph, type BuildProgress } from './build.js';
import { checkGraphTarget, graphFileParts, readGraphFile, type GraphTarget } from './graph-file.js';
import { DEFAULT_HNSW_SETTINGS, HeapGraph, checkHnswSettings, type HnswSettings } from './heap-graph.js';
import { drawLevels } from './levels.js';

/** Where the kernels run: backend kind, thread count, kernel bytes (as for encoders). */
export interface AnnBackendOptions {
  kind?: BackendKind;
  threads?: number;
  wasmBytes?: WasmBackendOptions['wasmBytes'];
  wasmThreadsBytes?: WasmBackendOptions['wasmThreadsBytes'];
}

/** How buildAnnGraph builds: the graph settings (defaults DEFAULT_HNSW_SETTINGS), the metric, where
 *  the kernels run (`threads` for a parallel build: the bytes do not depend on it). */
export interface AnnBuildOptions extends Partial<HnswSettings>, AnnBackendOptions {
  /** The scores the graph is built for (default cosine); a search must use the same. */
  metric?: Metric;
  /** Called after each batch of rows is linked. */
  onProgress?(progress: BuildProgress): void;
  /** Checked between batches. */
  signal?: AbortSignal;
}

/** What a build made: the settings, the size, the bytes of its file. */
export interface AnnBuildSummary {
  rows: number;
  settings: HnswSettings;
  metric: Metric;
  bytes: number;
  /** Heap bytes the graph takes beside the rows (levels, lists). */
  graphBytes: number;
  threads: number;
}

/**
 * The index's rows as the metric scores them, resident in a fresh backend's heap (which the
 * returned session owns): the stored unit rows as they are for cosine, scaled back by their norms
 * for dot.
 */
async function residentRows(index: VectorIndex, metric: Metric, options: AnnBackendOptions, threads: number | undefined): Promise<ExactSearch> {
  const D = index.dimension;
  let norms = new Float32Array(0);
  const read = (dst: Float32Array, row0: number, rows: number) => {
    index.readVectors(dst, row0, rows);
    if (metric !== 'dot') return;
    if (norms.length < rows) norms = new Float32Array(rows);
    index.readNorms(norms, row0, rows);
    for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) dst[r * D + d] *= norms[r];
  };
  const backend = await createBackend(options.kind ?? 'wasm', { threads, wasmBytes: options.wasmBytes, wasmThreadsBytes: options.wasmThreadsBytes });
  try {
    return ExactSearch.create(backend, index.count, D, read, { metric, ownsBackend: true, unitRows: true });
  } catch (error) {
    backend.dispose();
    throw error;
  }
}

/**
 * Build the graph index of `index` and hand its file's bytes to `write`, as parts in order (the
 * large ones are views of the kernel heap, valid only during the call: write them before it
 * returns). The same index and settings give the same bytes on any thread count.
 */
export async function buildAnnGraph(
  index: VectorIndex,
  options: AnnBuildOptions,
  write: (parts: Uint8Array[]) => Promise<void> | void,
): Promise<AnnBuildSummary> {
  const settings = checkHnswSettings({ ...DEFAULT_HNSW_SETTINGS, ...definedOnly(options) });
  const metric = checkMetric(options.metric ?? 'cosine');
  const fingerprint = index.fingerprint();
  const exact = await residentRows(index, metric, options, options.threads);
  try {
    const graph = new HeapGraph(exact.heapRows.backend, exact.heapRows.ptr, index.count, index.dimension, settings, drawLevels(index.count, settings.M, settings.seed));
    buildHnswGraph(graph, { onProgress: options.onProgress, signal: options.signal });
    const parts = graphFileParts(graph, metric, fingerprint);
    await write(parts);
    return {
      rows: index.count,
      settings,
      metric,
      bytes: parts.reduce((n, p) => n + p.length, 0),
      graphBytes: graph.sectionBytes('levels') + graph.sectionBytes('level0') + graph.sectionBytes('upper') + index.count * 4,
      threads: exact.heapRows.backend.threads,
    };
  } finally {
    exact.dispose();
  }
}

function definedOnly(o: Partial<HnswSettings>): Partial<HnswSettings> {
  const out: Partial<HnswSettings> = {};
  if (o.M !== undefined) out.M = o.M;
  if (o.efConstruction !== undefined) out.efConstruction = o.efConstruction;
  if (o.seed !== undefined) out.seed = o.seed;
  return out;
}

/** How openAnnSearch opens a graph session. */
export interface AnnOpenOptions extends AnnBackendOptions {
  /** Default cosine; must be the graph's. */
  metric?: Metric;
  /** Default beam of the session's searches (ann-search.ts DEFAULT_EF). */
  ef?: number;
}

/** What a graph must fit to sit beside `index`, searched with `metric`. */
export function graphTarget(index: VectorIndex, metric: Metric): GraphTarget {
  return { fingerprint: index.fingerprint(), rows: index.count, dimension: index.dimension, metric, name: index.name };
}

/**
 * A graph search session over `index` and its graph file: the graph is checked against the index
 * first (nothing loaded), then the rows are loaded into a fresh heap and the graph read into it,
 * verified whole. The session also answers exact queries (`{ exact: true }`).
 */
export async function openAnnSearch(index: VectorIndex, graph: ByteSource, options: AnnOpenOptions = {}): Promise<AnnSearch> {
  const metric = checkMetric(options.metric ?? 'cosine');
  const target = graphTarget(index, metric);
  checkGraphTarget(graph, target);
  index.verifySection('offsets');
  index.verifySection('strings');
  const exact = await residentRows(index, metric, options, options.threads ?? 1);
  try {
    const heapGraph = readGraphFile(graph, target, exact.heapRows.backend, exact.heapRows.ptr);
    return new AnnSearch(exact, heapGraph, { ef: options.ef });
  } catch (error) {
    exact.dispose();
    throw error;
  }
}
