// Owns: `kmed eval --index INDEX --queries queries.jsonl --qrels qrels.tsv` — retrieval quality of an
// index on BEIR-format judgments: the judged queries are embedded with the question encoder, the
// top 100 retrieved exactly and, when the index has a graph (INDEX.ann), through the graph too, and
// recall@1/10/100, MRR@10 and nDCG@10 printed side by side (or as JSON), with the queries/s of each.
// `--query-vectors FILE.npy` gives the queries as vectors instead (row i = the i-th query of the
// queries file; no model is loaded).
// Both searches share one copy of the rows (the graph session answers exact queries too).
// Does not own: the metrics (../search/eval/metrics.ts), the file readers (../search/eval/beir.ts) or
// the searches (../bi-encoder.ts, ../search/ann/).
import type { Command } from 'commander';
import { addEncoderOptions, addModelOptions, positiveInt, table, type ModelFlags } from './model-options.js';
import { checkIndexModels } from './index-models.js';

interface EvalFlags extends ModelFlags {
  index: string;
  queries: string;
  qrels: string;
  ef?: number;
  exact?: boolean;
  batchSize: number;
  queryVectors?: string;
}

/** Documents retrieved per query: enough for recall@100. */
const DEPTH = 100;

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('eval')
      .description('retrieval quality of an index on BEIR judgments: recall@1/10/100, MRR@10, nDCG@10, exact and through the graph index side by side')
      .requiredOption('--index <file>', 'index file made by kmed index (searched through INDEX.ann too when it exists)')
      .requiredOption('--queries <file>', 'BEIR queries.jsonl: one {"_id", "text"} object per line')
      .requiredOption('--qrels <file>', 'BEIR qrels .tsv: query-id, corpus-id, score (integer grade; ≥ 1 is relevant)')
      .option('--ef <n>', 'beam width of the graph search (default 100)', positiveInt)
      .option('--exact', 'evaluate exact search only, even when the index has a graph')
      .option('--batch-size <n>', 'queries per forward pass', positiveInt, 32)
      .option('--query-vectors <file>', 'the queries as vectors: a float32 or float16 .npy, row i = the i-th query of --queries (no model is loaded)'),
  )).action(async (flags: EvalFlags) => {
    const { existsSync } = await import('node:fs');
    const { loadEncoder } = await import('../node/bi-encoder.js');
    const { openSearchSession } = await import('../bi-encoder.js');
    const { IndexError, VectorIndex } = await import('../search/vector-index.js');
    const { fileSource } = await import('../node/fs/file-source.js');
    const { annPath, openAnnFile } = await import('../node/indexing/ann-file.js');
    const { openAnnSearch } = await import('../search/ann/ann-index.js');
    const { AnnError } = await import('../search/ann/ann-error.js');
    const { AnnSearch, DEFAULT_EF } = await import('../search/ann/ann-search.js');
    const { EvalError, parseQrels, parseQueries } = await import('../search/eval/beir.js');
    const { EVAL_METRICS, evaluateRun } = await import('../search/eval/metrics.js');
    const { assertRegularFile } = await import('../node/fs/regular-file.js');
    const { readUtf8Lines } = await import('../node/text-input/utf8-lines.js');
    const { createReadStream } = await import('node:fs');
    /** A file's text under kmed's text policy (strict UTF-8, errors naming the line). */
    const readText = async (path: string): Promise<string> => {
      const lines: string[] = [];
      for await (const l of readUtf8Lines(createReadStream(path), path)) lines.push(l.text);
      return lines.join('\n');
    };

    // Inputs first: a bad line is reported before any model loads.
    for (const [path, what] of [[flags.queries, 'queries file'], [flags.qrels, 'qrels file']] as const) assertRegularFile(path, what);
    const queries = parseQueries(await readText(flags.queries), flags.queries);
    const qrels = parseQrels(await readText(flags.qrels), flags.qrels);
    const byId = new Map(queries.map((q) => [q.id, q]));
    for (const qid of qrels.keys()) {
      if (!byId.has(qid)) throw new EvalError('EVAL_BAD_QRELS', `${flags.qrels}: query ${JSON.stringify(qid)} is judged but ${flags.queries} has no such query`);
    }
    const judged = queries.filter((q) => qrels.has(q.id));
    if (judged.length === 0) throw new EvalError('EVAL_NO_JUDGED_QUERIES', `no query of ${flags.queries} is judged in ${flags.qrels}`);

    if (!existsSync(flags.index)) throw new IndexError('INDEX_NOT_FOUND', `index ${flags.index} not found: build one with kmed index --corpus FILE --out ${flags.index}`);
    const source = fileSource(flags.index);
    const graphSource = flags.exact ? undefined : openAnnFile(flags.index);
    try {
      const index = VectorIndex.open(source);
      if (flags.ef !== undefined && !graphSource) {
        throw new AnnError('ANN_NOT_FOUND', flags.exact ? '--ef sets the beam of a graph search, and --exact asks for none: give one or the other'
          : `--ef needs a graph index, and ${annPath(flags.index)} does not exist: build it with \`kmed index --index ${flags.index} --ann hnsw\``);
      }
      let vectors: Float32Array[];
      if (flags.queryVectors !== undefined) {
        const { NpyMatrix } = await import('../formats/npy.js');
        const { QueryFileError } = await import('../node/text-input/query-file.js');
        const npySource = fileSource(flags.queryVectors, 'query vectors');
        try {
          const npy = NpyMatrix.open(npySource);
          if (npy.rows !== queries.length || npy.cols !== index.dimension) {
            throw new QueryFileError('QUERIES_MISMATCH', `${flags.queryVectors} holds ${npy.rows} × ${npy.cols} vectors but ${flags.queries} has ${queries.length} ` +
              `queries and ${flags.index} ${index.dimension}-dimensional rows: row i must be the i-th query`);
          }
          const all = new Float32Array(npy.rows * npy.cols);
          npy.readRows(all, 0, npy.rows);
          const row = new Map(queries.map((q, i) => [q.id, i]));
          vectors = judged.map((q) => all.subarray(row.get(q.id)! * npy.cols, (row.get(q.id)! + 1) * npy.cols));
        } finally {
          npySource.close();
        }
      } else {
        const { pooling, maxLength } = await checkIndexModels([index], flags);
        const { encoder } = await loadEncoder('question', { model: flags.questionModel }, { dtype: flags.dtype, threads: flags.threads });
        try {
          vectors = await encoder.embed(judged.map((q) => q.text), { pooling, maxLength, batchSize: flags.batchSize });
        } finally {
          encoder.dispose();
        }
      }
      // One copy of the rows: the graph session also answers exact queries.
      const session = graphSource
        ? await openAnnSearch(index, graphSource, { ef: flags.ef, threads: flags.threads })
        : await openSearchSession(index);
      try {
        const ids = (rows: Array<{ index: number; score: number }>) => rows.map((h) => ({ id: index.id(h.index), score: h.score }));
        const timed = (search: () => Array<Array<{ index: number; score: number }>>) => {
          const t0 = performance.now();
          const hits = search();
          const seconds = (performance.now() - t0) / 1000;
          const run = new Map(judged.map((q, i) => [q.id, ids(hits[i])]));
          return { result: evaluateRun(run, qrels), qps: judged.length / seconds };
        };
        const exact = timed(() => vectors.map((v) => (session instanceof AnnSearch ? session.search(v, DEPTH, { exact: true }) : session.search(v, DEPTH))));
        const ann = session instanceof AnnSearch ? timed(() => session.searchMany(vectors, DEPTH)) : undefined;
        const ef = session instanceof AnnSearch ? session.ef : undefined;
        const evaluated = exact.result.perQuery.size;
        const skipped = exact.result.noRelevant.length;
        if (evaluated === 0) throw new EvalError('EVAL_NO_JUDGED_QUERIES', `none of the ${judged.length} judged queries has a relevant document (grade ≥ 1) in ${flags.qrels}`);
        if (flags.json) {
          const block = (r: typeof exact) => ({ ...r.result.mean, queries_per_second: r.qps });
          process.stdout.write(JSON.stringify({
            index: flags.index, queries: evaluated, no_relevant: skipped, exact: block(exact),
            ann: ann ? { ...block(ann), ef } : null,
          }) + '\n');
          return;
        }
        const fmt = (x: number) => x.toFixed(4);
        const rows = EVAL_METRICS.map((m) => [m, fmt(exact.result.mean[m]), ...(ann ? [fmt(ann.result.mean[m])] : [])]);
        rows.push(['queries/s', exact.qps.toFixed(1), ...(ann ? [ann.qps.toFixed(1)] : [])]);
        process.stdout.write(
          `${flags.index}: ${evaluated} queries evaluated` + (skipped ? ` (${skipped} judged with no relevant document left out)` : '') + '\n' +
            table([['metric', 'exact', ...(ann ? [`graph (ef ${ef ?? DEFAULT_EF})`] : [])], ...rows]),
        );
      } finally {
        session.dispose();
      }
    } finally {
      source.close();
      graphSource?.close();
    }
  });
}
