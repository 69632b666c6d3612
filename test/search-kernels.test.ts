// The search kernels (assembly/dot.ts, assembly/checksum.ts) against their scalar oracles
// (src/kernels/reference-search.ts) and known answers:
// - hashBlocks is xxHash32: published check values and values from the reference C library
//   (libxxhash), at lengths across every stripe and group boundary, both from the scalar TypeScript
//   hash and from the wasm kernel, with its finiteness flags for f32 and f16 values;
// - dotRowsMany gives a (row, query) pair the same bits whatever the query count or tile; it and
//   dotRows stay within the dot-product bound of the float64 oracle;
// - dotRowsF16 within the dot-product bound, dotRowsI8 bit for bit, sumRows;
// - dotRowsManyI8 bit for bit with the oracle and with dotRowsI8 query by query, across its tiles;
// - the guard refuses bad kinds and sizes; 2 threads give the same bits as 1.
// Runs on each SIMD build this runtime has (relaxed where validated, else registered as skipped).
import { describe, expect, it } from 'vitest';
import type { KernelBackend, Ptr } from '../src/kernels/backend.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { KernelError } from '../src/kernels/index.js';
import { f32BitsToF16Bits } from '../src/kernels/reference-lowp.js';
import { HASH_KIND } from '../src/kernels/reference-search.js';
import { xxh32, Xxh32 } from '../src/formats/checksum.js';
import { randoms } from './helpers/random-floats.js';
import { relaxedSimd, skipWithout } from './helpers/requirement.js';

const U = 2 ** -24;
const gamma = (K: number): number => (K * U) / (1 - K * U) + U;

/** The test buffer the libxxhash values below were computed on: byte i = ((i · 2654435761) mod 2^32) >> 24. */
function knownBuffer(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(((i * 2654435761) % 2 ** 32) / 2 ** 24);
  return b;
}

/** XXH32(knownBuffer(n), n, seed 0) from libxxhash 0.8 (python3 ctypes: CDLL('libxxhash.so.0').XXH32). */
const LIBXXHASH: ReadonlyArray<[number, number]> = [
  [0, 0x02cc5d05], [1, 0xcf65b03e], [3, 0x02ef734b], [4, 0x4a695a27], [5, 0xdafa0140], [15, 0xaa5d3fea],
  [16, 0x4995d5c5], [17, 0x7d7a2c93], [31, 0x9ac4b41b], [32, 0xc6e5e8d3], [33, 0x73399e62], [63, 0x781e7811],
  [64, 0x1229cafe], [100, 0x343cef9a], [222, 0x3aa3f9cf], [1023, 0x6d5d9c3d], [4096, 0xb1360df6],
  [65535, 0xb46a0f68], [65536, 0x0f9c59fe], [65537, 0xe65d4b91],
];

/** The check values published with xxHash (seed 0). */
const PUBLISHED: ReadonlyArray<[string, number]> = [
  ['', 0x02cc5d05], ['a', 0x550d7456], ['abc', 0x32d153ff],
  ['Nobody inspects the spammish repetition', 0xe2293b2f], ['The quick brown fox jumps over the lazy dog', 0xe85ea4de],
];

describe('xxHash32 in TypeScript (formats/checksum.ts)', () => {
  it('gives the published check values and libxxhash values at every stripe boundary', () => {
    for (const [text, want] of PUBLISHED) expect(xxh32(new TextEncoder().encode(text)), JSON.stringify(text)).toBe(want);
    const buf = knownBuffer(70000);
    for (const [n, want] of LIBXXHASH) expect(xxh32(buf, 0, n), `length ${n}`).toBe(want);
  });

  it('streams: any split of the input gives the one-shot hash', () => {
    const buf = knownBuffer(70000);
    for (const step of [1, 3, 15, 16, 17, 4099]) {
      const h = new Xxh32();
      for (let i = 0; i < 65537; i += step) h.update(buf, i, Math.min(65537, i + step));
      expect(h.digest(), `pieces of ${step}`).toBe(0xe65d4b91);
    }
  });
});

const BUILDS: Array<'baseline' | 'relaxed'> = ['baseline', 'relaxed'];

