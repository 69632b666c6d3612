// Lower precision (issue 5, item 4): the int8 and f16 kernels against their scalar reference, and
// whole models loaded with dtype 'int8' / 'f16' against f32.
// - int8 kernels: the wasm and reference backends must agree bit for bit (same integer sums, same
//   f32 operations in the same order), over sizes that run every tile and tail; and stay within
//   quantization error of the f32 Linear. Zero, tiny, NaN and ∞ rows behave as documented.
// - f16: every one of the 65536 patterns widens exactly; narrowing rounds to nearest even.
// - models: pooler cosine int8 vs f32 >= 0.999 on every text of tiny-golden.json (3 models) and
//   synthetic-base-golden.json (both seeds, generated here by the synthetic rule); f16 vs f32 too.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { bertForward } from '../src/model/bert.js';
import type { BertParams } from '../src/model/bert-params.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig, type BertConfig } from '../src/model/config.js';
import { createBackend, KernelError, type KernelBackend } from '../src/kernels/index.js';
import { f32BitsToF16Bits, f16Table, quantizeRowsU7 } from '../src/kernels/reference-lowp.js';
import { Encoder } from '../src/encoder.js';
import { numel, f16BitsToF32Bits } from '../src/formats/safetensors.js';
import { bertTensorSpecs, syntheticTensorSource } from '../src/model/synthetic.js';
import { loadBertParams, loadBertParamsFromTensors } from '../src/model/weights.js';
import { cosine, diff, ErrorTable } from './helpers/compare.js';
import { mulberry32 } from './helpers/random-text.js';

const wasm = await createBackend('wasm');
/** The relaxed build (Node 24's 'auto') quantizes GELU outputs to 7 bits with a zero point and
 *  multiplies them with the relaxed dot; the reference mirrors whichever build runs. */
const u7 = wasm.name === 'wasm-relaxed-simd';
const ref = await createBackend('reference', { simd: u7 ? 'relaxed' : 'baseline' });
const table = new ErrorTable();

afterAll(() => {
  console.log(`\n${table.toMarkdown('lower precision vs f32: min pooler cosine / max |Δ|')}\n`);
});

/** Fill a heap region with values from `gen`. */
function fill(be: KernelBackend, ptr: number, n: number, gen: (i: number) => number): void {
  const v = be.f32(ptr, n);
  for (let i = 0; i < n; i++) v[i] = gen(i);
}

interface Int8Case {
  T: number;
  IN: number;
  OUT: number;
  /** x[t, k] and W[n, k] (default: seeded uniform). */
  x?: (t: number, k: number) => number;
  w?: (n: number, k: number) => number;
}

/** int8 Linear of one case on `be`: the outputs, the packed weight bytes, and the f32 Linear's. */
function runInt8(be: KernelBackend, c: Int8Case): { out: Float32Array; packed: Uint8Array; f32: Float32Array } {
  const { T, IN, OUT } = c;
  const rand = mulberry32(T * 1_000_003 + IN * 1009 + OUT);
  const xs = c.x ?? (() => (rand() - 0.5) * 4);
  const ws = c.w ?? (() => rand() - 0.5);
  const m = be.mark();
  try {
    const x = be.alloc(T * IN * 4);
    const w = be.alloc(OUT * IN * 4);
    const bias = be.alloc(OUT * 4);
    const wq = be.alloc(be.packedLinearInt8Bytes(OUT, IN));
    const wf = be.alloc(be.packedLinearBytes(OUT, IN));
    const q = be.alloc(be.quantizedRowsBytes(T, IN));
    const out = be.alloc(T * OUT * 4);
    const outF = be.alloc(T * OUT * 4);
    fill(be, x, T * IN, (i) => xs(Math.floor(i / IN), i % IN));
    fill(be, w, OUT * IN, (i) => ws(Math.floor(i / IN), i % IN));
    fill(be, bias, OUT, () => rand() - 0.5);
    // Packed in two row ranges, as the loader does chunk by chunk.
    const half = Math.floor(OUT / 2);
    be.packLinearInt8(wq, w, OUT, IN, 0, half);
    be.packLinearInt8(wq, w + half * IN * 4, OUT, IN, half, OUT - half);
    be.quantizeRows(q, x, T, IN);
    be.linearInt8(out, q, wq, bias, T, IN, OUT);
    be.packLinear(wf, w, OUT, IN);
    be.linear(outF, x, wf, bias, T, IN, OUT);
    return {
      out: be.f32(out, T * OUT).slice(),
      packed: new Uint8Array(be.memory.buffer, wq, be.packedLinearInt8Bytes(OUT, IN)).slice(),
      f32: be.f32(outF, T * OUT).slice(),
    };
  } finally {
    be.release(m);
  }
}

