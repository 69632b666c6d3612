// The one seam between the model (bert.ts, weights.ts, search) and compute.
//
// Owns: the KernelBackend contract. Every tensor lives in one WebAssembly.Memory
// (the "heap") and is addressed by a byte offset into it ("ptr"); kernels take
// pointers and sizes, never arrays, so the same model code drives the scalar
// TypeScript reference (the test oracle) and the AssemblyScript SIMD kernels.
// Does not own: what a tensor means (bert.ts) or how weights get here (weights.ts).
//
// Conventions for every kernel (llm.c order: outputs, inputs, weights, sizes):
// - f32 unless the method says otherwise, row-major; pointers are byte offsets aligned to 4 bytes
//   (the arena hands out 16-byte-aligned blocks, but attention score rows have a stride of L floats);
// - kernels.guard checks every pointer, size and overlap before any wasm call (KernelError, never a trap);
// - dimension letters: T rows (tokens), C hidden, NH heads, HS head size, I intermediate;
// - a kernel never allocates; scratch comes from the caller via the arena.

/** Byte offset into the backend's heap. */
export type Ptr = number;

export interface KernelBackend {
  /** 'reference' (scalar TypeScript) or 'wasm-simd'. */
  readonly name: string;
  /** Threads its kernels run on (the calling thread included); 1 unless built with a thread pool. */
  readonly threads: number;
  /** The heap. Views over it must be re-created after it grows (see `f32`). */
  readonly memory: WebAssembly.Memory;

  /** Reserve `bytes` (rounded up to 16) and return its offset; grows the heap when needed. */
  alloc(bytes: number): Ptr;
  /** Current arena top, to give scratch back in LIFO order with `release`. */
  mark(): Ptr;
  release(mark: Ptr): void;
  /** A fresh Float32Array view of `length` floats at `ptr` (valid until the heap grows). */
  f32(ptr: Ptr, length: number): Float32Array;

  /** Bytes `packLinear` needs for a [OUT, IN] weight. */
  packedLinearBytes(OUT: number, IN: number): number;
  /** Rearrange a Linear weight stored as Hugging Face does ([OUT, IN], row-major) into the
   *  layout `linear` reads. `dst` and `src` must not overlap. */
  packLinear(dst: Ptr, src: Ptr, OUT: number, IN: number): void;
  /** out[T, OUT] = x[T, IN] · Wᵀ + bias[OUT]; `w` as produced by packLinear. */
  linear(out: Ptr, x: Ptr, w: Ptr, bias: Ptr, T: number, IN: number, OUT: number): void;

  /** out[m*ldc + n] = Σ_k a[m*lda + k] · b[n*ldb + k]   (A · Bᵀ, strides in floats). */
  matmulNT(out: Ptr, a: Ptr, b: Ptr, M: number, N: number, K: number, lda: number, ldb: number, ldc: number): void;
  /** out[m*ldc + n] = Σ_k a[m*lda + k] · b[k*ldb + n]   (A · B, strides in floats). */
  matmulNN(out: Ptr, a: Ptr, b: Ptr, M: number, N: number, K: number, lda: number, ldb: number, ldc: number): void;

  /** Bytes of the scratch `attention` needs for NH heads of L tokens and head size HS. */
  attentionScratchBytes(NH: number, L: number, HS: number): number;
  /** Attention of one sequence of L tokens, all NH heads: head h is the column block [h*HS, (h+1)*HS)
   *  of q, k, v and ctx (row stride `ld` floats); per head, scores_h[L, L] = softmax(Q_h·K_hᵀ · scale)
   *  and ctx_h = scores_h · V_h, each product summed in k order from 0 (as linear does; matmulNT's
   *  lane-wise order may differ in the last bits); probabilities below e^-64 of the row's largest are
   *  flushed to exactly 0 (they would make subnormal products, a slow path, and are < 2e-28 anyway).
   *  `scratch` holds attentionScratchBytes(NH, L, HS) bytes, one equal share per head, in the
   *  backend's own layout. ctx may be q itself (each head reads only its own Q block).
   *  `queries` (default L, at most L): only the first `queries` rows of q are read and of ctx
   *  written, against all L keys and values — each of them bitwise as with queries = L (a pooling
   *  that reads only the [CLS] row needs only that row of the last layer's attention). */
  attention(ctx: Ptr, q: Ptr, k: Ptr, v: Ptr, scratch: Ptr, NH: number, L: number, HS: number, ld: number, scale: number, queries?: number): void;
  /** In place, each of `rows` rows of `cols`: softmax(x * scale + mask), mask[cols] additive; a mask
   *  pointer of 0 means no mask; a row whose every entry is -∞ becomes all zeros. */
  softmaxRows(x: Ptr, mask: Ptr, rows: number, cols: number, scale: number): void;
  /** out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta, biased variance, for each row of C
   *  (out may be x: in place is allowed). */
  layerNorm(out: Ptr, x: Ptr, gamma: Ptr, beta: Ptr, rows: number, C: number, eps: number): void;
  /** out[i] += x[i]. */
  addInPlace(out: Ptr, x: Ptr, n: number): void;
  /** In place x = x/2 · (1 + erf(x/√2))  (exact GELU, as Hugging Face "gelu"). */
  gelu(x: Ptr, n: number): void;
  /** In place x = tanh(x). */
  tanh(x: Ptr, n: number): void;

