// Search sessions over index files (src/search/index-search.ts, search-sessions.ts):
// - resident and streaming give the same hits, bit for bit, whatever the window (rows straddling
//   windows, rows wider than a window), for cosine and dot (dot = the cosine of the unit rows × norm);
// - searchMany: a query's results do not depend on the batch around it, and equal search()'s within
//   the f32 dot-product bound (another summation order), ids equal where scores are not tied;
// - f16 and int8 scan rows re-ranked in f32: recall@10 ≥ 0.99 against f32 exact on clustered
//   vectors, every returned score the exact session's bits;
// - 2 kernel threads give the 1-thread bits; the top-k selector against a sort (ties, NaN, k bounds);
// - a streamed file changed in place is refused on the next pass; bad queries are typed errors.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSearchSession, searchSession, searchSessionMany } from '../src/bi-encoder.js';
import '../src/node/index.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { IndexSearch } from '../src/search/index-search.js';
import { serializeIndex } from '../src/search/index-encoder.js';
import type { SearchSession } from '../src/search/similarity.js';
import { TopKSelector } from '../src/search/top-k.js';
import { VectorIndex, type IndexMeta, type ScanDtype } from '../src/search/vector-index.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-index-search-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const meta: IndexMeta = {
  context_model: { name: 'ctx', fingerprint: 'sha256:' + 'a'.repeat(64) },
  question_model: null,
  pooling: 'pooler',
  max_length: 512,
};
const U = 2 ** -24;

/** Seeded clustered vectors: `centroids` random directions, each row one of them plus noise, with
 *  lengths from 0.5 to 2 (so dot and cosine rank differently). */
function clustered(n: number, D: number, centroids: number, seed: number, noise = 0.3): Float32Array[] {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const cs = Array.from({ length: centroids }, () => Float32Array.from({ length: D }, gauss));
  return Array.from({ length: n }, () => {
    const c = cs[Math.floor(rand() * centroids)];
    const scale = 0.5 + 1.5 * rand();
    return Float32Array.from({ length: D }, (_, d) => (c[d] + noise * gauss()) * scale);
  });
}

function indexOf(vectors: Float32Array[], D: number, scan: ScanDtype | null = null): VectorIndex {
  const bytes = serializeIndex({ meta, dimension: D, vectors, ids: vectors.map((_, i) => `d${i}`), texts: vectors.map((_, i) => `text ${i}`), scan });
  return VectorIndex.fromBytes(bytes, `mem-${scan ?? 'f32'}.kidx`);
}

async function withSession<T>(index: VectorIndex, options: Parameters<typeof openSearchSession>[1], fn: (s: SearchSession) => T): Promise<T> {
  const session = await openSearchSession(index, options);
  try {
    return fn(session);
  } finally {
    session.dispose();
  }
}

