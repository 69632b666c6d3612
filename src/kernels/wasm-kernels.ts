// Owns: rawKernels, the KernelBackend contract mapped onto one instance's exports (which may be
// wrapped to run on a thread pool: parallel-kernels.ts) — sizes the module knows (panel width,
// attention scratch) and one line per kernel.
// Does not own: loading or instantiating the module (kernel-module.ts), argument checks (guard.ts),
// threads (wasm-threaded.ts), or the kernels themselves (assembly/).
import type { RawKernels } from './guard.js';
import type { KernelExports } from './kernel-module.js';
import { lowPrecisionKernels } from './wasm-lowp.js';
import { graphKernels } from './wasm-graph.js';
import { searchKernels } from './wasm-search.js';

/** The contract's kernels over an instance's exports (which may run on a thread pool) and its heap. */
export function rawKernels(ex: KernelExports, memory: WebAssembly.Memory): RawKernels {
  const panel = ex.linear_panel_f32();
  return {
    packedLinearBytes: (OUT, IN) => Math.ceil(OUT / panel) * panel * IN * 4,
    packLinear: (dst, src, OUT, IN) => ex.pack_linear_f32(dst, src, OUT, IN),
    linear: (out, x, w, bias, T, IN, OUT) => ex.linear_f32(out, x, w, bias, T, IN, OUT),
    matmulNT: (out, a, b, M, N, K, lda, ldb, ldc) => ex.matmul_nt_f32(out, a, b, M, N, K, lda, ldb, ldc),
    matmulNN: (out, a, b, M, N, K, lda, ldb, ldc) => ex.matmul_nn_f32(out, a, b, M, N, K, lda, ldb, ldc),
    attentionScratchBytes: (NH, L, HS) => NH * ex.attention_head_scratch_bytes(L, HS),
    attention: (ctx, q, k, v, scores, NH, L, HS, ld, scale, queries = L) => ex.attention_f32(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries),
    softmaxRows: (x, mask, rows, cols, scale) => ex.softmax_rows_f32(x, mask, rows, cols, scale),
    layerNorm: (out, x, gamma, beta, rows, C, eps) => ex.layernorm_f32(out, x, gamma, beta, rows, C, eps),
    addInPlace: (out, x, n) => ex.add_f32(out, x, n),
    gelu: (x, n) => ex.gelu_f32(x, n),
    tanh: (x, n) => ex.tanh_f32(x, n),
    ...lowPrecisionKernels(ex),
    ...graphKernels(ex, memory),
    ...searchKernels(ex),
  };
}
