// Owns: the graph kernels of the approximate index (HNSW: hierarchical navigable small world graphs,
// Malkov & Yashunin 2016, as nmslib/hnswlib builds them): the beam search of one layer, the greedy
// descent through the upper layers, the neighbour-selection heuristic, and the four steps of a
// batched, deterministic build — search for a batch of new nodes against the frozen graph
// (hnswInsert, parallel), write their own links (hnswCommit), group the reverse links by target
// (hnswCollect) and add them, pruning full lists (hnswLink, parallel) — plus the query search
// (hnswSearch, parallel over queries).
// Does not own: the graph's memory or its file (src/search/ann/), node levels (drawn in TypeScript
// from (seed, row), src/search/ann/levels.ts), argument checks (src/kernels/guard-graph.ts) or the
// exact scan (dot.ts). src/kernels/reference-graph.ts repeats every step in TypeScript, bit for bit.
//
// Graph descriptor: GRAPH_WORDS u32 at `g` (src/kernels/graph-layout.ts writes it):
//   0 vectors ptr: rows [capacity, D] f32 (unit length for cosine: a score is a dot product)
//   1 D   2 capacity (rows)   3 count (nodes linked so far: a search sees nodes < count)
//   4 M (links per node above layer 0)   5 M0 (links per node at layer 0)   6 ef_construction
//   7 entry node (NONE when empty)   8 its level (the top layer)
//   9 levels ptr: u8 per row   10 upper_at ptr: u32 per row, the node's first upper slot (level ≥ 1)
//   11 level0 ptr: [capacity][1 + M0] u32, a count then the links
//   12 upper ptr: [upper slots][1 + M] u32; node i's layer l ≥ 1 is slot upper_at[i] + l - 1
//   13 upper slots
//
// Ranking: a candidate ranks before another by higher score, then lower node id, everywhere (the
// beam, selection, results), so every step is a function of its inputs alone.
//
// Candidate pool: a sorted array of at most `cap` (score f32, id u32) pairs, best first, whose
// ids carry EXPANDED once their links were followed. The beam search expands the best unexpanded
// entry until none is left: the same nodes as hnswlib's two heaps visit (a candidate that fell out
// of the best `ef` would never be expanded there either), with memory bounded by `ef`.
const F32: usize = 4;
const LANES: i32 = 4;
const V128: usize = 16;
/** dotF32: 4 independent v128 chains, 16 floats per step. */
const STEP: i32 = 16;
const U32: usize = 4;
const ENTRY_BYTES: usize = 8;
const NONE: u32 = 0xffffffff;
const EXPANDED: u32 = 0x80000000;
const ID_MASK: u32 = 0x7fffffff;
/** Layers per node at most (levels are capped when drawn); a build's output holds LEVEL_CAP lists per node. */
export const LEVEL_CAP: i32 = 16;

const G_VECTORS = 0, G_DIM = 1, G_CAPACITY = 2, G_COUNT = 3, G_M = 4, G_M0 = 5, G_EF_CONSTRUCTION = 6;
const G_ENTRY = 7, G_TOP = 8, G_LEVELS = 9, G_UPPER_AT = 10, G_LEVEL0 = 11, G_UPPER = 12;

/**
 * Σ_d a[d] · b[d] over `dim` floats, in dot_rows_f32's order: 4 v128 accumulators over 16-float
 * steps, one more 4-float step into the first, tree reduction ((a0 + a1) + (a2 + a3)), lanes as
 * (l0 + l2) + (l1 + l3), then the tail in order. Always a plain mul then add (never a fused or
 * relaxed madd): the baseline and relaxed builds then build the same graph bytes, and
 * src/kernels/reference-graph.ts can repeat every rounding.
 */
// @ts-ignore: decorator
@inline
function dotF32(a: usize, b: usize, dim: i32): f32 {
  const d16 = dim - dim % STEP;
  const d4 = dim & ~(LANES - 1);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let d = 0; d < d16; d += STEP) {
    const o = <usize>d * F32;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(a + o, V128), v128.load(b + o, V128)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(a + o, 2 * V128), v128.load(b + o, 2 * V128)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(a + o, 3 * V128), v128.load(b + o, 3 * V128)));
  }
  for (let d = d16; d < d4; d += LANES) {
    const o = <usize>d * F32;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  const s4 = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s = (f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 2)) + (f32x4.extract_lane(s4, 1) + f32x4.extract_lane(s4, 3));
  for (let d = d4; d < dim; d++) {
    const o = <usize>d * F32;
    s += load<f32>(a + o) * load<f32>(b + o);
  }
  return s;
}

