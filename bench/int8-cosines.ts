// Owns: the per-text precision table of dtype 'int8' (issue 12, item 4): pooler cosine against f32 on
// every golden text of the tiny models (tiny-golden.json; f32 = our f32 pass) and the full-size
// synthetic model (synthetic-base-golden.json; f32 = PyTorch's pooler_f32), for the kernel build
// `--simd` picks (baseline: 12-bit activations everywhere; relaxed: 7-bit GELU rows into FFN-out).
// test/int8.test.ts enforces the minimum (≥ 0.999); this prints every text.
//
//   npx tsx bench/int8-cosines.ts [--simd baseline|relaxed|auto]   (relaxed needs Node ≥ 22)
import { readFileSync } from 'node:fs';
import { bertForward } from '../src/model/bert.js';
import type { BertParams } from '../src/model/bert-params.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig, type BertConfig } from '../src/model/config.js';
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import type { SimdChoice } from '../src/kernels/kernel-module.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { loadBertParams, loadBertParamsFromTensors } from '../src/model/weights.js';
import { cosine } from '../src/search/similarity.js';

const args = process.argv.slice(2);
const simd = (args.includes('--simd') ? args[args.indexOf('--simd') + 1] : 'auto') as SimdChoice;


function poolers(be: KernelBackend, params: BertParams, config: BertConfig, seqs: number[][]): Float32Array[] {
  return seqs.map((ids) => bertForward(be, params, config, { B: 1, T: ids.length, inputIds: Int32Array.from(ids), tokenTypeIds: new Int32Array(ids.length), lengths: [ids.length] }).poolerOutput);
}

const rows: string[] = [];
let build = '';
const tiny = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')) as { models: Record<string, { ids: number[] }[]> };
for (const model of ['tiny-question', 'tiny-context', 'tiny-odd-f16']) {
  const dir = `test/fixtures/${model}`;
  const config = parseBertConfig(readFileSync(`${dir}/config.json`, 'utf8'), 'config.json');
  const bytes = readFileSync(`${dir}/model.safetensors`);
  const seqs = tiny.models[model].map((m) => m.ids);
  const run = async (dtype: 'f32' | 'int8') => {
    const be = await createBackend('wasm', { simd });
    build = be.name;
    return poolers(be, loadBertParams(bytesSource(bytes, model), config, be, { dtype }), config, seqs);
  };
  const f32 = await run('f32');
  const int8 = await run('int8');
  rows.push(`| ${model} | ${int8.map((p, i) => cosine(p, f32[i]).toFixed(6)).join(' ')} |`);
}
const golden = JSON.parse(readFileSync('test/fixtures/synthetic-base-golden.json', 'utf8')) as { outputs: Record<string, { ids: number[]; pooler_f32: number[] }[]> };
const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
for (const seed of ['question', 'context'] as const) {
  const be = await createBackend('wasm', { simd });
  const params = loadBertParamsFromTensors(syntheticTensorSource(seed, config), config, be, { dtype: 'int8' });
  const items = golden.outputs[seed];
  const ours = poolers(be, params, config, items.map((it) => it.ids));
  rows.push(`| synthetic ${seed} | ${ours.map((p, i) => cosine(p, items[i].pooler_f32).toFixed(6)).join(' ')} |`);
}
console.log(`int8 pooler cosine vs f32 per golden text, build ${build}, ${process.version}\n`);
console.log('| model | cosine per text (fixture order) |\n|---|---|');
for (const r of rows) console.log(r);
