// Owns: the scalar TypeScript oracle of the graph kernels (assembly/hnsw.ts): the same beam
// search, greedy descent, neighbour heuristic and four build steps, step for step, over the same
// heap layout (graph-layout.ts), with the wasm dot product's exact order of f32 operations
// (dotLanes), so a graph built by either backend is the same bytes.
// Does not own: argument checks (guard-graph.ts) or the heap (arena.ts, via `memory`).
import type { KernelBackend } from './backend.js';
import { G, LEVEL_CAP, NONE, POOL_ENTRY_BYTES, LINK_RECORD_BYTES, insertRowBytes, visitedBytes } from './graph-layout.js';

/** The graph kernels of a backend, called only with checked arguments. */
export type RawGraphKernels = Pick<KernelBackend, 'graphInsert' | 'graphCommit' | 'graphCollect' | 'graphLink' | 'graphSearch'>;

const EXPANDED = 0x80000000;
const ID_MASK = 0x7fffffff;

/** Typed views of the heap, taken once per kernel call (the heap does not grow during one). */
class Heap {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  constructor(buffer: ArrayBufferLike) {
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f32 = new Float32Array(buffer);
  }
}

const lanes = new Float32Array(16);
const sums = new Float32Array(4);

/**
 * Σ a[d]·b[d] for the floats at byte offsets a and b, in assembly/hnsw.ts dotF32's order: four f32x4
 * accumulators over 16-float steps (lane j of accumulator c is lanes[4c + j]), a 4-float step into
 * the first, ((a0 + a1) + (a2 + a3)) lane-wise, (l0 + l2) + (l1 + l3), then the tail; every product
 * and sum rounded to f32 (a Float32Array store rounds; the f64 operations round correctly first).
 */
export function dotLanes(f: Float32Array, a: number, b: number, dim: number): number {
  const ai = a >>> 2, bi = b >>> 2;
  const d16 = dim - (dim % 16);
  const d4 = dim & ~3;
  lanes.fill(0);
  for (let d = 0; d < d16; d += 16) {
    for (let x = 0; x < 16; x++) lanes[x] = lanes[x] + Math.fround(f[ai + d + x] * f[bi + d + x]);
  }
  for (let d = d16; d < d4; d += 4) {
    for (let x = 0; x < 4; x++) lanes[x] = lanes[x] + Math.fround(f[ai + d + x] * f[bi + d + x]);
  }
  for (let x = 0; x < 4; x++) sums[x] = Math.fround(lanes[x] + lanes[4 + x]) + Math.fround(lanes[8 + x] + lanes[12 + x]);
  let s = Math.fround(Math.fround(sums[0] + sums[2]) + Math.fround(sums[1] + sums[3]));
  for (let d = d4; d < dim; d++) s = Math.fround(s + Math.fround(f[ai + d] * f[bi + d]));
  return s;
}

const better = (sa: number, ia: number, sb: number, ib: number): boolean => sa > sb || (sa === sb && ia < ib);

/** One kernel call's view of a graph descriptor at byte offset g. */
class Graph {
  readonly dim: number;
  readonly capacity: number;
  readonly m: number;
  readonly m0: number;
  readonly efc: number;
  private readonly vectors: number;
  private readonly levels: number;
  private readonly upperAt: number;
  private readonly level0: number;
  private readonly upper: number;
  /** Where a greedy descent stopped (assembly/hnsw.ts's globals). */
  bestId = 0;
  bestScore = 0;

  constructor(
    readonly h: Heap,
    readonly g: number,
  ) {
    const w = (i: number) => h.u32[(g >>> 2) + i];
    this.vectors = w(G.VECTORS);
    this.dim = w(G.DIM);
    this.capacity = w(G.CAPACITY);
    this.m = w(G.M);
    this.m0 = w(G.M0);
    this.efc = w(G.EF_CONSTRUCTION);
    this.levels = w(G.LEVELS);
    this.upperAt = w(G.UPPER_AT);
    this.level0 = w(G.LEVEL0);
    this.upper = w(G.UPPER);
  }

