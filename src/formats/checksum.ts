// Owns: the checksums that guard index files and their work in progress, in plain TypeScript so
// runtime-neutral code can use them:
// - xxHash32 (XXH32, seed 0), the checksum of index files (format 3): its four u32 lanes over
//   16-byte stripes are one v128, so the search verifies blocks with a wasm SIMD kernel
//   (assembly/checksum.ts) at memory speed where the bytes already are; this scalar form is its
//   test oracle and what writers and small reads use. Streaming (Xxh32) and one-shot (xxh32).
// - CRC-32C (Castagnoli, the polynomial of iSCSI/ext4/Btrfs, reflected 0x82F63B78), streaming,
//   slicing-by-8: the checkpoint files of an index build in progress (INDEX.partial/).
// - a hand-written xxHash64, kept only as a peer that bench/checksum.ts measures.
// Does not own what is checked (vector-index.ts, node/indexing/index-builder.ts).

const POLY = 0x82f63b78;

/** T[k*256 + b]: the CRC of byte b followed by k zero bytes (slicing-by-8 tables). */
const T = (() => {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
})();

/**
 * Continue a CRC-32C over `bytes[start, end)`. `crc` is a previous result (0 to begin), so a
 * stream can be checksummed piece by piece: crc32c(b, crc32c(a)) === crc32c(a ++ b).
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc;
  let i = start;
  // Byte at a time up to a multiple of 8 remaining, then 8 bytes per step through the 8 tables.
  const stop8 = end - ((end - i) & 7);
  for (; i < stop8; i += 8) {
    const lo = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c =
      T[1792 + (lo & 0xff)] ^ T[1536 + ((lo >>> 8) & 0xff)] ^ T[1280 + ((lo >>> 16) & 0xff)] ^ T[1024 + (lo >>> 24)] ^
      T[768 + bytes[i + 4]] ^ T[512 + bytes[i + 5]] ^ T[256 + bytes[i + 6]] ^ T[bytes[i + 7]];
  }
  for (; i < end; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- xxHash32 ---------------------------------------------------------------------------------
const X1 = 0x9e3779b1, X2 = 0x85ebca77, X3 = 0xc2b2ae3d, X4 = 0x27d4eb2f, X5 = 0x165667b1;

const rotl32 = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const u32le = (b: Uint8Array, i: number): number => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

/** xxHash32 with seed 0 of any number of byte pieces fed in order: update(a); update(b) hashes a ++ b. */
export class Xxh32 {
  private v1 = (X1 + X2) | 0;
  private v2 = X2 | 0;
  private v3 = 0;
  private v4 = -X1 | 0;
  private length = 0;
  /** Bytes of an unfinished stripe (< 16). */
  private readonly pending = new Uint8Array(16);
  private pendingLength = 0;

  update(bytes: Uint8Array, start = 0, end = bytes.length): this {
    this.length += end - start;
    let i = start;
    if (this.pendingLength > 0) {
      const n = Math.min(16 - this.pendingLength, end - i);
      this.pending.set(bytes.subarray(i, i + n), this.pendingLength);
      this.pendingLength += n;
      i += n;
      if (this.pendingLength < 16) return this;
      this.stripes(this.pending, 0, 16);
      this.pendingLength = 0;
    }
    const whole = i + ((end - i) & ~15);
    this.stripes(bytes, i, whole);
    if (whole < end) {
      this.pending.set(bytes.subarray(whole, end));
      this.pendingLength = end - whole;
    }
    return this;
  }

  private stripes(b: Uint8Array, start: number, end: number): void {
    let { v1, v2, v3, v4 } = this;
    for (let i = start; i < end; i += 16) {
      v1 = Math.imul(rotl32((v1 + Math.imul(u32le(b, i), X2)) | 0, 13), X1);
      v2 = Math.imul(rotl32((v2 + Math.imul(u32le(b, i + 4), X2)) | 0, 13), X1);
      v3 = Math.imul(rotl32((v3 + Math.imul(u32le(b, i + 8), X2)) | 0, 13), X1);
      v4 = Math.imul(rotl32((v4 + Math.imul(u32le(b, i + 12), X2)) | 0, 13), X1);
    }
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
    this.v4 = v4;
  }

  /** The hash of everything fed so far, as an unsigned 32-bit number (the object can go on). */
  digest(): number {
    let h = this.length >= 16
      ? (rotl32(this.v1, 1) + rotl32(this.v2, 7) + rotl32(this.v3, 12) + rotl32(this.v4, 18)) | 0
      : X5;
    // XXH32 adds the length modulo 2^32.
    h = (h + this.length) | 0;
    const p = this.pending;
    let i = 0;
    for (; i + 4 <= this.pendingLength; i += 4) h = Math.imul(rotl32((h + Math.imul(u32le(p, i), X3)) | 0, 17), X4);
    for (; i < this.pendingLength; i++) h = Math.imul(rotl32((h + Math.imul(p[i], X5)) | 0, 11), X1);
    h ^= h >>> 15;
    h = Math.imul(h, X2);
    h ^= h >>> 13;
    h = Math.imul(h, X3);
    h ^= h >>> 16;
    return h >>> 0;
  }
}

