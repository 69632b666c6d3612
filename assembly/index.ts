// The WebAssembly ABI of kmed-dpr: the export list of every kernel, names `op_dtype`. Kernels live
// one family per file; this file only re-exports them. Arguments: outputs, inputs, weights, sizes;
// pointers are byte offsets into the imported memory; nothing here allocates.
import { packLinear, linear, matmulNT, matmulNN, panelWidth, setImmediateTiles, getImmediateTiles } from './matmul';
import { softmaxRows } from './softmax';
import { layerNorm } from './layernorm';
import { add } from './elementwise';
import { gelu, tanh } from './activations';
import { dotRows, dotRowsMany, dotRowsF16, dotRowsI8, dotRowsManyI8, sumRows } from './dot';
import { hashBlocks } from './checksum';
import { LEVEL_CAP } from './hnsw';
import { attention, attentionHeadScratchBytes } from './attention';
import { relaxedBuild } from './madd';
import { peakDotI16, peakDotI16OpsPerIteration, peakDotI8, peakDotI8OpsPerIteration, peakFma, peakFmaFlopsPerIteration } from './peak';

/** First byte the JavaScript arena may use (everything below belongs to AssemblyScript's static data). */
export function heap_base(): usize {
  return __heap_base;
}

/** 1 in the relaxed-SIMD build (kernels-relaxed*.wasm), 0 in the baseline one. */
export function simd_relaxed(): i32 {
  return relaxedBuild();
}

/** Which 4x8 tile form the dense Linear runs (1: load immediates, 0: one pointer per row; see
 *  matmul.ts). Set once per instance by the loader's timed probe; results are the same either way. */
export function set_immediate_tiles(on: i32): void {
  setImmediateTiles(on != 0);
}
export function immediate_tiles(): i32 {
  return getImmediateTiles() ? 1 : 0;
}

export function linear_panel_f32(): i32 {
  return panelWidth();
}
export function pack_linear_f32(dst: usize, src: usize, OUT: i32, IN: i32): void {
  packLinear(dst, src, OUT, IN);
}
export function linear_f32(out: usize, x: usize, w: usize, bias: usize, T: i32, IN: i32, OUT: i32): void {
  linear(out, x, w, bias, T, IN, OUT);
}
export function matmul_nt_f32(out: usize, a: usize, b: usize, M: i32, N: i32, K: i32, lda: i32, ldb: i32, ldc: i32): void {
  matmulNT(out, a, b, M, N, K, lda, ldb, ldc);
}
export function matmul_nn_f32(out: usize, a: usize, b: usize, M: i32, N: i32, K: i32, lda: i32, ldb: i32, ldc: i32): void {
  matmulNN(out, a, b, M, N, K, lda, ldb, ldc);
}
export function softmax_rows_f32(x: usize, mask: usize, rows: i32, cols: i32, scale: f32): void {
  softmaxRows(x, mask, rows, cols, scale);
}
export function layernorm_f32(out: usize, x: usize, gamma: usize, beta: usize, rows: i32, C: i32, eps: f32): void {
  layerNorm(out, x, gamma, beta, rows, C, eps);
}
export function add_f32(out: usize, x: usize, n: i32): void {
  add(out, x, n);
}
export function gelu_f32(x: usize, n: i32): void {
  gelu(x, n);
}
export function tanh_f32(x: usize, n: i32): void {
  tanh(x, n);
}
export function dot_rows_f32(out: usize, matrix: usize, vec: usize, rows: i32, dim: i32): void {
  dotRows(out, matrix, vec, rows, dim);
}

