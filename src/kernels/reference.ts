// Owns: createReferenceBackend, the scalar TypeScript KernelBackend that every optimised kernel is
// tested against. Obvious loops, float64 accumulation, results rounded to f32 once on store.
// Does not own: argument checks (guard.ts) or the heap layout (arena.ts).
//
// It lives on its own plain WebAssembly.Memory with the same Arena as the wasm backend, so pointers
// and the layout a model builds mean exactly the same thing in both. packLinear is a plain copy here:
// the reference reads W in Hugging Face's [OUT, IN] order.
import type { KernelBackend } from './backend.js';
import { Arena } from './arena.js';
import { guardBackend, type RawKernels } from './guard.js';
import { gelu64 } from './reference-math.js';
import { referenceLowPrecisionKernels, type Int8Activations } from './reference-lowp.js';
import { referenceGraphKernels } from './reference-graph.js';
import { referenceSearchKernels } from './reference-search.js';

const F32 = 4;

/** The scalar oracle backend; same semantics as the wasm kernels (limits at ±∞, NaN in → NaN out). */
/** `int8Activations`: 'i12' (default, the baseline build's int8 numerics) or 'u7' (the relaxed build's,
 *  reference-lowp.ts), so either wasm build has its bit-exact oracle. */
export function createReferenceBackend(options: { int8Activations?: Int8Activations } = {}): KernelBackend {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const arena = new Arena(memory, 0);
  // Views are re-created per call: the buffer is detached whenever the memory grows.
  const view = (): Float32Array => new Float32Array(memory.buffer);

  const raw: RawKernels = {
    packedLinearBytes: (OUT, IN) => OUT * IN * F32,
    packLinear(dst, src, OUT, IN) {
      const h = view();
      h.copyWithin(dst / F32, src / F32, src / F32 + OUT * IN);
    },
    linear(out, x, w, bias, T, IN, OUT) {
      const h = view();
      const o = out / F32, xi = x / F32, wi = w / F32, bi = bias / F32;
      for (let t = 0; t < T; t++) {
        for (let n = 0; n < OUT; n++) {
          let s = h[bi + n];
          for (let k = 0; k < IN; k++) s += h[xi + t * IN + k] * h[wi + n * IN + k];
          h[o + t * OUT + n] = s;
        }
      }
    },
    matmulNT(out, a, b, M, N, K, lda, ldb, ldc) {
      const h = view();
      const o = out / F32, ai = a / F32, bi = b / F32;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += h[ai + m * lda + k] * h[bi + n * ldb + k];
          h[o + m * ldc + n] = s;
        }
      }
    },
    matmulNN(out, a, b, M, N, K, lda, ldb, ldc) {
      const h = view();
      const o = out / F32, ai = a / F32, bi = b / F32;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += h[ai + m * lda + k] * h[bi + k * ldb + n];
          h[o + m * ldc + n] = s;
        }
      }
    },
    attentionScratchBytes: (NH, L) => NH * L * L * F32,
    attention(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries = L) {
      // The same three steps as the wasm kernel, each by the oracle's own loops.
      for (let hd = 0; hd < NH; hd++) {
        const col = hd * HS * F32;
        const s = scores + hd * L * L * F32;
        raw.matmulNT(s, q + col, k + col, queries, L, HS, ld, ld, L);
        raw.softmaxRows(s, 0, queries, L, scale);
        raw.matmulNN(ctx + col, s, v + col, queries, HS, L, L, ld, ld);
      }
    },
    softmaxRows(x, mask, rows, cols, scale) {
      const h = view();
      const xi = x / F32, mi = mask / F32;
      const v = new Float64Array(cols);
      for (let r = 0; r < rows; r++) {
        const row = xi + r * cols;
        let max = -Infinity;
        for (let c = 0; c < cols; c++) {
          v[c] = h[row + c] * scale + (mask === 0 ? 0 : h[mi + c]);
          max = Math.max(max, v[c]); // NaN propagates, as f32x4.max does
        }
        // A row with every column at -∞ has no distribution; it becomes all zeros (documented in
        // assembly/softmax.ts), rather than the NaN that -∞ - -∞ would give.
        if (max === -Infinity) {
          for (let c = 0; c < cols; c++) h[row + c] = 0;
          continue;
        }
        let sum = 0;
        for (let c = 0; c < cols; c++) {
          v[c] = Math.exp(v[c] - max);
          sum += v[c];
        }
        for (let c = 0; c < cols; c++) h[row + c] = v[c] / sum;
      }
    },
    layerNorm(out, x, gamma, beta, rows, C, eps) {
      const h = view();
      const o = out / F32, xi = x / F32, g = gamma / F32, bt = beta / F32;
      for (let r = 0; r < rows; r++) {
        let mean = 0;
        for (let c = 0; c < C; c++) mean += h[xi + r * C + c];
        mean /= C;
        let variance = 0;
        for (let c = 0; c < C; c++) variance += (h[xi + r * C + c] - mean) ** 2;
        variance /= C;
        const rstd = 1 / Math.sqrt(variance + eps);
        for (let c = 0; c < C; c++) h[o + r * C + c] = (h[xi + r * C + c] - mean) * rstd * h[g + c] + h[bt + c];
      }
    },
    addInPlace(out, x, n) {
      const h = view();
      const o = out / F32, xi = x / F32;
      for (let i = 0; i < n; i++) h[o + i] = h[o + i] + h[xi + i];
    },
    gelu(x, n) {
      const h = view();
      const xi = x / F32;
      for (let i = 0; i < n; i++) h[xi + i] = gelu64(h[xi + i]);
    },
    tanh(x, n) {
      const h = view();
      const xi = x / F32;
      for (let i = 0; i < n; i++) h[xi + i] = Math.tanh(h[xi + i]);
    },
    // The fused int8 kernels are layerNorm / gelu then quantizeRows: the f32 halves are these.
    ...referenceLowPrecisionKernels(memory, () => raw, options.int8Activations),
    ...referenceGraphKernels(memory),
    ...referenceSearchKernels(memory),
  };
  return guardBackend('reference', arena, raw);
}
