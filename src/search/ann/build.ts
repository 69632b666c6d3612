// Owns: the order of an HNSW build — rows inserted in row order, in batches whose size depends only
// on how many rows are linked (never on threads or timing), each batch in the four kernel steps of
// assembly/hnsw.ts: every row of the batch searches the graph as it stood before the batch (in
// parallel on the backend's threads), the batch's own links are written, then the reverse links are
// grouped by receiving node and added (in parallel, one node per group, sources in row order). So
// the same rows and settings build the same bytes on 1 or N threads, and on either backend.
// Does not own: the kernels, the graph's memory (heap-graph.ts) or its file (graph-file.ts).
//
// Why batches do not lose quality: a row also takes the rows of its own batch before it as
// candidates (the kernel scores them directly), so it sees every earlier row, as in hnswlib's
// sequential build; only the paths through those few rows are missing from its search.
import type { KernelBackend } from '../../kernels/backend.js';
import { CHUNKS_PER_THREAD } from '../../kernels/parallel-kernels.js';
import { LINK_RECORD_BYTES, insertRowBytes, linkGroupBytes, searchSlotBytes } from '../../kernels/graph-layout.js';
import type { HeapGraph } from './heap-graph.js';

/** Most rows per batch: enough work per parallel step (~0.1 s at 768 dimensions) that the
 *  steps' synchronisation is noise, few enough that the scratch stays a few MiB. */
export const MAX_BATCH_ROWS = 256;

/** Rows in the batch that starts when `linked` rows are in the graph: 1/16 of them (so a batch
 *  never outweighs the graph it searches), between 1 and MAX_BATCH_ROWS. */
export function batchRows(linked: number): number {
  return Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor(linked / 16)));
}

export interface BuildProgress {
  linked: number;
  total: number;
}

export interface BuildOptions {
  /** Called after each batch. */
  onProgress?(progress: BuildProgress): void;
  /** Checked between batches; the build stops with the signal's reason. */
  signal?: AbortSignal;
}

/** Link every row of `graph` (which must be empty), on its backend's threads. */
export function buildHnswGraph(graph: HeapGraph, options: BuildOptions = {}): void {
  const backend: KernelBackend = graph.backend;
  const { rows } = graph;
  const { M, efConstruction } = graph.settings;
  const base = backend.mark();
  try {
    // Slots: enough shares that a thread that starts late leaves work to the others.
    const slots = Math.max(1, backend.threads * CHUNKS_PER_THREAD);
    const batchMax = Math.min(MAX_BATCH_ROWS, Math.max(rows, 1));
    const out = backend.alloc(batchMax * insertRowBytes(M));
    const scratch = backend.alloc(slots * searchSlotBytes(rows, efConstruction));
    const reqs = backend.alloc(batchMax * M * 4);
    const records = backend.alloc(batchMax * M * LINK_RECORD_BYTES);
    const linkScratch = backend.alloc(batchMax * M * linkGroupBytes(graph.M0));
    const mark = backend.alloc(rows * 4);
    new Uint8Array(backend.memory.buffer, mark, rows * 4).fill(0);
    const levels = graph.bytes('levels').slice();
    for (let b0 = 0; b0 < rows; ) {
      options.signal?.throwIfAborted();
      const b1 = Math.min(rows, b0 + batchRows(b0));
      backend.graphInsert(graph.descriptor, b0, b1, out, scratch, slots);
      backend.graphCommit(graph.descriptor, b0, b1, out);
      let top = 0;
      for (let i = b0; i < b1; i++) top = Math.max(top, levels[i]);
      for (let layer = 0; layer <= top; layer++) {
        const groups = backend.graphCollect(graph.descriptor, b0, b1, layer, out, reqs, records, mark);
        if (groups > 0) backend.graphLink(graph.descriptor, layer, reqs, records, groups, linkScratch);
      }
      b0 = b1;
      options.onProgress?.({ linked: b0, total: rows });
    }
  } finally {
    backend.release(base);
  }
}
