// Owns: argument checking for every kernel call, shared by both backends. A backend supplies the raw
// kernels (which trust their arguments); `guardBackend` wraps them into a KernelBackend that turns
// any bad pointer, size or aliasing into a KernelError before anything runs. That is what keeps a
// bad call from trapping inside WebAssembly, reading out of bounds or silently writing over an input.
// The checks themselves are guard-checks.ts's; this file says which each kernel needs, in three groups
// (products, attention, row kernels; guard-lowp.ts has the int8/f16 ones, guard-search.ts the search
// ones, guard-graph.ts the graph ones).
// Does not own: the arithmetic (reference.ts, wasm-kernels.ts) or the heap layout (arena.ts).
import type { KernelBackend } from './backend.js';
import type { Arena } from './arena.js';
import { KernelError } from './kernel-error.js';
import { ArgumentChecks } from './guard-checks.js';
import { guardLowPrecision } from './guard-lowp.js';
import type { RawLowPrecisionKernels } from './reference-lowp.js';
import { guardGraph } from './guard-graph.js';
import type { RawGraphKernels } from './reference-graph.js';
import { guardSearch } from './guard-search.js';
import type { RawSearchKernels } from './reference-search.js';

const F32 = 4;

/** The kernels of a backend, called only with checked arguments. */
export type RawKernels = Pick<
  KernelBackend,
  | 'packedLinearBytes'
  | 'packLinear'
  | 'linear'
  | 'matmulNT'
  | 'matmulNN'
  | 'attentionScratchBytes'
  | 'attention'
  | 'softmaxRows'
  | 'layerNorm'
  | 'addInPlace'
  | 'gelu'
  | 'tanh'
> &
  RawLowPrecisionKernels &
  RawGraphKernels &
  RawSearchKernels;

/** What a backend adds beyond its kernels: its thread count and how to stop its threads. */
export interface BackendLifecycle {
  threads: number;
  dispose(): void;
}

/** The KernelBackend over `raw` kernels: the arena's allocation, and every kernel behind its checks. */
export function guardBackend(
  name: string,
  arena: Arena,
  raw: RawKernels,
  lifecycle: BackendLifecycle = { threads: 1, dispose() {} },
): KernelBackend {
  const memory = arena.memory;
  const c = new ArgumentChecks(arena);
  return {
    name,
    memory,
    get threads() {
      return lifecycle.threads;
    },
    dispose: () => lifecycle.dispose(),
    alloc: (bytes) => arena.alloc(bytes),
    mark: () => arena.mark(),
    release: (m) => arena.release(m),
    f32(ptr, length) {
      c.size('f32', 'length', length);
      c.floats('f32', 'view', ptr, length);
      return new Float32Array(memory.buffer, ptr, length);
    },
    ...guardProducts(c, raw),
    ...guardAttention(c, raw),
    ...guardRowKernels(c, raw),
    ...guardLowPrecision(c, raw),
    ...guardGraph(c, memory, raw),
    ...guardSearch(c, raw),
  };
}

/** The Linear and the two strided products. */
function guardProducts(c: ArgumentChecks, raw: RawKernels): Pick<RawKernels, 'packedLinearBytes' | 'packLinear' | 'linear' | 'matmulNT' | 'matmulNN'> {
  return {
    packedLinearBytes(OUT, IN) {
      c.sizes('packedLinearBytes', { OUT, IN });
      return raw.packedLinearBytes(OUT, IN);
    },
    packLinear(dst, src, OUT, IN) {
      const op = 'packLinear';
      c.sizes(op, { OUT, IN });
      const d = c.floats(op, 'dst', dst, raw.packedLinearBytes(OUT, IN) / F32);
      const s = c.floats(op, 'src', src, OUT * IN);
      c.disjoint(op, d, s);
      raw.packLinear(dst, src, OUT, IN);
    },
    linear(out, x, w, bias, T, IN, OUT) {
      const op = 'linear';
      c.sizes(op, { T, IN, OUT });
      const o = c.floats(op, 'out', out, T * OUT);
      const xr = c.floats(op, 'x', x, T * IN);
      const wr = c.floats(op, 'w', w, raw.packedLinearBytes(OUT, IN) / F32);
      const br = c.floats(op, 'bias', bias, OUT);
      c.disjoint(op, o, xr, wr, br);
      raw.linear(out, x, w, bias, T, IN, OUT);
    },
    matmulNT(out, a, b, M, N, K, lda, ldb, ldc) {
      const op = 'matmulNT';
      c.sizes(op, { M, N, K });
      const o = c.floats(op, 'out', out, c.strided(op, 'c', M, N, ldc));
      const ar = c.floats(op, 'a', a, N === 0 ? 0 : c.strided(op, 'a', M, K, lda));
      const br = c.floats(op, 'b', b, M === 0 ? 0 : c.strided(op, 'b', N, K, ldb));
      c.disjoint(op, o, ar, br);
      raw.matmulNT(out, a, b, M, N, K, lda, ldb, ldc);
    },
    matmulNN(out, a, b, M, N, K, lda, ldb, ldc) {
      const op = 'matmulNN';
      c.sizes(op, { M, N, K });
      const o = c.floats(op, 'out', out, c.strided(op, 'c', M, N, ldc));
      const ar = c.floats(op, 'a', a, N === 0 ? 0 : c.strided(op, 'a', M, K, lda));
      const br = c.floats(op, 'b', b, M === 0 ? 0 : c.strided(op, 'b', K, N, ldb));
      c.disjoint(op, o, ar, br);
      raw.matmulNN(out, a, b, M, N, K, lda, ldb, ldc);
    },
  };
}

