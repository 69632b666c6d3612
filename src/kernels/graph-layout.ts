// Owns: the heap layout the graph kernels (assembly/hnsw.ts) share with TypeScript — the graph
// descriptor's word numbers, the NONE id, the level cap, and the byte sizes of every buffer a
// graph kernel reads or writes (a build's per-row output, search and link scratch, group records).
// Both backends and src/search/ann/ size their buffers with these functions, so the layout is
// written down once on this side (and once in assembly/hnsw.ts's header).
// Does not own: the arithmetic (assembly/hnsw.ts, reference-graph.ts) or argument checks
// (guard-graph.ts).

/** u32 words of a graph descriptor (64 bytes: the 14 fields below, then 2 reserved). */
export const GRAPH_WORDS = 16;
export const GRAPH_DESCRIPTOR_BYTES = GRAPH_WORDS * 4;

/** Word numbers of the descriptor's fields (assembly/hnsw.ts). */
export const G = {
  VECTORS: 0,
  DIM: 1,
  CAPACITY: 2,
  COUNT: 3,
  M: 4,
  M0: 5,
  EF_CONSTRUCTION: 6,
  ENTRY: 7,
  TOP: 8,
  LEVELS: 9,
  UPPER_AT: 10,
  LEVEL0: 11,
  UPPER: 12,
  UPPER_SLOTS: 13,
} as const;

/** "No node": the entry of an empty graph, an upper_at of a level-0 node, a result slot not filled. */
export const NONE = 0xffffffff;
/** Layers per node at most (assembly/hnsw.ts LEVEL_CAP; hnsw_level_cap() reports the build's). */
export const LEVEL_CAP = 16;
/** Node ids carry a flag bit in the kernels' candidate pools, so rows stay below 2^31. */
export const MAX_GRAPH_ROWS = 0x7fffffff;
/** Links per node above layer 0 (M), at most; layer 0 holds up to 2M. */
export const MAX_M = 128;
/** Bytes of one candidate (f32 score, u32 id) in a pool. */
export const POOL_ENTRY_BYTES = 8;
/** Bytes of one reverse-link group record (target, start, end) from graphCollect. */
export const LINK_RECORD_BYTES = 12;

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Bytes of a visited bitset over `capacity` nodes (rounded to 16). */
export function visitedBytes(capacity: number): number {
  return align16(Math.ceil(capacity / 32) * 4);
}

/** Scratch bytes of one search slot: a visited bitset and a pool of `beam` candidates. */
export function searchSlotBytes(capacity: number, beam: number): number {
  return visitedBytes(capacity) + align16(beam * POOL_ENTRY_BYTES);
}

/** Bytes of one row's output of graphInsert: LEVEL_CAP lists of [count, M ids]. */
export function insertRowBytes(M: number): number {
  return LEVEL_CAP * (1 + M) * 4;
}

/** Scratch bytes of one group of graphLink: a pool of M0 + 1 candidates (assembly/hnsw.ts). */
export function linkGroupBytes(M0: number): number {
  return align16((M0 + 1) * POOL_ENTRY_BYTES);
}

/** Bytes of node link lists: level 0 ([rows][1 + M0] u32) and the upper slots ([slots][1 + M] u32). */
export function level0Bytes(rows: number, M0: number): number {
  return rows * (1 + M0) * 4;
}
export function upperBytes(slots: number, M: number): number {
  return slots * (1 + M) * 4;
}