/** Many queries per pass over the rows: out[q*ldo + r] (see dot.ts). */
export function dot_rows_many_f32(out: usize, matrix: usize, queries: usize, rows: i32, nq: i32, dim: i32, ldo: i32): void {
  dotRowsMany(out, matrix, queries, rows, nq, dim, ldo);
}
/** Rows stored as f16 against an f32 query. */
export function dot_rows_f16(out: usize, rows16: usize, vec: usize, rows: i32, dim: i32): void {
  dotRowsF16(out, rows16, vec, rows, dim);
}
/** int8 rows with per-row scales against an int16-quantized query. */
export function dot_rows_i8(out: usize, rows8: usize, scales: usize, q16: usize, rows: i32, dim: i32, qScale: f32): void {
  dotRowsI8(out, rows8, scales, q16, rows, dim, qScale);
}
/** Many int16-quantized queries per pass over int8 rows: out[q*ldo + r] (see dot.ts). */
export function dot_rows_many_i8(out: usize, rows8: usize, scales: usize, q16s: usize, qScales: usize, rows: i32, nq: i32, dim: i32, ldo: i32): void {
  dotRowsManyI8(out, rows8, scales, q16s, qScales, rows, nq, dim, ldo);
}
/** Bench only: every float of the rows loaded and summed (the bandwidth floor of a scan). */
export function sum_rows_f32(out: usize, matrix: usize, rows: i32, dim: i32): void {
  sumRows(out, matrix, rows, dim);
}
/** xxHash32 and finiteness of consecutive blocks (index files, checksum.ts). */
export function hash_blocks_xxh32(out: usize, data: usize, blocks: i32, blockSize: i32, kind: i32): void {
  hashBlocks(out, data, blocks, blockSize, kind);
}

export function attention_f32(ctx: usize, q: usize, k: usize, v: usize, scratch: usize, NH: i32, L: i32, HS: i32, ld: i32, scale: f32, M: i32): void {
  attention(ctx, q, k, v, scratch, NH, L, HS, ld, scale, M);
}
export function attention_head_scratch_bytes(L: i32, HS: i32): i32 {
  return attentionHeadScratchBytes(L, HS);
}

/** Bench only: register-resident f32x4 mul+add loop (see peak.ts). */
export function peak_fma_f32(iterations: i32, m: f32, a: f32): f32 {
  return peakFma(iterations, m, a);
}
export function peak_fma_flops_per_iteration(): i32 {
  return peakFmaFlopsPerIteration();
}
/** Bench only: register-resident i32x4.dot_i16x8_s + add loop (see peak.ts). */
export function peak_dot_i16(iterations: i32, m: i32, a: i32): i32 {
  return peakDotI16(iterations, m, a);
}
export function peak_dot_i16_ops_per_iteration(): i32 {
  return peakDotI16OpsPerIteration();
}
/** Bench only: register-resident relaxed i8·i7 dot loop (relaxed build; 0 ops in the baseline one). */
export function peak_dot_i8(iterations: i32, m: i32, a: i32): i32 {
  return peakDotI8(iterations, m, a);
}
export function peak_dot_i8_ops_per_iteration(): i32 {
  return peakDotI8OpsPerIteration();
}

// int8 (quant.ts): per-output-channel weight packing, per-row activation quantization, int8 Linear.
// f16 (half.ts): storage conversions. Row-range kernels: (first row pointers, row count, sizes).
export { qRowBytes as q_row_bytes_i8, xLevels as x_levels_i8, packedTailBytesPerRow as packed_i8_tail_bytes } from './quant';
export { quantizeRows as quantize_rows_i8, packLinearI8 as pack_linear_i8, linearQ8 as linear_q8 } from './quant';
// Fused around the int8 Linear (bit for bit the unfused sequence): residual in the epilogue,
// LayerNorm → quantize, GELU → quantize.
export { linearQ8Add as linear_q8_add, layerNormQuantizeRows as layernorm_quantize_i8, geluQuantizeRows as gelu_quantize_i8 } from './quant';
export { f32ToF16 as f32_to_f16, f16ToF32 as f16_to_f32 } from './half';

// Graph index (hnsw.ts): a batched, deterministic HNSW build in four steps, and its query search.
// The split ones (insert, link, search) take a share of slots or groups, as the thread pool cuts them.
export {
  hnswInsert as hnsw_insert_f32, hnswCommit as hnsw_commit_f32, hnswCollect as hnsw_collect_f32,
  hnswLink as hnsw_link_f32, hnswSearch as hnsw_search_f32,
} from './hnsw';
export function hnsw_level_cap(): i32 {
  return LEVEL_CAP;
}
