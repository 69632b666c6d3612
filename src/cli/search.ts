// Owns: `kmed search --index INDEX --query TEXT [-k 10]` — embeds the question with the question
// encoder and prints the k best passages of an index (score, id, text) by exact SIMD search, after
// refusing an index built for other models. Loads only the question encoder: the context model is
// identified by its fingerprint (config + safetensors header), never loaded. Does not own the
// search (../similarity.ts, ../bi-encoder.ts) or the file format (../vector-index.ts).
import type { Command } from 'commander';
import { addEncoderOptions, addModelOptions, fmtScore, oneLine, positiveInt, table, type ModelFlags } from './model-options.js';

interface SearchFlags extends ModelFlags {
  index: string;
  query: string;
  k: number;
  metric: string;
}

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('search')
      .description('print the k passages of an index most relevant to a question (exact search, SIMD dot products)')
      .requiredOption('--index <file>', 'index file made by kmed index')
      .requiredOption('--query <text>', 'the question')
      .option('-k, --k <n>', 'how many passages', positiveInt, 10)
      .option('--metric <metric>', 'cosine or dot', 'cosine'),
  )).action(async (flags: SearchFlags) => {
    const { existsSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { parseBertConfig } = await import('../config.js');
    const { checkPooling } = await import('../pooling.js');
    const { loadEncoder, modelIdentityOfDirectory, resolveModelDir } = await import('../node/bi-encoder.js');
    const { checkIndexCompatibility, checkQueryText, openSearchSession, searchSession } = await import('../bi-encoder.js');
    const { IndexError, VectorIndex } = await import('../vector-index.js');
    const { checkMetric } = await import('../similarity.js');
    const { fileSource } = await import('../node/file-source.js');
    const metric = checkMetric(flags.metric);
    checkQueryText(flags.query);
    if (!existsSync(flags.index)) {
      throw new IndexError('INDEX_NOT_FOUND', `index ${flags.index} not found: build one with kmed index --corpus FILE --out ${flags.index}`);
    }
    const source = fileSource(flags.index);
    try {
      const index = VectorIndex.open(source);
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
      checkIndexCompatibility(index, { dimension: hidden_size, pooling, question, context });

      const { encoder } = await loadEncoder('question', { model: flags.questionModel }, { dtype: flags.dtype, threads: flags.threads });
      try {
        const [vector] = await encoder.embed([flags.query], { pooling, maxLength: index.meta.max_length });
        const session = await openSearchSession(index, { metric });
        let hits;
        try {
          hits = searchSession(session, index, vector, flags.k);
        } finally {
          session.dispose();
        }
        if (flags.json) {
          process.stdout.write(JSON.stringify(hits) + '\n');
          return;
        }
        process.stdout.write(
          `query: ${flags.query} (${index.count} passages in ${flags.index})\n` +
            table([['rank', metric, 'id', 'text'], ...hits.map((h, i) => [String(i + 1), fmtScore(h.score), h.id, oneLine(h.text, 100)])]),
        );
      } finally {
        encoder.dispose();
      }
    } finally {
      source.close();
    }
  });
}
