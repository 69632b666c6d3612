// Owns: `kmed search --index INDEX --query TEXT [-k 10]` — embeds the question with the question
// encoder and prints the k best passages of an index (score, id, text) by exact SIMD search, after
// refusing an index built for other models. Loads only the question encoder: the context model is
// identified by its fingerprint (config + safetensors header), never loaded. `--index` may be
// given more than once: the shards of one `kmed index --shard I/N` run (checked to cover the corpus
// exactly once) are searched as one, with the same top-k as their merged file; plain indexes are
// searched as their concatenation. An index with a graph beside it (`INDEX.ann`, from `kmed index
// --ann hnsw`) is searched through the graph (approximate; `--ef` sets the beam) unless `--exact`.
// Does not own the search (../similarity.ts, ../bi-encoder.ts, ../search/ann/) or the file format (../vector-index.ts).
import type { Command } from 'commander';
import { addEncoderOptions, addModelOptions, fmtScore, oneLine, positiveInt, table, type ModelFlags } from './model-options.js';
import { checkIndexModels } from './index-models.js';

interface SearchFlags extends ModelFlags {
  index: string[];
  query: string;
  k: number;
  metric: string;
  exact?: boolean;
  ef?: number;
}

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('search')
      .description('print the k passages of an index most relevant to a question (exact search, SIMD dot products)')
      .option('--index <file>', 'index file made by kmed index or kmed merge; repeat it to search the shards of a --shard run without merging', (value: string, previous: string[]) => [...previous, value], [] as string[])
      .requiredOption('--query <text>', 'the question')
      .option('-k, --k <n>', 'how many passages', positiveInt, 10)
      .option('--metric <metric>', 'cosine or dot', 'cosine')
      .option('--exact', 'score every passage even when the index has a graph index beside it (INDEX.ann)')
      .option('--ef <n>', 'beam width of the graph search (default 100): larger is slower and closer to exact', positiveInt),
  )).action(async (flags: SearchFlags) => {
    const { existsSync } = await import('node:fs');
    const { loadEncoder } = await import('../node/bi-encoder.js');
    const { checkQueryText, openSearchSession, searchSession, searchSessions } = await import('../bi-encoder.js');
    const { IndexError, VectorIndex } = await import('../search/vector-index.js');
    const { checkMetric } = await import('../search/similarity.js');
    const { fileSource } = await import('../node/fs/file-source.js');
    const { annPath, openAnnFile } = await import('../node/indexing/ann-file.js');
    const { openAnnSearch } = await import('../search/ann/ann-index.js');
    const { AnnError } = await import('../search/ann/ann-error.js');
    const { DEFAULT_EF } = await import('../search/ann/ann-search.js');
    const metric = checkMetric(flags.metric);
    checkQueryText(flags.query);
    if (flags.index.length === 0) throw new IndexError('INDEX_NOT_GIVEN', 'no index given: pass --index INDEX (repeat it for the shards of a --shard run)');
    const { checkShardSet } = await import('../node/indexing/index-merge.js');
    const sources: Array<ReturnType<typeof fileSource>> = [];
    try {
      let indexes = flags.index.map((path) => {
        if (!existsSync(path)) {
          throw new IndexError('INDEX_NOT_FOUND', `index ${path} not found: build one with kmed index --corpus FILE --out ${path}`);
        }
        const source = fileSource(path);
        sources.push(source);
        return VectorIndex.open(source);
      });
      if (indexes.length > 1 && indexes.some((x) => x.meta.shard)) indexes = checkShardSet(indexes);
      const index = indexes[0];
      // Which indexes have a graph (each shard may have its own), decided before any model loads.
      const graphs = indexes.map((x) => (flags.exact ? undefined : openAnnFile(x.name)));
      for (const g of graphs) if (g) sources.push(g);
      if (flags.ef !== undefined && (flags.exact || graphs.some((g) => !g))) {
        const missing = indexes.find((_, i) => !graphs[i]);
        throw new AnnError('ANN_NOT_FOUND', flags.exact
          ? '--ef sets the beam of a graph search, and --exact asks for none: give one or the other'
          : `--ef needs a graph index, and ${annPath(missing!.name)} does not exist: build it with \`kmed index --index ${missing!.name} --ann hnsw\``);
      }
      // Refuse a mismatched index before loading any weights.
      const { pooling, maxLength } = await checkIndexModels(indexes, flags);

      const { encoder } = await loadEncoder('question', { model: flags.questionModel }, { dtype: flags.dtype, threads: flags.threads });
      try {
        const [vector] = await encoder.embed([flags.query], { pooling, maxLength });
        const parts: Array<{ session: Awaited<ReturnType<typeof openSearchSession>>; index: typeof index }> = [];
        let hits;
        try {
          for (const [i, x] of indexes.entries()) {
            const graph = graphs[i];
            parts.push({ session: graph ? await openAnnSearch(x, graph, { metric, ef: flags.ef }) : await openSearchSession(x, { metric }), index: x });
          }
          hits = indexes.length === 1 ? searchSession(parts[0].session, index, vector, flags.k) : searchSessions(parts, vector, flags.k);
        } finally {
          for (const p of parts) p.session.dispose();
        }
        if (flags.json) {
          process.stdout.write(JSON.stringify(hits) + '\n');
          return;
        }
        const total = indexes.reduce((n, x) => n + x.count, 0);
        process.stdout.write(
          `query: ${flags.query} (${total} passages in ${flags.index.join(', ')}; ` +
            `${graphs.every((g) => g) ? `graph search, ef ${flags.ef ?? DEFAULT_EF}` : graphs.some((g) => g) ? 'graph search where a graph exists' : 'exact'})\n` +
            table([['rank', metric, 'id', 'text'], ...hits.map((h, i) => [String(i + 1), fmtScore(h.score), h.id, oneLine(h.text, 100)])]),
        );
      } finally {
        encoder.dispose();
      }
    } finally {
      for (const s of sources) s.close();
    }
  });
}
