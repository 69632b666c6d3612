// Owns: the kernels of exact (brute-force) search — scores of queries against many stored rows:
// dot_rows_f32 (one query), dot_rows_many_f32 (a tile of rows against a tile of queries: many
// queries per pass over the rows), dot_rows_f16 and dot_rows_i8 (rows stored small, for a first
// pass re-ranked in f32 by the caller), dot_rows_many_i8 (int8 rows against many queries per
// pass), and sum_rows_f32 (no arithmetic worth the name: the
// bandwidth floor a scan is measured against).
// Does not own: normalisation, top-k or re-ranking (src/search/ does those on the scores).
//
// Every kernel computes a score by the same code whatever rows or queries surround it, so a score
// never depends on the row count, its neighbours or the thread count. Each multiply-add is madd
// (mul then add, or one relaxed_madd in the relaxed build). dotRows and dotRowsMany sum in
// different orders (see each), so their scores of one pair may differ in the last bits.

import { madd } from './madd';

const LANES: i32 = 4;
const F32: usize = 4;
const F16: usize = 2;
const V128: usize = 16;
/** dotRows: 4 independent v128 chains per row, 16 floats per step. */
const STEP: i32 = 16;
/** Rows per register tile of dotRowsMany (4 rows × 2 queries = 8 accumulators + 4 rows + 1 query
 *  + a temp: within the 16 xmm registers V8 allocates on x64). The one-query scans (dotRows, f16,
 *  int8) go one row at a time instead: a single sequential stream, which measured 2–3× faster here
 *  than four rows side by side. */
const TILE_ROWS: i32 = 4;

// @ts-ignore: decorator
@inline
function hsum(a: v128): f32 {
  return (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 2)) + (f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 3));
}

/** Σ_d row[d]·q[d] over [d4, dim) in order, added to s. */
// @ts-ignore: decorator
@inline
function tail(s: f32, row: usize, q: usize, d4: i32, dim: i32): f32 {
  for (let d = d4; d < dim; d++) s += load<f32>(row + <usize>d * F32) * load<f32>(q + <usize>d * F32);
  return s;
}

/** One row against one query in dotRows' order. */
function dot1(row: usize, q: usize, dim: i32): f32 {
  const d16 = dim - dim % STEP;
  const d4 = dim & ~(LANES - 1);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let d = 0; d < d16; d += STEP) {
    const o = <usize>d * F32;
    a0 = madd(v128.load(row + o), v128.load(q + o), a0);
    a1 = madd(v128.load(row + o, V128), v128.load(q + o, V128), a1);
    a2 = madd(v128.load(row + o, 2 * V128), v128.load(q + o, 2 * V128), a2);
    a3 = madd(v128.load(row + o, 3 * V128), v128.load(q + o, 3 * V128), a3);
  }
  for (let d = d16; d < d4; d += LANES) {
    const o = <usize>d * F32;
    a0 = madd(v128.load(row + o), v128.load(q + o), a0);
  }
  return tail(hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))), row, q, d4, dim);
}

/**
 * out[r] = Σ_d matrix[r*dim + d] · vec[d] for r < rows (matrix row-major [rows, dim]): 4 v128
 * accumulators over 16-float steps, one more 4-float step into the first, tree reduction ((a0 + a1)
 * + (a2 + a3)), lanes as (l0 + l2) + (l1 + l3), then the d tail in order. One row at a time: a
 * single sequential stream, which the prefetchers follow best (measured: four rows side by side
 * scanned at half the speed).
 */
export function dotRows(out: usize, matrix: usize, vec: usize, rows: i32, dim: i32): void {
  const rowBytes = <usize>dim * F32;
  for (let r = 0; r < rows; r++) store<f32>(out + <usize>r * F32, dot1(matrix + <usize>r * rowBytes, vec, dim));
}

// dotRowsMany's order, the same for every (row, query) pair whatever tile it falls in (so a score
// never depends on the row count, the query count or the thread count): one v128 accumulator over
// 4-float steps, lanes (l0 + l2) + (l1 + l3), the d tail in order. It differs from dotRows' (four
// accumulators) in the last bits: one accumulator per pair is what lets a 4-row × 2-query tile keep
// its 8 chains in registers, and that tile runs ~1.7× the 1-row × 2-query tile dotRows' order would
// allow (each v128 of a row loaded once for two queries, each query's once for four rows).

