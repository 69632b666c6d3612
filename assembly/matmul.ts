// Owns: the matrix products — the packed Linear (x·Wᵀ + b, ~97 % of BERT's flops), its panel loop
// with strides (what attention runs Q·Kᵀ and probs·V on, after packing K_h and V_h), and two
// general strided products (matmulNT, matmulNN) kept for callers without packing scratch.
// Does not own: pointer/size validation (src/kernels/guard.ts checks every call before it gets here),
// memory (the caller passes every buffer; nothing here allocates or keeps state).
//
// Row ranges: every kernel takes a pointer to its first output row and a row count, so a caller
// (the thread pool: one worker per row range over shared memory) runs rows [r0, r1) by offsetting
// out and x.
//
// Accumulation order (the same for every tile shape, so a row's result never depends on which tile
// it fell in, i.e. on T or on its batch neighbours): linear, panelProduct and matmulNN start from the
// bias (or 0) and add x[k]·w[k] for k = 0, 1, … one f32 multiply and one f32 add at a time; matmulNT keeps 4
// lane partial sums (k ≡ 0..3 mod 4), adds them as (l0 + l2) + (l1 + l3), then the k tail in order.
// Every vector multiply-add is madd (madd.ts): a mul then an add in the baseline build, one
// relaxed_madd in the relaxed build — the same op at every tile shape in either build.

import { madd } from './madd';

/** Output columns per packed panel of W: two v128 registers. */
const PANEL: i32 = 8;
/** Rows of x per register tile: 4 rows × 2 v128 = 8 accumulators, + 2 for W + 1 for the splat of x
 *  keeps 11 of the 16 xmm registers V8 can use on x64, so nothing spills. */
const TILE_ROWS: i32 = 4;
/** Bytes per f32. */
const F32: usize = 4;
/** Bytes per v128. */
const V128: usize = 16;

/** Panel width, read by the TypeScript side so packedLinearBytes matches this file's layout. */
export function panelWidth(): i32 {
  return PANEL;
}

/**
 * Packed layout of W: ceil(OUT/PANEL) panels; panel p is [IN][PANEL], element (k, j) = W[p*PANEL + j, k],
 * zero past OUT. One k step of the inner loop then reads PANEL consecutive floats (two v128 loads).
 * dst: ceil(OUT/PANEL)*PANEL*IN floats; src: W as Hugging Face stores it, [OUT, IN] row-major.
 */
export function packLinear(dst: usize, src: usize, OUT: i32, IN: i32): void {
  packRows(dst, src, OUT, IN, IN);
}

/** packLinear of a W whose rows are `ld` floats apart (attention packs K_h, a column block of K). */
export function packRows(dst: usize, src: usize, OUT: i32, IN: i32, ld: i32): void {
  const panels = (OUT + PANEL - 1) / PANEL;
  const rowBytes = <usize>ld * F32;
  for (let p = 0; p < panels; p++) {
    for (let j = 0; j < PANEL; j++) {
      const n = p * PANEL + j;
      let d = dst + (<usize>p * <usize>IN * <usize>PANEL + <usize>j) * F32;
      if (n < OUT) {
        let s = src + <usize>n * rowBytes;
        for (let k = 0; k < IN; k++) {
          store<f32>(d, load<f32>(s));
          d += <usize>PANEL * F32;
          s += F32;
        }
      } else {
        for (let k = 0; k < IN; k++) {
          store<f32>(d, 0);
          d += <usize>PANEL * F32;
        }
      }
    }
  }
}

/**
 * The packed layout of B[K, N] (rows `ld` floats apart) as the Wᵀ of a Linear: panel p is [K][PANEL],
 * element (k, j) = B[k, p*PANEL + j], zero past N — so A · B runs on linear's panel loop. Attention
 * packs V_h with it: every k step then reads 32 contiguous bytes instead of a row C floats away.
 */
