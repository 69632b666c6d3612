// Owns: hash_blocks_xxh32, the checksum of index files (format 3) computed where the bytes already
// are — in the heap the search reads them into — together with the finiteness check of the values
// they hold, in the same pass over the bytes.
// Does not own: the expected checksums or what a mismatch means (src/search/vector-index.ts), the
// scalar twin (src/formats/checksum.ts xxh32, the test oracle and the writer's hash), or memory.
//
// The algorithm is xxHash32 (Yann Collet's XXH32, seed 0), bit for bit: its main loop is four
// independent u32 lanes over 16-byte stripes, which is exactly one v128 — acc = rotl(acc + in·P2,
// 13)·P1 lane-wise — so one block needs no shuffles at all. One block is a dependent chain (add,
// rotate, multiply: ~6 cycles per 16 bytes); four blocks hashed side by side (`GROUP`) keep four
// chains in flight, so the loop runs at the throughput of its ~7 vector ops per stripe instead.
// The finiteness check rides on the same loads: a value whose exponent bits are all ones (±∞,
// NaN) sets a lane of `bad` — f32: (bits & 0x7f800000) == 0x7f800000; f16 (u16 lanes): (bits &
// 0x7c00) == 0x7c00; plain bytes: no check.

const P1: u32 = 0x9e3779b1;
const P2: u32 = 0x85ebca77;
const P3: u32 = 0xc2b2ae3d;
const P4: u32 = 0x27d4eb2f;
const P5: u32 = 0x165667b1;
/** Bytes per stripe: four u32 lanes. */
const STRIPE: usize = 16;
/** Blocks hashed side by side (independent dependency chains). */
const GROUP: i32 = 4;

/** What the bytes hold, for the finiteness check: nothing (0), f32 (1) or f16 (2). */
export const KIND_BYTES: i32 = 0;
export const KIND_F32: i32 = 1;
export const KIND_F16: i32 = 2;

// @ts-ignore: decorator
@inline
function round4(acc: v128, input: v128): v128 {
  const x = i32x4.add(acc, i32x4.mul(input, i32x4.splat(P2)));
  return i32x4.mul(v128.or(i32x4.shl(x, 13), i32x4.shr_u(x, 19)), i32x4.splat(P1));
}

/** Lanes all ones where a value of `kind` in `x` is ±∞ or NaN (kind is a constant at each call). */
// @ts-ignore: decorator
@inline
function notFinite(x: v128, kind: i32): v128 {
  if (kind == KIND_F32) {
    const e = i32x4.splat(0x7f800000);
    return i32x4.eq(v128.and(x, e), e);
  }
  if (kind == KIND_F16) {
    const e = i16x8.splat(0x7c00);
    return i16x8.eq(v128.and(x, e), e);
  }
  return v128.splat<i32>(0);
}

/** Scalar finiteness of the bytes [p, p + n) that the vector loop did not cover. */
function tailNotFinite(p: usize, n: usize, kind: i32): bool {
  if (kind == KIND_F32) {
    for (let i: usize = 0; i + 4 <= n; i += 4) if ((load<u32>(p + i) & 0x7f800000) == 0x7f800000) return true;
  } else if (kind == KIND_F16) {
    for (let i: usize = 0; i + 2 <= n; i += 2) if ((load<u16>(p + i) & 0x7c00) == 0x7c00) return true;
  }
  return false;
}

/** The lanes of a stripe accumulator after the last stripe, merged; then length, tail, avalanche. */
function finish(acc: v128, long: bool, tail: usize, tailBytes: usize, length: usize): u32 {
  let h: u32;
  if (long) {
    h = rotl<u32>(i32x4.extract_lane(acc, 0), 1) + rotl<u32>(i32x4.extract_lane(acc, 1), 7) +
      rotl<u32>(i32x4.extract_lane(acc, 2), 12) + rotl<u32>(i32x4.extract_lane(acc, 3), 18);
  } else {
    h = P5;
  }
  h += <u32>length;
  let p = tail;
  const end = tail + tailBytes;
  for (; p + 4 <= end; p += 4) h = rotl<u32>(h + load<u32>(p) * P3, 17) * P4;
  for (; p < end; p++) h = rotl<u32>(h + <u32>load<u8>(p) * P5, 11) * P1;
  h ^= h >>> 15;
  h *= P2;
  h ^= h >>> 13;
  h *= P3;
  h ^= h >>> 16;
  return h;
}

/** The seed-0 starting lanes (v1, v2, v3, v4) = (P1 + P2, P2, 0, -P1). */
// @ts-ignore: decorator
@inline
function seedLanes(): v128 {
  return i32x4(<i32>(P1 + P2), <i32>P2, 0, <i32>(0 - P1));
}

