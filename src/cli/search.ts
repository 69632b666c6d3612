// Owns: `kmed search --index INDEX (--query TEXT | --queries FILE | --query-vectors FILE.npy)` —
// prints the k best passages of an index (score, id, text) for one question or a batch of them,
// after refusing an index built for other models. Text queries are embedded with the question
// encoder (the context model is identified by its fingerprint, never loaded); query vectors
// (float32/float16 .npy, one row per query) need no model at all. `--index` may be given more than
// once: the shards of one `kmed index --shard I/N` run (checked to cover the corpus exactly once)
// are searched as one, with the same top-k as their merged file; plain indexes are searched as their
// concatenation; the same file (device and inode) or the same content twice is refused.
//
// The mode rule: the command knows every query before it reads the index, so one pass over the rows
// answers all of them (many queries are scored together per window, a matrix–matrix kernel); a
// resident copy would cost the same read and hold every row, so `--mode auto` streams. An index
// with f16/int8 scan rows is scanned through them and re-ranked in f32 (`--exact` scans the f32 rows).
// An index with a graph beside it (`INDEX.ann`, from `kmed index --ann hnsw`) is searched through
// the graph (approximate; `--ef` sets the beam; the rows then resident) unless `--exact`.
// Does not own the search (../search/), the file format (../search/vector-index.ts) or the .npy
// reader (../formats/npy.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { addEncoderOptions, addModelOptions, fmtScore, oneLine, positiveInt, table, type ModelFlags } from './model-options.js';

interface SearchFlags extends ModelFlags {
  index: string[];
  query?: string;
  queries?: string;
  queryVectors?: string;
  k: number;
  metric: string;
  mode: 'auto' | 'resident' | 'streaming';
  exact?: boolean;
  rerank?: number;
  ef?: number;
}