/** One row against one query, one accumulator. */
function pair1(row: usize, q: usize, dim: i32): f32 {
  const d4 = dim & ~(LANES - 1);
  let a = f32x4.splat(0);
  for (let d = 0; d < d4; d += LANES) {
    const o = <usize>d * F32;
    a = madd(v128.load(row + o), v128.load(q + o), a);
  }
  return tail(hsum(a), row, q, d4, dim);
}

/** Four rows (`rowBytes` apart) against one query: their four scores at `out` (consecutive floats). */
function tile4x1(out: usize, row: usize, rowBytes: usize, q: usize, dim: i32): void {
  const d4 = dim & ~(LANES - 1);
  const r1 = row + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let d = 0; d < d4; d += LANES) {
    const o = <usize>d * F32;
    const qv = v128.load(q + o);
    a0 = madd(v128.load(row + o), qv, a0);
    a1 = madd(v128.load(r1 + o), qv, a1);
    a2 = madd(v128.load(r2 + o), qv, a2);
    a3 = madd(v128.load(r3 + o), qv, a3);
  }
  store<f32>(out, tail(hsum(a0), row, q, d4, dim));
  store<f32>(out, tail(hsum(a1), r1, q, d4, dim), 4);
  store<f32>(out, tail(hsum(a2), r2, q, d4, dim), 8);
  store<f32>(out, tail(hsum(a3), r3, q, d4, dim), 12);
}

/** Four rows against two queries (`qBytes` apart): four scores at out (query 0) and at out2. */
function tile4x2(out: usize, out2: usize, row: usize, rowBytes: usize, q: usize, qBytes: usize, dim: i32): void {
  const d4 = dim & ~(LANES - 1);
  const r1 = row + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
  const q1 = q + qBytes;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (let d = 0; d < d4; d += LANES) {
    const o = <usize>d * F32;
    const x0 = v128.load(row + o), x1 = v128.load(r1 + o), x2 = v128.load(r2 + o), x3 = v128.load(r3 + o);
    const qa = v128.load(q + o);
    a0 = madd(x0, qa, a0);
    a1 = madd(x1, qa, a1);
    a2 = madd(x2, qa, a2);
    a3 = madd(x3, qa, a3);
    const qb = v128.load(q1 + o);
    b0 = madd(x0, qb, b0);
    b1 = madd(x1, qb, b1);
    b2 = madd(x2, qb, b2);
    b3 = madd(x3, qb, b3);
  }
  store<f32>(out, tail(hsum(a0), row, q, d4, dim));
  store<f32>(out, tail(hsum(a1), r1, q, d4, dim), 4);
  store<f32>(out, tail(hsum(a2), r2, q, d4, dim), 8);
  store<f32>(out, tail(hsum(a3), r3, q, d4, dim), 12);
  store<f32>(out2, tail(hsum(b0), row, q1, d4, dim));
  store<f32>(out2, tail(hsum(b1), r1, q1, d4, dim), 4);
  store<f32>(out2, tail(hsum(b2), r2, q1, d4, dim), 8);
  store<f32>(out2, tail(hsum(b3), r3, q1, d4, dim), 12);
}

/**
 * out[q*ldo + r] = Σ_d matrix[r*dim + d] · queries[q*dim + d] for r < rows, q < nq: every query's
 * scores in a row of `ldo` floats (ldo ≥ rows), in the order above. A tile of TILE_ROWS rows meets
 * every query before the next tile, so each row is read from memory once per call, whatever nq.
 */
export function dotRowsMany(out: usize, matrix: usize, queries: usize, rows: i32, nq: i32, dim: i32, ldo: i32): void {
  const rowBytes = <usize>dim * F32;
  const outStride = <usize>ldo * F32;
  let r = 0;
  for (; r + TILE_ROWS <= rows; r += TILE_ROWS) {
    const row = matrix + <usize>r * rowBytes;
    const o = out + <usize>r * F32;
    let q = 0;
    for (; q + 2 <= nq; q += 2) {
      tile4x2(o + <usize>q * outStride, o + <usize>(q + 1) * outStride, row, rowBytes, queries + <usize>q * rowBytes, rowBytes, dim);
    }
    if (q < nq) tile4x1(o + <usize>q * outStride, row, rowBytes, queries + <usize>q * rowBytes, dim);
  }
  for (; r < rows; r++) {
    const row = matrix + <usize>r * rowBytes;
    for (let q = 0; q < nq; q++) {
      store<f32>(out + <usize>q * outStride + <usize>r * F32, pair1(row, queries + <usize>q * rowBytes, dim));
    }
  }
}