  // Search (numerics in assembly/dot.ts and assembly/checksum.ts; reference-search.ts is the oracle).
  /** out[r] = Σ_d matrix[r*dim + d] · vec[d], for r < rows (exact search). */
  dotRows(out: Ptr, matrix: Ptr, vec: Ptr, rows: number, dim: number): void;
  /** out[q*ldo + r] = Σ_d matrix[r*dim + d] · queries[q*dim + d] for r < rows, q < nq (many queries per
   *  pass over the rows; ldo ≥ rows when nq > 1). Each score bit for bit what dotRows gives. */
  dotRowsMany(out: Ptr, matrix: Ptr, queries: Ptr, rows: number, nq: number, dim: number, ldo: number): void;
  /** out[r] = Σ_d f16(rows16[r*dim + d]) · vec[d]: rows of IEEE binary16 patterns (finite ones). */
  dotRowsF16(out: Ptr, rows16: Ptr, vec: Ptr, rows: number, dim: number): void;
  /** out[r] = f32(Σ_d rows8[r*dim + d] · q16[d]) · (scales[r] · qScale): int8 rows with per-row f32
   *  scales against an int16-quantized query; the integer sum is exact while 127 · max|q16| · dim < 2^31. */
  dotRowsI8(out: Ptr, rows8: Ptr, scales: Ptr, q16: Ptr, rows: number, dim: number, qScale: number): void;
  /** out[q*ldo + r] = f32(Σ_d rows8[r*dim + d] · q16s[q*dim + d]) · (scales[r] · qScales[q]) for
   *  r < rows, q < nq (ldo ≥ rows when nq > 1): dotRowsI8 for many queries per pass over the rows,
   *  each score bit for bit dotRowsI8's (the sums are exact integers). */
  dotRowsManyI8(out: Ptr, rows8: Ptr, scales: Ptr, q16s: Ptr, qScales: Ptr, rows: number, nq: number, dim: number, ldo: number): void;
  /** out[r] = Σ_d matrix[r*dim + d]: every float loaded once (the bandwidth floor of a scan; benches). */
  sumRows(out: Ptr, matrix: Ptr, rows: number, dim: number): void;
  /** For each of `blocks` blocks of `blockSize` bytes at `data`: out[2b] (u32) = xxHash32 (seed 0) of
   *  block b, out[2b + 1] = 1 when it holds a value of `kind` (0 bytes: none; 1 f32; 2 f16) that is
   *  ±∞ or NaN, else 0 — one pass over the bytes (index verification). */
  hashBlocks(out: Ptr, data: Ptr, blocks: number, blockSize: number, kind: number): void;