describe('resident and streaming sessions', () => {
  it('give the same hits bit for bit, with rows straddling windows and rows wider than a window', async () => {
    for (const [n, D] of [[3000, 24], [40, 17000]] as const) {
      const vectors = clustered(n, D, 20, n + D);
      const index = indexOf(vectors, D);
      const queries = clustered(5, D, 20, n + D).map((v, i) => (i === 4 ? new Float32Array(D) : v)); // the same centroids; one zero query
      for (const metric of ['cosine', 'dot'] as const) {
        const resident = await withSession(index, { metric, mode: 'resident' }, (s) => queries.map((q) => s.search(q, 25)));
        for (const windowBytes of [65536, 3 * 65536, 4 << 20]) {
          const streaming = await withSession(index, { metric, mode: 'streaming', windowBytes }, (s) => queries.map((q) => s.search(q, 25)));
          expect(streaming, `${n}×${D} ${metric} window ${windowBytes}`).toEqual(resident);
        }
        // dot scores are the cosine of the unit rows scaled by the stored norm.
        if (metric === 'dot') {
          const cosine = await withSession(index, { metric: 'cosine', mode: 'resident' }, (s) => s.scoreAll(queries[0]));
          const dot = await withSession(index, { metric: 'dot', mode: 'streaming' }, (s) => s.scoreAll(queries[0]));
          const qn = Math.sqrt(queries[0].reduce((a, x) => a + x * x, 0));
          for (const i of [0, 1, n - 1]) expect(Math.abs(dot[i] - cosine[i] * index.norm(i) * qn)).toBeLessThanOrEqual(1e-5 * index.norm(i) * qn);
        }
        expect(resident[4].every((h) => h.score === 0)).toBe(true); // a zero query scores 0 everywhere
      }
    }
  }, 60_000);

  it('searchMany: results independent of the batch, equal to search() within the dot-product bound', async () => {
    const D = 64;
    const vectors = clustered(2000, D, 30, 7);
    const index = indexOf(vectors, D);
    const queries = clustered(9, D, 30, 8);
    for (const mode of ['resident', 'streaming'] as const) {
      await withSession(index, { mode, windowBytes: 65536 }, (s) => {
        const batch = s.searchMany(queries, 10);
        const pairs = queries.map((q, i) => s.searchMany([q, queries[(i + 1) % queries.length]], 10)[0]);
        expect(pairs, `${mode}: a query's results with another query`).toEqual(batch);
        queries.forEach((q, i) => {
          const single = s.search(q, 10);
          single.forEach((hit, j) => {
            expect(Math.abs(batch[i][j].score - hit.score)).toBeLessThanOrEqual(2 * D * U);
            const tied = Math.abs((single[j + 1]?.score ?? -Infinity) - hit.score) < 4 * D * U || (j > 0 && Math.abs(single[j - 1].score - hit.score) < 4 * D * U);
            if (!tied) expect(batch[i][j].index, `${mode} query ${i} rank ${j}`).toBe(hit.index);
          });
        });
        expect(s.searchMany([], 10)).toEqual([]);
      });
    }
    // More queries than one pass holds (256): the same results as pass-sized batches.
    const many = Array.from({ length: 300 }, (_, i) => queries[i % queries.length]);
    await withSession(index, { mode: 'resident' }, (s) => {
      const all = s.searchMany(many, 3);
      expect(all.slice(256, 265)).toEqual(s.searchMany(many.slice(256, 265), 3));
    });
  }, 60_000);

  it('f16 and int8 scan rows, re-ranked in f32: recall@10 ≥ 0.99 against exact, every score the exact bits', async () => {
    const D = 96;
    const vectors = clustered(6000, D, 200, 11, 0.15);
    const queries = clustered(60, D, 200, 11, 0.2);
    const exactIndex = indexOf(vectors, D);
    const exact = await withSession(exactIndex, { mode: 'resident' }, (s) => s.searchMany(queries, 10));
    for (const scan of ['f16', 'int8'] as const) {
      const index = indexOf(vectors, D, scan);
      for (const mode of ['resident', 'streaming'] as const) {
        const got = await withSession(index, { mode, windowBytes: 65536 }, (s) => {
          expect((s as IndexSearch).kind).toBe(scan);
          return s.searchMany(queries, 10);
        });
        let found = 0;
        got.forEach((hits, q) => {
          const want = new Map(exact[q].map((h) => [h.index, h.score]));
          for (const h of hits) {
            if (want.has(h.index)) {
              found++;
              expect(h.score, `${scan} ${mode} query ${q} row ${h.index}`).toBe(want.get(h.index));
            }
          }
        });
        const recall = found / (10 * queries.length);
        console.log(`${scan} scan rows (${mode}), rerank default: recall@10 against f32 exact ${recall.toFixed(4)}`);
        expect(recall).toBeGreaterThanOrEqual(0.99);
        // exact: true ignores the scan rows.
        expect(await withSession(index, { mode, exact: true }, (s) => s.searchMany(queries, 10))).toEqual(exact);
      }
    }
  }, 120_000);

  it('int8 scan rows: a batch keeps the candidates each query alone keeps (dotRowsManyI8 scores as dotRowsI8, bit for bit)', async () => {
    const D = 96;
    const index = indexOf(clustered(3000, D, 100, 21, 0.3), D, 'int8');
    const queries = clustered(11, D, 100, 22, 0.4);
    for (const mode of ['resident', 'streaming'] as const) {
      // rerank = k: the results are exactly the first pass's candidates, so a batch whose int8 scores
      // differed from one query's would show here as another row.
      await withSession(index, { mode, windowBytes: 65536, rerank: 5 }, (s) => {
        const batch = s.searchMany(queries, 5);
        queries.forEach((q, i) => {
          const alone = s.search(q, 5);
          expect(batch[i].map((h) => h.index).sort((a, b) => a - b), `${mode} query ${i}`).toEqual(alone.map((h) => h.index).sort((a, b) => a - b));
          // The f32 re-rank: dotRowsMany in a batch, dotRows alone (orders differ in the last bits).
          batch[i].forEach((h) => expect(Math.abs(h.score - alone.find((a) => a.index === h.index)!.score)).toBeLessThan(1e-6));
        });
      });
    }
  }, 60_000);

  it('2 kernel threads give the bits of 1, both modes', async () => {
    const D = 128;
    const index = indexOf(clustered(5000, D, 50, 3), D, 'int8');
    const queries = clustered(4, D, 50, 4);
    for (const mode of ['resident', 'streaming'] as const) {
      for (const exact of [true, false]) {
        const one = await withSession(index, { mode, exact, threads: 1 }, (s) => [s.searchMany(queries, 10), s.search(queries[0], 10)]);
        const two = await withSession(index, { mode, exact, threads: 2 }, (s) => [s.searchMany(queries, 10), s.search(queries[0], 10)]);
        expect(two, `${mode} exact ${exact}`).toEqual(one);
      }
    }
  }, 60_000);

  it('refuses bad queries, k and options with typed errors, and a disposed session', async () => {
    const index = indexOf(clustered(10, 8, 2, 1), 8);
    const session = await openSearchSession(index, {});
    expect(() => session.search(new Float32Array(7), 3)).toThrow(expect.objectContaining({ code: 'SIMILARITY_DIMENSION_MISMATCH' }));
    expect(() => session.searchMany([new Float32Array(8), Float32Array.of(1, NaN, 0, 0, 0, 0, 0, 0)], 3)).toThrow(/query 1 has a non-finite value \(NaN\) at dimension 1/);
    expect(() => session.search([1e39, 0, 0, 0, 0, 0, 0, 0], 3)).toThrow(expect.objectContaining({ code: 'SIMILARITY_NOT_FINITE' }));
    expect(() => session.search(new Float32Array(8), -1)).toThrow(expect.objectContaining({ code: 'SIMILARITY_BAD_K' }));
    expect(session.search(new Float32Array(8), 0)).toEqual([]);
    expect(session.search(new Float32Array(8), 50)).toHaveLength(10);
    session.dispose();
    expect(() => session.search(new Float32Array(8), 3)).toThrow(expect.objectContaining({ code: 'SIMILARITY_DISPOSED' }));
    await expect(openSearchSession(index, { mode: 'fast' as 'auto' })).rejects.toMatchObject({ code: 'SIMILARITY_BAD_MODE' });
    const scanless = await openSearchSession(index, {});
    expect(() => IndexSearch.open(index, undefined as never, { mode: 'resident', scan: true })).toThrow(expect.objectContaining({ code: 'SIMILARITY_NO_SCAN_ROWS' }));
    scanless.dispose();
  });

  it('a streamed file changed in place since it was opened is refused on the next pass', async () => {
    const path = join(dir, 'changing.kidx');
    const D = 16;
    writeFileSync(path, serializeIndex({ meta, dimension: D, vectors: clustered(100, D, 3, 5), ids: Array.from({ length: 100 }, (_, i) => `${i}`), texts: Array.from({ length: 100 }, () => 't') }));
    const source = fileSource(path);
    const index = VectorIndex.open(source);
    const session = await openSearchSession(index, { mode: 'streaming' });
    const q = clustered(1, D, 3, 5)[0];
    expect(searchSession(session, index, q, 3)).toHaveLength(3);
    appendFileSync(path, 'x');
    expect(() => searchSessionMany(session, index, [q], 3)).toThrow(expect.objectContaining({ code: 'FILE_CHANGED' }));
    session.dispose();
    source.close();
  });
});

