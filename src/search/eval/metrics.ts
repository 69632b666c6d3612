// Owns: the retrieval metrics of `kmed eval`, defined as pytrec_eval (trec_eval) computes them, and
// their means over queries: recall@1/10/100 (relevant documents retrieved in the first k over all
// relevant ones; relevant = grade ≥ 1, trec_eval's default relevance level), MRR@10 (1 / rank of the
// first relevant document within 10, else 0) and nDCG@10 (gain = grade where > 0, discount
// log2(rank + 1), over the ideal order of the judged grades; 0 when no document is relevant).
// Ranking, as trec_eval orders a run: score descending, then document id descending in byte (code
// point) order — so equal scores are ranked by id, not by the order a search returned them.
// Does not own: parsing the files (beir.ts) or running the searches (the CLI).
import type { Qrels } from './beir.js';

/** One retrieved document of a query: its id (the index's passage id) and score. */
export interface RankedDoc {
  id: string;
  score: number;
}

/** The metrics kmed eval reports, in its order. */
export const EVAL_METRICS = ['recall@1', 'recall@10', 'recall@100', 'mrr@10', 'ndcg@10'] as const;
/** One of EVAL_METRICS. */
export type EvalMetric = (typeof EVAL_METRICS)[number];
/** A value per metric (one query's, or a mean). */
export type MetricValues = Record<EvalMetric, number>;

/** a before b in UTF-8 byte order (= code point order; JavaScript's < compares UTF-16 units). */
function codePointCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j);
}

/** `docs` in trec_eval's order: score descending, ties by document id descending. */
export function trecOrder(docs: ReadonlyArray<RankedDoc>): RankedDoc[] {
  return [...docs].sort((x, y) => (x.score !== y.score ? y.score - x.score : codePointCompare(y.id, x.id)));
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

/** The metrics of one query: `ranked` as retrieved (re-ordered here as trec_eval does), `judged`
 *  its qrels. Undefined when nothing is relevant (recall has no denominator). */
export function queryMetrics(ranked: ReadonlyArray<RankedDoc>, judged: ReadonlyMap<string, number>): MetricValues | undefined {
  const grades = [...judged.values()].filter((g) => g >= 1).sort((a, b) => b - a);
  if (grades.length === 0) return undefined;
  const order = trecOrder(ranked);
  const grade = (i: number) => judged.get(order[i].id) ?? 0;
  const recall = (k: number) => {
    let found = 0;
    for (let i = 0; i < Math.min(k, order.length); i++) if (grade(i) >= 1) found++;
    return found / grades.length;
  };
  let mrr = 0;
  for (let i = 0; i < Math.min(10, order.length); i++) {
    if (grade(i) >= 1) {
      mrr = 1 / (i + 1);
      break;
    }
  }
  let dcg = 0;
  for (let i = 0; i < Math.min(10, order.length); i++) if (grade(i) > 0) dcg += grade(i) / Math.log2(i + 2);
  let ideal = 0;
  for (let i = 0; i < Math.min(10, grades.length); i++) ideal += grades[i] / Math.log2(i + 2);
  return { 'recall@1': recall(1), 'recall@10': recall(10), 'recall@100': recall(100), 'mrr@10': mrr, 'ndcg@10': dcg / ideal };
}

/** What evaluateRun computes: the means, each query's values, and the queries left out. */
export interface EvalResult {
  /** Means over the evaluated queries. */
  mean: MetricValues;
  perQuery: Map<string, MetricValues>;
  /** Queries with judgments but no relevant document: left out of the means (pytrec_eval would
   *  divide by zero for their recall). */
  noRelevant: string[];
}

/** Metrics of every query of `run` that `qrels` judges; queries without judgments are not counted. */
export function evaluateRun(run: ReadonlyMap<string, ReadonlyArray<RankedDoc>>, qrels: Qrels): EvalResult {
  const perQuery = new Map<string, MetricValues>();
  const noRelevant: string[] = [];
  for (const [qid, ranked] of run) {
    const judged = qrels.get(qid);
    if (!judged) continue;
    const m = queryMetrics(ranked, judged);
    if (m) perQuery.set(qid, m);
    else noRelevant.push(qid);
  }
  const values = [...perQuery.values()];
  const means = Object.fromEntries(EVAL_METRICS.map((name) => [name, mean(values.map((v) => v[name]))])) as MetricValues;
  return { mean: means, perQuery, noRelevant };
}