export function packColumns(dst: usize, src: usize, K: i32, N: i32, ld: i32): void {
  const panels = (N + PANEL - 1) / PANEL;
  const rowBytes = <usize>ld * F32;
  for (let p = 0; p < panels; p++) {
    const cols = min(PANEL, N - p * PANEL);
    let d = dst + <usize>p * <usize>K * <usize>PANEL * F32;
    let s = src + <usize>(p * PANEL) * F32;
    if (cols == PANEL) {
      for (let k = 0; k < K; k++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, V128), V128);
        d += <usize>PANEL * F32;
        s += rowBytes;
      }
    } else {
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < PANEL; j++) store<f32>(d + <usize>j * F32, j < cols ? load<f32>(s + <usize>j * F32) : 0);
        d += <usize>PANEL * F32;
        s += rowBytes;
      }
    }
  }
}

/**
 * 4 rows × 8 columns: o[i, 0..8] = init + Σ_k x[i, k] · w[k, 0..8] for i < 4.
 * x rows are xs bytes apart, o rows os bytes apart; w steps ws bytes per k (32 for a packed panel,
 * ldb*4 for matmulNN). K ≥ 0.
 * One pointer per row, every x load at offset 0 (see "Why the 4x8 tile exists three times").
 */
// @ts-ignore: decorator
@inline
function tile4x8(o: usize, x: usize, w: usize, init0: v128, init1: v128, K: i32, xs: usize, os: usize, ws: usize): void {
  let a00 = init0, a01 = init1, a10 = init0, a11 = init1;
  let a20 = init0, a21 = init1, a30 = init0, a31 = init1;
  let p0 = x, p1 = x + xs, p2 = x + xs * 2, p3 = x + xs * 3;
  const end = x + <usize>K * F32;
  let wp = w;
  while (p0 < end) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, V128);
    let v = v128.load32_splat(p0);
    a00 = madd(v, w0, a00);
    a01 = madd(v, w1, a01);
    v = v128.load32_splat(p1);
    a10 = madd(v, w0, a10);
    a11 = madd(v, w1, a11);
    v = v128.load32_splat(p2);
    a20 = madd(v, w0, a20);
    a21 = madd(v, w1, a21);
    v = v128.load32_splat(p3);
    a30 = madd(v, w0, a30);
    a31 = madd(v, w1, a31);
    p0 += F32;
    p1 += F32;
    p2 += F32;
    p3 += F32;
    wp += ws;
  }
  v128.store(o, a00);
  v128.store(o, a01, V128);
  v128.store(o + os, a10);
  v128.store(o + os, a11, V128);
  v128.store(o + os * 2, a20);
  v128.store(o + os * 2, a21, V128);
  v128.store(o + os * 3, a30);
  v128.store(o + os * 3, a31, V128);
}

/*
 * Why the 4x8 tile exists three times. The inner loop is front-end bound, not FP bound (16 mul/add
 * issue in 4 cycles), so every extra instruction per k step costs, and what costs differs by engine.
 * Measured on this machine (bench/kernels.ts, and the A/B of tile forms in the report of issue 12):
 * - k unrolled 2/4/8 with immediate offsets: V8's scheduler hoists every load of the unrolled body
 *   to the top, 20+ live v128 values spill to the stack: 2-3x slower. Rejected. So is a v128 load of
 *   4 k of a row with lane shuffles instead of splat loads: the shuffles take the FP ports.
 * - tile4x8 (one pointer per row, every load at offset 0): 4 pointer bumps per k step.
 * - row stride as a load immediate (tile4x8In768/In3072): V8 folds the offset into the address,
 *   the body is 6 loads + 16 FP + 2 pointer bumps + compare/branch. In Node 20 (V8 11.3) 0–7 %
 *   faster than tile4x8, in Node 24 the same. Where V8 bounds-checks every load explicitly (Deno:
 *   no trap handler) each offset costs one more lea: 3–9 % slower. JavaScriptCore (Bun) splits a
 *   load32_splat with an offset into a scalar load, a GPR→XMM move and a shuffle (its Air:
 *   Move32 3072(%r14,%rcx) / VectorSplatInt32): ~16 % slower than tile4x8 there.
 * - tile4x8 with k unrolled by 2: 6-10 % faster in Deno's baseline build, but V8 with a trap
 *   handler spills it (Node: 1.5x slower). Not kept: Deno runs the relaxed build by default.
 * Neither wins everywhere, so which one dense IN = 768/3072 runs is an instance setting
 * (setImmediateTiles, chosen at load by a timed probe in src/kernels/tile-probe.ts). Both forms
 * do the same madds in the same order: results are bitwise the same whichever runs.
 */

