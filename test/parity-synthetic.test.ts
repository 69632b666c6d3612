// Parity at full size (klue/bert-base shape: C=768, 12 layers, 12 heads, I=3072, 110M weights) on
// the deterministic synthetic models: the weights are generated in the test by the synthetic rule
// (src/model/synthetic.ts) straight into the wasm heap, hashed on the way (must equal the golden sha256),
// then every text of synthetic-base-golden.json (the 512-token passage included) is embedded and
// compared with transformers' float64 outputs: pooler, cls, mean and the first two hidden rows.
// One model at a time; the first is dropped before the second is generated.
// Then `embed` (whose pooler/cls passes compute the last layer on row 0 only) must give the same
// pooler and cls vectors, bit for bit, as those full passes, for the texts of up to 128 tokens.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBertConfig } from '../src/model/config.js';
import { Encoder } from '../src/encoder.js';
import { createBackend } from '../src/kernels/index.js';
import { poolSequence } from '../src/model/pooling.js';
import { f32LeBytes } from '../src/formats/safetensors.js';
import { sortedSpecs, syntheticTensorSource } from '../src/model/synthetic.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { loadBertParamsFromTensors, type TensorSource } from '../src/model/weights.js';
import { cosine, diff, ErrorTable } from './helpers/compare.js';

interface Output {
  ids: number[];
  pooler_f64: number[];
  cls_f64: number[];
  mean_f64: number[];
  hidden_rows_f64: number[];
  max_abs_err_f32_hidden: number;
  max_abs_err_f32_pooler: number;
}
interface Golden {
  sha256: Record<string, string>;
  texts: string[];
  outputs: Record<string, Output[]>;
  seed_similarity_f64: number[];
}

const golden: Golden = JSON.parse(readFileSync('test/fixtures/synthetic-base-golden.json', 'utf8'));
const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
const TOL = 1e-4;
const SIM_TOL = 1e-5;
const table = new ErrorTable();
const poolers: Record<string, Float32Array[]> = {};
/** The build `simd: 'auto'` picked on this runtime (baseline, or relaxed SIMD on Node >= 22). */
let buildName = 'wasm';

const tokFiles = (name: string) => readFileSync(`test/fixtures/tokenizer/${name}`);
const tokenizer = BertTokenizer.fromFiles({
  vocab: tokFiles('vocab.txt'),
  tokenizerConfig: tokFiles('tokenizer_config.json'),
  specialTokensMap: tokFiles('special_tokens_map.json'),
  tokenizerJson: tokFiles('tokenizer.json'),
});

/** The synthetic source, listed in sorted-name order so that loading it feeds the README's hash
 *  input (each name's UTF-8 bytes, then its f32 LE bytes) in one pass. */
function hashingSource(seed: string): { source: TensorSource; digest: () => string } {
  const inner = syntheticTensorSource(seed, config);
  const hash = createHash('sha256');
  const enc = new TextEncoder();
  const source: TensorSource = {
    name: inner.name,
    names: () => sortedSpecs(config).map((s) => s.name),
    info: (name) => inner.info(name),
    read(name, dst) {
      inner.read(name, dst);
      hash.update(enc.encode(name));
      hash.update(f32LeBytes(dst));
    },
  };
  return { source, digest: () => hash.digest('hex') };
}

afterAll(() => {
  console.log(`\n${table.toMarkdown(`synthetic base: max |ours − f64| (${buildName})`)}\n`);
});

describe.each(['question', 'context'])('synthetic %s model (klue/bert-base shape)', (seed) => {
  it('generates the golden weights and matches transformers on every text', async () => {
    const t0 = performance.now();
    const backend = await createBackend('wasm');
    buildName = backend.name;
    const { source, digest } = hashingSource(seed);
    const params = loadBertParamsFromTensors(source, config, backend);
    const tLoad = performance.now();
    expect(digest(), 'sha256 of the generated model').toBe(golden.sha256[seed]);

    const encoder = new Encoder({ config, tokenizer, backend, params });
    const items = golden.outputs[seed];
    const C = encoder.dimension;
    const failures: string[] = [];
    const full: Record<'pooler' | 'cls', Float32Array[]> = { pooler: [], cls: [] };
    poolers[seed] = [];
    golden.texts.forEach((text, i) => {
      const ids = Array.from(tokenizer.encode(text, { maxLength: 512 }).ids);
      expect(ids, `text ${i} ids`).toEqual(items[i].ids);
      const out = encoder.forwardIds([ids]);
      const L = ids.length;
      const checks: Array<[string, ArrayLike<number>, number[]]> = [
        ['pooler', poolSequence('pooler', out, 0, L), items[i].pooler_f64],
        ['cls', poolSequence('cls', out, 0, L), items[i].cls_f64],
        ['mean', poolSequence('mean', out, 0, L), items[i].mean_f64],
        ['hidden rows 0-1', out.lastHiddenState.subarray(0, 2 * C), items[i].hidden_rows_f64],
      ];
      for (const [name, ours, ref] of checks) {
        const d = diff(ours, ref);
        table.note(seed, name, d.maxAbs);
        if (!(d.maxAbs <= TOL)) failures.push(`text ${i} (${L} tokens) ${name}: ${d.detail}`);
      }
      table.note(seed, 'PyTorch f32 hidden', items[i].max_abs_err_f32_hidden);
      poolers[seed].push(poolSequence('pooler', out, 0, L));
      full.pooler.push(poolSequence('pooler', out, 0, L));
      full.cls.push(poolSequence('cls', out, 0, L));
    });
    const short = golden.texts.map((t, i) => i).filter((i) => items[i].ids.length <= 128);
    for (const pooling of ['pooler', 'cls'] as const) {
      const got = await encoder.embed(short.map((i) => golden.texts[i]), { pooling, maxLength: 512 });
      short.forEach((i, j) => {
        const same = got[j].every((x, c) => Object.is(x, full[pooling][i][c]));
        if (!same) failures.push(`text ${i}: embed ${pooling} (last layer on row 0 only) differs from the full pass: ${diff(got[j], full[pooling][i]).detail}`);
      });
    }
    encoder.dispose();
    const tEnd = performance.now();
    console.log(`synthetic ${seed}: generate+hash+load ${((tLoad - t0) / 1000).toFixed(1)} s, ` +
      `embed ${golden.texts.length} texts ${((tEnd - tLoad) / 1000).toFixed(1)} s`);
    expect(failures, failures.join('\n')).toEqual([]);
  });
});

describe('synthetic bi-encoder', () => {
  it('reproduces the three seed similarities (question query vs context notes)', () => {
    expect(poolers.question, 'both models must have run').toBeDefined();
    expect(poolers.context, 'both models must have run').toBeDefined();
    golden.seed_similarity_f64.forEach((ref, i) => {
      const err = Math.abs(cosine(poolers.question[0], poolers.context[1 + i]) - ref);
      table.note('similarity', 'seed', err);
      expect(err, `note ${i + 1}`).toBeLessThanOrEqual(SIM_TOL);
    });
  });
});