/** Bitwise equality of two f32 arrays (NaN == NaN when the bits agree), with a located message. */
function expectSameBits(a: Float32Array, b: Float32Array, label: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad = ua.findIndex((v, i) => v !== ub[i]);
  expect(bad, bad < 0 ? '' : `${label}: [${bad}] wasm ${a[bad]} vs reference ${b[bad]}`).toBe(-1);
}

/** ‖a − b‖ / ‖b‖. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe('int8 kernels: wasm vs reference (bit for bit) and vs f32', () => {
  const cases: Int8Case[] = [];
  for (const IN of [...Array.from({ length: 33 }, (_, i) => i + 1), 767, 768, 769, 3072]) cases.push({ T: 6, IN, OUT: 7 });
  for (let T = 1; T <= 9; T++) for (const OUT of [1, 2, 3, 4, 5, 8, 9]) cases.push({ T, IN: 24, OUT });
  cases.push({ T: 33, IN: 768, OUT: 33 });
  // Rows in more than one L2 block (60 rows of 3072 per block) and a ragged last block.
  cases.push({ T: 70, IN: 3072, OUT: 5 });
  // Past 8256 inputs the activation levels shrink (2047 -> 1690 here) to keep the sums exact.
  cases.push({ T: 2, IN: 10_000, OUT: 3 });

  it.each(cases)('T=$T IN=$IN OUT=$OUT', (c) => {
    const a = runInt8(wasm, c);
    const b = runInt8(ref, c);
    expect(Buffer.from(a.packed).equals(Buffer.from(b.packed)), 'packed weight bytes').toBe(true);
    expectSameBits(a.out, b.out, `T=${c.T} IN=${c.IN} OUT=${c.OUT}`);
    // int8 weights × 12-bit activations on uniform data: ~0.4 % of the f32 result; the bound is
    // loose enough for every size (few terms average less), tight enough to catch a bad scale.
    expect(relError(a.out, a.f32)).toBeLessThan(0.02);
  });

  /**
   * The int8 Linear over geluQuantizeRows' rows — in the relaxed build 7-bit rows with a zero point
   * and the relaxed dot. The reference's GELU is float64, so the reference is given the wasm GELU's
   * outputs: its quantizer must write the same row bytes, and its linearInt8 over those bytes the
   * same outputs, bit for bit. Returns the outputs and the f32 Linear of the GELU outputs.
   */
  function checkGeluRows(c: Int8Case): { out: Float32Array; f32: Float32Array } {
    const { T, IN, OUT } = c;
    const rand = mulberry32(T * 1_000_003 + IN * 1009 + OUT + 7);
    const xs = c.x ?? (() => (rand() - 0.4) * 6);
    const m = wasm.mark();
    const mr = ref.mark();
    try {
      const qb = wasm.quantizedRowsBytes(T, IN), wb = wasm.packedLinearInt8Bytes(OUT, IN);
      const x = wasm.alloc(T * IN * 4), w = wasm.alloc(OUT * IN * 4), bias = wasm.alloc(OUT * 4);
      const wq = wasm.alloc(wb), q = wasm.alloc(qb), out = wasm.alloc(T * OUT * 4), wf = wasm.alloc(wasm.packedLinearBytes(OUT, IN)), outF = wasm.alloc(T * OUT * 4);
      fill(wasm, x, T * IN, (i) => xs(Math.floor(i / IN), i % IN));
      fill(wasm, w, OUT * IN, () => rand() - 0.5);
      fill(wasm, bias, OUT, () => rand() - 0.5);
      wasm.packLinearInt8(wq, w, OUT, IN, 0, OUT);
      wasm.geluQuantizeRows(q, x, T, IN);
      wasm.linearInt8(out, q, wq, bias, T, IN, OUT);
      wasm.packLinear(wf, w, OUT, IN);
      wasm.linear(outF, x, wf, bias, T, IN, OUT); // x holds GELU(x) now
      const rx = ref.alloc(T * IN * 4), rw = ref.alloc(OUT * IN * 4), rbias = ref.alloc(OUT * 4);
      const rwq = ref.alloc(wb), rq = ref.alloc(qb), rout = ref.alloc(T * OUT * 4);
      ref.f32(rx, T * IN).set(wasm.f32(x, T * IN));
      ref.f32(rw, OUT * IN).set(wasm.f32(w, OUT * IN));
      ref.f32(rbias, OUT).set(wasm.f32(bias, OUT));
      ref.packLinearInt8(rwq, rw, OUT, IN, 0, OUT);
      if (u7) quantizeRowsU7(ref.memory, rq, rx, T, IN);
      else ref.quantizeRows(rq, rx, T, IN);
      expect(heapBytes(ref, rwq, wb).equals(heapBytes(wasm, wq, wb)), 'packed weight bytes').toBe(true);
      expect(heapBytes(ref, rq, qb).equals(heapBytes(wasm, q, qb)), 'quantized GELU rows').toBe(true);
      ref.linearInt8(rout, rq, rwq, rbias, T, IN, OUT);
      const o = wasm.f32(out, T * OUT).slice();
      expectSameBits(o, ref.f32(rout, T * OUT).slice(), `GELU rows T=${T} IN=${IN} OUT=${OUT}`);
      return { out: o, f32: wasm.f32(outF, T * OUT).slice() };
    } finally {
      wasm.release(m);
      ref.release(mr);
    }
  }

  // The same sizes: every tile and tail of the relaxed dot's loops.
  it.each(cases)('GELU rows: T=$T IN=$IN OUT=$OUT', (c) => {
    const a = checkGeluRows(c);
    // 7-bit GELU outputs (one step ≈ (max - min)/127) against f32: ~1-2 % on uniform data.
    expect(relError(a.out, a.f32)).toBeLessThan(u7 ? 0.05 : 0.02);
  });

  it('GELU rows: zero, NaN and infinite rows give bias, NaN, NaN (either row format)', () => {
    const special = [0, NaN, Infinity];
    const c: Int8Case = { T: 6, IN: 40, OUT: 5, x: (t, k) => (t < 3 ? (k === 3 || t === 0 ? special[t] : 0.5) : Math.sin(t * k)) };
    const a = checkGeluRows(c);
    const bias = checkGeluRows({ ...c, x: () => 0 }).out.subarray(0, 5);
    expect(Array.from(a.out.subarray(0, 5)), 'zero row = bias').toEqual(Array.from(bias));
    expect(a.out.subarray(5, 15).every(Number.isNaN), 'NaN / ∞ rows give NaN').toBe(true);
    expect(a.out.subarray(15).every(Number.isFinite), 'other rows finite').toBe(true);
  });

  it('zero, tiny, NaN and infinite rows: bias, bias, NaN, NaN — other rows untouched', () => {
    const special = [0, 1e-35, NaN, Infinity];
    const c: Int8Case = { T: 6, IN: 40, OUT: 5, x: (t, k) => (t < 4 ? (k === 3 || t === 0 || t === 1 ? special[t] : 0.5) : Math.sin(t * k)) };
    const a = runInt8(wasm, c);
    const b = runInt8(ref, c);
    expectSameBits(a.out, b.out, 'special rows');
    const bias = runInt8(wasm, { ...c, x: () => 0 }).out.subarray(0, 5);
    expect(Array.from(a.out.subarray(0, 5)), 'zero row = bias').toEqual(Array.from(bias));
    expect(Array.from(a.out.subarray(5, 10)), 'tiny row = bias').toEqual(Array.from(bias));
    expect(a.out.subarray(10, 20).every(Number.isNaN), 'NaN / ∞ rows give NaN').toBe(true);
    expect(a.out.subarray(20).every(Number.isFinite), 'other rows finite').toBe(true);
    expect(relError(a.out.subarray(20), a.f32.subarray(20))).toBeLessThan(0.02);
  });

  it('a NaN weight row gives NaN in its column only; extreme values quantize to the ends', () => {
    const c: Int8Case = { T: 4, IN: 32, OUT: 6, w: (n, k) => (n === 2 && k === 5 ? NaN : n === 0 ? 1 : n === 1 ? -1 : Math.cos(n + k)), x: (t, k) => (t === 0 ? (k % 2 ? 3 : -3) : Math.sin(k + t)) };
    const a = runInt8(wasm, c);
    expectSameBits(a.out, runInt8(ref, c).out, 'NaN weight');
    for (let t = 0; t < 4; t++) {
      for (let n = 0; n < 6; n++) expect(Number.isNaN(a.out[t * 6 + n]), `row ${t} column ${n}`).toBe(n === 2);
    }
    // x row 0 = ±3 (all at ±2047), W rows 0/1 = ±1 (all at ±127): exact, so out = Σ ±3·±1 + b = b.
    const bias = runInt8(wasm, { ...c, x: () => 0 }).out;
    expect(a.out[0] - bias[0]).toBeCloseTo(0, 5);
    expect(a.out[1] - bias[1]).toBeCloseTo(0, 5);
    expect(new Int8Array(a.packed.buffer)[0]).toBe(127);
    expect(new Int8Array(a.packed.buffer)[32]).toBe(-127);
  });

  it('guards: bad pointers, row ranges and overlaps are KernelErrors', () => {
    const m = wasm.mark();
    try {
      const q = wasm.alloc(wasm.quantizedRowsBytes(2, 32));
      const w = wasm.alloc(wasm.packedLinearInt8Bytes(4, 32));
      const x = wasm.alloc(64 * 4); // last: a third row of x would end past the arena top
      const expectCode = (fn: () => void, code: string) => {
        try {
          fn();
        } catch (e) {
          expect(e).toBeInstanceOf(KernelError);
          expect((e as KernelError).code).toBe(code);
          return;
        }
        throw new Error(`expected ${code}`);
      };
      expectCode(() => wasm.quantizeRows(q, x, 3, 32), 'KERNEL_BAD_POINTER'); // x is 2 rows
      expectCode(() => wasm.quantizeRows(q + 4, x, 2, 32), 'KERNEL_BAD_POINTER'); // not 16-aligned
      expectCode(() => wasm.packLinearInt8(w, x, 4, 32, 3, 2), 'KERNEL_BAD_SIZE');
      expectCode(() => wasm.linearInt8(q, q, w, x, 2, 32, 4), 'KERNEL_OVERLAP');
      expectCode(() => wasm.f16ToF32(x, x + 2, 8), 'KERNEL_OVERLAP');
      expectCode(() => wasm.f32ToF16(x + 1, x, 8), 'KERNEL_BAD_POINTER');
      expectCode(() => wasm.linearInt8(x, q, w, x, 2, 32, 4.5), 'KERNEL_BAD_SIZE');
      expectCode(() => wasm.quantizedRowsBytes(1, 2 ** 31), 'KERNEL_BAD_SIZE');
      expectCode(() => wasm.quantizeRows(q, x, 0, 65537), 'KERNEL_BAD_SIZE'); // past the exact-sum width
    } finally {
      wasm.release(m);
    }
  });
});

