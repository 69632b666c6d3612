// The bi-encoder on the tiny fixtures (real BERTs, hidden 64) against tiny-golden.json: the seed
// similarities and the 40×40 retrieval scores within 1e-5 of float64 PyTorch, exact-search top-10
// equal to the golden ranking for all 40 queries, a mismatched pair refused; plus the similarity
// arithmetic (top-k against a full sort, SIMD exact search against float64 cosine).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BiEncoder, BiEncoderError, MODEL_CARD_EXAMPLE } from '../src/bi-encoder.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { loadBiEncoder, resolveModelDir } from '../src/node/bi-encoder.js';
import { cosine, ExactSearch, topK } from '../src/search/similarity.js';
import { serializeIndex, VectorIndex } from '../src/search/vector-index.js';

const FIX = 'test/fixtures';
const golden = JSON.parse(readFileSync(join(FIX, 'tiny-golden.json'), 'utf8')) as {
  texts: string[];
  seed_similarity_f64: number[];
  retrieval: { queries: string[]; passages: string[]; scores_f64: number[][] };
};

function filesOf(dir: string) {
  const read = (name: string) => readFileSync(join(FIX, dir, name));
  return {
    config: read('config.json'),
    vocab: read('vocab.txt'),
    tokenizerConfig: read('tokenizer_config.json'),
    specialTokensMap: read('special_tokens_map.json'),
    tokenizerJson: read('tokenizer.json'),
    weights: read('model.safetensors'),
  };
}

/** Indices of `row` sorted best first (ties: lower index first), as the golden ranking. */
function ranking(row: number[]): number[] {
  return row.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
}

let bi: BiEncoder;
beforeAll(async () => {
  bi = await BiEncoder.fromFiles(
    { question: filesOf('tiny-question'), context: filesOf('tiny-context') },
    { names: { question: 'tiny-question', context: 'tiny-context' } },
  );
});
afterAll(() => bi?.dispose());

