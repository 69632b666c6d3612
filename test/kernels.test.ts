// Kernel parity: every wasm SIMD kernel against the scalar reference backend (float64 accumulation),
// over sizes that cross every tile and SIMD boundary (1…33, 767, 768, 769, 3072) and the real BERT
// shapes; GELU and tanh against float64 math over dense sweeps and their limits; softmax masking;
// and the guard (bad pointers, sizes, aliasing give KernelError, never a trap).
// Runs on both SIMD builds; the relaxed one registers as skipped where the engine does not validate it (Node 20).
// Needs build/kernels*.wasm: `npm run build:wasm` (npm test runs it via pretest).
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend, Ptr } from '../src/kernels/backend.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { createBackend, KernelError } from '../src/kernels/index.js';
import { erf64, erfc64, gelu64 } from '../src/kernels/reference-math.js';
import { Arena } from '../src/kernels/arena.js';
import { randoms } from './helpers/random-floats.js';
import { relaxedSimd, skipWithout } from './helpers/requirement.js';

const SIZES = [...Array.from({ length: 33 }, (_, i) => i + 1), 767, 768, 769, 3072];
/** Unit roundoff of f32. */
const U = 2 ** -24;

let wasm: KernelBackend;
let ref: KernelBackend;

beforeAll(async () => {
  ref = createReferenceBackend();
});

/** Copy `data` into a fresh region of `be` and return its pointer. */
function put(be: KernelBackend, data: Float32Array): Ptr {
  const p = be.alloc(data.length * 4);
  be.f32(p, data.length).set(data);
  return p;
}

interface Stat {
  maxAbs: number;
  worst: number;
  got: number;
  want: number;
  /** Largest err / bound (≤ 1 passes). */
  ratio: number;
}

/** Element-wise comparison with a per-element bound; remembers the worst element for the message. */
function compare(got: Float32Array, want: Float32Array, bound: (i: number) => number): Stat {
  let s: Stat = { maxAbs: 0, worst: -1, got: 0, want: 0, ratio: 0 };
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    const r = Number.isNaN(e) ? Infinity : e / bound(i);
    if (r > s.ratio || Number.isNaN(e)) s = { maxAbs: Math.max(s.maxAbs, e), worst: i, got: got[i], want: want[i], ratio: r };
    else if (e > s.maxAbs) s.maxAbs = e;
  }
  return s;
}

function describeStat(what: string, s: Stat, got: Float32Array, want: Float32Array): string {
  const pairs = Array.from({ length: Math.min(3, want.length) }, (_, i) => `${got[i]}/${want[i]}`).join(' ');
  return `${what}: max abs err ${s.maxAbs.toExponential(2)}, worst [${s.worst}] got ${s.got} want ${s.want} (err/bound ${s.ratio.toFixed(3)}); first got/want ${pairs}`;
}

/** Running max abs error per kernel, printed at the end of each describe. */
const report = new Map<string, number>();
function note(kernel: string, s: Stat): void {
  report.set(kernel, Math.max(report.get(kernel) ?? 0, s.maxAbs));
}
/** The build under test, for the report lines. */
let build = 'baseline';
function printReport(keys: string[]): void {
  for (const k of keys) console.log(`[kernels ${build}] ${k}: max abs err vs reference ${(report.get(k) ?? NaN).toExponential(2)}`);
}

/** γ_K = K·u/(1 - K·u): the standard bound on the relative error of a K-term f32 dot product
 *  (any summation order), applied to Σ|a||b|. Loose, but any indexing bug is off by O(Σ|a||b|). */
const gamma = (K: number): number => (K * U) / (1 - K * U) + U;

/**
 * Runs out = A·Bᵀ-like op on both backends. `run(be, ptrs)` launches the kernel; operands are random
 * in [-1, 1); the bound uses the same op on |a|, |b| through the reference.
 */
