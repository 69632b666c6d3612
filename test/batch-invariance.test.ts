// A sequence's output must not depend on what else is in its batch: each text embedded alone vs
// inside batches of mixed lengths (padding, different B*T row counts through the linear kernels,
// different batch sizes and orders) agrees within 1e-6 — for every pooling and for the hidden rows.
// Runs on the wasm backend, on tiny-question (C=64) and tiny-odd-f16 (C=36, HS=12, I=50).
// Also: the last layer computed for row 0 only (rows: 'first', what `pooler` and `cls` use) gives
// that row and the pooler output bit for bit as the full layer does (f32, f16, int8; 1 and 2 threads).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../src/node/encoder.js';
import { diff } from './helpers/compare.js';

const TOL = 1e-6;
const texts: string[] = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')).texts;
// Mixed lengths: short queries, edge cases of 2-4 tokens, passages of ~40 and the 512-token one.
const picked = [0, 1, 4, 7, 14, 26, 27, 36, 15, 30].map((i) => texts[i]);

describe.each(['tiny-question', 'tiny-odd-f16'])('%s: batch invariance (wasm)', (model) => {
  let enc: Encoder;
  beforeAll(async () => {
    enc = await Encoder.fromDirectory(`test/fixtures/${model}`);
  });

  it('embed: alone vs batches of 3, 4 and all, every pooling', async () => {
    let worst = 0;
    for (const pooling of ['pooler', 'cls', 'mean'] as const) {
      const alone = [];
      for (const t of picked) alone.push((await enc.embed([t], { pooling }))[0]);
      for (const batchSize of [3, 4, picked.length]) {
        const together = await enc.embed(picked, { pooling, batchSize });
        together.forEach((v, i) => {
          const d = diff(v, alone[i]);
          worst = Math.max(worst, d.maxAbs);
          expect(d.maxAbs, `${pooling}, batchSize ${batchSize}, text ${i}: ${d.detail}`).toBeLessThanOrEqual(TOL);
        });
      }
    }
    console.log(`${model}: embed alone vs batched, max |diff| = ${worst.toExponential(2)}`);
  });

  it('forwardIds: hidden rows of a sequence alone vs padded among others, in any position', () => {
    const C = enc.dimension;
    const ids = picked.map((t) => Array.from(enc.tokenizer.encode(t).ids));
    const alone = ids.map((s) => enc.forwardIds([s]));
    // Unsorted batches, so short sequences sit next to long ones and get heavy padding.
    const batches = [[0, 7, 3], [5, 1, 2, 4], [9, 8, 6, 0, 7]];
    let worst = 0;
    for (const members of batches) {
      const out = enc.forwardIds(members.map((i) => ids[i]));
      members.forEach((i, b) => {
        const L = ids[i].length;
        const mine = out.lastHiddenState.subarray(b * out.T * C, (b * out.T + L) * C);
        const d = diff(mine, alone[i].lastHiddenState.subarray(0, L * C));
        const p = diff(out.poolerOutput.subarray(b * C, (b + 1) * C), alone[i].poolerOutput);
        worst = Math.max(worst, d.maxAbs, p.maxAbs);
        expect(d.maxAbs, `batch [${members}], sequence ${i} hidden: ${d.detail}`).toBeLessThanOrEqual(TOL);
        expect(p.maxAbs, `batch [${members}], sequence ${i} pooler: ${p.detail}`).toBeLessThanOrEqual(TOL);
        expect(mine.every(Number.isFinite)).toBe(true);
      });
      expect(out.lastHiddenState.every(Number.isFinite), 'padding rows stay finite').toBe(true);
    }
    console.log(`${model}: forwardIds alone vs mixed batches, max |diff| = ${worst.toExponential(2)}`);
  });
});

/** Bit patterns, so that -0 vs 0 or two NaNs are told apart and equal means bitwise equal. */
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

describe.each([
  ['tiny-question', 'f32', 1],
  ['tiny-odd-f16', 'f16', 1],
  ['tiny-question', 'int8', 1],
  ['tiny-odd-f16', 'int8', 2],
  ['tiny-context', 'f32', 2],
  ['tiny-odd-f16', 'f32', 1, 'reference'],
] as const)('%s %s, %i thread(s): the last layer on row 0 only', (model, dtype, threads, backend = 'wasm') => {
  let enc: Encoder;
  beforeAll(async () => {
    enc = await Encoder.fromDirectory(`test/fixtures/${model}`, { dtype, threads, backend });
    return () => enc.dispose();
  });

  it("rows: 'first' gives row 0 and pooler_output bitwise as the full layer, in mixed batches", () => {
    const C = enc.dimension;
    const ids = picked.map((t) => Array.from(enc.tokenizer.encode(t).ids));
    for (const members of [[0], [6], [0, 7, 3], [5, 1, 2, 4], [9, 8, 6, 0, 7]]) {
      const batch = members.map((i) => ids[i]);
      const full = enc.forwardIds(batch);
      const first = enc.forwardIds(batch, { rows: 'first' });
      for (let b = 0; b < members.length; b++) {
        const row = (o: typeof full) => o.lastHiddenState.subarray(b * o.T * C, b * o.T * C + C);
        expect(bits(row(first)), `batch [${members}], sequence ${b}: row 0`).toEqual(bits(row(full)));
      }
      expect(bits(first.poolerOutput), `batch [${members}]: pooler`).toEqual(bits(full.poolerOutput));
      // The rows it skips are not computed: they differ from the full layer's (the test can fail).
      if (members.length > 1 || batch[0].length > 1) {
        expect(bits(first.lastHiddenState.subarray(C, 2 * C))).not.toEqual(bits(full.lastHiddenState.subarray(C, 2 * C)));
      }
    }
  });

  it('embed (pooler, cls) equals pooling the full forward pass, bit for bit', async () => {
    const C = enc.dimension;
    for (const pooling of ['pooler', 'cls'] as const) {
      const got = await enc.embed(picked, { pooling, batchSize: 4 });
      picked.forEach((t, i) => {
        const out = enc.forwardIds([Array.from(enc.tokenizer.encode(t).ids)]);
        const want = pooling === 'pooler' ? out.poolerOutput : out.lastHiddenState.subarray(0, C);
        expect(bits(got[i]), `${pooling}, text ${i}`).toEqual(bits(want));
      });
    }
  });
});