/**
 * out[r] = Σ_d matrix[r*dim + d] for r < rows: every byte of the rows loaded once and barely
 * used — the memory-bandwidth floor an exact scan of the same rows is compared with (benches).
 */
export function sumRows(out: usize, matrix: usize, rows: i32, dim: i32): void {
  const rowBytes = <usize>dim * F32;
  const d16 = dim & ~15;
  for (let r = 0; r < rows; r++) {
    const row = matrix + <usize>r * rowBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let d = 0; d < d16; d += 16) {
      const o = row + <usize>d * F32;
      a0 = f32x4.add(a0, v128.load(o));
      a1 = f32x4.add(a1, v128.load(o, V128));
      a2 = f32x4.add(a2, v128.load(o, 2 * V128));
      a3 = f32x4.add(a3, v128.load(o, 3 * V128));
    }
    let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
    for (let d = d16; d < dim; d++) s += load<f32>(row + <usize>d * F32);
    store<f32>(out + <usize>r * F32, s);
  }
}

/** 2^112: an f16 pattern moved into f32 position (exponent bias 15 vs 127) times this is its value. */
const REBIAS: f32 = reinterpret<f32>(0x77800000);

/** Four f16 patterns in the high halves of u32 lanes -> their f32 values. Finite values only (the
 *  rows were checked finite when their blocks were verified): (h << 16) >>s 3 moves exponent and
 *  mantissa into f32 position with the sign in place and three copies of it in bits 28..30, which
 *  the mask clears; one exact multiply rebiases normals and subnormals alike. */
// @ts-ignore: decorator
@inline
function widenHigh(u: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(u, 3), i32x4.splat(0x8fffffff)), f32x4.splat(REBIAS));
}

/** One f16 row (8 halves per step: two f32x4 madds into one accumulator) against an f32 query. */
// @ts-ignore: decorator
@inline
function stepF16(acc: v128, h: v128, q: usize): v128 {
  const zero = i32x4.splat(0);
  const lo = widenHigh(v128.shuffle<u8>(zero, h, 0, 1, 16, 17, 0, 1, 18, 19, 0, 1, 20, 21, 0, 1, 22, 23));
  const hi = widenHigh(v128.shuffle<u8>(zero, h, 0, 1, 24, 25, 0, 1, 26, 27, 0, 1, 28, 29, 0, 1, 30, 31));
  return madd(hi, v128.load(q, V128), madd(lo, v128.load(q), acc));
}

/** Σ_d f16(row[d])·q[d] over the d tail [d8, dim), in order. */
function tailF16(s: f32, row: usize, q: usize, d8: i32, dim: i32): f32 {
  for (let d = d8; d < dim; d++) {
    const h = <i32>load<u16>(row + <usize>d * F16);
    const v = f32x4.extract_lane(widenHigh(i32x4.splat(h << 16)), 0);
    s += v * load<f32>(q + <usize>d * F32);
  }
  return s;
}

/**
 * out[r] = Σ_d f16 rows[r*dim + d] · q[d] (f32 query) for r < rows: rows stored as IEEE binary16
 * (u16 patterns, finite), widened exactly in registers. Order per row: two accumulators over
 * 16-value steps (each 8 values: the low four then the high four), added, lanes (l0 + l2) + (l1 +
 * l3), an 8-value remainder into the first, the tail in order. One row at a time (as dotRows).
 */
export function dotRowsF16(out: usize, rows16: usize, q: usize, rows: i32, dim: i32): void {
  const rowBytes = <usize>dim * F16;
  const d16 = dim & ~15;
  const d8 = dim & ~7;
  for (let r = 0; r < rows; r++) {
    const row = rows16 + <usize>r * rowBytes;
    let a = f32x4.splat(0), b = a;
    for (let d = 0; d < d16; d += 16) {
      const o = row + <usize>d * F16;
      const qo = q + <usize>d * F32;
      a = stepF16(a, v128.load(o), qo);
      b = stepF16(b, v128.load(o, V128), qo + 8 * F32);
    }
    if (d16 < d8) a = stepF16(a, v128.load(row + <usize>d16 * F16), q + <usize>d16 * F32);
    store<f32>(out + <usize>r * F32, tailF16(hsum(f32x4.add(a, b)), row, q, d8, dim));
  }
}