function linearCase(T: number, IN: number, OUT: number, seed: number, checkRows?: number[]): Stat {
  const x = randoms(T * IN, seed);
  const w = randoms(OUT * IN, seed + 1);
  const b = randoms(OUT, seed + 2);
  const run = (be: KernelBackend, xs: Float32Array, ws: Float32Array, bs: Float32Array): Float32Array => {
    const m = be.mark();
    try {
      const rows = xs.length / IN;
      const xp = put(be, xs), wp = put(be, ws), bp = put(be, bs);
      const packed = be.alloc(be.packedLinearBytes(OUT, IN));
      be.packLinear(packed, wp, OUT, IN);
      const out = be.alloc(rows * OUT * 4);
      be.linear(out, xp, packed, bp, rows, IN, OUT);
      return be.f32(out, rows * OUT).slice();
    } finally {
      be.release(m);
    }
  };
  // For the big shapes the (slow) reference only computes some rows: a row's result does not depend
  // on its neighbours (tested below), so checking rows from 4-row tiles and the tail is enough.
  const pick = (a: Float32Array, n: number): Float32Array =>
    checkRows ? Float32Array.from(checkRows.flatMap((r) => Array.from(a.subarray(r * n, (r + 1) * n)))) : a;
  const got = pick(run(wasm, x, w, b), OUT);
  const xr = pick(x, IN);
  const want = run(ref, xr, w, b);
  const mag = run(ref, xr.map(Math.abs), w.map(Math.abs), b.map(Math.abs));
  const g = gamma(IN + 1);
  const s = compare(got, want, (i) => g * mag[i] + 1e-30);
  note('linear_f32', s);
  expect(s.ratio, describeStat(`linear T=${T} IN=${IN} OUT=${OUT}`, s, got, want)).toBeLessThanOrEqual(1);
  return s;
}

type MatmulKind = 'NT' | 'NN';
function matmulCase(kind: MatmulKind, M: number, N: number, K: number, seed: number, pad = [3, 1, 5]): Stat {
  const lda = K + pad[0];
  const ldb = (kind === 'NT' ? K : N) + pad[1];
  const ldc = N + pad[2];
  const aLen = M * lda;
  const bLen = (kind === 'NT' ? N : K) * ldb;
  const a = randoms(aLen, seed);
  const b = randoms(bLen, seed + 1);
  const sentinel = 12345.5;
  const run = (be: KernelBackend, as: Float32Array, bs: Float32Array): Float32Array => {
    const m = be.mark();
    try {
      const ap = put(be, as), bp = put(be, bs);
      const out = be.alloc(M * ldc * 4);
      be.f32(out, M * ldc).fill(sentinel);
      if (kind === 'NT') be.matmulNT(out, ap, bp, M, N, K, lda, ldb, ldc);
      else be.matmulNN(out, ap, bp, M, N, K, lda, ldb, ldc);
      return be.f32(out, M * ldc).slice();
    } finally {
      be.release(m);
    }
  };
  const got = run(wasm, a, b);
  const want = run(ref, a, b);
  const mag = run(ref, a.map(Math.abs), b.map(Math.abs));
  const g = gamma(K);
  // Padding columns between rows (n ≥ N) must be left untouched: both keep the sentinel there.
  const s = compare(got, want, (i) => (i % ldc < N ? g * mag[i] + 1e-30 : 1e-30));
  note(`matmul_${kind.toLowerCase()}_f32`, s);
  expect(s.ratio, describeStat(`matmul${kind} M=${M} N=${N} K=${K} lda=${lda} ldb=${ldb} ldc=${ldc}`, s, got, want)).toBeLessThanOrEqual(1);
  return s;
}

/** Both builds, always registered: the relaxed one skips (with the reason printed) where the
 *  engine does not validate relaxed SIMD (Node 20; Node >= 22, Deno and Chromium do). */
const BUILDS = ['baseline', 'relaxed'] as const;
const SKIP_RELAXED = skipWithout(relaxedSimd());