/** Bits of a heap region of `bytes` at ptr (a copy). */
const heapBytes = (be: KernelBackend, ptr: number, bytes: number) => Buffer.from(new Uint8Array(be.memory.buffer, ptr, bytes).slice());

describe('fused int8 kernels: bit for bit the unfused sequence, and the reference', () => {
  // Rows with the awkward widths (a tail past the 8-float steps, C not a multiple of 16), special rows
  // (zero, NaN) and the model's widths.
  for (const [T, C] of [[5, 37], [6, 768], [3, 3072]] as const) {
    it(`layerNormQuantizeRows T=${T} C=${C} = layerNorm then quantizeRows; q = the reference's quantizeRows of it`, () => {
      const rand = mulberry32(T * 31 + C);
      const m = wasm.mark();
      const mr = ref.mark();
      try {
        const qb = wasm.quantizedRowsBytes(T, C);
        const x = wasm.alloc(T * C * 4), gamma = wasm.alloc(C * 4), beta = wasm.alloc(C * 4);
        const out = wasm.alloc(T * C * 4), q = wasm.alloc(qb), out2 = wasm.alloc(T * C * 4), q2 = wasm.alloc(qb);
        fill(wasm, x, T * C, (i) => (Math.floor(i / C) === 1 ? 0 : Math.floor(i / C) === 2 && i % C === 3 ? NaN : (rand() - 0.3) * 6));
        fill(wasm, gamma, C, () => 0.5 + rand());
        fill(wasm, beta, C, () => rand() - 0.5);
        wasm.layerNormQuantizeRows(out, q, x, gamma, beta, T, C, 1e-12);
        wasm.layerNorm(out2, x, gamma, beta, T, C, 1e-12);
        wasm.quantizeRows(q2, out2, T, C);
        expect(heapBytes(wasm, out, T * C * 4).equals(heapBytes(wasm, out2, T * C * 4)), 'f32 rows').toBe(true);
        expect(heapBytes(wasm, q, qb).equals(heapBytes(wasm, q2, qb)), 'quantized rows').toBe(true);
        // The reference quantizes the wasm LayerNorm's rows to the same bytes (its own LayerNorm is
        // float64, so its fused kernel is checked against its own two calls).
        const rx = ref.alloc(T * C * 4), rq = ref.alloc(qb), rg = ref.alloc(C * 4), rb = ref.alloc(C * 4), ro = ref.alloc(T * C * 4), rq2 = ref.alloc(qb);
        ref.f32(rx, T * C).set(wasm.f32(out, T * C));
        ref.quantizeRows(rq, rx, T, C);
        expect(heapBytes(ref, rq, qb).equals(heapBytes(wasm, q, qb)), 'reference quantizeRows of the same rows').toBe(true);
        ref.f32(rx, T * C).set(wasm.f32(x, T * C));
        ref.f32(rg, C).set(wasm.f32(gamma, C));
        ref.f32(rb, C).set(wasm.f32(beta, C));
        ref.layerNormQuantizeRows(ro, rq2, rx, rg, rb, T, C, 1e-12);
        ref.layerNorm(rx, rx, rg, rb, T, C, 1e-12);
        ref.quantizeRows(rq, rx, T, C);
        expect(heapBytes(ref, rq2, qb).equals(heapBytes(ref, rq, qb)), 'reference fused = its two calls').toBe(true);
      } finally {
        wasm.release(m);
        ref.release(mr);
      }
    });
  }

  for (const [T, IN] of [[5, 37], [4, 3072]] as const) {
    it(`geluQuantizeRows T=${T} IN=${IN} = gelu then quantizeRows (relaxed build: then the 7-bit rows)`, () => {
      const rand = mulberry32(T * 17 + IN);
      const m = wasm.mark();
      try {
        const qb = wasm.quantizedRowsBytes(T, IN);
        const x = wasm.alloc(T * IN * 4), x2 = wasm.alloc(T * IN * 4), q = wasm.alloc(qb), q2 = wasm.alloc(qb);
        fill(wasm, x, T * IN, (i) => (Math.floor(i / IN) === 1 ? 0 : (rand() - 0.4) * 8));
        wasm.f32(x2, T * IN).set(wasm.f32(x, T * IN));
        wasm.geluQuantizeRows(q, x, T, IN);
        wasm.gelu(x2, T * IN);
        wasm.quantizeRows(q2, x2, T, IN);
        expect(heapBytes(wasm, x, T * IN * 4).equals(heapBytes(wasm, x2, T * IN * 4)), 'GELU in place').toBe(true);
        if (!u7) expect(heapBytes(wasm, q, qb).equals(heapBytes(wasm, q2, qb)), 'quantized rows').toBe(true);
        const mr = ref.mark();
        try {
          const rx = ref.alloc(T * IN * 4), rq = ref.alloc(qb);
          ref.f32(rx, T * IN).set(wasm.f32(x, T * IN));
          if (u7) quantizeRowsU7(ref.memory, rq, rx, T, IN);
          else ref.quantizeRows(rq, rx, T, IN);
          expect(heapBytes(ref, rq, qb).equals(heapBytes(wasm, q, qb)), 'reference quantizeRows of the same rows').toBe(true);
        } finally {
          ref.release(mr);
        }
      } finally {
        wasm.release(m);
      }
    });
  }

  // Every tile (4×2, odd last column, 1×4 rows, 1×1) with the residual; wasm = reference bit for bit,
  // and = linearInt8 then addInPlace.
  for (const [T, IN, OUT] of [[9, 40, 7], [6, 768, 33], [70, 3072, 5]] as const) {
    it(`linearInt8Add T=${T} IN=${IN} OUT=${OUT} = linearInt8 then addInPlace, wasm = reference`, () => {
      const results = [wasm, ref].map((be) => {
        const rand = mulberry32(T * 7 + IN * 3 + OUT);
        const m = be.mark();
        try {
          const x = be.alloc(T * IN * 4), w = be.alloc(OUT * IN * 4), bias = be.alloc(OUT * 4), res = be.alloc(T * OUT * 4);
          const wq = be.alloc(be.packedLinearInt8Bytes(OUT, IN)), q = be.alloc(be.quantizedRowsBytes(T, IN));
          const out = be.alloc(T * OUT * 4), out2 = be.alloc(T * OUT * 4);
          fill(be, x, T * IN, () => (rand() - 0.5) * 4);
          fill(be, w, OUT * IN, () => rand() - 0.5);
          fill(be, bias, OUT, () => rand() - 0.5);
          fill(be, res, T * OUT, (i) => (i === 3 ? NaN : (rand() - 0.5) * 10));
          be.packLinearInt8(wq, w, OUT, IN, 0, OUT);
          be.quantizeRows(q, x, T, IN);
          be.linearInt8Add(out, q, wq, bias, res, T, IN, OUT);
          be.linearInt8(out2, q, wq, bias, T, IN, OUT);
          be.addInPlace(out2, res, T * OUT);
          expectSameBits(be.f32(out, T * OUT).slice(), be.f32(out2, T * OUT).slice(), `${be.name} fused vs unfused`);
          return be.f32(out, T * OUT).slice();
        } finally {
          be.release(m);
        }
      });
      expectSameBits(results[0], results[1], `T=${T} IN=${IN} OUT=${OUT}`);
    });
  }

  it('guards: overlaps and bad sizes of the fused kernels are KernelErrors', () => {
    const m = wasm.mark();
    try {
      const q = wasm.alloc(wasm.quantizedRowsBytes(2, 32));
      const w = wasm.alloc(wasm.packedLinearInt8Bytes(4, 32));
      const x = wasm.alloc(64 * 4);
      const out = wasm.alloc(8 * 4);
      const code = (fn: () => void) => {
        try {
          fn();
        } catch (e) {
          expect(e).toBeInstanceOf(KernelError);
          return (e as KernelError).code;
        }
        return 'none';
      };
      expect(code(() => wasm.linearInt8Add(out, q, w, x, out, 2, 32, 4))).toBe('KERNEL_OVERLAP'); // residual = out
      expect(code(() => wasm.linearInt8Add(out, q, w, x, x + 4, 2, 32, 4))).toBe('none');
      expect(code(() => wasm.layerNormQuantizeRows(x, x, x, x, x, 2, 32, 1e-12))).toBe('KERNEL_OVERLAP'); // q over x
      expect(code(() => wasm.layerNormQuantizeRows(x, q, x, out, out, 2, 32, NaN))).toBe('KERNEL_BAD_SIZE');
      expect(code(() => wasm.geluQuantizeRows(q, x, 3, 32))).toBe('KERNEL_BAD_POINTER'); // q holds 2 rows
      expect(code(() => wasm.geluQuantizeRows(q, q, 1, 16))).toBe('KERNEL_OVERLAP');
    } finally {
      wasm.release(m);
    }
  });
});

