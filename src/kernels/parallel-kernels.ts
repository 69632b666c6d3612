// Owns: how each kernel export is cut into chunks for the thread pool — which argument is its row
// range, which pointers move with the first row, the row grain, and a rough cost so small calls stay
// on the calling thread — and `parallelExports`, which wraps an instance's exports so each call of
// such an export runs as chunks on the pool.
// Does not own: the pool (thread-pool.ts) or the kernels (assembly/).
//
// Why results do not depend on the thread count: a chunk is the same kernel on a sub-range of
// output rows (or heads), with its pointers moved to the range's first row. Every kernel computes an
// output row by the same code whatever rows surround it (assembly/matmul.ts keeps one accumulation
// order across its tile shapes), so every output element is bitwise the same for 1, 2 or N threads,
// whichever thread runs which chunk; test/threads.test.ts checks it. Chunks start on multiples of
// each kernel's row tile all the same, so their rows take the fast tiled path.
//
// Chunk count: one per thread at least (where the call is worth it), and up to CHUNKS_PER_THREAD per
// thread so that a thread that starts late or runs slow leaves chunks to the others — but a Linear's
// chunks keep >= 64 rows (minChunkRows): each chunk streams the whole weight matrix once, and each
// panel of W pays its first loads once per chunk (bench/threads.ts: 128 rows in 2 chunks beat 4;
// 512 rows in 8 chunks beat 2).
//
// Adding a kernel (e.g. an int8 linear): one ROW_SPLITS entry naming its export.
import { paddedIn } from './reference-lowp.js';
import type { ChunkPlan, KernelThreadPool } from './thread-pool.js';

const F32 = 4;

type Args = readonly number[];
/** The instance's exports, for sizes only the module knows (e.g. an int8 row's bytes). */
type Exports = Readonly<Record<string, unknown>>;
const call = (ex: Exports, name: string, ...args: number[]): number => (ex[name] as (...a: number[]) => number)(...args);

export interface RowSplit {
  /** Index of the argument holding the number of rows (or heads, elements) to split. */
  rows: number;
  /** Pointer arguments that move to a share's first row: [argument index, bytes per row]. */
  advance: ReadonlyArray<readonly [arg: number, bytesPerRow: (args: Args, ex: Exports) => number]>;
  /** Chunks start on multiples of this many rows (the kernel's row tile). */
  grain: number;
  /** Beyond one chunk per thread, chunks are cut no smaller than this (default: grain). */
  minChunkRows?: number;
  /** Estimated nanoseconds one row costs on one thread (see MIN_SHARE_NS). */
  nsPerRow: (args: Args) => number;
}

/** A chunk worth less than this is not cut off for another thread: an empty job costs ~6 µs while
 *  the workers still poll, tens of µs once they sleep (bench/threads.ts), and more on a busy machine. */
export const MIN_SHARE_NS = 30_000;

/** Most chunks per thread (see the header). */
export const CHUNKS_PER_THREAD = 4;

/** At ~40 GFLOP/s (assembly/matmul.ts on one core) a multiply-add pair costs 1/20 ns. */
const NS_PER_MAC = 1 / 20;

const bytes = (n: (a: Args) => number) => (a: Args) => n(a) * F32;