describe.each(BUILDS)('search kernels, %s build', (simd) => {
  const skip = simd === 'relaxed' && skipWithout(relaxedSimd());
  const itRuns = skip ? it.skip : it;
  const wasm = () => createWasmBackend({ simd });
  const ref = createReferenceBackend();

  function putBytes(be: KernelBackend, bytes: Uint8Array): Ptr {
    const p = be.alloc(bytes.length);
    new Uint8Array(be.memory.buffer, p, bytes.length).set(bytes);
    return p;
  }
  function putF32(be: KernelBackend, data: Float32Array): Ptr {
    return putBytes(be, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  function hashes(be: KernelBackend, bytes: Uint8Array, blocks: number, blockSize: number, kind: number): Uint32Array {
    const m = be.mark();
    const data = putBytes(be, bytes);
    const out = be.alloc(blocks * 8);
    be.hashBlocks(out, data, blocks, blockSize, kind);
    const r = new Uint32Array(be.memory.buffer, out, blocks * 2).slice();
    be.release(m);
    return r;
  }

  itRuns('hashBlocks is xxHash32 of each block (libxxhash values), groups of four and a remainder alike', async () => {
    const be = await wasm();
    const buf = knownBuffer(70000);
    for (const [n, want] of LIBXXHASH) {
      expect(hashes(be, buf.subarray(0, n), 1, n, HASH_KIND.bytes)[0], `one block of ${n}`).toBe(want);
    }
    // 1..9 blocks (two groups of four, a remainder) of sizes across the stripe boundaries.
    for (const size of [0, 1, 4, 15, 16, 17, 48, 100, 4096]) {
      for (const blocks of [1, 3, 4, 5, 8, 9]) {
        const bytes = knownBuffer(blocks * size + 7).subarray(7);
        const got = hashes(be, bytes, blocks, size, HASH_KIND.bytes);
        const want = hashes(ref, bytes, blocks, size, HASH_KIND.bytes);
        expect(Array.from(got), `${blocks} blocks of ${size}`).toEqual(Array.from(want));
        for (let b = 0; b < blocks; b++) expect(got[2 * b]).toBe(xxh32(bytes, b * size, (b + 1) * size));
      }
    }
  });

  itRuns('hashBlocks flags exactly the blocks holding a non-finite f32 or f16, wherever it sits', async () => {
    const be = await wasm();
    const size = 4096 + 12; // a stripe tail of 12 bytes
    const blocks = 6;
    for (const [kind, unit, values] of [
      [HASH_KIND.f32, 4, [0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001]],
      [HASH_KIND.f16, 2, [0x7c00, 0xfc00, 0x7e00, 0x7c01]],
    ] as const) {
      for (const value of values) {
        for (const at of [0, 4, size - unit, 2 * size + 16, 4 * size + size - unit, 5 * size + 8]) {
          const bytes = new Uint8Array(blocks * size);
          const finite = randoms(bytes.length / 4, at + value);
          bytes.set(new Uint8Array(finite.buffer));
          if (kind === HASH_KIND.f16) for (let i = 0; i < bytes.length; i += 2) bytes[i + 1] &= 0xbb; // clear exponent bits
          if (unit === 4) new DataView(bytes.buffer).setUint32(at, value, true);
          else new DataView(bytes.buffer).setUint16(at, value, true);
          const got = hashes(be, bytes, blocks, size, kind);
          const want = hashes(ref, bytes, blocks, size, kind);
          expect(Array.from(got), `kind ${kind} value ${value.toString(16)} at ${at}`).toEqual(Array.from(want));
          const flags = Array.from({ length: blocks }, (_, b) => got[2 * b + 1]);
          expect(flags, `value ${value.toString(16)} at byte ${at}`).toEqual(flags.map((_, b) => (b === Math.floor(at / size) ? 1 : 0)));
        }
      }
    }
  });

  itRuns('dotRowsMany scores a pair the same whatever the query count, both kernels within the dot-product bound', async () => {
    const be = await wasm();
    let seed = 1;
    for (const dim of [1, 3, 4, 5, 7, 8, 15, 16, 17, 33, 767, 768, 769]) {
      for (const rows of [1, 3, 4, 5, 9, 33]) {
        for (const nq of [1, 2, 3, 5]) {
          const mat = randoms(rows * dim, seed++), qs = randoms(nq * dim, seed++);
          const ldo = rows + 3;
          const many = (b: KernelBackend, m: Float32Array, q: Float32Array) => {
            const mark = b.mark();
            const mp = putF32(b, m), qp = putF32(b, q), out = b.alloc(nq * ldo * 4);
            b.dotRowsMany(out, mp, qp, rows, nq, dim, ldo);
            const r = b.f32(out, nq * ldo).slice();
            b.release(mark);
            return r;
          };
          const got = many(be, mat, qs), want = many(ref, mat, qs), mag = many(ref, mat.map(Math.abs), qs.map(Math.abs));
          for (let q = 0; q < nq; q++) {
            const mark = be.mark();
            const mp = putF32(be, mat), qp = putF32(be, qs.subarray(q * dim, (q + 1) * dim)), out = be.alloc(rows * 4);
            be.dotRows(out, mp, qp, rows, dim);
            const single = be.f32(out, rows).slice();
            be.dotRowsMany(out, mp, qp, rows, 1, dim, rows);
            const alone = be.f32(out, rows).slice();
            be.release(mark);
            for (let r = 0; r < rows; r++) {
              const i = q * ldo + r;
              expect(got[i], `dim ${dim} rows ${rows}: query ${q} of ${nq} vs alone, row ${r}`).toBe(alone[r]);
              expect(Math.abs(single[r] - want[i]), `dotRows dim ${dim}`).toBeLessThanOrEqual(gamma(dim) * mag[i] + 1e-30);
              expect(Math.abs(got[i] - single[r]), `dim ${dim} rows ${rows} nq ${nq}: dotRowsMany[${q}][${r}] vs dotRows`).toBeLessThanOrEqual(2 * gamma(dim) * mag[i] + 1e-30);
              expect(Math.abs(got[i] - want[i]), `dim ${dim}: [${q}][${r}] ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(gamma(dim) * mag[i] + 1e-30);
            }
          }
        }
      }
    }
  });

  itRuns('dotRowsF16 within the bound (subnormal and negative halves), dotRowsI8 bit for bit, sumRows', async () => {
    const be = await wasm();
    let seed = 100;
    for (const dim of [1, 7, 8, 9, 15, 16, 17, 31, 767, 768, 769]) {
      for (const rows of [1, 4, 5, 9]) {
        const vals = randoms(rows * dim, seed++);
        // Some tiny values: subnormal halves.
        for (let i = 0; i < vals.length; i += 5) vals[i] *= 1e-5;
        const halves = new Uint16Array(vals.length);
        const f32 = new Uint32Array(vals.buffer);
        for (let i = 0; i < vals.length; i++) halves[i] = f32BitsToF16Bits(f32[i]);
        const q = randoms(dim, seed++);
        const f16dot = (b: KernelBackend, qv: Float32Array, abs = false) => {
          const mark = b.mark();
          const h = abs ? halves.map((x) => x & 0x7fff) : halves;
          const hp = putBytes(b, new Uint8Array(h.buffer)), qp = putF32(b, qv), out = b.alloc(rows * 4);
          b.dotRowsF16(out, hp, qp, rows, dim);
          const r = b.f32(out, rows).slice();
          b.release(mark);
          return r;
        };
        const got = f16dot(be, q), want = f16dot(ref, q), mag = f16dot(ref, q.map(Math.abs), true);
        for (let r = 0; r < rows; r++) expect(Math.abs(got[r] - want[r]), `f16 dim ${dim} row ${r}`).toBeLessThanOrEqual(gamma(dim) * mag[r] + 1e-30);

        const i8 = new Int8Array(rows * dim).map((_, i) => ((i * 37 + seed) % 255) - 127);
        const scales = randoms(rows, seed++, 1e-4, 1e-2);
        const q16 = new Int16Array(dim).map((_, i) => ((i * 101 + seed) % 8191) - 4095);
        const i8dot = (b: KernelBackend) => {
          const mark = b.mark();
          const rp = putBytes(b, new Uint8Array(i8.buffer)), sp = putF32(b, scales), qp = putBytes(b, new Uint8Array(q16.buffer)), out = b.alloc(rows * 4);
          b.dotRowsI8(out, rp, sp, qp, rows, dim, 3.5e-4);
          const r = b.f32(out, rows).slice();
          b.release(mark);
          return r;
        };
        expect(Array.from(i8dot(be)), `int8 dim ${dim} rows ${rows}`).toEqual(Array.from(i8dot(ref)));

        const sum = (b: KernelBackend, m: Float32Array) => {
          const mark = b.mark();
          const mp = putF32(b, m), out = b.alloc(rows * 4);
          b.sumRows(out, mp, rows, dim);
          const r = b.f32(out, rows).slice();
          b.release(mark);
          return r;
        };
        const s = sum(be, vals), sw = sum(ref, vals), sm = sum(ref, vals.map(Math.abs));
        for (let r = 0; r < rows; r++) expect(Math.abs(s[r] - sw[r])).toBeLessThanOrEqual(gamma(dim) * sm[r] + 1e-30);
      }
    }
  });

  itRuns('dotRowsManyI8 gives every (row, query) pair the bits of dotRowsI8 and of the oracle, across tiles and blocks', async () => {
    const be = await wasm();
    let seed = 500;
    // Rows across the 2-row tile and the 16-row block (15, 16, 17, 33), queries across the 4-query
    // tile (1..9), dims across the 16-value step and its tail.
    for (const dim of [1, 7, 15, 16, 17, 31, 33, 768, 769]) {
      for (const rows of [1, 2, 3, 15, 16, 17, 33]) {
        for (const nq of [1, 2, 3, 4, 5, 8, 9]) {
          const i8 = new Int8Array(rows * dim).map((_, i) => ((i * 37 + seed) % 255) - 127);
          const scales = randoms(rows, seed++, 1e-4, 1e-2);
          const q16 = new Int16Array(nq * dim).map((_, i) => ((i * 101 + seed) % 8191) - 4095);
          // Extremes too: a full-scale row against a full-scale query (the exactness bound's case).
          if (rows > 1) i8.fill(-127, dim, 2 * dim);
          if (nq > 1) q16.fill(4095, dim, 2 * dim);
          const qScales = randoms(nq, seed++, 1e-5, 1e-3);
          const ldo = rows + 5;
          const many = (b: KernelBackend) => {
            const mark = b.mark();
            const rp = putBytes(b, new Uint8Array(i8.buffer)), sp = putF32(b, scales), qp = putBytes(b, new Uint8Array(q16.buffer)), qsp = putF32(b, qScales);
            const out = b.alloc(nq * ldo * 4);
            b.f32(out, nq * ldo).fill(-7); // the gaps between score rows must stay untouched
            b.dotRowsManyI8(out, rp, sp, qp, qsp, rows, nq, dim, ldo);
            const r = b.f32(out, nq * ldo).slice();
            b.release(mark);
            return r;
          };
          const got = many(be);
          expect(Array.from(got), `dim ${dim} rows ${rows} nq ${nq}: wasm vs oracle`).toEqual(Array.from(many(ref)));
          for (let q = 0; q < nq; q++) {
            const mark = be.mark();
            const rp = putBytes(be, new Uint8Array(i8.buffer)), sp = putF32(be, scales);
            const qp = putBytes(be, new Uint8Array(q16.buffer, q * dim * 2, dim * 2)), out = be.alloc(rows * 4);
            be.dotRowsI8(out, rp, sp, qp, rows, dim, qScales[q]);
            const alone = be.f32(out, rows).slice();
            be.release(mark);
            for (let r = 0; r < rows; r++) expect(got[q * ldo + r], `dim ${dim} rows ${rows} nq ${nq}: query ${q} row ${r} vs dotRowsI8`).toBe(alone[r]);
            for (let r = rows; r < ldo; r++) expect(got[q * ldo + r], `gap after query ${q}'s scores`).toBe(-7);
          }
        }
      }
    }
  });

  itRuns('the guard refuses an unknown kind, a block of partial values and an out-of-arena pointer', async () => {
    const be = await wasm();
    const m = be.mark();
    const data = be.alloc(64), out = be.alloc(16);
    expect(() => be.hashBlocks(out, data, 1, 64, 3)).toThrow(KernelError);
    expect(() => be.hashBlocks(out, data, 1, 6, HASH_KIND.f32)).toThrow(/not a whole number of 4-byte values/);
    expect(() => be.hashBlocks(out, data, 2, 64, HASH_KIND.bytes)).toThrow(/outside the heap's live arena/);
    expect(() => be.dotRowsI8(out, data, data, data, 1, 4, NaN)).toThrow(/qScale/);
    expect(() => be.dotRowsMany(out, data, data, 2, 2, 4, 1)).toThrow(/ldo = 1 is smaller than the row length 2/);
    expect(() => be.dotRowsManyI8(out, data, data, data, data, 2, 2, 4, 1)).toThrow(/ldo = 1 is smaller than the row length 2/);
    expect(() => be.dotRowsManyI8(out, data, data, data, data, 1, 1, 65537, 1)).toThrow(/sums exactly/);
    be.release(m);
  });

  itRuns('2 threads give the same bits as 1 (hashes, scores)', async () => {
    const one = await wasm();
    const two = await createWasmBackend({ simd, threads: 2, minShareNs: 0 });
    try {
      const rows = 1000, dim = 96, nq = 3;
      const mat = randoms(rows * dim, 7), qs = randoms(nq * dim, 8);
      const run = (b: KernelBackend) => {
        const mark = b.mark();
        const mp = putF32(b, mat), qp = putF32(b, qs), out = b.alloc(nq * rows * 4), hs = b.alloc(8 * 24);
        b.dotRowsMany(out, mp, qp, rows, nq, dim, rows);
        b.hashBlocks(hs, mp, 23, 4096, HASH_KIND.f32);
        const r = [...b.f32(out, nq * rows)].concat([...new Uint32Array(b.memory.buffer, hs, 46)]);
        // int8 rows (the matrix's bytes) against int16 queries (the queries' bytes), 3 queries.
        const q8 = b.alloc(nq * 4);
        b.f32(q8, nq).set([1e-4, 2e-4, 3e-4]);
        b.dotRowsManyI8(out, mp, mp, qp, q8, rows, nq, dim, rows);
        r.push(...b.f32(out, nq * rows));
        b.release(mark);
        return r;
      };
      expect(run(two)).toEqual(run(one));
    } finally {
      two.dispose();
    }
  });
});