/** Σ over 16 int8 values of a row times 16 int16 query values, added to the i32 lanes of acc. */
// @ts-ignore: decorator
@inline
function stepI8(acc: v128, x: v128, q: usize): v128 {
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), v128.load(q));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), v128.load(q, V128));
  return i32x4.add(acc, i32x4.add(lo, hi));
}

/** The exact integer Σ_d row[d]·q[d] of one int8 row from its vector lanes and the d tail. */
function finishI8(acc: v128, row: usize, q: usize, d16: i32, dim: i32): i32 {
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (let d = d16; d < dim; d++) s += <i32>load<i8>(row + <usize>d) * <i32>load<i16>(q + <usize>d * 2);
  return s;
}

/**
 * out[r] = f32(Σ_d rows8[r*dim + d] · q16[d]) · (scales[r] · qScale) for r < rows: int8 rows with
 * a per-row scale against a query quantized to int16 levels. The sum is exact in i32 as long as
 * 127 · max|q16| · dim < 2^31 (the caller picks the query's levels so: 4095 levels up to dim 4096),
 * so its order does not matter. One row at a time with two accumulators (32 values per step).
 */
export function dotRowsI8(out: usize, rows8: usize, scales: usize, q16: usize, rows: i32, dim: i32, qScale: f32): void {
  const rowBytes = <usize>dim;
  const d32 = dim & ~31;
  const d16 = dim & ~15;
  for (let r = 0; r < rows; r++) {
    const row = rows8 + <usize>r * rowBytes;
    let a = i32x4.splat(0), b = a;
    for (let d = 0; d < d32; d += 32) {
      const qo = q16 + <usize>d * 2;
      a = stepI8(a, v128.load(row + <usize>d), qo);
      b = stepI8(b, v128.load(row + <usize>d, V128), qo + 32);
    }
    if (d32 < d16) a = stepI8(a, v128.load(row + <usize>d32), q16 + <usize>d32 * 2);
    store<f32>(out + <usize>r * F32, <f32>finishI8(i32x4.add(a, b), row, q16, d16, dim) * (load<f32>(scales + <usize>r * F32) * qScale));
  }
}

// dotRowsManyI8: int8 rows against many int16 queries per pass. Its sums are exact integers (as
// dotRowsI8's), so every score is dotRowsI8's bit for bit whatever the tile, the row count or the
// thread count. Register tile: 2 rows × 4 queries — each 16 bytes of a row widened to int16 once and
// met by four queries (i32x4.dot_i16x8_s: 8 multiply-adds per instruction, twice the f32x4 mul+add
// rate), 8 accumulators + 4 widened row halves + the query loads within V8's 16 xmm registers.
// Rows go in blocks of I8_BLOCK_ROWS (12 KiB of int8 at 768-d) that meet every query group of 4
// before the next block, so a block stays in L1 while the queries (1.5 KiB per 768-d query) come
// from L1/L2: each row is read from memory once per call.
const I8_TILE_QUERIES: i32 = 4;
const I8_BLOCK_ROWS: i32 = 16;

// @ts-ignore: decorator
@inline
function stepI8w(acc: v128, lo: v128, hi: v128, q: usize): v128 {
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(q)), i32x4.dot_i16x8_s(hi, v128.load(q, V128))));
}

/** One int8 row against one int16 query: the exact integer sum. */
function pairI8(row: usize, q: usize, dim: i32): i32 {
  const d16 = dim & ~15;
  let a = i32x4.splat(0);
  for (let d = 0; d < d16; d += 16) {
    const x = v128.load(row + <usize>d);
    a = stepI8w(a, i16x8.extend_low_i8x16_s(x), i16x8.extend_high_i8x16_s(x), q + <usize>d * 2);
  }
  return finishI8(a, row, q, d16, dim);
}

/** The score dotRowsI8 gives: f32(sum) · (rowScale · qScale). */
// @ts-ignore: decorator
@inline
function scoreI8(out: usize, sum: i32, scales: usize, r: i32, qScale: f32): void {
  store<f32>(out, <f32>sum * (load<f32>(scales + <usize>r * F32) * qScale));
}

