// kmed eval's metrics against values computed by hand (each written out below), with trec_eval's
// (pytrec_eval's) definitions: relevant = grade ≥ 1, nDCG gain = grade with a log2(rank + 1)
// discount, ties ranked by document id descending; and the strict BEIR readers.
import { describe, expect, it } from 'vitest';
import { EvalError, parseQrels, parseQueries } from '../src/search/eval/beir.js';
import { evaluateRun, queryMetrics, trecOrder, type RankedDoc } from '../src/search/eval/metrics.js';

const QRELS = [
  'query-id\tcorpus-id\tscore',
  // q1: three relevant documents (graded 2, 1, 1; d9 is never retrieved), d4 judged not relevant.
  'q1\td1\t2', 'q1\td3\t1', 'q1\td9\t1', 'q1\td4\t0',
  // q2: one relevant document, tied in score with a non-relevant one.
  'q2\tb\t1',
  // q3: judged, nothing relevant: left out of the means.
  'q3\tz\t0',
  // q5: relevant at ranks 11 (grade 3), 60 and 150 (the run holds 150; recall@100 counts the first 100).
  'q5\tx11\t3', 'q5\tx150\t1', 'q5\tx60\t1',
].join('\n') + '\n';

const docs = (...pairs: Array<[string, number]>): RankedDoc[] => pairs.map(([id, score]) => ({ id, score }));

const run = new Map<string, RankedDoc[]>([
  // q1 ranked d2, d1, d4, d3, then n0..n9 (not judged).
  ['q1', docs(['d2', 0.9], ['d1', 0.8], ['d4', 0.7], ['d3', 0.6], ...Array.from({ length: 10 }, (_, i): [string, number] => [`n${i}`, 0.5 - i / 100]))],
  // q2 returned a before b at the same score: trec_eval ranks b (the larger id) first.
  ['q2', docs(['a', 0.5], ['b', 0.5], ['c', 0.4])],
  ['q3', docs(['z', 0.9])],
  // q4 has no judgments at all: not evaluated.
  ['q4', docs(['d1', 0.9])],
  // q5: x1..x150 in order.
  ['q5', Array.from({ length: 150 }, (_, i) => ({ id: `x${i + 1}`, score: 1 - i / 1000 }))],
]);