/** xxHash32 (seed 0) of bytes[start, end), unsigned. */
export function xxh32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return new Xxh32().update(bytes, start, end).digest();
}

// ---- xxHash64 (a measured alternative) ----------------------------------------------------
// 64-bit lanes as two u32 halves. P1..P5 are the xxHash64 primes.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

let rh = 0, rl = 0; // result registers of the helpers below (avoids allocating pairs)

/** (ah,al) * (bh,bl) mod 2^64 into (rh, rl). */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  rl = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(mid / 65536);
  rh = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

function add(ah: number, al: number, bh: number, bl: number): void {
  const l = al + bl;
  rl = l >>> 0;
  rh = (ah + bh + (l > 0xffffffff ? 1 : 0)) >>> 0;
}

function rotl(h: number, l: number, r: number): void {
  if (r >= 32) [h, l, r] = [l, h, r - 32];
  if (r === 0) {
    rh = h >>> 0;
    rl = l >>> 0;
    return;
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, input) = rotl(acc + input*P2, 31) * P1, into (rh, rl). */
function round(ah: number, al: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L);
  add(ah, al, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

function u32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** xxHash64 of `bytes` with seed 0, as 16 lower-case hex digits. */
export function xxhash64(bytes: Uint8Array): string {
  const n = bytes.length;
  let i = 0;
  let hh: number, hl: number;
  if (n >= 32) {
    add(P1H, P1L, P2H, P2L);
    let v1h = rh, v1l = rl;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    // v4 = -P1 mod 2^64
    let v4h = ~P1H >>> 0, v4l = ~P1L >>> 0;
    add(v4h, v4l, 0, 1);
    v4h = rh; v4l = rl;
    for (; i + 32 <= n; i += 32) {
      round(v1h, v1l, u32(bytes, i + 4), u32(bytes, i)); v1h = rh; v1l = rl;
      round(v2h, v2l, u32(bytes, i + 12), u32(bytes, i + 8)); v2h = rh; v2l = rl;
      round(v3h, v3l, u32(bytes, i + 20), u32(bytes, i + 16)); v3h = rh; v3l = rl;
      round(v4h, v4l, u32(bytes, i + 28), u32(bytes, i + 24)); v4h = rh; v4l = rl;
    }
    rotl(v1h, v1l, 1); let sh = rh, sl = rl;
    rotl(v2h, v2l, 7); add(sh, sl, rh, rl); sh = rh; sl = rl;
    rotl(v3h, v3l, 12); add(sh, sl, rh, rl); sh = rh; sl = rl;
    rotl(v4h, v4l, 18); add(sh, sl, rh, rl); sh = rh; sl = rl;
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]]) {
      round(0, 0, vh, vl);
      sh ^= rh; sl ^= rl;
      mul(sh >>> 0, sl >>> 0, P1H, P1L);
      add(rh, rl, P4H, P4L);
      sh = rh; sl = rl;
    }
    hh = sh; hl = sl;
  } else {
    hh = P5H; hl = P5L;
  }
  add(hh, hl, Math.floor(n / 2 ** 32), n >>> 0); hh = rh; hl = rl;
  for (; i + 8 <= n; i += 8) {
    round(0, 0, u32(bytes, i + 4), u32(bytes, i));
    hh ^= rh; hl ^= rl;
    rotl(hh, hl, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L); hh = rh; hl = rl;
  }
  if (i + 4 <= n) {
    mul(0, u32(bytes, i), P1H, P1L);
    hh ^= rh; hl ^= rl;
    rotl(hh, hl, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L); hh = rh; hl = rl;
    i += 4;
  }
  for (; i < n; i++) {
    mul(0, bytes[i], P5H, P5L);
    hh ^= rh; hl ^= rl;
    rotl(hh, hl, 11);
    mul(rh, rl, P1H, P1L); hh = rh; hl = rl;
  }
  // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L); hh = rh; hl = rl;
  const lo29 = ((hl >>> 29) | (hh << 3)) >>> 0;
  hl = (hl ^ lo29) >>> 0; hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L); hh = rh; hl = rl;
  hl = (hl ^ hh) >>> 0;
  return hh.toString(16).padStart(8, '0') + hl.toString(16).padStart(8, '0');
}