describe('f16 kernels', () => {
  it('widen all 65536 patterns exactly (NaN payloads kept), like the safetensors reader', () => {
    for (const be of [wasm, ref]) {
      const m = be.mark();
      const src = be.alloc(65536 * 2);
      const dst = be.alloc(65536 * 4);
      const h = new Uint16Array(be.memory.buffer, src, 65536);
      for (let i = 0; i < 65536; i++) h[i] = i;
      be.f16ToF32(dst, src, 65536);
      const got = new Uint32Array(be.memory.buffer, dst, 65536);
      const bad = got.findIndex((v, i) => v !== f16BitsToF32Bits(i));
      expect(bad, `${be.name}: pattern ${bad}`).toBe(-1);
      // An odd count and offset: the scalar tail.
      be.f16ToF32(dst, src + 2, 13);
      expect(Array.from(new Uint32Array(be.memory.buffer, dst, 13))).toEqual(Array.from({ length: 13 }, (_, i) => f16BitsToF32Bits(i + 1)));
      be.release(m);
    }
  });

  it('narrow to nearest even: wasm = reference on 200k patterns; the result is the nearest f16', () => {
    const rand = mulberry32(16);
    const n = 200_000;
    const bits = new Uint32Array(n);
    const edges = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0xffa00003, 0x477fe000, 0x477ff000, 0x477fefff, 0x33000000, 0x33000001, 0x33800000, 0x387fc000, 0x38800000, 0x387fe000, 0x3f801000, 0x3f803000];
    for (let i = 0; i < n; i++) bits[i] = i < edges.length ? edges[i] : (rand() * 2 ** 32) >>> 0;
    const outs: Uint16Array[] = [];
    for (const be of [wasm, ref]) {
      const m = be.mark();
      const src = be.alloc(n * 4);
      const dst = be.alloc(n * 2);
      new Uint32Array(be.memory.buffer, src, n).set(bits);
      be.f32ToF16(dst, src, n);
      outs.push(new Uint16Array(be.memory.buffer, dst, n).slice());
      be.release(m);
    }
    const bad = outs[0].findIndex((v, i) => v !== outs[1][i]);
    expect(bad, `pattern 0x${bits[bad]?.toString(16)}: wasm ${outs[0][bad]} vs reference ${outs[1][bad]}`).toBe(-1);
    const f = new Float32Array(bits.buffer);
    const table16 = f16Table();
    for (let i = 0; i < n; i++) {
      const v = f[i];
      const hBits = outs[0][i];
      if (Number.isNaN(v)) {
        expect(Number.isNaN(table16[hBits])).toBe(true);
        continue;
      }
      const got = table16[hBits];
      if (Math.abs(v) >= 65520) {
        expect(got).toBe(Math.sign(v) * Infinity);
        continue;
      }
      // Neighbours one f16 step either way (same sign): none may be closer; on a tie, even wins.
      for (const nb of [hBits - 1, hBits + 1]) {
        if ((nb & 0x7fff) >= 0x7c00 || (nb & 0x8000) !== (hBits & 0x8000) || nb < 0) continue;
        const dGot = Math.abs(v - got);
        const dNb = Math.abs(v - table16[nb]);
        expect(dGot <= dNb, `0x${bits[i].toString(16)} -> ${hBits}, ${nb} is closer`).toBe(true);
        if (dGot === dNb) expect(hBits & 1, `tie at 0x${bits[i].toString(16)}`).toBe(0);
      }
    }
    expect(f32BitsToF16Bits(0x3c00_0000)).toBe(0x2000); // 2^-7
  });
});

