// Owns: `kmed search --index INDEX --query TEXT [-k 10]` — embeds the question with the question
// encoder and prints the k best passages of an index (score, id, text) by exact SIMD search, after
// refusing an index built for other models. Loads only the question encoder: the context model is
// identified by its fingerprint (config + safetensors header), never loaded. `--index` may be
// given more than once: the shards of one `kmed index --shard I/N` run (checked to cover the corpus
// exactly once) are searched as one, with the same top-k as their merged file; plain indexes are
// searched as their concatenation. Does not own the search (../similarity.ts, ../bi-encoder.ts) or the file format (../vector-index.ts).
import type { Command } from 'commander';
import { addEncoderOptions, addModelOptions, fmtScore, oneLine, positiveInt, table, type ModelFlags } from './model-options.js';

interface SearchFlags extends ModelFlags {
  index: string[];
  query: string;
  k: number;
  metric: string;
}

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('search')
      .description('print the k passages of an index most relevant to a question (exact search, SIMD dot products)')
      .option('--index <file>', 'index file made by kmed index or kmed merge; repeat it to search the shards of a --shard run without merging', (value: string, previous: string[]) => [...previous, value], [] as string[])
      .requiredOption('--query <text>', 'the question')
      .option('-k, --k <n>', 'how many passages', positiveInt, 10)
      .option('--metric <metric>', 'cosine or dot', 'cosine'),
  )).action(async (flags: SearchFlags) => {
    const { existsSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { parseBertConfig } = await import('../model/config.js');
    const { checkPooling } = await import('../model/pooling.js');
    const { loadEncoder, modelIdentityOfDirectory, resolveModelDir } = await import('../node/bi-encoder.js');
    const { checkIndexCompatibility, checkQueryText, openSearchSession, searchSession, searchSessions } = await import('../bi-encoder.js');
    const { IndexError, VectorIndex } = await import('../search/vector-index.js');
    const { checkMetric } = await import('../search/similarity.js');
    const { fileSource } = await import('../node/fs/file-source.js');
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
      // Refuse a mismatched index before loading any weights.
      const questionDir = resolveModelDir('question', { model: flags.questionModel });
      let context = null;
      try {
        context = await modelIdentityOfDirectory(resolveModelDir('context', { model: flags.contextModel }));
      } catch (error) {
        if (flags.contextModel !== undefined) throw error; // default context model absent: not checked
      }
      const question = await modelIdentityOfDirectory(questionDir);
      // Queries are pooled the way the index's passages were (kmed index always uses 'pooler').
      const pooling = checkPooling(index.meta.pooling);
      const configPath = join(questionDir, 'config.json');
      const { hidden_size } = parseBertConfig(readFileSync(configPath, 'utf8'), configPath);
      for (const x of indexes) checkIndexCompatibility(x, { dimension: hidden_size, pooling, question, context });
      if (indexes.some((x) => x.meta.max_length !== index.meta.max_length)) {
        throw new IndexError('INDEX_MODEL_MISMATCH', `${flags.index.join(', ')} were embedded with different max lengths: search them one by one`);
      }

      const { encoder } = await loadEncoder('question', { model: flags.questionModel }, { dtype: flags.dtype, threads: flags.threads });
      try {
        const [vector] = await encoder.embed([flags.query], { pooling, maxLength: index.meta.max_length });
        const parts: Array<{ session: Awaited<ReturnType<typeof openSearchSession>>; index: typeof index }> = [];
        let hits;
        try {
          for (const x of indexes) parts.push({ session: await openSearchSession(x, { metric }), index: x });
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
          `query: ${flags.query} (${total} passages in ${flags.index.join(', ')})\n` +
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