/** xxHash32 (seed 0) of one block; its finiteness into bad (1: some value not finite). */
function hashOne(out: usize, data: usize, size: usize, kind: i32): void {
  const stripes = size / STRIPE;
  let acc = seedLanes();
  let bad = v128.splat<i32>(0);
  for (let s: usize = 0; s < stripes; s++) {
    const x = v128.load(data + s * STRIPE);
    acc = round4(acc, x);
    bad = v128.or(bad, notFinite(x, kind));
  }
  const tail = data + stripes * STRIPE;
  const tailBytes = size - stripes * STRIPE;
  store<u32>(out, finish(acc, size >= STRIPE, tail, tailBytes, size));
  store<u32>(out, v128.any_true(bad) || tailNotFinite(tail, tailBytes, kind) ? 1 : 0, 4);
}

/** GROUP blocks of `size` bytes side by side: four chains per stripe step. Inlined, so each call
 *  site's constant `kind` folds its check away. */
// @ts-ignore: decorator
@inline
function hashGroup(out: usize, data: usize, size: usize, kind: i32): void {
  const stripes = size / STRIPE;
  const b1 = data + size, b2 = b1 + size, b3 = b2 + size;
  let a0 = seedLanes(), a1 = a0, a2 = a0, a3 = a0;
  let bad = v128.splat<i32>(0);
  for (let s: usize = 0; s < stripes; s++) {
    const o = s * STRIPE;
    const x0 = v128.load(data + o), x1 = v128.load(b1 + o), x2 = v128.load(b2 + o), x3 = v128.load(b3 + o);
    a0 = round4(a0, x0);
    a1 = round4(a1, x1);
    a2 = round4(a2, x2);
    a3 = round4(a3, x3);
    if (kind != KIND_BYTES) {
      bad = v128.or(bad, v128.or(v128.or(notFinite(x0, kind), notFinite(x1, kind)), v128.or(notFinite(x2, kind), notFinite(x3, kind))));
    }
  }
  const tailBytes = size - stripes * STRIPE;
  const long = size >= STRIPE;
  const tailAt = stripes * STRIPE;
  store<u32>(out, finish(a0, long, data + tailAt, tailBytes, size));
  store<u32>(out + 8, finish(a1, long, b1 + tailAt, tailBytes, size));
  store<u32>(out + 16, finish(a2, long, b2 + tailAt, tailBytes, size));
  store<u32>(out + 24, finish(a3, long, b3 + tailAt, tailBytes, size));
  // Which block of the group holds the bad value is found again block by block, only when there is
  // one (or a tail the vector loop did not cover).
  const recheck = v128.any_true(bad) || (tailBytes > 0 && kind != KIND_BYTES);
  store<u32>(out, recheck && blockNotFinite(data, size, kind) ? 1 : 0, 4);
  store<u32>(out + 8, recheck && blockNotFinite(b1, size, kind) ? 1 : 0, 4);
  store<u32>(out + 16, recheck && blockNotFinite(b2, size, kind) ? 1 : 0, 4);
  store<u32>(out + 24, recheck && blockNotFinite(b3, size, kind) ? 1 : 0, 4);
}

/** Whether any value of `kind` in [p, p + size) is not finite (the slow, per-block form). */
function blockNotFinite(p: usize, size: usize, kind: i32): bool {
  if (kind == KIND_BYTES) return false;
  const stripes = size / STRIPE;
  let bad = v128.splat<i32>(0);
  for (let s: usize = 0; s < stripes; s++) bad = v128.or(bad, notFinite(v128.load(p + s * STRIPE), kind));
  return v128.any_true(bad) || tailNotFinite(p + stripes * STRIPE, size - stripes * STRIPE, kind);
}

/**
 * For each of `blocks` consecutive blocks of `blockSize` bytes at `data`: out[2b] = xxHash32 (seed 0)
 * of block b, out[2b + 1] = 1 if it holds a value of `kind` (KIND_*) that is not finite, else 0.
 * out: 2·blocks u32. A file's short last block is hashed by a call of its own (blocks = 1,
 * blockSize = its length). Any blockSize works; f32 needs multiples of 4, f16 of 2 (the guard checks).
 */
export function hashBlocks(out: usize, data: usize, blocks: i32, blockSize: i32, kind: i32): void {
  const size = <usize>blockSize;
  let b = 0;
  if (kind == KIND_F32) {
    for (; b + GROUP <= blocks; b += GROUP) hashGroup(out + <usize>b * 8, data + <usize>b * size, size, KIND_F32);
  } else if (kind == KIND_F16) {
    for (; b + GROUP <= blocks; b += GROUP) hashGroup(out + <usize>b * 8, data + <usize>b * size, size, KIND_F16);
  } else {
    for (; b + GROUP <= blocks; b += GROUP) hashGroup(out + <usize>b * 8, data + <usize>b * size, size, KIND_BYTES);
  }
  for (; b < blocks; b++) hashOne(out + <usize>b * 8, data + <usize>b * size, size, kind);
}