/** Rows r, r+1 against queries q..q+3: eight scores into out (query-major, ldo floats apart). */
function tileI8x2x4(out: usize, outStride: usize, rows8: usize, scales: usize, r: i32, q16: usize, qScales: usize, q: i32, dim: i32): void {
  const rowBytes = <usize>dim;
  const qBytes = <usize>dim * 2;
  const row0 = rows8 + <usize>r * rowBytes, row1 = row0 + rowBytes;
  const qa = q16 + <usize>q * qBytes, qb = qa + qBytes, qc = qb + qBytes, qd = qc + qBytes;
  const d16 = dim & ~15;
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (let d = 0; d < d16; d += 16) {
    const x0 = v128.load(row0 + <usize>d), x1 = v128.load(row1 + <usize>d);
    const l0 = i16x8.extend_low_i8x16_s(x0), h0 = i16x8.extend_high_i8x16_s(x0);
    const l1 = i16x8.extend_low_i8x16_s(x1), h1 = i16x8.extend_high_i8x16_s(x1);
    const o = <usize>d * 2;
    a0 = stepI8w(a0, l0, h0, qa + o);
    b0 = stepI8w(b0, l1, h1, qa + o);
    a1 = stepI8w(a1, l0, h0, qb + o);
    b1 = stepI8w(b1, l1, h1, qb + o);
    a2 = stepI8w(a2, l0, h0, qc + o);
    b2 = stepI8w(b2, l1, h1, qc + o);
    a3 = stepI8w(a3, l0, h0, qd + o);
    b3 = stepI8w(b3, l1, h1, qd + o);
  }
  const s0 = load<f32>(qScales + <usize>q * F32), s1 = load<f32>(qScales + <usize>(q + 1) * F32);
  const s2 = load<f32>(qScales + <usize>(q + 2) * F32), s3 = load<f32>(qScales + <usize>(q + 3) * F32);
  const o0 = out + <usize>q * outStride + <usize>r * F32;
  scoreI8(o0, finishI8(a0, row0, qa, d16, dim), scales, r, s0);
  scoreI8(o0 + F32, finishI8(b0, row1, qa, d16, dim), scales, r + 1, s0);
  scoreI8(o0 + outStride, finishI8(a1, row0, qb, d16, dim), scales, r, s1);
  scoreI8(o0 + outStride + F32, finishI8(b1, row1, qb, d16, dim), scales, r + 1, s1);
  scoreI8(o0 + 2 * outStride, finishI8(a2, row0, qc, d16, dim), scales, r, s2);
  scoreI8(o0 + 2 * outStride + F32, finishI8(b2, row1, qc, d16, dim), scales, r + 1, s2);
  scoreI8(o0 + 3 * outStride, finishI8(a3, row0, qd, d16, dim), scales, r, s3);
  scoreI8(o0 + 3 * outStride + F32, finishI8(b3, row1, qd, d16, dim), scales, r + 1, s3);
}

/**
 * out[q*ldo + r] = f32(Σ_d rows8[r*dim + d] · q16s[q*dim + d]) · (scales[r] · qScales[q]) for
 * r < rows, q < nq: int8 rows (per-row scales) against nq queries quantized to int16 levels (as
 * dotRowsI8 takes one; same exactness bound), each query's scores in a row of `ldo` floats.
 */
export function dotRowsManyI8(out: usize, rows8: usize, scales: usize, q16s: usize, qScales: usize, rows: i32, nq: i32, dim: i32, ldo: i32): void {
  const outStride = <usize>ldo * F32;
  const qBytes = <usize>dim * 2;
  for (let r0 = 0; r0 < rows; r0 += I8_BLOCK_ROWS) {
    const r1 = min(rows, r0 + I8_BLOCK_ROWS);
    const pairs = r0 + ((r1 - r0) & ~1);
    let q = 0;
    for (; q + I8_TILE_QUERIES <= nq; q += I8_TILE_QUERIES) {
      for (let r = r0; r < pairs; r += 2) tileI8x2x4(out, outStride, rows8, scales, r, q16s, qScales, q, dim);
    }
    // What the tiles leave: the last queries against every row of the block, an odd row against the
    // tiled queries.
    for (let qq = q; qq < nq; qq++) {
      const qp = q16s + <usize>qq * qBytes;
      const s = load<f32>(qScales + <usize>qq * F32);
      for (let r = r0; r < r1; r++) scoreI8(out + <usize>qq * outStride + <usize>r * F32, pairI8(rows8 + <usize>r * <usize>dim, qp, dim), scales, r, s);
    }
    if (pairs < r1) {
      for (let qq = 0; qq < q; qq++) {
        scoreI8(out + <usize>qq * outStride + <usize>pairs * F32, pairI8(rows8 + <usize>pairs * <usize>dim, q16s + <usize>qq * qBytes, dim), scales, pairs, load<f32>(qScales + <usize>qq * F32));
      }
    }
  }
}
