// Owns: argument checking for every kernel call, shared by both backends. A backend supplies the raw
// kernels (which trust their arguments); `guardBackend` wraps them into a KernelBackend that turns
// any bad pointer, size or aliasing into a KernelError before anything runs. That is what keeps a
// bad call from trapping inside WebAssembly, reading out of bounds or silently writing over an input.
// Does not own: the arithmetic (reference.ts, wasm.ts) or the heap layout (arena.ts).
import type { KernelBackend, Ptr } from './backend.js';
import type { Arena } from './arena.js';
import { KernelError } from './kernel-error.js';
import { guardLowPrecision } from './guard-lowp.js';
import type { RawLowPrecisionKernels } from './reference-lowp.js';

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
  | 'dotRows'
> &
  RawLowPrecisionKernels;

interface Region {
  name: string;
  start: number;
  end: number;
}

/** What a backend adds beyond its kernels: its thread count and how to stop its threads. */
export interface BackendLifecycle {
  threads: number;
  dispose(): void;
}

export function guardBackend(
  name: string,
  arena: Arena,
  raw: RawKernels,
  lifecycle: BackendLifecycle = { threads: 1, dispose() {} },
): KernelBackend {
  const memory = arena.memory;

  function size(op: string, label: string, v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: ${label} = ${v} must be an integer in [0, 2^31)`);
    }
  }

  /** NH heads of L tokens, head size HS; the per-head scratch is sized in i32 inside wasm, so it
   *  must stay far from 2^31. */
  function attentionSizes(op: string, NH: number, L: number, HS: number): void {
    size(op, 'NH', NH);
    size(op, 'L', L);
    size(op, 'HS', HS);
    size(op, 'L*(L+2*HS+16)', L * (L + 2 * HS + 16) * F32);
  }

  /** A region of `floats` f32 at `ptr` must lie inside the live arena [base, top). */
  function region(op: string, label: string, ptr: Ptr, floats: number): Region {
    if (!Number.isInteger(ptr) || ptr % F32 !== 0) {
      throw new KernelError('KERNEL_BAD_POINTER', `${op}: ${label} pointer ${ptr} is not a 4-byte aligned byte offset`);
    }
    const end = ptr + floats * F32;
    if (ptr < arena.base || end > arena.top) {
      throw new KernelError(
        'KERNEL_BAD_POINTER',
        `${op}: ${label} [${ptr}, ${end}) (${floats} floats) is outside the heap's live arena [${arena.base}, ${arena.top})`,
      );
    }
    return { name: label, start: ptr, end };
  }

  /** Floats spanned by `rows` rows of `cols` with a row stride of `ld` floats. */
  function strided(op: string, label: string, rows: number, cols: number, ld: number): number {
    size(op, `ld${label}`, ld);
    if (rows > 1 && ld < cols) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: ld${label} = ${ld} is smaller than the row length ${cols}`);
    }
    return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  }

  function disjoint(op: string, out: Region, ...inputs: Region[]): void {
    if (out.end === out.start) return;
    for (const r of inputs) {
      if (r.end > r.start && out.start < r.end && r.start < out.end) {
        throw new KernelError(
          'KERNEL_OVERLAP',
          `${op}: output ${out.name} [${out.start}, ${out.end}) overlaps input ${r.name} [${r.start}, ${r.end})`,
        );
      }
    }
  }

  /** Same region or no overlap at all: kernels that run element by element may work in place. */
  function sameOrDisjoint(op: string, out: Region, x: Region): void {
    if (out.start === x.start) return;
    disjoint(op, out, x);
  }

  return {
    name,
    memory,
    get threads() {
      return lifecycle.threads;
    },
    dispose: () => lifecycle.dispose(),
    ...guardLowPrecision(arena, raw),
    alloc: (bytes) => arena.alloc(bytes),
    mark: () => arena.mark(),
    release: (m) => arena.release(m),
    f32(ptr, length) {
      size('f32', 'length', length);
      region('f32', 'view', ptr, length);
      return new Float32Array(memory.buffer, ptr, length);
    },

    packedLinearBytes(OUT, IN) {
      size('packedLinearBytes', 'OUT', OUT);
      size('packedLinearBytes', 'IN', IN);
      return raw.packedLinearBytes(OUT, IN);
    },
    packLinear(dst, src, OUT, IN) {
      const op = 'packLinear';
      size(op, 'OUT', OUT);
      size(op, 'IN', IN);
      const d = region(op, 'dst', dst, raw.packedLinearBytes(OUT, IN) / F32);
      const s = region(op, 'src', src, OUT * IN);
      disjoint(op, d, s);
      raw.packLinear(dst, src, OUT, IN);
    },
    linear(out, x, w, bias, T, IN, OUT) {
      const op = 'linear';
      size(op, 'T', T);
      size(op, 'IN', IN);
      size(op, 'OUT', OUT);
      const o = region(op, 'out', out, T * OUT);
      const xr = region(op, 'x', x, T * IN);
      const wr = region(op, 'w', w, raw.packedLinearBytes(OUT, IN) / F32);
      const br = region(op, 'bias', bias, OUT);
      disjoint(op, o, xr, wr, br);
      raw.linear(out, x, w, bias, T, IN, OUT);
    },
    matmulNT(out, a, b, M, N, K, lda, ldb, ldc) {
      const op = 'matmulNT';
      size(op, 'M', M);
      size(op, 'N', N);
      size(op, 'K', K);
      const o = region(op, 'out', out, strided(op, 'c', M, N, ldc));
      const ar = region(op, 'a', a, N === 0 ? 0 : strided(op, 'a', M, K, lda));
      const br = region(op, 'b', b, M === 0 ? 0 : strided(op, 'b', N, K, ldb));
      disjoint(op, o, ar, br);
      raw.matmulNT(out, a, b, M, N, K, lda, ldb, ldc);
    },
    matmulNN(out, a, b, M, N, K, lda, ldb, ldc) {
      const op = 'matmulNN';
      size(op, 'M', M);
      size(op, 'N', N);
      size(op, 'K', K);
      const o = region(op, 'out', out, strided(op, 'c', M, N, ldc));
      const ar = region(op, 'a', a, N === 0 ? 0 : strided(op, 'a', M, K, lda));
      const br = region(op, 'b', b, M === 0 ? 0 : strided(op, 'b', K, N, ldb));
      disjoint(op, o, ar, br);
      raw.matmulNN(out, a, b, M, N, K, lda, ldb, ldc);
    },
    attentionScratchBytes(NH, L, HS) {
      attentionSizes('attentionScratchBytes', NH, L, HS);
      return raw.attentionScratchBytes(NH, L, HS);
    },
    attention(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries = L) {
      const op = 'attention';
      attentionSizes(op, NH, L, HS);
      size(op, 'queries', queries);
      if (queries > L) throw new KernelError('KERNEL_BAD_SIZE', `${op}: queries = ${queries} is more than the L = ${L} tokens`);
      if (typeof scale !== 'number' || Number.isNaN(scale)) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: scale = ${scale} must be a number`);
      }
      size(op, 'NH*HS', NH * HS);
      size(op, 'NH*L*L', NH * L * L);
      const span = strided(op, '', L, NH * HS, ld);
      const querySpan = queries === 0 ? 0 : strided(op, '', queries, NH * HS, ld);
      const c = region(op, 'ctx', ctx, querySpan);
      const qr = region(op, 'q', q, querySpan);
      const kr = region(op, 'k', k, span);
      const vr = region(op, 'v', v, span);
      const sr = region(op, 'scratch', scores, raw.attentionScratchBytes(NH, L, HS) / F32);
      sameOrDisjoint(op, c, qr);
      disjoint(op, c, kr, vr, sr);
      disjoint(op, sr, qr, kr, vr);
      raw.attention(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries);
    },
    softmaxRows(x, mask, rows, cols, scale) {
      const op = 'softmaxRows';
      size(op, 'rows', rows);
      size(op, 'cols', cols);
      if (typeof scale !== 'number' || Number.isNaN(scale)) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: scale = ${scale} must be a number`);
      }
      const xr = region(op, 'x', x, rows * cols);
      if (mask !== 0) disjoint(op, xr, region(op, 'mask', mask, cols));
      raw.softmaxRows(x, mask, rows, cols, scale);
    },
    layerNorm(out, x, gamma, beta, rows, C, eps) {
      const op = 'layerNorm';
      size(op, 'rows', rows);
      size(op, 'C', C);
      if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: eps = ${eps} must be a finite number >= 0`);
      }
      const o = region(op, 'out', out, rows * C);
      const xr = region(op, 'x', x, rows * C);
      sameOrDisjoint(op, o, xr);
      disjoint(op, o, region(op, 'gamma', gamma, C), region(op, 'beta', beta, C));
      raw.layerNorm(out, x, gamma, beta, rows, C, eps);
    },
    addInPlace(out, x, n) {
      const op = 'addInPlace';
      size(op, 'n', n);
      sameOrDisjoint(op, region(op, 'out', out, n), region(op, 'x', x, n));
      raw.addInPlace(out, x, n);
    },
    gelu(x, n) {
      size('gelu', 'n', n);
      region('gelu', 'x', x, n);
      raw.gelu(x, n);
    },
    tanh(x, n) {
      size('tanh', 'n', n);
      region('tanh', 'x', x, n);
      raw.tanh(x, n);
    },
    dotRows(out, matrix, vec, rows, dim) {
      const op = 'dotRows';
      size(op, 'rows', rows);
      size(op, 'dim', dim);
      const o = region(op, 'out', out, rows);
      disjoint(op, o, region(op, 'matrix', matrix, rows * dim), region(op, 'vec', vec, dim));
      raw.dotRows(out, matrix, vec, rows, dim);
    },
  };
}