const MODES = ['auto', 'resident', 'streaming'] as const;

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('search')
      .description('print the k passages of an index most relevant to a question, or to each of a batch (exact SIMD search)')
      .option('--index <file>', 'index file made by kmed index or kmed merge; repeat it to search the shards of a --shard run without merging', (value: string, previous: string[]) => [...previous, value], [] as string[])
      .option('--query <text>', 'the question')
      .option('--queries <file>', 'a batch of questions: JSON lines {"text": ...}; prints one result per query (with --json, one JSON line each)')
      .option('--query-vectors <file>', 'a batch of question vectors: a float32 or float16 .npy of shape [queries, dimension] (no model is loaded)')
      .option('-k, --k <n>', 'how many passages', positiveInt, 10)
      .option('--metric <metric>', 'cosine or dot', 'cosine')
      .option('--mode <mode>', `${MODES.join('|')}: auto streams the index once for every query (the fastest for one command); resident reads it into memory first`, (value: string) => {
        if (!(MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${MODES.join(', ')}, got '${value}'`);
        return value;
      }, 'auto')
      .option('--exact', 'score every passage by its f32 row, even when the index has a graph beside it (INDEX.ann) or f16/int8 scan rows')
      .option('--ef <n>', 'beam width of the graph search (default 100): larger is slower and closer to exact', positiveInt)
      .option('--rerank <n>', 'candidates per query re-ranked in f32 after a scan of f16/int8 rows (default max(4k, k + 100))', positiveInt),
  )).action(async (flags: SearchFlags) => {
    const { existsSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { parseBertConfig } = await import('../model/config.js');
    const { checkPooling } = await import('../model/pooling.js');
    const { checkIndexCompatibility, checkQueryText, openSearchSession, searchSessionMany, searchSessionsMany } = await import('../bi-encoder.js');
    const { IndexError, VectorIndex } = await import('../search/vector-index.js');
    const { checkMetric } = await import('../search/similarity.js');
    const { fileSource } = await import('../node/fs/file-source.js');
    const { useNodeThreads } = await import('../node/worker-threads.js');
    const { defaultThreadCount } = await import('../kernels/thread-pool.js');
    const { QueryFileError, readQueryFile } = await import('../node/text-input/query-file.js');
    const { NpyMatrix } = await import('../formats/npy.js');
    const { annPath, openAnnFile } = await import('../node/indexing/ann-file.js');
    const { openAnnSearch } = await import('../search/ann/ann-index.js');
    const { AnnError } = await import('../search/ann/ann-error.js');
    const { DEFAULT_EF } = await import('../search/ann/ann-search.js');
    const metric = checkMetric(flags.metric);
    const given = [flags.query !== undefined && '--query', flags.queries !== undefined && '--queries', flags.queryVectors !== undefined && '--query-vectors'].filter(Boolean);
    if (given.length !== 1) {
      throw new QueryFileError('QUERIES_EMPTY', given.length === 0
        ? 'no query given: pass --query TEXT, --queries FILE (JSON lines {"text": ...}) or --query-vectors FILE.npy'
        : `${given.join(' and ')} were both given: pass one of --query, --queries or --query-vectors`);
    }
    if (flags.query !== undefined) checkQueryText(flags.query);
    if (flags.index.length === 0) throw new IndexError('INDEX_NOT_GIVEN', 'no index given: pass --index INDEX (repeat it for the shards of a --shard run)');
    for (const file of [flags.queries, flags.queryVectors]) {
      if (file !== undefined && !existsSync(file)) throw new QueryFileError('QUERIES_EMPTY', `query file ${file} not found`);
    }
    const { checkShardSet } = await import('../node/indexing/index-merge.js');
    const sources: Array<ReturnType<typeof fileSource>> = [];
    try {
      const seen = new Map<string, string>();
      let indexes = flags.index.map((path) => {
        if (!existsSync(path)) {
          throw new IndexError('INDEX_NOT_FOUND', `index ${path} not found: build one with kmed index --corpus FILE --out ${path}`);
        }
        const { dev, ino } = statSync(path);
        const twin = seen.get(`${dev}:${ino}`);
        if (twin !== undefined) {
          throw new IndexError('INDEX_DUPLICATE', `--index ${path} is the same file as --index ${twin} (device ${dev}, inode ${ino}): give each index once`);
        }
        seen.set(`${dev}:${ino}`, path);
        const source = fileSource(path);
        sources.push(source);
        const index = VectorIndex.open(source);
        const copy = seen.get(index.contentId);
        if (copy !== undefined) {
          throw new IndexError('INDEX_DUPLICATE', `--index ${path} holds the same index as --index ${copy} (content ${index.contentId}): give each index once`);
        }
        seen.set(index.contentId, path);
        return index;
      });
      if (indexes.length > 1 && indexes.some((x) => x.meta.shard)) indexes = checkShardSet(indexes);
      const index = indexes[0];
      if (indexes.some((x) => x.dimension !== index.dimension || x.meta.pooling !== index.meta.pooling || x.meta.max_length !== index.meta.max_length)) {
        throw new IndexError('INDEX_MODEL_MISMATCH', `${flags.index.join(', ')} were embedded with different dimensions, pooling or max lengths: search them one by one`);
      }
      // Which indexes have a graph (each shard may have its own), decided before any model loads.
      const graphs = indexes.map((x) => (flags.exact ? undefined : openAnnFile(x.name)));
      for (const g of graphs) if (g) sources.push(g);
      if (flags.ef !== undefined && (flags.exact || graphs.some((g) => !g))) {
        const missing = indexes.find((_, i) => !graphs[i]);
        throw new AnnError('ANN_NOT_FOUND', flags.exact
          ? '--ef sets the beam of a graph search, and --exact asks for none: give one or the other'
          : `--ef needs a graph index, and ${annPath(missing!.name)} does not exist: build it with \`kmed index --index ${missing!.name} --ann hnsw\``);
      }
      const pooling = checkPooling(index.meta.pooling);
      // Models: identified (and the index refused when it was built for others) before any weights
      // load; with --query-vectors only the ones named on the command line are checked.
      const byVectors = flags.queryVectors !== undefined;
      let context = null;
      if (!byVectors || flags.contextModel !== undefined) {
        try {
          context = await modelIdentityOf('context', flags.contextModel);
        } catch (error) {
          if (flags.contextModel !== undefined) throw error; // default context model absent: not checked
        }
      }
      const questionDir = !byVectors || flags.questionModel !== undefined ? await resolveDir('question', flags.questionModel) : null;
      const question = questionDir === null ? null : await (await import('../node/bi-encoder.js')).modelIdentityOfDirectory(questionDir);
      let dimension = index.dimension;
      if (questionDir !== null) {
        const configPath = join(questionDir, 'config.json');
        dimension = parseBertConfig(readFileSync(configPath, 'utf8'), configPath).hidden_size;
      }
      for (const x of indexes) checkIndexCompatibility(x, { dimension, pooling, question, context });

      let vectors: ArrayLike<number>[];
      let labels: string[];
      if (byVectors) {
        const source = fileSource(flags.queryVectors!, 'query vectors');
        sources.push(source);
        const npy = NpyMatrix.open(source, { allowVector: true });
        if (npy.cols !== index.dimension) {
          throw new QueryFileError('QUERIES_MISMATCH', `${flags.queryVectors} holds ${npy.cols}-dimensional vectors but ${index.name} ${index.dimension}-dimensional ones`);
        }
        const all = new Float32Array(npy.rows * npy.cols);
        npy.readRows(all, 0, npy.rows);
        vectors = Array.from({ length: npy.rows }, (_, i) => all.subarray(i * npy.cols, (i + 1) * npy.cols));
        labels = vectors.map((_, i) => `vector ${i} of ${flags.queryVectors}`);
        if (vectors.length === 0) throw new QueryFileError('QUERIES_EMPTY', `${flags.queryVectors} holds no vectors`);
      } else {
        const texts = flags.query !== undefined ? [flags.query] : await readQueryFile(flags.queries!);
        const { loadEncoder } = await import('../node/bi-encoder.js');
        const { encoder } = await loadEncoder('question', { model: flags.questionModel }, { dtype: flags.dtype, threads: flags.threads });
        try {
          vectors = await encoder.embed(texts, { pooling, maxLength: index.meta.max_length });
        } finally {
          encoder.dispose();
        }
        labels = texts;
      }

      useNodeThreads();
      const threads = flags.threads ?? defaultThreadCount();
      const mode = flags.mode === 'auto' ? 'streaming' : flags.mode;
      const parts: Array<{ session: Awaited<ReturnType<typeof openSearchSession>>; index: typeof index }> = [];
      let results;
      try {
        for (const [i, x] of indexes.entries()) {
          const graph = graphs[i];
          parts.push({
            session: graph
              ? await openAnnSearch(x, graph, { metric, ef: flags.ef, threads })
              : await openSearchSession(x, { metric, mode, threads, exact: flags.exact, rerank: flags.rerank }),
            index: x,
          });
        }
        results = indexes.length === 1 ? searchSessionMany(parts[0].session, index, vectors, flags.k) : searchSessionsMany(parts, vectors, flags.k);
      } finally {
        for (const p of parts) p.session.dispose();
      }
      const total = indexes.reduce((n, x) => n + x.count, 0);
      if (flags.query !== undefined) {
        // One question: the output kmed search always printed (a JSON array of hits, or a table).
        const hits = results[0];
        if (flags.json) {
          process.stdout.write(JSON.stringify(hits) + '\n');
          return;
        }
        process.stdout.write(
          `query: ${flags.query} (${total} passages in ${flags.index.join(', ')}; ` +
            `${graphs.every((g) => g) ? `graph search, ef ${flags.ef ?? DEFAULT_EF}` : graphs.some((g) => g) ? 'graph search where a graph exists' : 'exact'})\n` +
            table([['rank', metric, 'id', 'text'], ...hits.map((h, i) => [String(i + 1), fmtScore(h.score), h.id, oneLine(h.text, 100)])]),
        );
        return;
      }
      for (let q = 0; q < results.length; q++) {
        const hits = results[q];
        if (flags.json) {
          process.stdout.write(JSON.stringify({ query: q, hits }) + '\n');
          continue;
        }
        process.stdout.write(
          `query ${q}: ${oneLine(labels[q], 100)} (${total} passages)\n` +
            table([['rank', metric, 'id', 'text'], ...hits.map((h, i) => [String(i + 1), fmtScore(h.score), h.id, oneLine(h.text, 100)])]) + '\n',
        );
      }
    } finally {
      for (const s of sources) s.close();
    }

    async function resolveDir(role: 'question' | 'context', model: string | undefined): Promise<string> {
      const { resolveModelDir } = await import('../node/bi-encoder.js');
      return resolveModelDir(role, { model });
    }
    async function modelIdentityOf(role: 'question' | 'context', model: string | undefined) {
      const { modelIdentityOfDirectory } = await import('../node/bi-encoder.js');
      return modelIdentityOfDirectory(await resolveDir(role, model));
    }
  });
}
