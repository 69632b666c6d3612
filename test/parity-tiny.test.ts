// Parity of the whole model with Hugging Face transformers on the three tiny checkpoints
// (test/fixtures/tiny-golden.json, float64 references): token ids, every last_hidden_state value,
// pooler / cls / mean, the seed similarities and the 40×40 retrieval ranking. Runs on the wasm
// backend, with the scalar reference backend as a cross-check on a few texts. When a value is off,
// the layer-by-layer states of texts 0-3 name the first layer that goes wrong.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../src/node/encoder.js';
import { poolSequence, type Pooling } from '../src/model/pooling.js';
import { cosine, diff, ErrorTable, topK } from './helpers/compare.js';

interface GoldenItem {
  ids: number[];
  hidden_f64: number[];
  pooler_f64: number[];
  pooler_f32: number[];
  cls_f64: number[];
  mean_f64: number[];
  max_abs_err_f32_hidden: number;
}
interface Golden {
  texts: string[];
  long_truncated_at: number;
  models: Record<string, GoldenItem[]>;
  layers_f64: Record<string, number[][][]>;
  seed_similarity_f64: number[];
  retrieval: { queries: string[]; passages: string[]; scores_f64: number[][] };
}

const golden: Golden = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8'));
const MODELS = ['tiny-question', 'tiny-context', 'tiny-odd-f16'] as const;
const TOL = 2e-5;
const SIM_TOL = 1e-5;
const table = new ErrorTable();
const encoders = new Map<string, Encoder>();

beforeAll(async () => {
  for (const m of MODELS) encoders.set(m, await Encoder.fromDirectory(`test/fixtures/${m}`));
});

afterAll(() => {
  // 'wasm-simd' or 'wasm-relaxed-simd': the build `simd: 'auto'` picked on this runtime.
  console.log(`\n${table.toMarkdown(`max |ours − f64| (${encoders.values().next().value?.backend.name})`)}\n`);
});

/** Which layer first leaves the tolerance, for texts 0-3 (layers_f64), as a sentence. */
function firstBadLayer(encoder: Encoder, model: string): string {
  const states = golden.layers_f64[model];
  const found: string[] = [];
  for (let t = 0; t < states.length; t++) {
    const ids = golden.models[model][t].ids;
    let bad = -1;
    let detail = '';
    encoder.forwardIds([ids], {
      onHiddenState: (k, hidden) => {
        if (bad >= 0) return;
        const d = diff(hidden.subarray(0, ids.length * encoder.dimension), states[t][k]);
        if (!(d.maxAbs <= TOL)) {
          bad = k;
          detail = d.detail;
        }
      },
    });
    found.push(bad < 0 ? `text ${t}: all layers within ${TOL}` : `text ${t}: first bad ${bad === 0 ? 'embeddings' : `layer ${bad}`} (${detail})`);
  }
  return found.join('\n');
}