/** The fused attention and its scratch size. */
function guardAttention(c: ArgumentChecks, raw: RawKernels): Pick<RawKernels, 'attentionScratchBytes' | 'attention'> {
  /** NH heads of L tokens, head size HS; the per-head scratch is sized in i32 inside wasm, so it
   *  must stay far from 2^31. */
  function attentionSizes(op: string, NH: number, L: number, HS: number): void {
    c.sizes(op, { NH, L, HS });
    c.size(op, 'L*(L+2*HS+16)', L * (L + 2 * HS + 16) * F32);
  }
  return {
    attentionScratchBytes(NH, L, HS) {
      attentionSizes('attentionScratchBytes', NH, L, HS);
      return raw.attentionScratchBytes(NH, L, HS);
    },
    attention(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries = L) {
      const op = 'attention';
      attentionSizes(op, NH, L, HS);
      c.size(op, 'queries', queries);
      if (queries > L) throw new KernelError('KERNEL_BAD_SIZE', `${op}: queries = ${queries} is more than the L = ${L} tokens`);
      c.scale(op, scale);
      c.size(op, 'NH*HS', NH * HS);
      c.size(op, 'NH*L*L', NH * L * L);
      const span = c.strided(op, '', L, NH * HS, ld);
      const querySpan = queries === 0 ? 0 : c.strided(op, '', queries, NH * HS, ld);
      const cr = c.floats(op, 'ctx', ctx, querySpan);
      const qr = c.floats(op, 'q', q, querySpan);
      const kr = c.floats(op, 'k', k, span);
      const vr = c.floats(op, 'v', v, span);
      const sr = c.floats(op, 'scratch', scores, raw.attentionScratchBytes(NH, L, HS) / F32);
      c.sameOrDisjoint(op, cr, qr);
      c.disjoint(op, cr, kr, vr, sr);
      c.disjoint(op, sr, qr, kr, vr);
      raw.attention(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries);
    },
  };
}

/** Row-wise and element-wise kernels (softmax, LayerNorm, add, GELU, tanh). */
function guardRowKernels(c: ArgumentChecks, raw: RawKernels): Pick<RawKernels, 'softmaxRows' | 'layerNorm' | 'addInPlace' | 'gelu' | 'tanh'> {
  return {
    softmaxRows(x, mask, rows, cols, scale) {
      const op = 'softmaxRows';
      c.size(op, 'rows', rows);
      c.size(op, 'cols', cols);
      c.scale(op, scale);
      const xr = c.floats(op, 'x', x, rows * cols);
      if (mask !== 0) c.disjoint(op, xr, c.floats(op, 'mask', mask, cols));
      raw.softmaxRows(x, mask, rows, cols, scale);
    },
    layerNorm(out, x, gamma, beta, rows, C, eps) {
      const op = 'layerNorm';
      c.size(op, 'rows', rows);
      c.size(op, 'C', C);
      if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: eps = ${eps} must be a finite number >= 0`);
      }
      const o = c.floats(op, 'out', out, rows * C);
      const xr = c.floats(op, 'x', x, rows * C);
      c.sameOrDisjoint(op, o, xr);
      c.disjoint(op, o, c.floats(op, 'gamma', gamma, C), c.floats(op, 'beta', beta, C));
      raw.layerNorm(out, x, gamma, beta, rows, C, eps);
    },
    addInPlace(out, x, n) {
      const op = 'addInPlace';
      c.size(op, 'n', n);
      c.sameOrDisjoint(op, c.floats(op, 'out', out, n), c.floats(op, 'x', x, n));
      raw.addInPlace(out, x, n);
    },
    gelu(x, n) {
      c.size('gelu', 'n', n);
      c.floats('gelu', 'x', x, n);
      raw.gelu(x, n);
    },
    tanh(x, n) {
      c.size('tanh', 'n', n);
      c.floats('tanh', 'x', x, n);
      raw.tanh(x, n);
    },
  };
}