/** Export name -> how to split it. Arguments as in assembly/index.ts. */
export const ROW_SPLITS: Readonly<Record<string, RowSplit>> = {
  // linear_f32(out, x, w, bias, T, IN, OUT): rows of x / out.
  linear_f32: {
    rows: 4,
    advance: [[0, bytes((a) => a[6])], [1, bytes((a) => a[5])]],
    grain: 4,
    minChunkRows: 64,
    nsPerRow: (a) => a[5] * a[6] * NS_PER_MAC,
  },
  // pack_linear_f32(dst, src, OUT, IN): output features, in whole panels of 8 (load time only).
  pack_linear_f32: {
    rows: 2,
    advance: [[0, bytes((a) => a[3])], [1, bytes((a) => a[3])]],
    grain: 8,
    nsPerRow: (a) => a[3] * 0.5,
  },
  // matmul_nt_f32 / matmul_nn_f32(out, a, b, M, N, K, lda, ldb, ldc): rows of a / out.
  matmul_nt_f32: {
    rows: 3,
    advance: [[0, bytes((a) => a[8])], [1, bytes((a) => a[6])]],
    grain: 2,
    nsPerRow: (a) => a[4] * a[5] * NS_PER_MAC,
  },
  matmul_nn_f32: {
    rows: 3,
    advance: [[0, bytes((a) => a[8])], [1, bytes((a) => a[6])]],
    grain: 4,
    nsPerRow: (a) => a[4] * a[5] * NS_PER_MAC,
  },
  // attention_f32(ctx, q, k, v, scratch, NH, L, HS, ld, scale, M): heads, each with its share of scratch.
  attention_f32: {
    rows: 5,
    advance: [
      [0, bytes((a) => a[7])],
      [1, bytes((a) => a[7])],
      [2, bytes((a) => a[7])],
      [3, bytes((a) => a[7])],
      [4, (a, ex) => call(ex, 'attention_head_scratch_bytes', a[6], a[7])],
    ],
    grain: 1,
    // two M×L×HS products, an M×L softmax and the packing of K_h, V_h (2·L×HS) per head: ~160 µs at
    // M = L = 128 (bench/threads.ts)
    nsPerRow: (a) => 4 * a[10] * a[6] * a[7] * NS_PER_MAC + 2 * a[10] * a[6] + 2 * a[6] * a[7],
  },
  // softmax_rows_f32(x, mask, rows, cols, scale)
  softmax_rows_f32: {
    rows: 2,
    advance: [[0, bytes((a) => a[3])]],
    grain: 1,
    nsPerRow: (a) => 2 * a[3],
  },
  // layernorm_f32(out, x, gamma, beta, rows, C, eps)
  layernorm_f32: {
    rows: 4,
    advance: [[0, bytes((a) => a[5])], [1, bytes((a) => a[5])]],
    grain: 1,
    nsPerRow: (a) => 0.35 * a[5],
  },
  // Element-wise kernels: elements, in 64-byte (cache line) steps so shares never share a line.
  add_f32: { rows: 2, advance: [[0, () => F32], [1, () => F32]], grain: 16, nsPerRow: () => 0.15 },
  gelu_f32: { rows: 1, advance: [[0, () => F32]], grain: 16, nsPerRow: () => 3 },
  tanh_f32: { rows: 1, advance: [[0, () => F32]], grain: 16, nsPerRow: () => 3 },
  // int8 (assembly/quant.ts): quantize_rows_i8(q, x, rows, IN), rows of q_row_bytes_i8(IN) bytes.
  quantize_rows_i8: {
    rows: 2,
    advance: [[0, (a, ex) => call(ex, 'q_row_bytes_i8', a[3])], [1, bytes((a) => a[3])]],
    grain: 4,
    nsPerRow: (a) => a[3],
  },
  // linear_q8(out, q, w, bias, rows, IN, OUT): grain 4, a multiple of its row tile (2 or 4).
  linear_q8: {
    rows: 4,
    advance: [[0, bytes((a) => a[6])], [1, (a, ex) => call(ex, 'q_row_bytes_i8', a[5])]],
    grain: 4,
    minChunkRows: 64,
    nsPerRow: (a) => (a[5] * a[6] * NS_PER_MAC) / 2,
  },
  // linear_q8_add(out, q, w, bias, residual, rows, IN, OUT): linear_q8 plus the residual's rows.
  linear_q8_add: {
    rows: 5,
    advance: [[0, bytes((a) => a[7])], [1, (a, ex) => call(ex, 'q_row_bytes_i8', a[6])], [4, bytes((a) => a[7])]],
    grain: 4,
    minChunkRows: 64,
    nsPerRow: (a) => (a[6] * a[7] * NS_PER_MAC) / 2,
  },
  // layernorm_quantize_i8(out, q, x, gamma, beta, rows, C, eps): layernorm_f32 + quantize_rows_i8.
  layernorm_quantize_i8: {
    rows: 5,
    advance: [[0, bytes((a) => a[6])], [1, (a, ex) => call(ex, 'q_row_bytes_i8', a[6])], [2, bytes((a) => a[6])]],
    grain: 1,
    nsPerRow: (a) => 1.35 * a[6],
  },
  // gelu_quantize_i8(q, x, rows, IN): gelu_f32 + quantize_rows_i8, rows of IN.
  gelu_quantize_i8: {
    rows: 2,
    advance: [[0, (a, ex) => call(ex, 'q_row_bytes_i8', a[3])], [1, bytes((a) => a[3])]],
    grain: 1,
    nsPerRow: (a) => 4 * a[3],
  },
  // pack_linear_i8(dstRows, dstScales, dstSums, src, rows, IN): output channels; a channel's int8
  // row is paddedIn(IN) bytes (the layout wasm-lowp.ts packs), its scale and row sum 4 each (load
  // time only).
  pack_linear_i8: {
    rows: 4,
    advance: [[0, (a) => paddedIn(a[5])], [1, () => F32], [2, () => F32], [3, bytes((a) => a[5])]],
    grain: 1,
    nsPerRow: (a) => a[5] * 2,
  },
  // f16 (assembly/half.ts): f16_to_f32(dst, src, n) widens an f16 Linear weight before each use
  // (memory-bound), f32_to_f16(dst, src, n) narrows at load time. Elements, in cache-line steps.
  f16_to_f32: { rows: 2, advance: [[0, () => F32], [1, () => 2]], grain: 32, nsPerRow: () => 0.25 },
  f32_to_f16: { rows: 2, advance: [[0, () => 2], [1, () => F32]], grain: 32, nsPerRow: () => 2 },
  // Graph kernels (assembly/hnsw.ts): shares of slots (rows of a build batch, or queries), each slot
  // `perSlot` rows from `first` with its own scratch; results do not depend on who runs which slot.
  // hnsw_insert_f32(g, b0, b1, first, slots, perSlot, out, scratch, slotBytes): ~0.5 ms per row at
  // 768 dimensions (a beam of ef_construction), so any share is worth a thread.
  hnsw_insert_f32: {
    rows: 4,
    advance: [[3, (a) => a[5]], [7, (a) => a[8]]],
    grain: 1,
    nsPerRow: (a) => a[5] * 100_000,
  },
  // hnsw_link_f32(g, layer, reqs, records, groups, scratch, groupBytes): a group prunes a full list
  // (up to (M0 + 1)² / 2 dot products), tens of µs.
  hnsw_link_f32: {
    rows: 4,
    advance: [[3, () => 12], [5, (a) => a[6]]],
    grain: 1,
    nsPerRow: () => 10_000,
  },
  // hnsw_search_f32(g, queries, first, slots, perSlot, nq, k, ef, outIds, outScores, scratch, slotBytes)
  hnsw_search_f32: {
    rows: 3,
    advance: [[2, (a) => a[4]], [10, (a) => a[11]]],
    grain: 1,
    nsPerRow: (a) => a[4] * Math.max(a[6], a[7]) * 1_000,
  },
  // Search (assembly/dot.ts, assembly/checksum.ts): rows of scores, in multiples of the row tile (4).
  // dot_rows_f32(out, matrix, vec, rows, dim)
  dot_rows_f32: {
    rows: 3,
    advance: [[0, () => F32], [1, bytes((a) => a[4])]],
    grain: 16,
    nsPerRow: (a) => a[4] * NS_PER_MAC * 4, // memory-bound: each matrix float is read once
  },
  // dot_rows_many_f32(out, matrix, queries, rows, nq, dim, ldo): a chunk is rows of every query's
  // score row (out moves one float per row; ldo stays).
  dot_rows_many_f32: {
    rows: 3,
    advance: [[0, () => F32], [1, bytes((a) => a[5])]],
    grain: 16,
    nsPerRow: (a) => Math.max(a[4], 4) * a[5] * NS_PER_MAC,
  },
  // dot_rows_f16(out, rows16, vec, rows, dim): rows of dim halves.
  dot_rows_f16: {
    rows: 3,
    advance: [[0, () => F32], [1, (a) => a[4] * 2]],
    grain: 16,
    nsPerRow: (a) => a[4] * NS_PER_MAC * 2,
  },
  // dot_rows_i8(out, rows8, scales, q16, rows, dim, qScale): rows of dim bytes and their scales.
  dot_rows_i8: {
    rows: 4,
    advance: [[0, () => F32], [1, (a) => a[5]], [2, () => F32]],
    grain: 16,
    nsPerRow: (a) => a[5] * NS_PER_MAC,
  },
  // dot_rows_many_i8(out, rows8, scales, q16s, qScales, rows, nq, dim, ldo): a chunk is rows of every
  // query's score row (out moves one float per row; ldo stays), their bytes and scales.
  dot_rows_many_i8: {
    rows: 5,
    advance: [[0, () => F32], [1, (a) => a[7]], [2, () => F32]],
    grain: 16,
    nsPerRow: (a) => (Math.max(a[6], 4) * a[7] * NS_PER_MAC) / 2,
  },
  // sum_rows_f32(out, matrix, rows, dim): the bandwidth floor, split as dot_rows_f32 is.
  sum_rows_f32: {
    rows: 2,
    advance: [[0, () => F32], [1, bytes((a) => a[3])]],
    grain: 16,
    nsPerRow: (a) => a[3] * NS_PER_MAC * 4,
  },
  // hash_blocks_xxh32(out, data, blocks, blockSize, kind): blocks (8 bytes of output each), in
  // groups of 4 (the kernel hashes four side by side); ~0.1 ns per byte.
  hash_blocks_xxh32: {
    rows: 2,
    advance: [[0, () => 8], [1, (a) => a[3]]],
    grain: 4,
    nsPerRow: (a) => a[3] * 0.1,
  },
};

