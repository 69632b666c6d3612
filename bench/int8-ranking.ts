// Owns: the retrieval side of the int8 precision bar: for every fixture question
// (test/fixtures/corpus/queries.txt, embedded with the synthetic question model) the top-10 of the
// 40 fixture passages (passages.txt, synthetic context model) by dot product, with dtype 'int8'
// against f32, on the kernel build `--simd` picks. Prints how many questions keep the same top-10
// (same passages in the same order) and, for each one that does not, the first differing rank with
// the f32 scores of the two passages there (the gap the quantization error crossed).
// Does not own: the pooler cosine bar (test/int8.test.ts, bench/int8-cosines.ts).
//
//   npx tsx bench/int8-ranking.ts [--simd baseline|relaxed|auto]   (relaxed needs Node ≥ 22)
import { readFileSync } from 'node:fs';
import { parseBertConfig } from '../src/model/config.js';
import { Encoder } from '../src/encoder.js';
import { createBackend } from '../src/kernels/index.js';
import type { SimdChoice } from '../src/kernels/kernel-module.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { loadBertParamsFromTensors } from '../src/model/weights.js';

const args = process.argv.slice(2);
const simd = (args.includes('--simd') ? args[args.indexOf('--simd') + 1] : 'auto') as SimdChoice;
const TOP = 10;

const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
const tok = (name: string) => readFileSync(`test/fixtures/tokenizer/${name}`);
const tokenizer = BertTokenizer.fromFiles({
  vocab: tok('vocab.txt'),
  tokenizerConfig: tok('tokenizer_config.json'),
  specialTokensMap: tok('special_tokens_map.json'),
  tokenizerJson: tok('tokenizer.json'),
});
const lines = (file: string) => readFileSync(`test/fixtures/corpus/${file}`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
const questions = lines('queries.txt');
const passages = lines('passages.txt');

/** Embeddings of `texts` by the synthetic `seed` model in `dtype` (one model in memory at a time). */
async function embed(seed: 'question' | 'context', dtype: 'f32' | 'int8', texts: string[]): Promise<Float32Array[]> {
  const backend = await createBackend('wasm', { simd });
  const params = loadBertParamsFromTensors(syntheticTensorSource(seed, config), config, backend, { dtype });
  const encoder = new Encoder({ config, tokenizer, backend, params });
  const out = (await encoder.embed(texts)) as Float32Array[];
  backend.dispose();
  return out;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
/** Passage indices by descending score, and the scores. */
function ranking(q: Float32Array, ps: Float32Array[]): { order: number[]; scores: number[] } {
  const scores = ps.map((p) => dot(q, p));
  return { order: scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b), scores };
}

const f32 = { q: await embed('question', 'f32', questions), p: await embed('context', 'f32', passages) };
const int8 = { q: await embed('question', 'int8', questions), p: await embed('context', 'int8', passages) };
let same = 0;
let sameSet = 0;
let sameTop1 = 0;
const gaps: number[] = [];
const spreads: number[] = [];
const errors: number[] = [];
const diffs: string[] = [];
for (let i = 0; i < questions.length; i++) {
  const a = ranking(f32.q[i], f32.p);
  const b = ranking(int8.q[i], int8.p);
  const top = new Set(a.order.slice(0, TOP));
  if (b.order.slice(0, TOP).every((p) => top.has(p))) sameSet++;
  if (a.order[0] === b.order[0]) sameTop1++;
  // How crowded the f32 top-10 is (rank 1 minus rank 10), and how far int8 moves a score.
  spreads.push(a.scores[a.order[0]] - a.scores[a.order[TOP - 1]]);
  for (let p = 0; p < passages.length; p++) errors.push(Math.abs(b.scores[p] - a.scores[p]));
  const at = a.order.slice(0, TOP).findIndex((p, r) => p !== b.order[r]);
  if (at < 0) {
    same++;
    continue;
  }
  const pf = a.order[at], pi = b.order[at];
  gaps.push(a.scores[pf] - a.scores[pi]);
  diffs.push(`| ${i + 1} | ${at + 1} | #${pf + 1} | #${pi + 1} | ${a.scores[pf].toFixed(4)} | ${a.scores[pi].toFixed(4)} | ${(a.scores[pf] - a.scores[pi]).toExponential(2)} |`);
}
const med = (xs: number[]) => (xs.length ? xs.slice().sort((x, y) => x - y)[xs.length >> 1] : NaN);
console.log(`int8 vs f32 top-${TOP} of ${passages.length} passages, ${questions.length} questions (synthetic question/context models, build ${simd}, ${process.version}):`);
console.log(`${same} top-${TOP} lists identical in order, ${sameSet} identical as sets, ${sameTop1} with the same top-1.`);
console.log(`f32 scores: median spread of a top-${TOP} (rank 1 - rank ${TOP}) ${med(spreads).toFixed(3)}; median |int8 - f32| score ${med(errors).toFixed(3)}; median f32 gap at the first differing rank ${med(gaps).toFixed(3)}.\n`);
if (diffs.length) {
  console.log('| question | first differing rank | f32 passage | int8 passage | f32 score of f32 passage | f32 score of int8 passage | f32 gap |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const d of diffs) console.log(d);
}
