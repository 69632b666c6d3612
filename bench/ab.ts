// Owns: in-process, interleaved A/B comparisons on the full-size synthetic model (klue/bert-base
// shape), for decisions on a shared, noisy machine: the two variants alternate run by run in one
// process and the table gives each one's median and the ratio of medians (and the median of the
// per-pair ratios, which cancels slow phases of the machine that hit both of a pair).
//   rows   — pooler embeddings with the last layer on row 0 only (rows: 'first') vs every row;
//   simd   — the relaxed-SIMD build vs the baseline build (needs Node >= 22; two encoders, each with
//            its own f32 weights: a bench, not the library, so it may hold both);
//   linear — one Linear call (T×768·(OUT×768)ᵀ, T = 128) of the relaxed vs the baseline build, many
//            short alternating calls (a few ms each: more of them fall inside one scheduler slice);
//   short  — tokens/s of 18-token passages (corpus.txt, embed's own batching) vs 128-token batches
//            of 8 (issue 12 item 3: short passages at ≥ 85 % of the 128-token rate).
// Run: npx tsx bench/ab.ts <rows|simd|short> [pairs=15] [threads=1]
// Does not own: the end-to-end table against the peers (bench/e2e.ts) or kernel rates (kernels.ts).
import { readFileSync } from 'node:fs';
import type { BertInput } from '../src/model/bert.js';
import { parseBertConfig } from '../src/model/config.js';
import { Encoder } from '../src/encoder.js';
import { createBackend } from '../src/kernels/index.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { loadBertParamsFromTensors } from '../src/model/weights.js';
import { median } from './median.js';

const mode = process.argv[2] ?? 'rows';
const PAIRS = Number(process.argv[3] ?? 15);
const THREADS = Number(process.argv[4] ?? 1);

const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
const tok = (name: string) => readFileSync(`test/fixtures/tokenizer/${name}`);
const tokenizer = BertTokenizer.fromFiles({
  vocab: tok('vocab.txt'),
  tokenizerConfig: tok('tokenizer_config.json'),
  specialTokensMap: tok('special_tokens_map.json'),
  tokenizerJson: tok('tokenizer.json'),
});

async function encoder(simd: 'baseline' | 'relaxed' | 'auto' = 'auto'): Promise<Encoder> {
  const backend = await createBackend('wasm', { threads: THREADS, simd });
  const params = loadBertParamsFromTensors(syntheticTensorSource('context', config), config, backend);
  return new Encoder({ config, tokenizer, backend, params });
}

/** Seeded ids of B sequences of T tokens ([CLS] … [SEP]), as bench/e2e's inputs. */
function batch(B: number, T: number, seed = 7): BertInput {
  const ids = new Int32Array(B * T);
  let s = seed;
  for (let i = 0; i < B * T; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    ids[i] = i % T === 0 ? 2 : i % T === T - 1 ? 3 : 1000 + (s % 20000);
  }
  return { B, T, inputIds: ids, tokenTypeIds: new Int32Array(B * T), lengths: new Array(B).fill(T) };
}

/** Alternate a and b PAIRS times (after one warm-up each); seconds per call of each. */
async function ab(a: () => unknown, b: () => unknown): Promise<{ a: number[]; b: number[] }> {
  const ta: number[] = [], tb: number[] = [];
  await a();
  await b();
  for (let i = 0; i < PAIRS; i++) {
    // Alternate which goes first, so neither always follows the other.
    for (const [fn, out] of i % 2 ? ([[b, tb], [a, ta]] as const) : ([[a, ta], [b, tb]] as const)) {
      const t = performance.now();
      await fn();
      out.push((performance.now() - t) / 1000);
    }
  }
  return { a: ta, b: tb };
}

function report(title: string, nameA: string, nameB: string, r: { a: number[]; b: number[] }, unitA = 1, unitB = 1, unit = 's'): void {
  const ma = median(r.a), mb = median(r.b);
  const pairRatios = r.a.map((x, i) => (r.b[i] / unitB) / (x / unitA));
  console.log(`\n### ${title} (Node ${process.versions.node}, ${THREADS} thread(s), ${PAIRS} interleaved pairs)\n`);
  console.log(`| variant | median ${unit} | min |`);
  console.log('|---|---:|---:|');
  console.log(`| ${nameA} | ${(ma / unitA).toPrecision(4)} | ${(Math.min(...r.a) / unitA).toPrecision(4)} |`);
  console.log(`| ${nameB} | ${(mb / unitB).toPrecision(4)} | ${(Math.min(...r.b) / unitB).toPrecision(4)} |`);
  console.log(`\n${nameB} / ${nameA}: ratio of medians ${((mb / unitB) / (ma / unitA)).toFixed(3)}, median of pair ratios ${median(pairRatios).toFixed(3)}`);
}

