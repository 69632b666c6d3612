// Owns: reading BEIR's evaluation files from their text — queries.jsonl (one {"_id", "text", ...}
// object per line) and qrels .tsv (a header `query-id corpus-id score`, then one judgment per line,
// tab-separated, integer scores) — strictly: a line that is not what the format says is an
// EvalError naming the file and the line, never skipped.
// Does not own: reading files (the CLI passes text), embedding queries, or the metrics (metrics.ts).
import { KmedError } from '../../errors/errors.js';

/** A BEIR queries or qrels file that does not follow its format (EVAL_*), naming file and line. */
export class EvalError extends KmedError {}

/** One query of a queries.jsonl: its "_id" and "text". */
export interface EvalQuery {
  id: string;
  text: string;
}

/** query id → (document id → relevance grade). */
export type Qrels = Map<string, Map<string, number>>;

function lines(text: string): string[] {
  const out = text.split('\n');
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** The queries of a BEIR queries.jsonl, in file order; blank lines are skipped. */
export function parseQueries(text: string, name: string): EvalQuery[] {
  const out: EvalQuery[] = [];
  const seen = new Map<string, number>();
  lines(text.startsWith('\uFEFF') ? text.slice(1) : text).forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${name} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new EvalError('EVAL_BAD_QUERIES', `${at}: not JSON (${(error as Error).message}); a queries file holds one {"_id": …, "text": …} object per line`);
    }
    const q = value as { _id?: unknown; text?: unknown };
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof q._id !== 'string' || typeof q.text !== 'string') {
      throw new EvalError('EVAL_BAD_QUERIES', `${at}: expected an object with string "_id" and "text" (BEIR's queries.jsonl)`);
    }
    if (q.text.trim() === '') throw new EvalError('EVAL_BAD_QUERIES', `${at}: query ${JSON.stringify(q._id)} has no text`);
    const before = seen.get(q._id);
    if (before !== undefined) throw new EvalError('EVAL_BAD_QUERIES', `${at}: query id ${JSON.stringify(q._id)} repeats line ${before}`);
    seen.set(q._id, i + 1);
    out.push({ id: q._id, text: q.text });
  });
  return out;
}

/** Judgments of a BEIR qrels .tsv. The header line is optional (recognised by "query-id");
 *  grades are integers (≤ 0: judged not relevant); a (query, document) pair may appear once. */
export function parseQrels(text: string, name: string): Qrels {
  const qrels: Qrels = new Map();
  lines(text.startsWith('\uFEFF') ? text.slice(1) : text).forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${name} line ${i + 1}`;
    const fields = line.split('\t');
    if (i === 0 && fields[0] === 'query-id') {
      if (fields.length !== 3 || fields[1] !== 'corpus-id' || fields[2] !== 'score') {
        throw new EvalError('EVAL_BAD_QRELS', `${at}: the header must be "query-id<TAB>corpus-id<TAB>score"`);
      }
      return;
    }
    if (fields.length !== 3 || fields[0] === '' || fields[1] === '') {
      throw new EvalError('EVAL_BAD_QRELS', `${at}: expected 3 tab-separated fields (query-id, corpus-id, score), got ${fields.length}`);
    }
    const [qid, docId, grade] = fields;
    if (!/^-?\d+$/.test(grade) || !Number.isSafeInteger(Number(grade))) {
      throw new EvalError('EVAL_BAD_QRELS', `${at}: score ${JSON.stringify(grade)} is not an integer relevance grade`);
    }
    let docs = qrels.get(qid);
    if (!docs) qrels.set(qid, (docs = new Map()));
    if (docs.has(docId)) throw new EvalError('EVAL_BAD_QRELS', `${at}: query ${JSON.stringify(qid)} judges document ${JSON.stringify(docId)} twice`);
    docs.set(docId, Number(grade));
  });
  return qrels;
}
