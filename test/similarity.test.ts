// Known answers for src/search/similarity.ts, worked out by hand (or in float64 outside the
// project) rather than read from it: dot, norm, cosine and normalisation on small vectors; top-k
// order with ties and NaN; ExactSearch and StreamingSearch scores on a matrix whose cosines are
// exact float32 values, on both metrics, with every window size, and their refusals. A ranking that
// is wrong by one place, or a score normalised twice, is a silent wrong answer nobody would notice
// in an end-to-end test.
import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/kernels/reference.js';
import {
  checkMetric, cosine, dot, ExactSearch, l2Norm, normalized, normalizeInPlace, scoreMatrix, similarity, StreamingSearch, TopK, topK,
  type SearchSession,
} from '../src/search/similarity.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('vector arithmetic', () => {
  it('dot, norm and cosine of small vectors', () => {
    expect(dot([1, 2, 3], [4, 5, 6])).toBe(32);
    expect(dot([], [])).toBe(0);
    expect(l2Norm([3, 4])).toBe(5);
    expect(l2Norm([0, 0, 0])).toBe(0);
    // 32 / sqrt(14 · 77), in float64.
    expect(cosine([1, 2, 3], [4, 5, 6])).toBe(0.9746318461970762);
    expect(cosine([1, 0], [0, 2])).toBe(0);
    expect(cosine([2, 0], [-3, 0])).toBe(-1);
    expect(cosine([1, 1], [5, 5])).toBeCloseTo(1, 15);
    // A zero vector has no direction: 0 against everything, never NaN.
    expect(cosine([0, 0], [1, 2])).toBe(0);
    expect(cosine([1, 2], [0, 0])).toBe(0);
    expect(similarity([1, 2, 3], [4, 5, 6])).toBe(0.9746318461970762);
    expect(similarity([1, 2, 3], [4, 5, 6], 'dot')).toBe(32);
    expect(scoreMatrix([[1, 0], [0, 1]], [[1, 0], [1, 1], [0, 3]], 'dot')).toEqual([[1, 1, 0], [0, 1, 3]]);
  });

  it('normalisation to unit length, in place and as a copy; a zero vector stays zero', () => {
    const v = Float32Array.from([3, 4]);
    expect(normalizeInPlace(v)).toBe(v);
    expect(Array.from(v)).toEqual([0.6000000238418579, 0.800000011920929]);
    const source = [0, -2, 0];
    const copy = normalized(source);
    expect(Array.from(copy)).toEqual([0, -1, 0]);
    expect(source).toEqual([0, -2, 0]);
    expect(Array.from(normalizeInPlace(new Float32Array(3)))).toEqual([0, 0, 0]);
  });

  it('refuses vectors of different lengths and unknown metrics', () => {
    expect(codeOf(() => dot([1, 2], [1, 2, 3]))).toBe('SIMILARITY_DIMENSION_MISMATCH');
    expect(codeOf(() => cosine([1], [1, 2]))).toBe('SIMILARITY_DIMENSION_MISMATCH');
    expect(codeOf(() => checkMetric('euclidean'))).toBe('SIMILARITY_BAD_METRIC');
    expect(codeOf(() => scoreMatrix([[1]], [[1]], 'l2' as 'dot'))).toBe('SIMILARITY_BAD_METRIC');
    expect(checkMetric('dot')).toBe('dot');
    expect(checkMetric('cosine')).toBe('cosine');
  });
});

