// Owns: the two corpora of bench/e2e's throughput rows (issue 12 item 6) — the first 40 passages of
// test/fixtures/corpus/passages.txt (clinical notes, ~80 tokens) and the first 40 lines of
// corpus.txt (questions and short notes, ~18 tokens) — and their token ids, made by our tokenizer
// (identical to Hugging Face's BertTokenizerFast, proved by the tokenizer golden tests) with the
// model folder's vocab, so the peers run exactly the ids our `embed` runs.
// Does not own: timing (child.ts, chromium page) or what an engine does with them (engines.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Texts per corpus: the 40 of each. */
export const CORPUS_SIZE = 40;

export interface Corpus {
  /** 'passages' or 'short lines'. */
  name: string;
  file: string;
  texts: string[];
  /** Token ids per text ([CLS] … [SEP], truncated to 512), as plain arrays so they travel as JSON. */
  ids: number[][];
}

export interface CorpusResult {
  name: string;
  texts: number;
  tokens: number;
  /** Every timed pass over the whole corpus, ms. */
  runsMs: number[];
  medianMs: number;
}

function firstLines(path: string, n: number): string[] {
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length < n) throw new Error(`${path}: ${lines.length} non-empty lines, the bench needs ${n}`);
  return lines.slice(0, n);
}

/** Both corpora, tokenized with the tokenizer of `modelDir` (the built package's Node entry, as
 *  `Encoder.fromDirectory` loads it). */
export async function loadCorpora(root: string, modelDir: string): Promise<Corpus[]> {
  const { loadTokenizerFromDirectory } = (await import(pathToFileURL(join(root, 'dist', 'node', 'index.js')).href)) as typeof import('../../src/node/index.js');
  const tokenizer = loadTokenizerFromDirectory(modelDir);
  const dir = join(root, 'test', 'fixtures', 'corpus');
  return [['passages', 'passages.txt'], ['short lines', 'corpus.txt']].map(([name, file]) => {
    const texts = firstLines(join(dir, file), CORPUS_SIZE);
    return { name, file, texts, ids: texts.map((t) => Array.from(tokenizer.encode(t, { maxLength: 512 }).ids)) };
  });
}

export const corpusTokens = (c: Pick<Corpus, 'ids'>): number => c.ids.reduce((s, ids) => s + ids.length, 0);