/** Whether dense IN = 768/3072 runs the load-immediate tiles (1, the default) or tile4x8 (0). */
let immediateTiles: bool = true;

/** Set by the loader after timing both forms on this engine (src/kernels/tile-probe.ts). */
export function setImmediateTiles(on: bool): void {
  immediateTiles = on;
}

export function getImmediateTiles(): bool {
  return immediateTiles;
}

/** tile4x8 on a packed panel (ws = 32) for IN = 768: rows 3072 bytes apart as load immediates. */
// @ts-ignore: decorator
@inline
function tile4x8In768(o: usize, x: usize, w: usize, init0: v128, init1: v128, os: usize): void {
  let a00 = init0, a01 = init1, a10 = init0, a11 = init1;
  let a20 = init0, a21 = init1, a30 = init0, a31 = init1;
  let x0 = x;
  let wp = w;
  const end = x + <usize>768 * F32;
  while (x0 < end) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, V128);
    let v = v128.load32_splat(x0);
    a00 = madd(v, w0, a00);
    a01 = madd(v, w1, a01);
    v = v128.load32_splat(x0, 3072);
    a10 = madd(v, w0, a10);
    a11 = madd(v, w1, a11);
    v = v128.load32_splat(x0, 6144);
    a20 = madd(v, w0, a20);
    a21 = madd(v, w1, a21);
    v = v128.load32_splat(x0, 9216);
    a30 = madd(v, w0, a30);
    a31 = madd(v, w1, a31);
    x0 += F32;
    wp += <usize>PANEL * F32;
  }
  v128.store(o, a00);
  v128.store(o, a01, V128);
  v128.store(o + os, a10);
  v128.store(o + os, a11, V128);
  v128.store(o + os * 2, a20);
  v128.store(o + os * 2, a21, V128);
  v128.store(o + os * 3, a30);
  v128.store(o + os * 3, a31, V128);
}

/** tile4x8 on a packed panel (ws = 32) for IN = 3072: rows 12288 bytes apart as load immediates. */
// @ts-ignore: decorator
@inline
function tile4x8In3072(o: usize, x: usize, w: usize, init0: v128, init1: v128, os: usize): void {
  let a00 = init0, a01 = init1, a10 = init0, a11 = init1;
  let a20 = init0, a21 = init1, a30 = init0, a31 = init1;
  let x0 = x;
  let wp = w;
  const end = x + <usize>3072 * F32;
  while (x0 < end) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, V128);
    let v = v128.load32_splat(x0);
    a00 = madd(v, w0, a00);
    a01 = madd(v, w1, a01);
    v = v128.load32_splat(x0, 12288);
    a10 = madd(v, w0, a10);
    a11 = madd(v, w1, a11);
    v = v128.load32_splat(x0, 24576);
    a20 = madd(v, w0, a20);
    a21 = madd(v, w1, a21);
    v = v128.load32_splat(x0, 36864);
    a30 = madd(v, w0, a30);
    a31 = madd(v, w1, a31);
    x0 += F32;
    wp += <usize>PANEL * F32;
  }
  v128.store(o, a00);
  v128.store(o, a01, V128);
  v128.store(o + os, a10);
  v128.store(o + os, a11, V128);
  v128.store(o + os * 2, a20);
  v128.store(o + os * 2, a21, V128);
  v128.store(o + os * 3, a30);
  v128.store(o + os * 3, a31, V128);
}