  word(i: number): number {
    return this.h.u32[(this.g >>> 2) + i];
  }
  setWord(i: number, v: number): void {
    this.h.u32[(this.g >>> 2) + i] = v;
  }
  vec(id: number): number {
    return this.vectors + id * this.dim * 4;
  }
  level(id: number): number {
    return this.h.u8[this.levels + id];
  }
  /** Byte offset of node id's list [count, ids...] at layer. */
  links(id: number, layer: number): number {
    if (layer === 0) return this.level0 + id * (1 + this.m0) * 4;
    const slot = this.h.u32[(this.upperAt >>> 2) + id] + layer - 1;
    return this.upper + slot * (1 + this.m) * 4;
  }
  dot(a: number, b: number): number {
    return dotLanes(this.h.f32, a, b, this.dim);
  }

  poolScore(pool: number, i: number): number {
    return this.h.f32[(pool + i * POOL_ENTRY_BYTES) >>> 2];
  }
  poolId(pool: number, i: number): number {
    return this.h.u32[(pool + i * POOL_ENTRY_BYTES + 4) >>> 2];
  }

  poolInsert(pool: number, size: number, cap: number, score: number, id: number): number {
    if (size === cap && (cap === 0 || !better(score, id, this.poolScore(pool, cap - 1), this.poolId(pool, cap - 1) & ID_MASK))) return -1;
    const { f32, u32 } = this.h;
    let j = size < cap ? size : cap - 1;
    while (j > 0 && better(score, id, this.poolScore(pool, j - 1), this.poolId(pool, j - 1) & ID_MASK)) {
      const to = (pool + j * POOL_ENTRY_BYTES) >>> 2;
      u32[to] = u32[to - 2];
      u32[to + 1] = u32[to - 1];
      j--;
    }
    f32[(pool + j * POOL_ENTRY_BYTES) >>> 2] = score;
    u32[((pool + j * POOL_ENTRY_BYTES) >>> 2) + 1] = id;
    return j;
  }

  greedy(q: number, layer: number): void {
    const u32 = this.h.u32;
    let changed = true;
    while (changed) {
      changed = false;
      const list = this.links(this.bestId, layer) >>> 2;
      const n = u32[list];
      for (let e = 0; e < n; e++) {
        const nb = u32[list + 1 + e];
        const s = this.dot(q, this.vec(nb));
        if (better(s, nb, this.bestScore, this.bestId)) {
          this.bestId = nb;
          this.bestScore = s;
          changed = true;
        }
      }
    }
  }

  searchLayer(q: number, layer: number, ef: number, pool: number, visited: number): number {
    const u32 = this.h.u32;
    this.h.u8.fill(0, visited, visited + visitedBytes(this.capacity));
    const vi = visited >>> 2;
    const start = this.bestId;
    u32[vi + (start >>> 5)] |= 1 << (start & 31);
    this.poolInsert(pool, 0, ef, this.bestScore, start);
    let size = 1;
    let cursor = 0;
    for (;;) {
      while (cursor < size && (this.poolId(pool, cursor) & EXPANDED) !== 0) cursor++;
      if (cursor >= size) break;
      const c = this.poolId(pool, cursor);
      u32[((pool + cursor * POOL_ENTRY_BYTES) >>> 2) + 1] = (c | EXPANDED) >>> 0;
      const list = this.links(c, layer) >>> 2;
      const n = u32[list];
      let lowest = size;
      for (let e = 0; e < n; e++) {
        const nb = u32[list + 1 + e];
        const bit = 1 << (nb & 31);
        if ((u32[vi + (nb >>> 5)] & bit) !== 0) continue;
        u32[vi + (nb >>> 5)] |= bit;
        const p = this.poolInsert(pool, size, ef, this.dot(q, this.vec(nb)), nb);
        if (p >= 0) {
          if (size < ef) size++;
          if (p < lowest) lowest = p;
        }
      }
      if (lowest < cursor) cursor = lowest;
    }
    return size;
  }