/** Poolers of every id sequence, one forward pass each. */
function poolers(be: KernelBackend, params: BertParams, config: BertConfig, seqs: number[][]): Float32Array[] {
  return seqs.map((ids) => {
    const inputIds = Int32Array.from(ids);
    return bertForward(be, params, config, { B: 1, T: ids.length, inputIds, tokenTypeIds: new Int32Array(ids.length), lengths: [ids.length] }).poolerOutput;
  });
}

function compare(label: string, dtype: string, ours: Float32Array[], f32: ArrayLike<number>[]): number {
  let minCos = 1;
  let maxAbs = 0;
  ours.forEach((p, i) => {
    minCos = Math.min(minCos, cosine(p, f32[i]));
    maxAbs = Math.max(maxAbs, diff(p, f32[i]).maxAbs);
  });
  table.note(label, `${dtype} min cosine`, 1 - minCos);
  table.note(label, `${dtype} max |Δ|`, maxAbs);
  console.log(`${label} ${dtype}: min pooler cosine vs f32 ${minCos.toFixed(6)}, max |Δ| ${maxAbs.toExponential(2)}`);
  return minCos;
}

describe('tiny models: dtype int8 / f16 vs f32 poolers on every tiny-golden text', () => {
  const golden = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')) as { models: Record<string, { ids: number[] }[]> };
  it.each(['tiny-question', 'tiny-context', 'tiny-odd-f16'])('%s', async (model) => {
    const dir = `test/fixtures/${model}`;
    const config = parseBertConfig(readFileSync(`${dir}/config.json`, 'utf8'), 'config.json');
    const bytes = readFileSync(`${dir}/model.safetensors`);
    const seqs = golden.models[model].map((m) => m.ids);
    const load = async (dtype: 'f32' | 'f16' | 'int8') => {
      const be = await createBackend('wasm');
      return { be, params: loadBertParams(bytesSource(bytes, model), config, be, { dtype }) };
    };
    const f32 = await load('f32');
    const base = poolers(f32.be, f32.params, config, seqs);
    const int8 = await load('int8');
    expect(compare(model, 'int8', poolers(int8.be, int8.params, config, seqs), base)).toBeGreaterThanOrEqual(0.999);
    const f16 = await load('f16');
    expect(compare(model, 'f16', poolers(f16.be, f16.params, config, seqs), base)).toBeGreaterThanOrEqual(0.99999);
    // Stored sizes: Linear weights and word embeddings at ~1/4 and 1/2 (the rest stays f32).
    expect(int8.params.summary.heapBytes).toBeLessThan(0.35 * f32.params.summary.heapBytes);
    expect(f16.params.summary.heapBytes).toBeLessThan(0.55 * f32.params.summary.heapBytes);
  });

  it('Encoder.fromFiles({dtype: "int8"}) embeds like f32; an unknown dtype is refused', async () => {
    const dir = 'test/fixtures/tiny-question';
    const files = { config: readFileSync(`${dir}/config.json`), vocab: readFileSync(`${dir}/vocab.txt`), weights: readFileSync(`${dir}/model.safetensors`) };
    const a = await Encoder.fromFiles(files);
    const b = await Encoder.fromFiles(files, { dtype: 'int8' });
    const texts = ['고혈압 환자의 약물 치료', 'Amlodipine 5mg 1일 1회'];
    const [ea, eb] = [await a.embed(texts), await b.embed(texts)];
    ea.forEach((v, i) => expect(cosine(v, eb[i])).toBeGreaterThanOrEqual(0.999));
    await expect(Encoder.fromFiles(files, { dtype: 'int4' as 'int8' })).rejects.toThrow(/int4/);
  });
});