  // Lower precision (numerics in assembly/quant.ts and assembly/half.ts; layouts are the backend's
  // own, sized by the *Bytes methods; the reference and wasm backends give bit-identical int8 results).
  /** Bytes `quantizeRows` writes for T rows of IN. */
  quantizedRowsBytes(T: number, IN: number): number;
  /** q ← x[T, IN] quantized per row: scale max|x|/2047, nearest (12-bit integers in int16 lanes, the
   *  width the int8 Linear multiplies at), in the layout linearInt8 reads. IN ≤ 65536. */
  quantizeRows(q: Ptr, x: Ptr, T: number, IN: number): void;
  /** Bytes `packLinearInt8` needs for a [OUT, IN] weight (int8 values and per-channel scales). */
  packedLinearInt8Bytes(OUT: number, IN: number): number;
  /** Quantize rows [r0, r0 + rows) of a Linear weight W[OUT, IN] (src: those rows, f32) to int8 per
   *  output channel (scale max|W[n]|/127) into their place in the packed weight at dst. */
  packLinearInt8(dst: Ptr, src: Ptr, OUT: number, IN: number, r0: number, rows: number): void;
  /** out[T, OUT] = (q · Wqᵀ) · scale_row · scale_channel + bias[OUT]; q from quantizeRows, w from packLinearInt8. */
  linearInt8(out: Ptr, q: Ptr, w: Ptr, bias: Ptr, T: number, IN: number, OUT: number): void;
  /** linearInt8 with a residual added last: out = (linearInt8's value) + residual[T, OUT] — bit for
   *  bit linearInt8 then addInPlace(out, residual), in one pass. residual may not overlap out. */
  linearInt8Add(out: Ptr, q: Ptr, w: Ptr, bias: Ptr, residual: Ptr, T: number, IN: number, OUT: number): void;
  /** out ← layerNorm(x) and q ← quantizeRows(out), row by row — bit for bit the two calls (out may be x). */
  layerNormQuantizeRows(out: Ptr, q: Ptr, x: Ptr, gamma: Ptr, beta: Ptr, T: number, C: number, eps: number): void;
  /** In place x ← GELU(x), then q ← its rows quantized, row by row: bit for bit gelu then quantizeRows
   *  in the baseline build; in the relaxed build 7-bit rows with a zero point, which linearInt8
   *  multiplies with the relaxed i8×i7 dot (assembly/quant.ts). */
  geluQuantizeRows(q: Ptr, x: Ptr, T: number, IN: number): void;
  /** dst[i] = f16 bit pattern of src[i] (u16, round to nearest even, overflow to ±∞), i < n. */
  f32ToF16(dst: Ptr, src: Ptr, n: number): void;
  /** dst[i] = f32 value of the f16 bit pattern src[i] (exact), i < n. */
  f16ToF32(dst: Ptr, src: Ptr, n: number): void;

  // Graph index (assembly/hnsw.ts; layout and buffer sizes in graph-layout.ts). `graph` points at a
  // descriptor (GRAPH_DESCRIPTOR_BYTES) naming the rows, the levels and the link lists. Results do
  // not depend on the thread count or on `slots`: every row and query is computed alone.
  /** Build step 1: for rows [b0, b1) with b0 = the graph's count, each row's links at each of its
   *  layers, chosen from the graph as it is and from rows [b0, row), into out (insertRowBytes(M) per
   *  row). `scratch`: `slots` × searchSlotBytes(capacity, ef_construction); the rows are cut into
   *  `slots` shares that may run on different threads. */
  graphInsert(graph: Ptr, b0: number, b1: number, out: Ptr, scratch: Ptr, slots: number): void;
  /** Build step 2: rows [b0, b1) get the links of `out`; the entry and top level follow; count = b1. */
  graphCommit(graph: Ptr, b0: number, b1: number, out: Ptr): void;
  /** Build step 3, for one layer: the reverse links of the rows' new links, grouped by receiving
   *  node into `records` (LINK_RECORD_BYTES each: target, start, end) over `reqs` (u32 sources);
   *  `mark`: capacity u32 zeros, left so. Returns the number of groups (≤ (b1 - b0) · M). */
  graphCollect(graph: Ptr, b0: number, b1: number, layer: number, out: Ptr, reqs: Ptr, records: Ptr, mark: Ptr): number;
  /** Build step 4, for one layer: add each group's reverse links, pruning full lists by the
   *  neighbour heuristic. `scratch`: `groups` × linkGroupBytes(M0). */
  graphLink(graph: Ptr, layer: number, reqs: Ptr, records: Ptr, groups: number, scratch: Ptr): void;
  /** The k best nodes for each of `nq` queries ([nq, D] f32) by a beam of max(ef, k): ids (u32, NONE
   *  past the nodes found) and scores (f32, -∞ there) [nq, k], best first. `scratch`: `slots` ×
   *  searchSlotBytes(capacity, max(ef, k)). */
  graphSearch(graph: Ptr, queries: Ptr, nq: number, k: number, ef: number, outIds: Ptr, outScores: Ptr, scratch: Ptr, slots: number): void;

  /** Stop the backend's worker threads, if any (idempotent). The heap stays readable; kernels
   *  called afterwards run on the calling thread alone. */
  dispose(): void;
}