if (mode === 'rows') {
  const enc = await encoder();
  const be = enc.backend;
  const input = batch(1, 128);
  const run = (rows: 'all' | 'first') => () => enc.forwardIds([Array.from(input.inputIds)], { rows });
  report(`pooler pass, 1×128 tokens, ${be.name}`, "every row (rows: 'all')", "last layer row 0 only (rows: 'first')", await ab(run('all'), run('first')));
  enc.dispose();
} else if (mode === 'simd') {
  const base = await encoder('baseline');
  const relaxed = await encoder('relaxed');
  const ids = [Array.from(batch(1, 128).inputIds)];
  report('pooler pass, 1×128 tokens', base.backend.name, relaxed.backend.name, await ab(() => base.forwardIds(ids), () => relaxed.forwardIds(ids)));
  const ids512 = [Array.from(batch(1, 512).inputIds)];
  report('pooler pass, 1×512 tokens', base.backend.name, relaxed.backend.name, await ab(() => base.forwardIds(ids512), () => relaxed.forwardIds(ids512)));
  base.dispose();
  relaxed.dispose();
} else if (mode === 'linear') {
  const { createWasmBackend } = await import('../src/kernels/wasm.js');
  const T = 128, IN = 768;
  for (const OUT of [768, 3072]) {
    const calls = [] as Array<() => void>;
    const names: string[] = [];
    for (const simd of ['baseline', 'relaxed'] as const) {
      const be = await createWasmBackend({ simd });
      const x = be.alloc(T * IN * 4), w = be.alloc(OUT * IN * 4), b = be.alloc(OUT * 4);
      const packed = be.alloc(be.packedLinearBytes(OUT, IN)), out = be.alloc(T * OUT * 4);
      be.f32(x, T * IN).forEach((_, i, a) => (a[i] = Math.sin(i)));
      be.f32(w, OUT * IN).forEach((_, i, a) => (a[i] = Math.cos(i) * 0.05));
      be.packLinear(packed, w, OUT, IN);
      calls.push(() => be.linear(out, x, packed, b, T, IN, OUT));
      names.push(be.name);
    }
    for (let i = 0; i < 20; i++) calls.forEach((c) => c()); // tier-up
    const r = await ab(calls[0], calls[1]);
    const flops = 2 * T * IN * OUT;
    report(`Linear ${T}×${IN}·(${OUT}×${IN})ᵀ, one thread`, names[0], names[1], r);
    const p10 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 10)];
    console.log(`GFLOP/s at the 10th-percentile time: ${names[0]} ${(flops / p10(r.a) / 1e9).toFixed(1)}, ${names[1]} ${(flops / p10(r.b) / 1e9).toFixed(1)}`);
  }
} else if (mode === 'short') {
  const enc = await encoder();
  const lines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter(Boolean).slice(0, 40);
  const shortTokens = lines.reduce((n, t) => n + tokenizer.encode(t, { maxLength: 512 }).ids.length, 0);
  const long = batch(8, 128);
  const longIds = Array.from({ length: 8 }, (_, b) => Array.from(long.inputIds.subarray(b * 128, (b + 1) * 128)));
  const longTokens = 8 * 128;
  const r = await ab(() => enc.embedIds(longIds), () => enc.embed(lines));
  report(`tokens/s: 8×128-token batches vs ${lines.length} corpus lines (${(shortTokens / lines.length).toFixed(1)} tokens on average), ${enc.backend.name}`,
    '8×128 (s per 1k tokens)', 'corpus lines (s per 1k tokens)', r, longTokens / 1000, shortTokens / 1000, 's per 1k tokens');
  enc.dispose();
} else {
  throw new Error(`unknown mode ${mode}: rows | simd | short`);
}