// @ts-ignore: decorator
@inline function word(g: usize, i: i32): u32 {
  return load<u32>(g + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline function setWord(g: usize, i: i32, v: u32): void {
  store<u32>(g + (<usize>i << 2), v);
}
// @ts-ignore: decorator
@inline function vec(g: usize, id: u32): usize {
  return <usize>word(g, G_VECTORS) + <usize>id * <usize>word(g, G_DIM) * F32;
}
// @ts-ignore: decorator
@inline function level(g: usize, id: u32): i32 {
  return <i32>load<u8>(<usize>word(g, G_LEVELS) + <usize>id);
}
/** The link list [count, ids...] of node `id` at `layer`. */
// @ts-ignore: decorator
@inline function links(g: usize, id: u32, layer: i32): usize {
  if (layer == 0) return <usize>word(g, G_LEVEL0) + <usize>id * (1 + <usize>word(g, G_M0)) * U32;
  const slot = <usize>load<u32>(<usize>word(g, G_UPPER_AT) + <usize>id * U32) + <usize>(layer - 1);
  return <usize>word(g, G_UPPER) + slot * (1 + <usize>word(g, G_M)) * U32;
}
// @ts-ignore: decorator
@inline function better(sa: f32, ia: u32, sb: f32, ib: u32): bool {
  return sa > sb || (sa == sb && ia < ib);
}
// @ts-ignore: decorator
@inline function poolScore(pool: usize, i: i32): f32 {
  return load<f32>(pool + <usize>i * ENTRY_BYTES);
}
// @ts-ignore: decorator
@inline function poolId(pool: usize, i: i32): u32 {
  return load<u32>(pool + <usize>i * ENTRY_BYTES, 4);
}

/** Bytes of a visited bitset over `capacity` nodes, rounded to 16 (the pool after it stays aligned). */
// @ts-ignore: decorator
@inline function visitedBytes(capacity: u32): usize {
  return ((((<usize>capacity + 31) >> 5) << 2) + 15) & ~(<usize>15);
}

/**
 * Insert (score, id) into the pool of `size` entries (capacity `cap`), keeping it sorted best
 * first; the worst entry falls off a full pool. Returns the position, or -1 when it ranks after
 * every entry of a full pool.
 */
function poolInsert(pool: usize, size: i32, cap: i32, score: f32, id: u32): i32 {
  if (size == cap && (cap == 0 || !better(score, id, poolScore(pool, cap - 1), poolId(pool, cap - 1) & ID_MASK))) return -1;
  let j = size < cap ? size : cap - 1;
  while (j > 0 && better(score, id, poolScore(pool, j - 1), poolId(pool, j - 1) & ID_MASK)) {
    store<u64>(pool + <usize>j * ENTRY_BYTES, load<u64>(pool + <usize>(j - 1) * ENTRY_BYTES));
    j--;
  }
  store<f32>(pool + <usize>j * ENTRY_BYTES, score);
  store<u32>(pool + <usize>j * ENTRY_BYTES, id, 4);
  return j;
}

/** Where a greedy descent stopped (module globals: each thread has its own instance). */
let bestId: u32 = 0;
let bestScore: f32 = 0;

/** From (bestId, bestScore), move to the best-ranked neighbour at `layer` while one ranks better. */
function greedy(g: usize, q: usize, layer: i32, dim: i32): void {
  let changed = true;
  while (changed) {
    changed = false;
    const list = links(g, bestId, layer);
    const n = <i32>load<u32>(list);
    for (let e = 0; e < n; e++) {
      const nb = load<u32>(list + <usize>(1 + e) * U32);
      const s = dotF32(q, vec(g, nb), dim);
      if (better(s, nb, bestScore, bestId)) {
        bestId = nb;
        bestScore = s;
        changed = true;
      }
    }
  }
}

/**
 * Beam search of `layer` from (bestId, bestScore) for query `q`: the `ef` best nodes found, into
 * `pool` sorted best first; returns how many. `visited` is a bitset over the graph's capacity.
 */
function searchLayer(g: usize, q: usize, layer: i32, ef: i32, pool: usize, visited: usize, dim: i32): i32 {
  memory.fill(visited, 0, visitedBytes(word(g, G_CAPACITY)));
  const start = bestId;
  store<u32>(visited + ((<usize>start >> 5) << 2), load<u32>(visited + ((<usize>start >> 5) << 2)) | (1 << (start & 31)));
  let size = 0;
  poolInsert(pool, 0, ef, bestScore, start);
  size = 1;
  let cursor = 0;
  while (true) {
    while (cursor < size && (poolId(pool, cursor) & EXPANDED) != 0) cursor++;
    if (cursor >= size) break;
    const c = poolId(pool, cursor);
    store<u32>(pool + <usize>cursor * ENTRY_BYTES, c | EXPANDED, 4);
    const list = links(g, c, layer);
    const n = <i32>load<u32>(list);
    let lowest = size;
    for (let e = 0; e < n; e++) {
      const nb = load<u32>(list + <usize>(1 + e) * U32);
      const at = visited + ((<usize>nb >> 5) << 2);
      const bits = load<u32>(at);
      const bit: u32 = 1 << (nb & 31);
      if ((bits & bit) != 0) continue;
      store<u32>(at, bits | bit);
      const s = dotF32(q, vec(g, nb), dim);
      const p = poolInsert(pool, size, ef, s, nb);
      if (p >= 0) {
        if (size < ef) size++;
        if (p < lowest) lowest = p;
      }
    }
    // An entry inserted above the cursor is unexpanded: look again from there.
    if (lowest < cursor) cursor = lowest;
  }
  return size;
}

/**
 * hnswlib's neighbour heuristic (getNeighborsByHeuristic2): walk the `size` candidates of `pool`
 * (sorted best first; score = similarity to the node being linked) and keep one unless a node
 * already kept is more similar to it than the node is; stop at `m`. Writes [count, ids...] at `out`.
 */
function select(g: usize, pool: usize, size: i32, m: i32, out: usize, dim: i32): void {
  let kept = 0;
  for (let c = 0; c < size && kept < m; c++) {
    const id = poolId(pool, c) & ID_MASK;
    const s = poolScore(pool, c);
    const v = vec(g, id);
    let good = true;
    for (let r = 0; r < kept; r++) {
      if (dotF32(v, vec(g, load<u32>(out + <usize>(1 + r) * U32)), dim) > s) {
        good = false;
        break;
      }
    }
    if (good) {
      store<u32>(out + <usize>(1 + kept) * U32, id);
      kept++;
    }
  }
  store<u32>(out, <u32>kept);
}

/** The best-ranked entry of the pool's first `size` with an id below `count` (a linked node), or -1. */
function bestLinked(pool: usize, size: i32, count: u32): i32 {
  for (let c = 0; c < size; c++) if ((poolId(pool, c) & ID_MASK) < count) return c;
  return -1;
}

/** Node i's lists at every layer ≤ its level, chosen from the frozen graph and rows [b0, i). */
function insertOne(g: usize, i: u32, b0: u32, out: usize, scratch: usize): void {
  const dim = <i32>word(g, G_DIM);
  const m = <i32>word(g, G_M);
  const efc = <i32>word(g, G_EF_CONSTRUCTION);
  const stride = (1 + <usize>m) * U32;
  const visited = scratch;
  const pool = scratch + visitedBytes(word(g, G_CAPACITY));
  const q = vec(g, i);
  const lvl = level(g, i);
  for (let l = 0; l < LEVEL_CAP; l++) store<u32>(out + <usize>l * stride, 0);
  const entry = word(g, G_ENTRY);
  let searchFrom = -1;
  if (entry != NONE) {
    const top = <i32>word(g, G_TOP);
    bestId = entry;
    bestScore = dotF32(q, vec(g, entry), dim);
    for (let l = top; l > lvl; l--) greedy(g, q, l, dim);
    searchFrom = lvl < top ? lvl : top;
  }
  for (let l = lvl; l >= 0; l--) {
    let size = 0;
    if (l <= searchFrom) {
      size = searchLayer(g, q, l, efc, pool, visited, dim);
      // The next layer starts from the best node found here (searchLayer's pool holds linked nodes only).
      bestId = poolId(pool, 0) & ID_MASK;
      bestScore = poolScore(pool, 0);
    }
    // Rows of this batch before i are candidates too: they are not in the graph yet, so no search
    // can reach them, but the sequential build would have linked i to them.
    for (let j = b0; j < i; j++) {
      if (level(g, j) < l) continue;
      const p = poolInsert(pool, size, efc, dotF32(q, vec(g, j), dim), j);
      if (p >= 0 && size < efc) size++;
    }
    select(g, pool, size, m, out + <usize>l * stride, dim);
  }
}

/**
 * Build step 1 (parallel: one call per share of slots). For rows [first, min(first + slots ·
 * perSlot, b1)) of the batch [b0, b1): each row's links at each of its layers, chosen from the
 * graph frozen at count = b0 and from the rows [b0, row), into out[row - b0] (LEVEL_CAP lists of
 * [count, M ids]). `scratch` is one slot's: a visited bitset and a pool of ef_construction;
 * `slotBytes` is the stride of the slots' scratch, read by the thread pool to cut shares (a share
 * uses its first slot's scratch for each of its rows in turn).
 */
export function hnswInsert(g: usize, b0: u32, b1: u32, first: u32, slots: i32, perSlot: i32, out: usize, scratch: usize, slotBytes: i32): void {
  const nodeBytes = <usize>LEVEL_CAP * (1 + <usize>word(g, G_M)) * U32;
  let end = <u64>first + <u64>slots * <u64>perSlot;
  if (end > <u64>b1) end = <u64>b1;
  for (let i = first; <u64>i < end; i++) insertOne(g, i, b0, out + <usize>(i - b0) * nodeBytes, scratch);
}

/** Build step 2 (serial): rows [b0, b1) get the links hnswInsert chose; the entry moves to a row
 *  whose level is above the top (the first such, in row order); count becomes b1. */
export function hnswCommit(g: usize, b0: u32, b1: u32, out: usize): void {
  const m = <usize>word(g, G_M);
  const stride = (1 + m) * U32;
  const nodeBytes = <usize>LEVEL_CAP * stride;
  for (let i = b0; i < b1; i++) {
    const lvl = level(g, i);
    const src = out + <usize>(i - b0) * nodeBytes;
    for (let l = 0; l <= lvl; l++) memory.copy(links(g, i, l), src + <usize>l * stride, (1 + <usize>load<u32>(src + <usize>l * stride)) * U32);
    if (word(g, G_ENTRY) == NONE || lvl > <i32>word(g, G_TOP)) {
      setWord(g, G_ENTRY, i);
      setWord(g, G_TOP, <u32>lvl);
    }
  }
  setWord(g, G_COUNT, b1);
}

/**
 * Build step 3 (serial), for one layer: the reverse links of the batch's new links, grouped by the
 * node that receives them. Groups are numbered in order of first appearance (rows in order, each
 * row's list in order) and written as records [target, start, end) into `records`, the sources of
 * group r being reqs[start..end) in row order. `mark` holds capacity u32 zeros and is left so.
 * Returns the number of groups.
 */
export function hnswCollect(g: usize, b0: u32, b1: u32, layer: i32, out: usize, reqs: usize, records: usize, mark: usize): i32 {
  const stride = (1 + <usize>word(g, G_M)) * U32;
  const nodeBytes = <usize>LEVEL_CAP * stride;
  let groups = 0;
  // Pass 1: a group per target, its size counted in the record's `end`.
  for (let i = b0; i < b1; i++) {
    if (level(g, i) < layer) continue;
    const list = out + <usize>(i - b0) * nodeBytes + <usize>layer * stride;
    const n = <i32>load<u32>(list);
    for (let e = 0; e < n; e++) {
      const t = load<u32>(list + <usize>(1 + e) * U32);
      const at = mark + <usize>t * U32;
      let r = load<u32>(at);
      if (r == 0) {
        r = <u32>++groups;
        store<u32>(at, r);
        store<u32>(records + <usize>(r - 1) * 12, t);
        store<u32>(records + <usize>(r - 1) * 12, 0, 8);
      }
      const rec = records + <usize>(r - 1) * 12;
      store<u32>(rec, load<u32>(rec, 8) + 1, 8);
    }
  }
  // Starts by prefix sum; `end` becomes the fill cursor.
  let at: u32 = 0;
  for (let r = 0; r < groups; r++) {
    const rec = records + <usize>r * 12;
    const n = load<u32>(rec, 8);
    store<u32>(rec, at, 4);
    store<u32>(rec, at, 8);
    at += n;
  }
  // Pass 2: sources in row order; the marks go back to 0.
  for (let i = b0; i < b1; i++) {
    if (level(g, i) < layer) continue;
    const list = out + <usize>(i - b0) * nodeBytes + <usize>layer * stride;
    const n = <i32>load<u32>(list);
    for (let e = 0; e < n; e++) {
      const t = load<u32>(list + <usize>(1 + e) * U32);
      const rec = records + <usize>(load<u32>(mark + <usize>t * U32) - 1) * 12;
      const fill = load<u32>(rec, 8);
      store<u32>(reqs + <usize>fill * U32, i);
      store<u32>(rec, fill + 1, 8);
    }
  }
  for (let r = 0; r < groups; r++) store<u32>(mark + <usize>load<u32>(records + <usize>r * 12) * U32, 0);
  return groups;
}

/**
 * Build step 4 (parallel: one call per share of groups): for each of `groups` records (from
 * hnswCollect), add the link target → source for each source in order at `layer`; a full list is
 * cut back to its capacity by the heuristic over its links and the new one (hnswlib's rule).
 * Each group touches only its target's list, so groups may run in any order on any thread.
 * `scratch`: a pool of M0 + 1 candidates per group, `groupBytes` apart (the thread pool's stride).
 */
export function hnswLink(g: usize, layer: i32, reqs: usize, records: usize, groups: i32, scratch: usize, groupBytes: i32): void {
  const dim = <i32>word(g, G_DIM);
  const cap = <i32>(layer == 0 ? word(g, G_M0) : word(g, G_M));
  for (let r = 0; r < groups; r++) {
    const rec = records + <usize>r * 12;
    const t = load<u32>(rec);
    const from = load<u32>(rec, 4);
    const to = load<u32>(rec, 8);
    const list = links(g, t, layer);
    const tv = vec(g, t);
    for (let k = from; k < to; k++) {
      const s = load<u32>(reqs + <usize>k * U32);
      const n = <i32>load<u32>(list);
      let present = false;
      for (let e = 0; e < n; e++) if (load<u32>(list + <usize>(1 + e) * U32) == s) present = true;
      if (present) continue;
      if (n < cap) {
        store<u32>(list + <usize>(1 + n) * U32, s);
        store<u32>(list, <u32>(n + 1));
        continue;
      }
      let size = 0;
      for (let e = 0; e < n; e++) {
        const x = load<u32>(list + <usize>(1 + e) * U32);
        poolInsert(scratch, size, cap + 1, dotF32(tv, vec(g, x), dim), x);
        size++;
      }
      poolInsert(scratch, size, cap + 1, dotF32(tv, vec(g, s), dim), s);
      size++;
      select(g, scratch, size, cap, list, dim);
    }
  }
}

/**
 * Query search (parallel: one call per share of slots): for queries [first, min(first + slots ·
 * perSlot, nq)) of `queries` ([nq, D] f32), the k best nodes by a beam of max(ef, k) at layer 0 after
 * a greedy descent, into outIds/outScores [nq, k] best first (NONE and -∞ past the nodes found).
 * `scratch` is one slot's: a visited bitset and a pool of max(ef, k), `slotBytes` apart (as hnswInsert).
 */
export function hnswSearch(
  g: usize, queries: usize, first: u32, slots: i32, perSlot: i32, nq: u32, k: i32, ef: i32,
  outIds: usize, outScores: usize, scratch: usize, slotBytes: i32,
): void {
  const dim = <i32>word(g, G_DIM);
  const beam = ef > k ? ef : k;
  const visited = scratch;
  const pool = scratch + visitedBytes(word(g, G_CAPACITY));
  let end = <u64>first + <u64>slots * <u64>perSlot;
  if (end > <u64>nq) end = <u64>nq;
  for (let qi = first; <u64>qi < end; qi++) {
    const q = queries + <usize>qi * <usize>dim * F32;
    const ids = outIds + <usize>qi * <usize>k * U32;
    const scores = outScores + <usize>qi * <usize>k * F32;
    let found = 0;
    const entry = word(g, G_ENTRY);
    if (entry != NONE && word(g, G_COUNT) > 0) {
      bestId = entry;
      bestScore = dotF32(q, vec(g, entry), dim);
      for (let l = <i32>word(g, G_TOP); l > 0; l--) greedy(g, q, l, dim);
      found = searchLayer(g, q, 0, beam, pool, visited, dim);
      if (found > k) found = k;
    }
    for (let r = 0; r < k; r++) {
      store<u32>(ids + <usize>r * U32, r < found ? poolId(pool, r) & ID_MASK : NONE);
      store<f32>(scores + <usize>r * F32, r < found ? poolScore(pool, r) : -Infinity);
    }
  }
}