/** 1 row × 8 columns, same contract and accumulation order as tile4x8; stores `cols` ≤ 8 columns. */
function tile1x8(o: usize, x: usize, w: usize, init0: v128, init1: v128, K: i32, ws: usize, cols: i32): void {
  let a0 = init0, a1 = init1;
  let xp = x;
  const end = x + <usize>K * F32;
  let wp = w;
  while (xp < end) {
    const v = v128.load32_splat(xp);
    a0 = madd(v, v128.load(wp), a0);
    a1 = madd(v, v128.load(wp, V128), a1);
    xp += F32;
    wp += ws;
  }
  if (cols == PANEL) {
    v128.store(o, a0);
    v128.store(o, a1, V128);
    return;
  }
  // Partial panel (OUT % PANEL columns): lane by lane, never writing past the row.
  for (let j = 0; j < cols; j++) {
    const a = j < 4 ? a0 : a1;
    const l = j & 3;
    const value = l == 0 ? f32x4.extract_lane(a, 0) : l == 1 ? f32x4.extract_lane(a, 1) : l == 2 ? f32x4.extract_lane(a, 2) : f32x4.extract_lane(a, 3);
    store<f32>(o + <usize>j * F32, value);
  }
}

/** 8 floats from p, or fewer (zero-filled) so a partial bias never reads past its end. */
function loadPartial(p: usize, cols: i32, half: i32): v128 {
  let v = f32x4.splat(0);
  const j0 = half * 4;
  if (j0 + 0 < cols) v = f32x4.replace_lane(v, 0, load<f32>(p + <usize>(j0 + 0) * F32));
  if (j0 + 1 < cols) v = f32x4.replace_lane(v, 1, load<f32>(p + <usize>(j0 + 1) * F32));
  if (j0 + 2 < cols) v = f32x4.replace_lane(v, 2, load<f32>(p + <usize>(j0 + 2) * F32));
  if (j0 + 3 < cols) v = f32x4.replace_lane(v, 3, load<f32>(p + <usize>(j0 + 3) * F32));
  return v;
}

/**
 * out[T, OUT] = x[T, IN] · Wᵀ + bias[OUT].
 * w: packed by packLinear (ceil(OUT/8)*8*IN floats); out must not overlap x, w or bias.
 * Loop order: panel outer, 4-row tiles inner — one panel of W (IN*32 bytes: 24 KiB at IN = 768)
 * is fetched from L3 once by the first tile and then read from L1/L2 by the others, while the rows
 * of x stream past it. Tried and measured worse: row blocks of x sized for L2 (384 KiB) around the
 * panel loop, so that x beyond L2 (T = 128 at IN = 3072, T = 512) is not re-read from L3 once per
 * panel: the hardware prefetcher streams x well, whereas every extra pass over W pays the first
 * tile's L3 latency again (T=128, 3072→768: 42.3 → 37.2 GFLOP/s in one process, A/B).
 * The same effect is why small T is slower: at T = 16 a quarter of all tiles are first tiles.
 */
export function linear(out: usize, x: usize, w: usize, bias: usize, T: i32, IN: i32, OUT: i32): void {
  panelProduct(out, x, w, bias, true, T, IN, OUT, <usize>IN * F32, <usize>OUT * F32);
}

/**
 * linear's loop with explicit row strides (bytes) and an optional bias (without: zeros) — also the
 * Q·Kᵀ and probs·V of attention, on K_h and V_h packed by packRows / packColumns. The arithmetic of
 * an output is the same whatever the strides: init, then + x[k]·w[k] for k = 0, 1, ….
 */
export function panelProduct(out: usize, x: usize, w: usize, bias: usize, hasBias: bool, T: i32, IN: i32, OUT: i32, xs: usize, os: usize): void {
  const panelBytes = <usize>IN * <usize>PANEL * F32;
  const panels = (OUT + PANEL - 1) / PANEL;
  // The immediate-offset tiles assume x rows IN floats apart, and run where the probe chose them.
  const dense = immediateTiles && xs == <usize>IN * F32;
  for (let p = 0; p < panels; p++) {
    const cols = min(PANEL, OUT - p * PANEL);
    const wp = w + <usize>p * panelBytes;
    const bp = bias + <usize>(p * PANEL) * F32;
    const op = out + <usize>(p * PANEL) * F32;
    let b0 = f32x4.splat(0), b1 = b0;
    if (hasBias) {
      b0 = cols == PANEL ? v128.load(bp) : loadPartial(bp, cols, 0);
      b1 = cols == PANEL ? v128.load(bp, V128) : loadPartial(bp, cols, 1);
    }
    let t = 0;
    if (cols == PANEL) {
      for (; t + TILE_ROWS <= T; t += TILE_ROWS) {
        const ot = op + <usize>t * os;
        const xt = x + <usize>t * xs;
        if (dense && IN == 768) tile4x8In768(ot, xt, wp, b0, b1, os);
        else if (dense && IN == 3072) tile4x8In3072(ot, xt, wp, b0, b1, os);
        else tile4x8(ot, xt, wp, b0, b1, IN, xs, os, <usize>PANEL * F32);
      }
    }
    for (; t < T; t++) {
      tile1x8(op + <usize>t * os, x + <usize>t * xs, wp, b0, b1, IN, <usize>PANEL * F32, cols);
    }
  }
}