describe('top-k', () => {
  it('best first, ties in input order, NaN last, k larger than the scores or 0', () => {
    const scores = [0.5, 0.9, 0.9, NaN, -1, 0.7];
    expect(topK(scores, 3)).toEqual([{ index: 1, score: 0.9 }, { index: 2, score: 0.9 }, { index: 5, score: 0.7 }]);
    expect(topK(scores, 10).map((s) => s.index)).toEqual([1, 2, 5, 0, 4, 3]);
    expect(topK(scores, 0)).toEqual([]);
    expect(topK([], 5)).toEqual([]);
    expect(topK([-Infinity, NaN, -Infinity], 3).map((s) => s.index)).toEqual([0, 1, 2]);
  });

  it('a streaming TopK fed in chunks equals a full sort, on 300 seeded score lists with many ties', () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let t = 0; t < 300; t++) {
      const n = Math.floor(next() * 60);
      const k = Math.floor(next() * 70);
      // Few distinct values, so ties are common; an occasional NaN.
      const scores = Array.from({ length: n }, () => (next() < 0.05 ? NaN : Math.floor(next() * 8) / 4 - 1));
      const want = scores
        .map((score, index) => ({ index, score }))
        .sort((a, b) => (Number.isNaN(a.score) ? -Infinity : a.score) === (Number.isNaN(b.score) ? -Infinity : b.score)
          ? a.index - b.index
          : (Number.isNaN(b.score) ? -Infinity : b.score) - (Number.isNaN(a.score) ? -Infinity : a.score))
        .slice(0, k);
      const top = new TopK(k);
      for (let at = 0; at < n; at += 7) top.pushAll(scores.slice(at, at + 7), at);
      expect(top.result(), `case ${t}: n ${n}, k ${k}`).toEqual(want);
    }
  });

  it('refuses a negative or fractional k', () => {
    expect(codeOf(() => new TopK(-1))).toBe('SIMILARITY_BAD_K');
    expect(codeOf(() => new TopK(1.5))).toBe('SIMILARITY_BAD_K');
    expect(new TopK(0).k).toBe(0);
  });
});