describe('TopKSelector', () => {
  it('keeps the k best like a full sort (higher first, ties by lower row, NaN last), in runs or one by one', () => {
    let s = 99;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(rand() * 300);
      const scores = Float32Array.from({ length: n }, () => (rand() < 0.05 ? NaN : Math.round(rand() * 20) / 4)); // many ties
      const k = Math.floor(rand() * 40);
      const want = Array.from(scores, (score, index) => ({ index, score }))
        .sort((a, b) => (Number.isNaN(a.score) ? -Infinity : a.score) === (Number.isNaN(b.score) ? -Infinity : b.score) ? a.index - b.index : (Number.isNaN(b.score) ? -Infinity : b.score) - (Number.isNaN(a.score) ? -Infinity : a.score))
        .slice(0, k);
      const runs = new TopKSelector(k);
      for (let at = 0; at < n; at += 17) runs.offer(scores.subarray(at, Math.min(n, at + 17)), at);
      const single = new TopKSelector(k);
      [...scores.keys()].reverse().forEach((i) => single.push(scores[i], i));
      const norm = (xs: { index: number; score: number }[]) => xs.map((x) => [x.index, Number.isNaN(x.score) ? 'NaN' : x.score]);
      expect(norm(runs.result()), `trial ${trial}`).toEqual(norm(want));
      expect(norm(single.result()), `trial ${trial} (any order)`).toEqual(norm(want));
    }
  });
});