describe.each(MODELS)('%s vs transformers (f64)', (model) => {
  const items = () => golden.models[model];

  it('gives the golden token ids, truncating the long passages at 512', () => {
    const enc = encoders.get(model)!;
    expect(golden.long_truncated_at).toBe(512);
    let truncated = 0;
    golden.texts.forEach((text, i) => {
      const ids = Array.from(enc.tokenizer.encode(text, { maxLength: golden.long_truncated_at }).ids);
      expect(ids, `text ${i}`).toEqual(items()[i].ids);
      if (ids.length === golden.long_truncated_at) truncated++;
    });
    expect(truncated).toBe(2);
  });

  it('matches last_hidden_state, pooler, cls and mean for all 38 texts (one text per forward)', () => {
    const enc = encoders.get(model)!;
    const C = enc.dimension;
    const failures: string[] = [];
    items().forEach((g, i) => {
      const out = enc.forwardIds([g.ids]);
      const L = g.ids.length;
      const checks: Array<[string, ArrayLike<number>, number[]]> = [
        ['hidden', out.lastHiddenState.subarray(0, L * C), g.hidden_f64],
        ['pooler', poolSequence('pooler', out, 0, L), g.pooler_f64],
        ['cls', poolSequence('cls', out, 0, L), g.cls_f64],
        ['mean', poolSequence('mean', out, 0, L), g.mean_f64],
      ];
      for (const [name, ours, ref] of checks) {
        const d = diff(ours, ref);
        table.note(model, name, d.maxAbs);
        if (!(d.maxAbs <= TOL)) failures.push(`text ${i} ${name}: ${d.detail}`);
      }
      table.note(model, 'PyTorch f32 hidden', g.max_abs_err_f32_hidden);
    });
    if (failures.length) {
      throw new Error(`${failures.length} outputs off by more than ${TOL}:\n${failures.slice(0, 8).join('\n')}\n` +
        `layer by layer:\n${firstBadLayer(enc, model)}`);
    }
  });

  it('embed() in sorted, padded batches gives the same vectors (pooler, cls, mean)', async () => {
    const enc = encoders.get(model)!;
    const ref: Record<Pooling, keyof GoldenItem> = { pooler: 'pooler_f64', cls: 'cls_f64', mean: 'mean_f64' };
    for (const pooling of ['pooler', 'cls', 'mean'] as const) {
      const vecs = await enc.embed(golden.texts, { pooling, batchSize: 8 });
      expect(vecs).toHaveLength(golden.texts.length);
      vecs.forEach((v, i) => {
        const d = diff(v, items()[i][ref[pooling]] as number[]);
        table.note(model, `embed ${pooling}`, d.maxAbs);
        expect(d.maxAbs, `text ${i} ${pooling}: ${d.detail}`).toBeLessThanOrEqual(TOL);
      });
    }
  });

  it('agrees with the reference (scalar) backend on a few texts', async () => {
    const refEnc = await Encoder.fromDirectory(`test/fixtures/${model}`, { backend: 'reference' });
    const wasmEnc = encoders.get(model)!;
    const C = wasmEnc.dimension;
    for (const i of [0, 1, 36]) {
      const g = items()[i];
      const a = refEnc.forwardIds([g.ids]);
      const b = wasmEnc.forwardIds([g.ids]);
      const L = g.ids.length;
      const dr = diff(a.lastHiddenState.subarray(0, L * C), g.hidden_f64);
      table.note(model, 'reference hidden', dr.maxAbs);
      expect(dr.maxAbs, `reference backend, text ${i}: ${dr.detail}`).toBeLessThanOrEqual(TOL);
      const dw = diff(b.lastHiddenState.subarray(0, L * C), a.lastHiddenState.subarray(0, L * C));
      table.note(model, 'wasm vs reference', dw.maxAbs);
      expect(dw.maxAbs, `wasm vs reference, text ${i}: ${dw.detail}`).toBeLessThanOrEqual(TOL);
    }
    refEnc.dispose();
  });
});

describe('bi-encoder similarities (tiny-question × tiny-context, pooler, cosine)', () => {
  it('reproduces the seed similarities', async () => {
    const [q] = await encoders.get('tiny-question')!.embed([golden.texts[0]]);
    const notes = await encoders.get('tiny-context')!.embed(golden.texts.slice(1, 4));
    notes.forEach((n, i) => {
      const err = Math.abs(cosine(q, n) - golden.seed_similarity_f64[i]);
      table.note('similarity', 'seed', err);
      expect(err, `note ${i + 1}`).toBeLessThanOrEqual(SIM_TOL);
    });
  });

  it('ranks the 40 retrieval passages identically (top 10) for each of the 40 queries', async () => {
    const { queries, passages, scores_f64 } = golden.retrieval;
    const qv = await encoders.get('tiny-question')!.embed(queries);
    const pv = await encoders.get('tiny-context')!.embed(passages);
    expect(qv).toHaveLength(40);
    expect(pv).toHaveLength(40);
    qv.forEach((q, qi) => {
      const ours = pv.map((p) => cosine(q, p));
      const d = diff(ours, scores_f64[qi]);
      table.note('similarity', 'retrieval', d.maxAbs);
      expect(d.maxAbs, `query ${qi}: ${d.detail}`).toBeLessThanOrEqual(SIM_TOL);
      expect(topK(ours, 10), `query ${qi} ranking`).toEqual(topK(scores_f64[qi], 10));
    });
  });
});
