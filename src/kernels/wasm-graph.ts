// Owns: the wasm bindings of the graph kernels — the hnsw_* exports of assembly/index.ts
// (assembly/hnsw.ts) and their mapping onto the contract's methods: how `slots` shares of rows or
// queries become the (first, slots, perSlot, slotBytes) arguments the thread pool cuts
// (parallel-kernels.ts), and the per-group scratch stride of the link step.
// Does not own: argument checks (guard-graph.ts), the layout (graph-layout.ts) or the kernels.
import { G, linkGroupBytes, searchSlotBytes } from './graph-layout.js';
import type { RawGraphKernels } from './reference-graph.js';

/** The graph exports (the ABI, as in assembly/index.ts). */
export interface GraphExports {
  hnsw_level_cap(): number;
  hnsw_insert_f32(g: number, b0: number, b1: number, first: number, slots: number, perSlot: number, out: number, scratch: number, slotBytes: number): void;
  hnsw_commit_f32(g: number, b0: number, b1: number, out: number): void;
  hnsw_collect_f32(g: number, b0: number, b1: number, layer: number, out: number, reqs: number, records: number, mark: number): number;
  hnsw_link_f32(g: number, layer: number, reqs: number, records: number, groups: number, scratch: number, groupBytes: number): void;
  hnsw_search_f32(
    g: number, queries: number, first: number, slots: number, perSlot: number, nq: number, k: number, ef: number,
    outIds: number, outScores: number, scratch: number, slotBytes: number,
  ): void;
}

export const GRAPH_EXPORTS: ReadonlyArray<keyof GraphExports> = [
  'hnsw_level_cap', 'hnsw_insert_f32', 'hnsw_commit_f32', 'hnsw_collect_f32', 'hnsw_link_f32', 'hnsw_search_f32',
];

/** The graph kernels over an instance's exports; `memory` to read the descriptor's sizes. */
export function graphKernels(ex: GraphExports, memory: WebAssembly.Memory): RawGraphKernels {
  const word = (g: number, i: number) => new Uint32Array(memory.buffer, g, 16)[i];
  return {
    graphInsert(graph, b0, b1, out, scratch, slots) {
      const perSlot = Math.ceil((b1 - b0) / slots);
      const used = Math.ceil((b1 - b0) / perSlot);
      ex.hnsw_insert_f32(graph, b0, b1, b0, used, perSlot, out, scratch, searchSlotBytes(word(graph, G.CAPACITY), word(graph, G.EF_CONSTRUCTION)));
    },
    graphCommit: (graph, b0, b1, out) => ex.hnsw_commit_f32(graph, b0, b1, out),
    graphCollect: (graph, b0, b1, layer, out, reqs, records, mark) => ex.hnsw_collect_f32(graph, b0, b1, layer, out, reqs, records, mark),
    graphLink: (graph, layer, reqs, records, groups, scratch) =>
      ex.hnsw_link_f32(graph, layer, reqs, records, groups, scratch, linkGroupBytes(word(graph, G.M0))),
    graphSearch(graph, queries, nq, k, ef, outIds, outScores, scratch, slots) {
      if (nq === 0) return;
      const perSlot = Math.ceil(nq / slots);
      const used = Math.ceil(nq / perSlot);
      ex.hnsw_search_f32(graph, queries, 0, used, perSlot, nq, k, ef, outIds, outScores, scratch, searchSlotBytes(word(graph, G.CAPACITY), Math.max(ef, k)));
    },
  };
}