/**
 * out[m*ldc + n] = Σ_k a[m*lda + k] · b[k*ldb + n]   (A · B; strides in floats).
 * Shapes: a [M, K] (row stride lda), b [K, N] (row stride ldb), out [M, N] (row stride ldc).
 * Attention's context = probs · V: M = L queries, K = L keys, N = HS, lda = L, ldb = ldc = C.
 * The rows of b play the role of a packed panel (8 consecutive columns, ldb floats apart).
 */
export function matmulNN(out: usize, a: usize, b: usize, M: i32, N: i32, K: i32, lda: i32, ldb: i32, ldc: i32): void {
  const as = <usize>lda * F32;
  const bs = <usize>ldb * F32;
  const cs = <usize>ldc * F32;
  const zero = f32x4.splat(0);
  for (let n = 0; n < N; n += PANEL) {
    const cols = min(PANEL, N - n);
    const op = out + <usize>n * F32;
    const bp = b + <usize>n * F32;
    let m = 0;
    if (cols == PANEL) {
      for (; m + TILE_ROWS <= M; m += TILE_ROWS) {
        tile4x8(op + <usize>m * cs, a + <usize>m * as, bp, zero, zero, K, as, cs, bs);
      }
      for (; m < M; m++) tile1x8(op + <usize>m * cs, a + <usize>m * as, bp, zero, zero, K, bs, PANEL);
    } else {
      // Column tail (N % 8): b's row has fewer than 8 floats left, so no v128 load; scalar, same order.
      for (; m < M; m++) {
        for (let j = 0; j < cols; j++) {
          let s: f32 = 0;
          let ap = a + <usize>m * as;
          let bq = bp + <usize>j * F32;
          for (let k = 0; k < K; k++) {
            s += load<f32>(ap) * load<f32>(bq);
            ap += F32;
            bq += bs;
          }
          store<f32>(op + <usize>m * cs + <usize>j * F32, s);
        }
      }
    }
  }
}

/** Σ of the 4 lanes as (l0 + l2) + (l1 + l3), the order every matmulNT output uses. */
// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  const s = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** [hsum(c0), hsum(c1), hsum(c2), hsum(c3)] with the same pairing as hsum, in 4 shuffles + 3 adds. */
// @ts-ignore: decorator
@inline
function hsum4(c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  // (l0 + l2), (l1 + l3) of c0 and c1, then of c2 and c3.
  const s01 = f32x4.add(f32x4.shuffle(c0, c1, 0, 1, 4, 5), f32x4.shuffle(c0, c1, 2, 3, 6, 7));
  const s23 = f32x4.add(f32x4.shuffle(c2, c3, 0, 1, 4, 5), f32x4.shuffle(c2, c3, 2, 3, 6, 7));
  return f32x4.add(f32x4.shuffle(s01, s23, 0, 2, 4, 6), f32x4.shuffle(s01, s23, 1, 3, 5, 7));
}

/** Dot of K floats at p and q: 4-lane partial sums, hsum, then the K % 4 tail in order. */
function dotK(p: usize, q: usize, K: i32): f32 {
  let acc = f32x4.splat(0);
  const k4 = K & ~3;
  for (let k = 0; k < k4; k += 4) {
    acc = madd(v128.load(p + <usize>k * F32), v128.load(q + <usize>k * F32), acc);
  }
  let s = hsum(acc);
  for (let k = k4; k < K; k++) s += load<f32>(p + <usize>k * F32) * load<f32>(q + <usize>k * F32);
  return s;
}

