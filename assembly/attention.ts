// Owns: attention_f32, BERT's scaled dot-product attention for every head of one sequence in one
// call: per head, scores = Q_h·K_hᵀ, softmax(scores·scale), context_h = probs·V_h.
// Does not own: the arithmetic of each step (matmul.ts, softmax.ts: this file only sequences them,
// so a head's result is bitwise what the three separate kernels give) or the projections (linear).
//
// Why fused: the model used to make 3 kernel calls per (sequence, head), 36 per layer at NH = 12.
// With a thread pool each call pays a wake-up, so one call per sequence and layer, split by head
// (heads are independent; each head's output columns belong to it alone), is what scales.
import { matmulNT, matmulNN } from './matmul';
import { softmaxRows } from './softmax';

const F32: usize = 4;

/**
 * For heads h < NH of one sequence of L tokens (head h = columns [h*HS, (h+1)*HS) of q, k, v, ctx,
 * rows `ld` floats apart):
 *   scores_h[L, L] = Q_h · K_hᵀ              at scores + h*L*L floats (scratch, NH*L*L floats)
 *   scores_h       = softmax(scores_h·scale)  (no mask: the caller passes real tokens only)
 *   ctx_h[L, HS]   = scores_h · V_h
 * ctx may be q itself: head h's Q block is read only to form scores_h, complete before ctx_h is
 * written, and no other head reads it. Pointers at head 0, so a caller runs heads [h0, h1) by
 * offsetting q, k, v, ctx by h0*HS floats and scores by h0*L*L floats.
 */
export function attention(ctx: usize, q: usize, k: usize, v: usize, scores: usize, NH: i32, L: i32, HS: i32, ld: i32, scale: f32): void {
  const headBytes = <usize>HS * F32;
  const scoreBytes = <usize>L * <usize>L * F32;
  for (let h = 0; h < NH; h++) {
    const col = <usize>h * headBytes;
    const s = scores + <usize>h * scoreBytes;
    matmulNT(s, q + col, k + col, L, L, HS, ld, ld, L);
    softmaxRows(s, 0, L, L, scale);
    matmulNN(ctx + col, s, v + col, L, HS, L, L, ld, ld);
  }
}