/**
 * Plan a call as chunks for `threads` threads: rows in grain steps; one chunk per thread, or up to
 * `chunksPerThread` per thread of at least minChunkRows rows; none cheaper than `minShareNs` (0: no
 * cost limit). Undefined: one chunk, run the call as it came.
 */
export function planCall(
  split: RowSplit,
  args: Args,
  threads: number,
  minShareNs = MIN_SHARE_NS,
  ex: Exports = {},
  chunksPerThread = CHUNKS_PER_THREAD,
): ChunkPlan | undefined {
  const rows = args[split.rows];
  const units = Math.ceil(rows / split.grain);
  const affordable = minShareNs <= 0 ? units : Math.floor((rows * split.nsPerRow(args)) / minShareNs);
  const least = Math.min(units, threads, affordable);
  const most = Math.min(units, threads * chunksPerThread, affordable, Math.floor(rows / (split.minChunkRows ?? split.grain)));
  const chunks = Math.max(least, most);
  if (chunks < 2 || threads < 2) return undefined;
  const chunkRows = Math.ceil(units / chunks) * split.grain;
  if (chunkRows >= rows) return undefined;
  return {
    rowsArg: split.rows,
    rows,
    chunkRows,
    advance: split.advance.map(([arg, perRow]) => [arg, perRow(args, ex)] as const),
  };
}

/** `exports` with every export named in `splits` run as chunks on `pool`; others unchanged.
 *  `minShareNs` (0 splits everything) and `chunksPerThread` are knobs for the benches. */
export function parallelExports<E extends object>(
  exports: E,
  pool: KernelThreadPool,
  splits: Readonly<Record<string, RowSplit>> = ROW_SPLITS,
  minShareNs = MIN_SHARE_NS,
  chunksPerThread = CHUNKS_PER_THREAD,
): E {
  const out: Record<string, unknown> = { ...(exports as Record<string, unknown>) };
  for (const [name, split] of Object.entries(splits)) {
    const fn = out[name];
    if (typeof fn !== 'function') continue;
    out[name] = (...args: number[]) => {
      const plan = planCall(split, args, pool.threads, minShareNs, exports as Exports, chunksPerThread);
      if (plan === undefined) return (fn as (...a: number[]) => unknown)(...args);
      pool.run(name, args, plan);
    };
  }
  return out as E;
}