describe('BiEncoder on the tiny fixtures', () => {
  it('embeds the model card example as the golden texts do, and scores it within 1e-5', async () => {
    expect([golden.texts[0], ...golden.texts.slice(1, 4)]).toEqual([MODEL_CARD_EXAMPLE.query, ...MODEL_CARD_EXAMPLE.passages]);
    const [scores] = await bi.score([MODEL_CARD_EXAMPLE.query], [...MODEL_CARD_EXAMPLE.passages]);
    const errors = scores.map((s, i) => Math.abs(s - golden.seed_similarity_f64[i]));
    console.log(`seed similarities (tiny): ours ${scores.map((s) => s.toFixed(7)).join(', ')}; max |ours − f64| ${Math.max(...errors).toExponential(2)}`);
    for (const e of errors) expect(e).toBeLessThanOrEqual(1e-5);
    expect(bi.dimension).toBe(64);
    expect(bi.identity.context?.name).toBe('tiny-context');
    expect(bi.identity.context?.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bi.identity.context?.fingerprint).not.toBe(bi.identity.question?.fingerprint);
  });

  it('scores all 40 × 40 retrieval pairs within 1e-5 (cosine) and dot = cosine × norms', async () => {
    const { queries, passages, scores_f64 } = golden.retrieval;
    const q = await bi.encodeQueries(queries);
    const p = await bi.encodePassages(passages);
    const scores = await bi.score(q, p);
    let worst = 0;
    for (let i = 0; i < queries.length; i++) {
      for (let j = 0; j < passages.length; j++) worst = Math.max(worst, Math.abs(scores[i][j] - scores_f64[i][j]));
    }
    console.log(`retrieval scores (tiny, 1600 pairs): max |ours − f64| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    const dots = await bi.score(q.slice(0, 2), p.slice(0, 3), { metric: 'dot' });
    const norm = (v: Float32Array) => Math.hypot(...v);
    expect(dots[1][2]).toBeCloseTo(scores[1][2] * norm(q[1]) * norm(p[2]), 5);
    // Texts and vectors give the same answer.
    const fromText = await bi.score([queries[3]], [passages[7]]);
    expect(fromText[0][0]).toBeCloseTo(scores[3][7], 6);
  });

  it('search over an index returns the golden top-10 for every query, with the golden scores', async () => {
    const { queries, passages, scores_f64 } = golden.retrieval;
    const vectors = await bi.encodePassages(passages);
    const index = VectorIndex.fromBytes(serializeIndex({
      meta: bi.indexMeta(),
      dimension: bi.dimension,
      vectors,
      ids: passages.map((_, i) => `p${i}`),
      texts: passages,
    }), 'tiny.kidx');
    let worst = 0;
    for (let qi = 0; qi < queries.length; qi++) {
      const hits = await bi.search(queries[qi], index, 10);
      const expected = ranking(scores_f64[qi]).slice(0, 10);
      expect(hits.map((h) => h.id), `query ${qi}`).toEqual(expected.map((i) => `p${i}`));
      hits.forEach((h, r) => {
        expect(h.text).toBe(passages[expected[r]]);
        worst = Math.max(worst, Math.abs(h.score - scores_f64[qi][expected[r]]));
      });
    }
    console.log(`exact search (tiny, SIMD dotRows): 40/40 top-10 rankings equal; max |score − f64| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    // searchMany: the 40 queries scored together (texts, then their vectors) give the same golden
    // top-10 and scores, and an empty batch nothing.
    const many = await bi.searchMany(queries, index, 10);
    const byVectors = await bi.searchMany(await bi.encodeQueries(queries), index, 10);
    expect(byVectors).toEqual(many);
    many.forEach((hits, qi) => {
      const expected = ranking(scores_f64[qi]).slice(0, 10);
      expect(hits.map((h) => h.id), `searchMany query ${qi}`).toEqual(expected.map((i) => `p${i}`));
      hits.forEach((h, r) => expect(Math.abs(h.score - scores_f64[qi][expected[r]])).toBeLessThanOrEqual(1e-5));
    });
    expect(await bi.searchMany([], index, 10)).toEqual([]);
    await expect(bi.searchMany(['고혈압', ' '], index, 3)).rejects.toMatchObject({ code: 'EMPTY_QUERY' });
    await expect(bi.searchMany(['고혈압', vectors[0]] as never, index, 3)).rejects.toMatchObject({ code: 'BI_ENCODER_BAD_INPUT' });
    // An index stamped with another context model is refused.
    const foreign = VectorIndex.fromBytes(serializeIndex({
      meta: { context_model: bi.identity.question!, question_model: null, pooling: 'pooler', max_length: 512 },
      dimension: 64, vectors: vectors.slice(0, 2), ids: ['a', 'b'], texts: ['a', 'b'],
    }), 'foreign.kidx');
    await expect(bi.search(queries[0], foreign, 3)).rejects.toMatchObject({ code: 'INDEX_MODEL_MISMATCH' });
  });

  it('refuses a question/context pair whose dimensions differ, with a typed error', async () => {
    const attempt = BiEncoder.fromFiles({ question: filesOf('tiny-question'), context: filesOf('tiny-odd-f16') });
    await expect(attempt).rejects.toBeInstanceOf(BiEncoderError);
    await expect(attempt).rejects.toMatchObject({
      code: 'BI_ENCODER_DIMENSION_MISMATCH',
      message: expect.stringMatching(/gives 64-dimensional vectors but the context encoder .* gives 36/),
    });
  });
});

describe('Node loading', () => {
  it('loads from folders with the same results as from bytes', async () => {
    const fromDirs = await loadBiEncoder({ question: join(FIX, 'tiny-question'), context: join(FIX, 'tiny-context') });
    try {
      expect(fromDirs.identity.context?.fingerprint).toBe(bi.identity.context?.fingerprint);
      const [a] = await fromDirs.score([golden.texts[0]], golden.texts.slice(1, 4));
      const [b] = await bi.score([golden.texts[0]], golden.texts.slice(1, 4));
      expect(a).toEqual(b);
    } finally {
      fromDirs.dispose();
    }
  });

  it('resolves hub ids under weights/ and names kmed download when a model is missing', () => {
    expect(() => resolveModelDir('question', { model: 'snumin44/medical-biencoder-ko-bert-question', weightsRoot: 'no-such-root' }))
      .toThrow(/question model folder no-such-root\/medical-biencoder-ko-bert-question not found: run `kmed download snumin44\/medical-biencoder-ko-bert-question`/);
    // A library error names library options, never a CLI flag (the CLI adds --context-model itself).
    expect(() => resolveModelDir('context', { model: 'no/such-dir/here' })).toThrow(/give a Hugging Face model folder as the context model/);
    expect(() => resolveModelDir('context', { model: 'no/such-dir/here' })).not.toThrow(/--/);
    expect(() => resolveModelDir('context', { model: join(FIX, 'tokenizer') })).toThrow(/has no config\.json/);
    expect(resolveModelDir('context', { model: 'me/tiny-context', weightsRoot: FIX })).toBe(join(FIX, 'tiny-context'));
  });
});

describe('similarity arithmetic', () => {
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;

  it('top-k equals a full stable sort, ties by lower index', () => {
    for (const n of [0, 1, 5, 100, 1000]) {
      // Rounded scores make many ties.
      const scores = Array.from({ length: n }, () => Math.round(rand() * 20) / 20);
      for (const k of [0, 1, 3, 10, n, n + 5]) {
        const expected = ranking(scores).slice(0, k);
        expect(topK(scores, k).map((s) => s.index)).toEqual(expected);
      }
    }
  });

  it('exact search (reference backend dotRows) matches float64 cosine, rows across chunk tails', () => {
    const backend = createReferenceBackend();
    for (const [rows, dim] of [[1, 1], [33, 7], [257, 64], [5, 768]]) {
      const matrix = Array.from({ length: rows }, () => Float32Array.from({ length: dim }, rand));
      matrix[0].fill(0); // a zero vector scores 0, not NaN
      const search = ExactSearch.create(backend, rows, dim, (dst, row0, n) => {
        for (let r = 0; r < n; r++) dst.set(matrix[row0 + r], r * dim);
      });
      const q = Float32Array.from({ length: dim }, rand);
      const ours = search.scoreAll(q);
      let worst = 0;
      matrix.forEach((row, r) => (worst = Math.max(worst, Math.abs(ours[r] - cosine(q, row)))));
      expect(worst).toBeLessThan(1e-6);
      expect(ours[0]).toBe(0);
      expect(() => search.scoreAll(new Float32Array(dim + 1))).toThrow(/dimensions/);
      search.dispose();
    }
  });
});
