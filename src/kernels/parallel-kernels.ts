// Owns: how each kernel export is split across the thread pool — which argument is its row range,
// which pointers move with the first row, the row grain, and a rough cost so small calls stay on the
// calling thread — and `parallelExports`, which wraps an instance's exports so each call of a split
// export runs as shares on the pool.
// Does not own: the pool (thread-pool.ts) or the kernels (assembly/).
//
// Why results do not depend on the thread count: a share is the same kernel on a sub-range of
// output rows (or heads), with its pointers moved to the range's first row. Every kernel computes an
// output row by the same code whatever rows surround it (assembly/matmul.ts keeps one accumulation
// order across its tile shapes), so every output element is bitwise the same for 1, 2 or N threads;
// test/threads.test.ts checks it. Split points fall on multiples of each kernel's row tile all the
// same, so a share's rows take the fast tiled path.
//
// Adding a kernel (e.g. an int8 linear): one ROW_SPLITS entry naming its export.
import type { KernelThreadPool } from './thread-pool.js';

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
  /** Shares start on multiples of this many rows (the kernel's row tile). */
  grain: number;
  /** Estimated nanoseconds one row costs on one thread (see MIN_SHARE_NS). */
  nsPerRow: (args: Args) => number;
}

/** A share worth less than this stays on the calling thread: an empty job costs ~6 µs while the
 *  workers still poll, tens of µs once they sleep (bench/threads.ts), and more on a busy machine. */
export const MIN_SHARE_NS = 30_000;

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
  // attention_f32(ctx, q, k, v, scores, NH, L, HS, ld, scale): heads.
  attention_f32: {
    rows: 5,
    advance: [
      [0, bytes((a) => a[7])],
      [1, bytes((a) => a[7])],
      [2, bytes((a) => a[7])],
      [3, bytes((a) => a[7])],
      [4, bytes((a) => a[6] * a[6])],
    ],
    grain: 1,
    // two L×L×HS products and an L×L softmax per head: ~160 µs at L = 128 (bench/threads.ts)
    nsPerRow: (a) => 4 * a[6] * a[6] * a[7] * NS_PER_MAC + 2 * a[6] * a[6],
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
    nsPerRow: (a) => (a[5] * a[6] * NS_PER_MAC) / 2,
  },
  // pack_linear_i8(dstRows, dstScales, src, rows, IN): output channels; a channel's int8 row is
  // packed_linear_bytes_i8(1, IN) - 4 bytes (its padded IN), its scale 4 (load time only).
  pack_linear_i8: {
    rows: 3,
    advance: [[0, (a, ex) => call(ex, 'packed_linear_bytes_i8', 1, a[4]) - F32], [1, () => F32], [2, bytes((a) => a[4])]],
    grain: 1,
    nsPerRow: (a) => a[4] * 2,
  },
  // dot_rows_f32(out, matrix, vec, rows, dim)
  dot_rows_f32: {
    rows: 3,
    advance: [[0, () => F32], [1, bytes((a) => a[4])]],
    grain: 16,
    nsPerRow: (a) => a[4] * NS_PER_MAC * 4, // memory-bound: each matrix float is read once
  },
};

/**
 * Cut a call into at most `threads` shares: rows [r_i, r_i+1) each, on grain boundaries, sizes as
 * equal as the grain allows, and none cheaper than MIN_SHARE_NS. Returns the shares' argument
 * lists (one share: the call as it came).
 */
export function splitCall(split: RowSplit, args: Args, threads: number, minShareNs = MIN_SHARE_NS, ex: Exports = {}): number[][] {
  const rows = args[split.rows];
  const units = Math.ceil(rows / split.grain);
  const affordable = minShareNs <= 0 ? units : Math.floor((rows * split.nsPerRow(args)) / minShareNs);
  const n = Math.max(1, Math.min(threads, units, affordable));
  if (n === 1) return [args.slice()];
  const moves = split.advance.map(([arg, perRow]) => [arg, perRow(args, ex)] as const);
  const shares: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r0 = Math.min(rows, Math.floor((i * units) / n) * split.grain);
    const r1 = Math.min(rows, Math.floor(((i + 1) * units) / n) * split.grain);
    const share = args.slice();
    share[split.rows] = r1 - r0;
    for (const [arg, perRow] of moves) share[arg] = args[arg] + r0 * perRow;
    shares.push(share);
  }
  return shares;
}

/** `exports` with every export named in `splits` run as shares on `pool`; others unchanged.
 *  `minShareNs` (default MIN_SHARE_NS; 0 splits everything) is a knob for bench/threads.ts. */
export function parallelExports<E extends object>(
  exports: E,
  pool: KernelThreadPool,
  splits: Readonly<Record<string, RowSplit>> = ROW_SPLITS,
  minShareNs = MIN_SHARE_NS,
): E {
  const out: Record<string, unknown> = { ...(exports as Record<string, unknown>) };
  for (const [name, split] of Object.entries(splits)) {
    const fn = out[name];
    if (typeof fn !== 'function') continue;
    out[name] = (...args: number[]) => {
      const shares = splitCall(split, args, pool.threads, minShareNs, exports as Exports);
      if (shares.length === 1) return (fn as (...a: number[]) => unknown)(...args);
      pool.run(name, shares);
    };
  }
  return out as E;
}
