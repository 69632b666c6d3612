// Owns: attention_f32, BERT's scaled dot-product attention for every head of one sequence in one
// call: per head, scores = Q_h·K_hᵀ, softmax(scores·scale), context_h = probs·V_h — and the layout
// of the per-head scratch it needs (attentionHeadScratchBytes).
// Does not own: the arithmetic of each step (matmul.ts's panel loop, softmax.ts) or the projections.
//
// Why fused: the model used to make 3 kernel calls per (sequence, head), 36 per layer at NH = 12.
// With a thread pool each call pays a wake-up, so one call per sequence and layer, split by head
// (heads are independent; each head's output columns and scratch belong to it alone), is what scales.
//
// Why pack: Q_h, K_h and V_h are 64-column blocks of rows C floats apart. Both products used to run
// on them in place (Q·Kᵀ as dot products with horizontal sums, probs·V striding 3 KB per k step) at
// ~22 GFLOP/s, half the Linear's rate. Copying K_h (as Linear weight rows) and V_h (as columns) into
// the Linear's packed panel layout costs L·HS copies each against L·L·HS multiply-adds, and lets
// both products run on the Linear's register tiles (bench/kernels.ts, attention rows).
import { packColumns, packRows, panelProduct } from './matmul';
import { ATTENTION_FLUSH, softmaxRowsFlush } from './softmax';

const F32: usize = 4;
const PANEL: i32 = 8;

/** n rounded up to a multiple of m. */
// @ts-ignore: decorator
@inline
function roundUp(n: i32, m: i32): i32 {
  return (n + m - 1) / m * m;
}

/** Floats of head scratch before the packed K_h: the [L, L] scores, rounded to 16 bytes. */
// @ts-ignore: decorator
@inline
function scoresFloats(L: i32): i32 {
  return roundUp(L * L, 4);
}

/** Floats of packed K_h: ceil(L/8) panels of [HS][8]. */
// @ts-ignore: decorator
@inline
function keysFloats(L: i32, HS: i32): i32 {
  return roundUp(L, PANEL) * HS;
}

/** Bytes of scratch one head needs: scores [L, L], then K_h packed, then V_h packed (16-aligned). */
export function attentionHeadScratchBytes(L: i32, HS: i32): i32 {
  return (scoresFloats(L) + keysFloats(L, HS) + roundUp(HS, PANEL) * L) * <i32>F32;
}

/**
 * For heads h < NH of one sequence of L tokens (head h = columns [h*HS, (h+1)*HS) of q, k, v, ctx,
 * rows `ld` floats apart), with head h's scratch at scratch + h*attentionHeadScratchBytes(L, HS),
 * for the first M ≤ L query rows (M = L: every token; M = 1: what the last layer of a [CLS]
 * pooling needs):
 *   scores_h[M, L] = Q_h · K_hᵀ              (panelProduct on K_h packed by packRows)
 *   scores_h       = softmax(scores_h·scale)  (no mask: the caller passes real tokens only;
 *                    probabilities < e^-64 are exactly 0, see ATTENTION_FLUSH)
 *   ctx_h[M, HS]   = scores_h · V_h          (panelProduct on V_h packed by packColumns)
 * Query rows are independent (panelProduct keeps one accumulation order whatever the tile, softmax
 * is per row), so a row's output is bitwise the same for every M that includes it.
 * Each output is 0 + Σ_k a[k]·b[k] in k order, one f32 multiply and add at a time.
 * ctx may be q itself: head h's Q block is read only to form scores_h, complete before ctx_h is
 * written, and no other head reads it. Pointers at head 0, so a caller runs heads [h0, h1) by
 * offsetting q, k, v, ctx by h0*HS floats and scratch by h0 heads' bytes.
 */
export function attention(ctx: usize, q: usize, k: usize, v: usize, scratch: usize, NH: i32, L: i32, HS: i32, ld: i32, scale: f32, M: i32): void {
  const headBytes = <usize>HS * F32;
  const rowBytes = <usize>ld * F32;
  const scratchBytes = <usize>attentionHeadScratchBytes(L, HS);
  for (let h = 0; h < NH; h++) {
    const col = <usize>h * headBytes;
    const s = scratch + <usize>h * scratchBytes;
    const keys = s + <usize>scoresFloats(L) * F32;
    const values = keys + <usize>keysFloats(L, HS) * F32;
    packRows(keys, k + col, L, HS, ld);
    panelProduct(s, q + col, keys, 0, false, M, HS, L, rowBytes, <usize>L * F32);
    softmaxRowsFlush(s, 0, M, L, scale, ATTENTION_FLUSH);
    packColumns(values, v + col, L, HS, ld);
    panelProduct(ctx + col, s, values, 0, false, M, L, HS, <usize>L * F32, rowBytes);
  }
}