describe('ExactSearch and StreamingSearch (reference kernels)', () => {
  // Rows whose cosines against [1, 0] are exact float32 values: 1, 0, 1/√2, -1, 0 (zero row), 0.6.
  const rows = [[1, 0], [0, 1], [1, 1], [-1, 0], [0, 0], [3, 4]];
  const read = (dst: Float32Array, row0: number, n: number) => dst.set(rows.slice(row0, row0 + n).flat());
  const cosines = [1, 0, 0.7071067690849304, -1, 0, 0.6000000238418579];
  const dots = [2, 0, 2, -2, 0, 6]; // against the query [2, 0], not normalised

  // One backend per session: the heap is a stack, so sessions on one backend are disposed in reverse.
  const sessions = (metric: 'cosine' | 'dot'): Array<[string, SearchSession]> => [
    ['ExactSearch', ExactSearch.create(createReferenceBackend(), rows.length, 2, read, { metric })],
    ...[1, 2, 4, 6, 100].map((windowRows): [string, SearchSession] => [
      `StreamingSearch, ${windowRows}-row window`,
      new StreamingSearch(createReferenceBackend(), rows.length, 2, read, { metric, windowBytes: windowRows * 2 * 4 }),
    ]),
  ];

  it('cosine: every row scored exactly, the query normalised as well, ranked best first', () => {
    for (const [name, session] of sessions('cosine')) {
      expect(Array.from(session.scoreAll([2, 0])), name).toEqual(cosines);
      expect(session.search([5, 0], 3), name).toEqual([{ index: 0, score: 1 }, { index: 2, score: cosines[2] }, { index: 5, score: cosines[5] }]);
      expect(session.search([0, 7], 2).map((s) => s.index), name).toEqual([1, 5]);
      expect(session.search([1, 0], 0), name).toEqual([]);
      expect(session.search([1, 0], 100).map((s) => s.index), name).toEqual([0, 2, 5, 1, 4, 3]);
      session.dispose();
    }
  });

  it('dot: raw products, neither side normalised; ties keep row order', () => {
    for (const [name, session] of sessions('dot')) {
      expect(session.metric, name).toBe('dot');
      expect(Array.from(session.scoreAll([2, 0])), name).toEqual(dots);
      expect(session.search([2, 0], 3), name).toEqual([{ index: 5, score: 6 }, { index: 0, score: 2 }, { index: 2, score: 2 }]);
      session.dispose();
    }
  });

  it('an empty matrix scores nothing; a window never holds fewer than one row', () => {
    const backend = createReferenceBackend();
    const exact = ExactSearch.create(createReferenceBackend(), 0, 3, () => {});
    const streaming = new StreamingSearch(createReferenceBackend(), 0, 3, () => {});
    for (const s of [exact, streaming]) {
      expect(Array.from(s.scoreAll([1, 2, 3]))).toEqual([]);
      expect(s.search([1, 2, 3], 5)).toEqual([]);
      s.dispose();
    }
    const tiny = new StreamingSearch(backend, 4, 3, () => {}, { windowBytes: 1 });
    expect(tiny.windowRows).toBe(1);
    tiny.dispose();
    const big = new StreamingSearch(backend, 4, 3, () => {}, { windowBytes: 1 << 20 });
    expect(big.windowRows).toBe(4);
    big.dispose();
  });

  it('refuses a bad shape, a query of another dimension, an unknown metric and use after dispose', () => {
    const backend = createReferenceBackend();
    expect(codeOf(() => ExactSearch.create(backend, -1, 2, read))).toBe('SIMILARITY_BAD_SHAPE');
    expect(codeOf(() => ExactSearch.create(backend, 2, 0, read))).toBe('SIMILARITY_BAD_SHAPE');
    expect(codeOf(() => ExactSearch.create(backend, 1.5, 2, read))).toBe('SIMILARITY_BAD_SHAPE');
    expect(codeOf(() => new StreamingSearch(backend, 2, 0, read))).toBe('SIMILARITY_BAD_SHAPE');
    expect(codeOf(() => new StreamingSearch(backend, -2, 2, read))).toBe('SIMILARITY_BAD_SHAPE');
    expect(codeOf(() => ExactSearch.create(backend, 2, 2, read, { metric: 'l1' as 'dot' }))).toBe('SIMILARITY_BAD_METRIC');
    for (const [name, session] of sessions('cosine')) {
      expect(codeOf(() => session.scoreAll([1, 2, 3])), name).toBe('SIMILARITY_DIMENSION_MISMATCH');
      session.dispose();
      session.dispose(); // twice is harmless
      expect(codeOf(() => session.scoreAll([1, 0])), name).toBe('SIMILARITY_DISPOSED');
    }
  });

  it('gives its heap back on dispose, and stops a backend it was given to own', () => {
    const backend = createReferenceBackend();
    const mark = backend.mark();
    const s = ExactSearch.create(backend, rows.length, 2, read);
    expect(backend.mark()).toBeGreaterThan(mark);
    s.dispose();
    expect(backend.mark()).toBe(mark);
    const w = new StreamingSearch(backend, rows.length, 2, read, { windowBytes: 16 });
    expect(backend.mark()).toBeGreaterThan(mark);
    w.dispose();
    expect(backend.mark()).toBe(mark);
    let disposed = 0;
    const owned = createReferenceBackend();
    const dispose = owned.dispose.bind(owned);
    owned.dispose = () => (disposed++, dispose());
    ExactSearch.create(owned, 1, 2, read, { ownsBackend: true }).dispose();
    new StreamingSearch(owned, 1, 2, read, { ownsBackend: true }).dispose();
    expect(disposed).toBe(2);
    ExactSearch.create(backend, 1, 2, read).dispose();
    expect(backend.mark()).toBe(mark);
  });
});