describe('synthetic klue/bert-base-shaped models: int8 vs f32 poolers on every golden text', () => {
  const golden = JSON.parse(readFileSync('test/fixtures/synthetic-base-golden.json', 'utf8')) as {
    outputs: Record<string, { ids: number[]; pooler_f32: number[] }[]>;
  };
  const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
  const f32Bytes = bertTensorSpecs(config).reduce((s, spec) => s + numel(spec.shape) * 4, 0);

  // The f32 poolers are PyTorch's (golden pooler_f32; ours agree within 1e-4, test/parity-synthetic),
  // so only the lower-precision model is generated here.
  it.each([
    ['question', 'int8'],
    ['context', 'int8'],
    ['context', 'f16'],
  ] as const)('%s seed, %s', async (seed, dtype) => {
    const be = await createBackend('wasm');
    const t0 = performance.now();
    const params = loadBertParamsFromTensors(syntheticTensorSource(seed, config), config, be, { dtype });
    const t1 = performance.now();
    const items = golden.outputs[seed];
    const ours = poolers(be, params, config, items.map((it) => it.ids));
    console.log(`synthetic ${seed} ${dtype}: load ${((t1 - t0) / 1000).toFixed(1)} s, ${items.length} texts ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    const min = compare(`synthetic ${seed}`, dtype, ours, items.map((it) => it.pooler_f32));
    expect(min).toBeGreaterThanOrEqual(dtype === 'int8' ? 0.999 : 0.99999);
    // Never the model in f32: the whole heap — weights (~0.25 / 0.5 of f32), load scratch and the
    // activations of a 512-token pass (~30 MB) — stays under 0.35 (int8) / 0.62 (f16) of the f32 weights.
    expect(be.memory.buffer.byteLength).toBeLessThan((dtype === 'int8' ? 0.35 : 0.62) * f32Bytes);
  });
});