  select(pool: number, size: number, m: number, out: number): void {
    const u32 = this.h.u32;
    const o = out >>> 2;
    let kept = 0;
    for (let c = 0; c < size && kept < m; c++) {
      const id = this.poolId(pool, c) & ID_MASK;
      const s = this.poolScore(pool, c);
      const v = this.vec(id);
      let good = true;
      for (let r = 0; r < kept; r++) {
        if (this.dot(v, this.vec(u32[o + 1 + r])) > s) {
          good = false;
          break;
        }
      }
      if (good) u32[o + 1 + kept++] = id;
    }
    u32[o] = kept;
  }

  insertOne(i: number, b0: number, out: number, scratch: number): void {
    const stride = (1 + this.m) * 4;
    const visited = scratch;
    const pool = scratch + visitedBytes(this.capacity);
    const q = this.vec(i);
    const lvl = this.level(i);
    for (let l = 0; l < LEVEL_CAP; l++) this.h.u32[(out + l * stride) >>> 2] = 0;
    const entry = this.word(G.ENTRY);
    let searchFrom = -1;
    if (entry !== NONE) {
      const top = this.word(G.TOP);
      this.bestId = entry;
      this.bestScore = this.dot(q, this.vec(entry));
      for (let l = top; l > lvl; l--) this.greedy(q, l);
      searchFrom = Math.min(lvl, top);
    }
    for (let l = lvl; l >= 0; l--) {
      let size = 0;
      if (l <= searchFrom) {
        size = this.searchLayer(q, l, this.efc, pool, visited);
        this.bestId = this.poolId(pool, 0) & ID_MASK;
        this.bestScore = this.poolScore(pool, 0);
      }
      for (let j = b0; j < i; j++) {
        if (this.level(j) < l) continue;
        const p = this.poolInsert(pool, size, this.efc, this.dot(q, this.vec(j)), j);
        if (p >= 0 && size < this.efc) size++;
      }
      this.select(pool, size, this.m, out + l * stride);
    }
  }
}