describe('what mutation testing found unchecked in similarity.ts', () => {
  it('names the problem in each refusal', () => {
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(message(() => checkMetric('l2'))).toBe("unknown metric 'l2': use 'cosine' or 'dot'");
    expect(message(() => dot([1], [1, 2]))).toBe('cannot compare a 1-dimensional vector with a 2-dimensional one');
    expect(message(() => new TopK(-2))).toBe('k must be a non-negative integer, got -2');
    const backend = createReferenceBackend();
    expect(message(() => ExactSearch.create(backend, 2, 0, () => {}))).toBe('bad matrix shape [2, 0]');
    expect(message(() => new StreamingSearch(backend, -1, 3, () => {}))).toBe('bad matrix shape [-1, 3]');
    for (const s of [ExactSearch.create(createReferenceBackend(), 1, 2, () => {}), new StreamingSearch(createReferenceBackend(), 1, 2, () => {})]) {
      expect(message(() => s.scoreAll([1, 2, 3]))).toBe('query has 3 dimensions but the indexed vectors have 2');
      s.dispose();
      expect(message(() => s.scoreAll([1, 2]))).toBe('this search session was disposed');
    }
    expect(scoreMatrix([[1, 0]], [[0, 2], [3, 0]])).toEqual([[0, 1]]); // cosine by default
  });

  it('reads each row once, in windows or chunks of the stated size, and never asks for 0 rows', () => {
    const log: string[] = [];
    const reader = (dst: Float32Array, row0: number, n: number) => {
      log.push(`${row0}+${n}`);
      for (let r = 0; r < n; r++) dst.set([row0 + r + 1, 1, 0, 0], r * 4);
    };
    const streaming = new StreamingSearch(createReferenceBackend(), 7, 4, reader, { metric: 'dot', windowBytes: 3 * 4 * 4 });
    expect(streaming.windowRows).toBe(3);
    expect(Array.from(streaming.scoreAll([1, 0, 0, 0]))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log).toEqual(['0+3', '3+3', '6+1']);
    streaming.dispose();
    log.length = 0;
    ExactSearch.create(createReferenceBackend(), 7, 4, reader).dispose();
    expect(log).toEqual(['0+7']);
  });

  it('a matrix larger than one load chunk (2^20 floats) lands row for row in place; a whole number of chunks reads no empty one', () => {
    const chunkRows = (1 << 20) / 2;
    for (const rows of [chunkRows + 5, 2 * chunkRows]) {
      const reads: Array<[number, number]> = [];
      const exact = ExactSearch.create(createReferenceBackend(), rows, 2, (dst, row0, n) => {
        reads.push([row0, n]);
        for (let r = 0; r < n; r++) dst.set([(row0 + r) % 1000, 1], r * 2);
      }, { metric: 'dot' });
      expect(reads).toEqual(rows === 2 * chunkRows ? [[0, chunkRows], [chunkRows, chunkRows]] : [[0, chunkRows], [chunkRows, 5]]);
      const scores = exact.scoreAll([2, 0]);
      for (const r of [0, 999, 1000, chunkRows - 1, chunkRows, rows - 1]) expect(scores[r], `row ${r}`).toBe((r % 1000) * 2);
      exact.dispose();
    }
  });

  it('scoreAll returns a copy: a later query does not change earlier scores', () => {
    const s = ExactSearch.create(createReferenceBackend(), 2, 2, (dst) => dst.set([1, 0, 0, 1]), { metric: 'dot' });
    const first = s.scoreAll([1, 0]);
    s.scoreAll([0, 5]);
    expect(Array.from(first)).toEqual([1, 0]);
    s.dispose();
  });

  it('a second dispose gives nothing back twice (a later session on the same heap is untouched); a lent backend is never stopped', () => {
    const backend = createReferenceBackend();
    let stopped = 0;
    const stop = backend.dispose.bind(backend);
    backend.dispose = () => (stopped++, stop());
    for (const make of [
      () => ExactSearch.create(backend, 2, 2, (dst) => dst.set([1, 0, 0, 1]), { metric: 'dot' }),
      () => new StreamingSearch(backend, 2, 2, (dst) => dst.set([1, 0, 0, 1]), { metric: 'dot' }),
    ]) {
      const first = make();
      first.dispose();
      const second = make();
      first.dispose();
      expect(Array.from(second.scoreAll([3, 4]))).toEqual([3, 4]);
      second.dispose();
    }
    expect(stopped).toBe(0);
  });
});