describe('retrieval metrics, by hand', () => {
  const qrels = parseQrels(QRELS, 'qrels.tsv');
  const result = evaluateRun(run, qrels);

  it('q1: graded relevance, one relevant document never retrieved', () => {
    // Relevant: d1 (2), d3 (1), d9 (1): 3. Ranks: d2 1, d1 2, d4 3, d3 4.
    // recall@1 = 0/3; recall@10 = recall@100 = 2/3 (d1, d3); MRR@10 = 1/2 (d1 at rank 2).
    // DCG@10 = 2/log2(3) + 1/log2(5) = 1.2618595071 + 0.4306765581 = 1.6925360652
    // IDCG@10 = 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.6309297536 + 0.5 = 3.1309297536
    // nDCG@10 = 1.6925360652 / 3.1309297536 = 0.5405857679
    const m = result.perQuery.get('q1')!;
    expect(m['recall@1']).toBe(0);
    expect(m['recall@10']).toBeCloseTo(2 / 3, 12);
    expect(m['recall@100']).toBeCloseTo(2 / 3, 12);
    expect(m['mrr@10']).toBe(0.5);
    expect(m['ndcg@10']).toBeCloseTo(0.5405857679450102, 12);
  });

  it('q2: a tie in score is ranked by document id descending', () => {
    // trec order: b (0.5), a (0.5), c (0.4): b is relevant at rank 1 → every metric 1.
    expect(trecOrder(run.get('q2')!).map((d) => d.id)).toEqual(['b', 'a', 'c']);
    expect(result.perQuery.get('q2')).toEqual({ 'recall@1': 1, 'recall@10': 1, 'recall@100': 1, 'mrr@10': 1, 'ndcg@10': 1 });
  });

  it('q5: relevant documents past rank 10 and past rank 100', () => {
    // Relevant: x11 (3), x60 (1), x150 (1): 3. In the first 10: none → recall@1 = recall@10 = 0,
    // MRR@10 = 0, nDCG@10 = 0. In the first 100: x11, x60 → recall@100 = 2/3.
    expect(result.perQuery.get('q5')).toEqual({ 'recall@1': 0, 'recall@10': 0, 'recall@100': 2 / 3, 'mrr@10': 0, 'ndcg@10': 0 });
  });

  it('means over q1, q2, q5; q3 (nothing relevant) and q4 (not judged) are left out', () => {
    // recall@1 = (0 + 1 + 0)/3 = 1/3; recall@10 = (2/3 + 1 + 0)/3 = 5/9;
    // recall@100 = (2/3 + 1 + 2/3)/3 = 7/9; MRR@10 = (1/2 + 1 + 0)/3 = 1/2;
    // nDCG@10 = (0.5405857679 + 1 + 0)/3 = 0.5135285893
    expect([...result.perQuery.keys()]).toEqual(['q1', 'q2', 'q5']);
    expect(result.noRelevant).toEqual(['q3']);
    expect(result.mean['recall@1']).toBeCloseTo(1 / 3, 12);
    expect(result.mean['recall@10']).toBeCloseTo(5 / 9, 12);
    expect(result.mean['recall@100']).toBeCloseTo(7 / 9, 12);
    expect(result.mean['mrr@10']).toBeCloseTo(0.5, 12);
    expect(result.mean['ndcg@10']).toBeCloseTo(0.5135285893150034, 12);
  });

  it('ids compare in code point (UTF-8 byte) order, not UTF-16 order', () => {
    // U+1F600 > U+FFFF as code points (and UTF-8 bytes), though its UTF-16 lead unit is smaller.
    const tie = docs(['\uffff', 1], ['\u{1F600}', 1]);
    expect(trecOrder(tie).map((d) => d.id)).toEqual(['\u{1F600}', '\uffff']);
    expect(queryMetrics(tie, new Map([['\u{1F600}', 1]]))!['mrr@10']).toBe(1);
  });
});

describe('BEIR files', () => {
  it('reads queries.jsonl (extra fields allowed) and qrels with or without a header', () => {
    const queries = parseQueries('{"_id":"1","text":"고혈압 약","metadata":{}}\n\n{"_id":"2","text":"두통"}\n', 'q.jsonl');
    expect(queries).toEqual([{ id: '1', text: '고혈압 약' }, { id: '2', text: '두통' }]);
    expect(parseQrels('1\tdoc\t2\r\n', 'r.tsv').get('1')!.get('doc')).toBe(2);
  });

  it('refuses bad lines, naming the file and line', () => {
    const bad = (fn: () => unknown, code: string, message: RegExp) => {
      try {
        fn();
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(EvalError);
        expect((error as EvalError).code).toBe(code);
        expect((error as Error).message).toMatch(message);
      }
    };
    bad(() => parseQueries('{"_id":"1","text":"a"}\n{"id":"2","text":"b"}\n', 'q.jsonl'), 'EVAL_BAD_QUERIES', /q\.jsonl line 2: expected an object with string "_id" and "text"/);
    bad(() => parseQueries('{"_id":"1","text":"a"}\nnot json\n', 'q.jsonl'), 'EVAL_BAD_QUERIES', /q\.jsonl line 2: not JSON/);
    bad(() => parseQueries('{"_id":"1","text":"a"}\n{"_id":"1","text":"b"}\n', 'q.jsonl'), 'EVAL_BAD_QUERIES', /line 2: query id "1" repeats line 1/);
    bad(() => parseQrels('query-id\tcorpus-id\tscore\nq1\td1\n', 'r.tsv'), 'EVAL_BAD_QRELS', /r\.tsv line 2: expected 3 tab-separated fields/);
    bad(() => parseQrels('q1\td1\t0.5\n', 'r.tsv'), 'EVAL_BAD_QRELS', /line 1: score "0\.5" is not an integer/);
    bad(() => parseQrels('q1\td1\t1\nq1\td1\t2\n', 'r.tsv'), 'EVAL_BAD_QRELS', /line 2: query "q1" judges document "d1" twice/);
  });
});