/** The graph kernels over `memory`, each step as assembly/hnsw.ts does it. */
export function referenceGraphKernels(memory: WebAssembly.Memory): RawGraphKernels {
  const open = (g: number) => new Graph(new Heap(memory.buffer), g);
  return {
    graphInsert(graph, b0, b1, out, scratch) {
      // One slot does every row in turn: rows do not depend on each other or on the slot.
      const gr = open(graph);
      const rowBytes = insertRowBytes(gr.m);
      for (let i = b0; i < b1; i++) gr.insertOne(i, b0, out + (i - b0) * rowBytes, scratch);
    },
    graphCommit(graph, b0, b1, out) {
      const gr = open(graph);
      const u32 = gr.h.u32;
      const stride = (1 + gr.m) * 4;
      const rowBytes = insertRowBytes(gr.m);
      for (let i = b0; i < b1; i++) {
        const lvl = gr.level(i);
        const src = out + (i - b0) * rowBytes;
        for (let l = 0; l <= lvl; l++) {
          const from = (src + l * stride) >>> 2;
          u32.copyWithin(gr.links(i, l) >>> 2, from, from + 1 + u32[from]);
        }
        if (gr.word(G.ENTRY) === NONE || lvl > gr.word(G.TOP)) {
          gr.setWord(G.ENTRY, i);
          gr.setWord(G.TOP, lvl);
        }
      }
      gr.setWord(G.COUNT, b1);
    },
    graphCollect(graph, b0, b1, layer, out, reqs, records, mark) {
      const gr = open(graph);
      const u32 = gr.h.u32;
      const stride = (1 + gr.m) * 4;
      const rowBytes = insertRowBytes(gr.m);
      const rec = (r: number) => (records + r * LINK_RECORD_BYTES) >>> 2;
      const lists: number[] = [];
      for (let i = b0; i < b1; i++) if (gr.level(i) >= layer) lists.push(i);
      let groups = 0;
      for (const i of lists) {
        const list = (out + (i - b0) * rowBytes + layer * stride) >>> 2;
        for (let e = 0; e < u32[list]; e++) {
          const t = u32[list + 1 + e];
          let r = u32[(mark >>> 2) + t];
          if (r === 0) {
            r = ++groups;
            u32[(mark >>> 2) + t] = r;
            u32[rec(r - 1)] = t;
            u32[rec(r - 1) + 2] = 0;
          }
          u32[rec(r - 1) + 2]++;
        }
      }
      let at = 0;
      for (let r = 0; r < groups; r++) {
        const n = u32[rec(r) + 2];
        u32[rec(r) + 1] = at;
        u32[rec(r) + 2] = at;
        at += n;
      }
      for (const i of lists) {
        const list = (out + (i - b0) * rowBytes + layer * stride) >>> 2;
        for (let e = 0; e < u32[list]; e++) {
          const r = rec(u32[(mark >>> 2) + u32[list + 1 + e]] - 1);
          u32[(reqs >>> 2) + u32[r + 2]] = i;
          u32[r + 2]++;
        }
      }
      for (let r = 0; r < groups; r++) u32[(mark >>> 2) + u32[rec(r)]] = 0;
      return groups;
    },
    graphLink(graph, layer, reqs, records, groups, scratch) {
      const gr = open(graph);
      const u32 = gr.h.u32;
      const cap = layer === 0 ? gr.m0 : gr.m;
      for (let r = 0; r < groups; r++) {
        const rec = (records + r * LINK_RECORD_BYTES) >>> 2;
        const t = u32[rec];
        const list = gr.links(t, layer);
        const li = list >>> 2;
        const tv = gr.vec(t);
        for (let k = u32[rec + 1]; k < u32[rec + 2]; k++) {
          const s = u32[(reqs >>> 2) + k];
          const n = u32[li];
          let present = false;
          for (let e = 0; e < n; e++) if (u32[li + 1 + e] === s) present = true;
          if (present) continue;
          if (n < cap) {
            u32[li + 1 + n] = s;
            u32[li] = n + 1;
            continue;
          }
          let size = 0;
          for (let e = 0; e < n; e++) {
            const x = u32[li + 1 + e];
            gr.poolInsert(scratch, size++, cap + 1, gr.dot(tv, gr.vec(x)), x);
          }
          gr.poolInsert(scratch, size++, cap + 1, gr.dot(tv, gr.vec(s)), s);
          gr.select(scratch, size, cap, list);
        }
      }
    },
    graphSearch(graph, queries, nq, k, ef, outIds, outScores, scratch) {
      const gr = open(graph);
      const { u32, f32 } = gr.h;
      const beam = Math.max(ef, k);
      const visited = scratch;
      const pool = scratch + visitedBytes(gr.capacity);
      for (let qi = 0; qi < nq; qi++) {
        const q = queries + qi * gr.dim * 4;
        let found = 0;
        const entry = gr.word(G.ENTRY);
        if (entry !== NONE && gr.word(G.COUNT) > 0) {
          gr.bestId = entry;
          gr.bestScore = gr.dot(q, gr.vec(entry));
          for (let l = gr.word(G.TOP); l > 0; l--) gr.greedy(q, l);
          found = Math.min(k, gr.searchLayer(q, 0, beam, pool, visited));
        }
        for (let r = 0; r < k; r++) {
          u32[(outIds >>> 2) + qi * k + r] = r < found ? gr.poolId(pool, r) & ID_MASK : NONE;
          f32[(outScores >>> 2) + qi * k + r] = r < found ? gr.poolScore(pool, r) : -Infinity;
        }
      }
    },
  };
}