/** Columns of out per matmulNT tile (rows of b). */
const NT_COLS: i32 = 4;
/** Rows of out per matmulNT tile (rows of a): 2 × 4 = 8 accumulators. */
const NT_ROWS: i32 = 2;

/**
 * out[m*ldc + n] = Σ_k a[m*lda + k] · b[n*ldb + k]   (A · Bᵀ; strides in floats).
 * Shapes: a [M, K], b [N, K], out [M, N]. Attention's scores = Q·Kᵀ: M = N = L, K = HS, lda = ldb = C.
 * Both operands run along k, so the tile keeps one v128 accumulator per output (k in steps of 4) and
 * reduces at the end; 2 rows × 4 columns reuse each loaded v128 of a 4 times and of b twice.
 */
export function matmulNT(out: usize, a: usize, b: usize, M: i32, N: i32, K: i32, lda: i32, ldb: i32, ldc: i32): void {
  const as = <usize>lda * F32;
  const bs = <usize>ldb * F32;
  const cs = <usize>ldc * F32;
  const k4 = K & ~3;
  let m = 0;
  for (; m + NT_ROWS <= M; m += NT_ROWS) {
    const a0 = a + <usize>m * as;
    const a1 = a0 + as;
    const o0 = out + <usize>m * cs;
    const o1 = o0 + cs;
    let n = 0;
    for (; n + NT_COLS <= N; n += NT_COLS) {
      const b0 = b + <usize>n * bs;
      const b1 = b0 + bs, b2 = b0 + bs * 2, b3 = b0 + bs * 3;
      let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
      let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
      for (let k: usize = 0; k < <usize>k4 * F32; k += V128) {
        const x0 = v128.load(a0 + k);
        const x1 = v128.load(a1 + k);
        let y = v128.load(b0 + k);
        c00 = madd(x0, y, c00);
        c10 = madd(x1, y, c10);
        y = v128.load(b1 + k);
        c01 = madd(x0, y, c01);
        c11 = madd(x1, y, c11);
        y = v128.load(b2 + k);
        c02 = madd(x0, y, c02);
        c12 = madd(x1, y, c12);
        y = v128.load(b3 + k);
        c03 = madd(x0, y, c03);
        c13 = madd(x1, y, c13);
      }
      let r0 = hsum4(c00, c01, c02, c03);
      let r1 = hsum4(c10, c11, c12, c13);
      if (k4 == K) {
        v128.store(o0 + <usize>n * F32, r0);
        v128.store(o1 + <usize>n * F32, r1);
      } else {
        // k tail, in order, after the lane sums (as dotK does).
        for (let j = 0; j < NT_COLS; j++) {
          const bj = b0 + <usize>j * bs;
          let s0 = f32x4.extract_lane(r0, 0), s1 = f32x4.extract_lane(r1, 0);
          if (j == 1) { s0 = f32x4.extract_lane(r0, 1); s1 = f32x4.extract_lane(r1, 1); }
          if (j == 2) { s0 = f32x4.extract_lane(r0, 2); s1 = f32x4.extract_lane(r1, 2); }
          if (j == 3) { s0 = f32x4.extract_lane(r0, 3); s1 = f32x4.extract_lane(r1, 3); }
          for (let k = k4; k < K; k++) {
            const y = load<f32>(bj + <usize>k * F32);
            s0 += load<f32>(a0 + <usize>k * F32) * y;
            s1 += load<f32>(a1 + <usize>k * F32) * y;
          }
          store<f32>(o0 + <usize>(n + j) * F32, s0);
          store<f32>(o1 + <usize>(n + j) * F32, s1);
        }
      }
    }
    for (; n < N; n++) {
      const bn = b + <usize>n * bs;
      store<f32>(o0 + <usize>n * F32, dotK(a0, bn, K));
      store<f32>(o1 + <usize>n * F32, dotK(a1, bn, K));
    }
  }
  for (; m < M; m++) {
    const am = a + <usize>m * as;
    const om = out + <usize>m * cs;
    for (let n = 0; n < N; n++) store<f32>(om + <usize>n * F32, dotK(am, b + <usize>n * bs, K));
  }
}