for (const simd of BUILDS) describe.skipIf(simd === 'relaxed' && SKIP_RELAXED)(`${simd} build`, () => {
  beforeAll(async () => {
    wasm = await createWasmBackend({ simd });
    build = simd;
    report.clear();
    expect(wasm.name).toBe(simd === 'relaxed' ? 'wasm-relaxed-simd' : 'wasm-simd');
  });

  describe('linear_f32 (packed x·Wᵀ + b)', () => {
    it('sweeps T, IN and OUT across tile boundaries', () => {
      let seed = 1;
      for (const T of SIZES) linearCase(T, 19, 13, seed++);
      for (const IN of SIZES) linearCase(6, IN, 17, seed++);
      for (const OUT of SIZES) linearCase(5, 21, OUT, seed++);
      // The IN = 3072 fast path with a row tail.
      linearCase(70, 3072, 13, seed++, [0, 31, 32, 33, 63, 64, 65, 68, 69]);
    });

    it('matches on the BERT-base shapes (T=128: 768→768, 768→3072, 3072→768)', () => {
      const rows = [0, 1, 2, 3, 5, 62, 63, 125, 126, 127];
      linearCase(128, 768, 768, 101, rows);
      linearCase(128, 768, 3072, 102, rows);
      linearCase(128, 3072, 768, 103, rows);
      linearCase(127, 768, 768, 104, [0, 123, 124, 125, 126]);
      printReport(['linear_f32']);
    });

    it('gives every row the same bits whatever its position in the batch (row-blocking keeps the order)', async () => {
      for (const IN of [768, 37]) {
        const T = 7, OUT = 24;
        const x = randoms(T * IN, 7), w = randoms(OUT * IN, 8), b = randoms(OUT, 9);
        const m = wasm.mark();
        const xp = put(wasm, x), wp = put(wasm, w), bp = put(wasm, b);
        const packed = wasm.alloc(wasm.packedLinearBytes(OUT, IN));
        wasm.packLinear(packed, wp, OUT, IN);
        const all = wasm.alloc(T * OUT * 4), one = wasm.alloc(OUT * 4);
        wasm.linear(all, xp, packed, bp, T, IN, OUT);
        const allRows = wasm.f32(all, T * OUT).slice();
        for (const t of [0, 3, 4, 6]) {
          // Row t alone (T = 1 takes the 1-row tile, in the batch it sat in a 4-row tile or the tail).
          wasm.linear(one, xp + t * IN * 4, packed, bp, 1, IN, OUT);
          expect(Array.from(wasm.f32(one, OUT))).toEqual(Array.from(allRows.subarray(t * OUT, (t + 1) * OUT)));
        }
        wasm.release(m);
      }
    });
  });

  describe('matmul_nt_f32 / matmul_nn_f32 (strided)', () => {
    it('sweeps M, N and K with row strides larger than the rows', () => {
      let seed = 1000;
      for (const kind of ['NT', 'NN'] as const) {
        for (const M of SIZES) matmulCase(kind, M, 6, 9, seed++);
        for (const N of SIZES) matmulCase(kind, 5, N, 11, seed++);
        for (const K of SIZES) matmulCase(kind, 6, 9, K, seed++);
      }
    });

    it('fused attention (packed K_h, V_h on the Linear tiles) matches the reference, odd sizes included', () => {
      let seed = 3000;
      for (const [NH, L, HS] of [[2, 1, 64], [3, 7, 12], [2, 9, 64], [1, 33, 20], [2, 130, 64], [12, 64, 64]]) {
        const ld = NH * HS + 5; // rows wider than the heads, as in a larger model
        const q = randoms(L * ld, seed++, -2, 2), k = randoms(L * ld, seed++, -2, 2), v = randoms(L * ld, seed++);
        const run = (be: KernelBackend): Float32Array => {
          const m = be.mark();
          try {
            const ctx = put(be, q);
            const scratch = be.alloc(be.attentionScratchBytes(NH, L, HS));
            be.attention(ctx, ctx, put(be, k), put(be, v), scratch, NH, L, HS, ld, 1 / Math.sqrt(HS));
            return be.f32(ctx, L * ld).slice();
          } finally {
            be.release(m);
          }
        };
        const got = run(wasm), want = run(ref);
        // Context values are convex combinations of V (|v| ≤ 1): absolute error, with the row padding
        // (columns ≥ NH·HS, never written) still holding q.
        const s = compare(got, want, (i) => (i % ld < NH * HS ? 2e-6 : 1e-30));
        note('attention_f32', s);
        expect(s.ratio, describeStat(`attention NH=${NH} L=${L} HS=${HS} ld=${ld}`, s, got, want)).toBeLessThanOrEqual(1);
      }
      printReport(['attention_f32']);
    });

    it('fused attention with scores spread over hundreds (probabilities below e^-64 flushed) matches the reference', () => {
      // Integer |q|, |k| ≤ 10 with HS = 64: the scores are exact in f32 (|Q·Kᵀ| ≤ 6400, scale 1/8), so
      // their rounding does not swamp the comparison, and they span up to ±800: most probabilities of
      // a row fall below e^-64 (flushed to 0 by the wasm kernel) or below FLT_MIN.
      const NH = 2, L = 70, HS = 64, ld = NH * HS;
      const q = randoms(L * ld, 4100, -10, 10).map(Math.round), k = randoms(L * ld, 4101, -10, 10).map(Math.round);
      const v = randoms(L * ld, 4102);
      const run = (be: KernelBackend): Float32Array => {
        const m = be.mark();
        try {
          const ctx = be.alloc(L * ld * 4);
          be.attention(ctx, put(be, q), put(be, k), put(be, v), be.alloc(be.attentionScratchBytes(NH, L, HS)), NH, L, HS, ld, 0.125);
          return be.f32(ctx, L * ld).slice();
        } finally {
          be.release(m);
        }
      };
      const got = run(wasm), want = run(ref);
      const s = compare(got, want, () => 2e-6);
      note('attention_f32', s);
      expect(s.ratio, describeStat('attention, wide scores', s, got, want)).toBeLessThanOrEqual(1);
    });

    it('matches on the attention shapes (per head: L=128, HS=64, strides C=768)', () => {
      // scores[L, L] = Q_h · K_hᵀ with Q, K rows 768 apart; context_h = probs · V_h.
      matmulCase('NT', 128, 128, 64, 2001, [768 - 64, 768 - 64, 0]);
      matmulCase('NN', 128, 64, 128, 2002, [0, 768 - 64, 768 - 64]);
      matmulCase('NT', 37, 37, 64, 2003, [768 - 64, 768 - 64, 0]);
      matmulCase('NN', 37, 64, 37, 2004, [0, 768 - 64, 768 - 64]);
      printReport(['matmul_nt_f32', 'matmul_nn_f32']);
    });
  });

  describe('softmax_rows_f32', () => {
    it('matches the reference with scale and an additive mask; masked columns are exactly 0', () => {
      let seed = 3000;
      for (const cols of SIZES) {
        const rows = 3;
        const x = randoms(rows * cols, seed++, -8, 8);
        const mask = new Float32Array(cols);
        for (let c = 0; c < cols; c++) mask[c] = c % 5 === 1 ? -Infinity : c % 7 === 3 ? -3.4028234663852886e38 : c % 3 === 0 ? -1.5 : 0;
        const run = (be: KernelBackend): Float32Array => {
          const m = be.mark();
          const xp = put(be, x), mp = put(be, mask);
          be.softmaxRows(xp, mp, rows, cols, 0.125);
          const out = be.f32(xp, rows * cols).slice();
          be.release(m);
          return out;
        };
        const got = run(wasm), want = run(ref);
        const s = compare(got, want, () => 2e-7);
        note('softmax_rows_f32', s);
        expect(s.ratio, describeStat(`softmax cols=${cols}`, s, got, want)).toBeLessThanOrEqual(1);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let c = 0; c < cols; c++) {
            const p = got[r * cols + c];
            if (mask[c] === -Infinity || (mask[c] < -1e38 && cols > 1 && mask.some((v) => v > -1e30))) {
              expect(p, `masked column ${c} of row ${r} (cols ${cols})`).toBe(0);
            }
            sum += p;
          }
          if (mask.some((v) => v !== -Infinity)) expect(Math.abs(sum - 1), `row ${r} sum`).toBeLessThan(1e-5);
        }
      }
      printReport(['softmax_rows_f32']);
    });

    it('handles no mask (pointer 0), all -∞ rows (zeros), all-finfo.min rows (uniform) and NaN', () => {
      for (const be of [wasm, ref]) {
        const m = be.mark();
        const cols = 6;
        const xp = put(be, new Float32Array([1, 2, 3, 4, 5, 6]));
        be.softmaxRows(xp, 0, 1, cols, 1);
        const e = [1, 2, 3, 4, 5, 6].map((v) => Math.exp(v - 6));
        const z = e.reduce((a, v) => a + v, 0);
        Array.from(be.f32(xp, cols)).forEach((p, i) => expect(Math.abs(p - e[i] / z)).toBeLessThan(1e-7));

        const allInf = put(be, new Float32Array(cols).fill(-Infinity));
        const rowp = put(be, randoms(cols, 5));
        be.softmaxRows(rowp, allInf, 1, cols, 1);
        expect(Array.from(be.f32(rowp, cols))).toEqual(new Array(cols).fill(0));

        const allMin = put(be, new Float32Array(cols).fill(-3.4028234663852886e38));
        const rowq = put(be, randoms(cols, 6));
        be.softmaxRows(rowq, allMin, 1, cols, 1);
        Array.from(be.f32(rowq, cols)).forEach((p) => expect(Math.abs(p - 1 / cols)).toBeLessThan(1e-7));

        const withNaN = put(be, new Float32Array([0, 1, NaN, 2, 3, 4, 5, 6]));
        be.softmaxRows(withNaN, 0, 1, 8, 1);
        expect(Array.from(be.f32(withNaN, 8)).every(Number.isNaN)).toBe(true);
        be.release(m);
      }
    });
  });

  describe('layernorm_f32', () => {
    it('matches the reference (two-pass: rows with a large mean and a small spread)', () => {
      let seed = 4000;
      for (const C of SIZES) {
        const rows = 3;
        const x = randoms(rows * C, seed++, -1, 1);
        // Row 1 rides on a large offset (mean/std ≈ 500), as residual streams can: the one-pass
        // Σx² - mean² form loses everything there, the two-pass form stays within the bound below.
        for (let c = 0; c < C; c++) x[C + c] = 30 + x[C + c] * 0.1;
        const gain = randoms(C, seed++, 0.5, 1.5), beta = randoms(C, seed++, -0.5, 0.5);
        const rowStats = Array.from({ length: rows }, (_, r) => {
          const row = Array.from(x.subarray(r * C, (r + 1) * C));
          const mean = row.reduce((a, v) => a + v, 0) / C;
          const std = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / C + 1e-12);
          return { meanAbs: row.reduce((a, v) => a + Math.abs(v), 0) / C, std };
        });
        const run = (be: KernelBackend, outInPlace: boolean): Float32Array => {
          const m = be.mark();
          const xp = put(be, x), gp = put(be, gain), bp = put(be, beta);
          const out = outInPlace ? xp : be.alloc(rows * C * 4);
          be.layerNorm(out, xp, gp, bp, rows, C, 1e-12);
          const r = be.f32(out, rows * C).slice();
          be.release(m);
          return r;
        };
        const want = run(ref, false);
        for (const inPlace of [false, true]) {
          const got = run(wasm, inPlace);
          // Error model: the f32 mean is off by ≤ γ_C·mean|x|, which shifts every normalised value by
          // that over std (and the variance accordingly); plus a few roundings in the affine step.
          const s = compare(got, want, (i) => {
            const r = Math.floor(i / C), c = i % C;
            const n = Math.abs((want[i] - beta[c]) / gain[c]);
            return 4 * (gamma(C) * rowStats[r].meanAbs / rowStats[r].std + 4 * U) * (1 + n) * gain[c] + 4 * U * Math.abs(beta[c]) + 1e-30;
          });
          note('layernorm_f32', s);
          // Also the plain rows (0 and 2) alone, the case a trained model's LayerNorm inputs resemble.
          const plain = (a: Float32Array) => Float32Array.from([...a.subarray(0, C), ...a.subarray(2 * C, 3 * C)]);
          note('layernorm_f32 (rows without offset)', compare(plain(got), plain(want), () => 1));
          expect(s.ratio, describeStat(`layerNorm C=${C} inPlace=${inPlace}`, s, got, want)).toBeLessThanOrEqual(1);
        }
      }
      printReport(['layernorm_f32', 'layernorm_f32 (rows without offset)']);
    });
  });

  describe('add_f32 / dot_rows_f32', () => {
    it('add is exact (one correctly rounded f32 add per element), in place too', () => {
      for (const n of SIZES) {
        const a = randoms(n, n), b = randoms(n, n + 7, -100, 100);
        const run = (be: KernelBackend): Float32Array => {
          const m = be.mark();
          const ap = put(be, a), bp = put(be, b);
          be.addInPlace(ap, bp, n);
          be.addInPlace(bp, bp, n);
          const r = new Float32Array([...be.f32(ap, n), ...be.f32(bp, n)]);
          be.release(m);
          return r;
        };
        const got = run(wasm), want = run(ref);
        const s = compare(got, want, () => 1e-300);
        note('add_f32', s);
        expect(s.ratio, describeStat(`add n=${n}`, s, got, want)).toBeLessThanOrEqual(1);
      }
      printReport(['add_f32']);
    });

    it('dotRows matches within the dot-product bound', () => {
      let seed = 5000;
      for (const dim of SIZES) {
        for (const rows of [1, 5, 33]) {
          const mat = randoms(rows * dim, seed++), vec = randoms(dim, seed++);
          const run = (be: KernelBackend, ms: Float32Array, vs: Float32Array): Float32Array => {
            const m = be.mark();
            const mp = put(be, ms), vp = put(be, vs), out = be.alloc(rows * 4);
            be.dotRows(out, mp, vp, rows, dim);
            const r = be.f32(out, rows).slice();
            be.release(m);
            return r;
          };
          const got = run(wasm, mat, vec), want = run(ref, mat, vec);
          const mag = run(ref, mat.map(Math.abs), vec.map(Math.abs));
          const s = compare(got, want, (i) => gamma(dim) * mag[i] + 1e-30);
          note('dot_rows_f32', s);
          expect(s.ratio, describeStat(`dotRows rows=${rows} dim=${dim}`, s, got, want)).toBeLessThanOrEqual(1);
        }
      }
      printReport(['dot_rows_f32']);
    });
  });

  describe('gelu_f32 / tanh_f32 against float64', () => {
    it('the float64 erf oracle matches tabulated values', () => {
      // Abramowitz & Stegun table 7.1 / DLMF values, to 1e-15.
      const table: Array<[number, number]> = [
        [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
        [1.5, 0.9661051464753108], [2, 0.9953222650189527], [3, 0.9999779095030014],
      ];
      for (const [x, v] of table) {
        expect(Math.abs(erf64(x) - v)).toBeLessThan(2e-15);
        expect(Math.abs(erf64(-x) + v)).toBeLessThan(2e-15);
      }
      // erfc deep in the tail, relative: erfc(5) = 1.5374597944280349e-12, erfc(10) = 2.088487583762545e-45.
      expect(Math.abs(erfc64(5) / 1.5374597944280349e-12 - 1)).toBeLessThan(1e-12);
      expect(Math.abs(erfc64(10) / 2.088487583762545e-45 - 1)).toBeLessThan(1e-12);
      expect(Math.abs(erfc64(2.5) / 4.069520174449590e-4 - 1)).toBeLessThan(1e-11);
    });

    const N_SWEEP = 1 << 20;
    const extremes = [0, -0, 1e-30, -1e-30, 1.4e-45, -1.4e-45, 1e-7, -1e-7, 30, -30, 1e6, -1e6, 3.4028234663852886e38, -3.4028234663852886e38];

    function sweep(lo: number, hi: number): Float32Array {
      const xs = new Float32Array(N_SWEEP + extremes.length);
      for (let i = 0; i < N_SWEEP; i++) xs[i] = lo + ((hi - lo) * i) / (N_SWEEP - 1);
      xs.set(extremes, N_SWEEP);
      return xs;
    }

    function runInPlace(be: KernelBackend, op: 'gelu' | 'tanh', xs: Float32Array): Float32Array {
      const m = be.mark();
      const p = put(be, xs);
      be[op](p, xs.length);
      const r = be.f32(p, xs.length).slice();
      be.release(m);
      return r;
    }

    it('GELU is within 1e-6 of x·Φ(x) in float64 over [-10, 10] and extremes; exact limits', () => {
      const xs = sweep(-10, 10);
      const got = runInPlace(wasm, 'gelu', xs);
      const want = Float64Array.from(xs, gelu64);
      let maxErr = 0, worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const e = Math.abs(got[i] - want[i]);
        if (!(e <= maxErr)) { maxErr = e; worst = i; }
      }
      console.log(`[kernels] gelu_f32: max abs err vs float64 ${maxErr.toExponential(2)} at x=${xs[worst]} (${xs.length} points)`);
      expect(maxErr, `gelu at x=${xs[worst]}: got ${got[worst]}, float64 ${want[worst]}`).toBeLessThanOrEqual(1e-6);
      // The reference backend (float64 rounded once) must agree too: it is the oracle of the model tests.
      const refGot = runInPlace(ref, 'gelu', xs.subarray(0, 4096));
      refGot.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(Math.abs(want[i]) * U + 1e-45));

      const lim = runInPlace(wasm, 'gelu', new Float32Array([Infinity, -Infinity, NaN, 3.4028234663852886e38, -3.4028234663852886e38]));
      expect(lim[0]).toBe(Infinity);
      expect(lim[1]).toBe(0);
      expect(Number.isNaN(lim[2])).toBe(true);
      expect(lim[3]).toBe(3.4028234663852886e38);
      expect(lim[4]).toBe(0);
    });

    it('tanh is within 2e-7 of Math.tanh over [-20, 20] and extremes; saturates to exactly ±1; NaN-safe', () => {
      const xs = sweep(-20, 20);
      const got = runInPlace(wasm, 'tanh', xs);
      let maxErr = 0, worst = 0, maxRelSmall = 0;
      for (let i = 0; i < xs.length; i++) {
        const want = Math.tanh(xs[i]);
        const e = Math.abs(got[i] - want);
        if (!(e <= maxErr)) { maxErr = e; worst = i; }
        if (Math.abs(xs[i]) < 0.25 && want !== 0) maxRelSmall = Math.max(maxRelSmall, e / Math.abs(want));
      }
      console.log(`[kernels] tanh_f32: max abs err vs Math.tanh ${maxErr.toExponential(2)} at x=${xs[worst]}; max rel err for |x| < 0.25 ${maxRelSmall.toExponential(2)}`);
      expect(maxErr, `tanh at x=${xs[worst]}`).toBeLessThanOrEqual(2e-7);
      // Small arguments keep their relative accuracy (no 1 - e cancellation): a few ulp.
      expect(maxRelSmall).toBeLessThanOrEqual(4 * U);
      const lim = runInPlace(wasm, 'tanh', new Float32Array([Infinity, -Infinity, NaN, 9.5, -9.5, 50, -50, -0, 1e-40]));
      expect(Array.from(lim.subarray(0, 2))).toEqual([1, -1]);
      expect(Number.isNaN(lim[2])).toBe(true);
      expect(Array.from(lim.subarray(3, 7))).toEqual([1, -1, 1, -1]);
      expect(Object.is(lim[7], -0)).toBe(true);
      expect(lim[8]).toBe(Math.fround(1e-40));
    });
  });

  describe('guard and arena', () => {
    it('rejects a pointer past the heap, misaligned or negative sizes, and aliasing with KernelError', () => {
      for (const be of [wasm, ref]) {
        const m = be.mark();
        const a = be.alloc(64 * 4), b = be.alloc(64 * 4), out = be.alloc(64 * 4);
        const past = be.mark(); // first byte after the live arena
        const code = (fn: () => void): string => {
          try {
            fn();
          } catch (e) {
            expect(e).toBeInstanceOf(KernelError);
            return (e as KernelError).code;
          }
          return 'no error';
        };
        expect(code(() => be.addInPlace(past, a, 4))).toBe('KERNEL_BAD_POINTER');
        expect(code(() => be.addInPlace(a, b, 65 * 2))).toBe('KERNEL_BAD_POINTER');
        expect(code(() => be.gelu(2 ** 32 - 16, 4))).toBe('KERNEL_BAD_POINTER');
        expect(code(() => be.gelu(8, 1))).toBe('KERNEL_BAD_POINTER'); // below the heap
        expect(code(() => be.tanh(a + 2, 1))).toBe('KERNEL_BAD_POINTER'); // misaligned
        expect(code(() => be.gelu(a, -1))).toBe('KERNEL_BAD_SIZE');
        expect(code(() => be.gelu(a, 1.5))).toBe('KERNEL_BAD_SIZE');
        expect(code(() => be.gelu(a, NaN))).toBe('KERNEL_BAD_SIZE');
        expect(code(() => be.matmulNT(out, a, b, 4, 4, 4, 2, 4, 4))).toBe('KERNEL_BAD_SIZE'); // lda < K
        expect(code(() => be.matmulNN(out, a, b, 8, 8, 8, 8, 8, 8 * 9))).toBe('KERNEL_BAD_POINTER'); // out too short
        expect(code(() => be.matmulNN(a + 16, a, b, 4, 4, 4, 4, 4, 4))).toBe('KERNEL_OVERLAP');
        expect(code(() => be.linear(a, a, b, out, 2, 4, 4))).toBe('KERNEL_OVERLAP');
        expect(code(() => be.layerNorm(a + 4, a, b, out, 1, 8, 1e-12))).toBe('KERNEL_OVERLAP');
        expect(code(() => be.layerNorm(a, a, b, out, 1, 8, -1))).toBe('KERNEL_BAD_SIZE');
        expect(code(() => be.softmaxRows(a, past, 1, 4, 1))).toBe('KERNEL_BAD_POINTER');
        expect(code(() => be.f32(past, 1))).toBe('KERNEL_BAD_POINTER');
        expect(code(() => be.release(past + 16))).toBe('KERNEL_BAD_RELEASE');
        expect(code(() => be.alloc(2 ** 32))).toBe('KERNEL_OUT_OF_MEMORY');
        expect(code(() => be.alloc(-1))).toBe('KERNEL_BAD_SIZE');
        // After a release, the freed region is past the heap again.
        be.release(m);
        expect(code(() => be.gelu(a, 4))).toBe('KERNEL_BAD_POINTER');
      }
    });

    it('grows the memory on demand and keeps regions 16-byte aligned', async () => {
      const be = await createBackend('wasm');
      const before = be.memory.buffer.byteLength;
      const p = be.alloc(before + 3);
      const q = be.alloc(5);
      expect(p % 16).toBe(0);
      expect(q % 16).toBe(0);
      expect(q - p).toBe(Math.ceil((before + 3) / 16) * 16);
      expect(be.memory.buffer.byteLength).toBeGreaterThanOrEqual(q + 16);
      be.f32(q, 1)[0] = 1.5; // the view is valid after the growth
      expect(be.f32(q, 1)[0]).toBe(1.5);
      const arena = new Arena(new WebAssembly.Memory({ initial: 1 }), 1000);
      expect(arena.base).toBe(1008);
      expect(arena.alloc(0)).toBe(1008);
    });

    it('fails clearly on bytes that are not the kernels', async () => {
      await expect(createWasmBackend({ wasmBytes: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) })).rejects.toMatchObject({
        code: 'KERNEL_LOAD_FAILED',
      });
      await expect(createWasmBackend({ wasmBytes: new Uint8Array([1, 2, 3]) })).rejects.toBeInstanceOf(KernelError);
    });
  });
});
