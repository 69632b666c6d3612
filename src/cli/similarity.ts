// Owns: `kmed similarity --query TEXT --passage TEXT [--passage TEXT ...]` — scores one question
// against passages with the two encoders and prints a table like the model card's example (or
// JSON). Does not own loading (../node/bi-encoder.ts) or the arithmetic (../similarity.ts).
import type { Command } from 'commander';
import { addEncoderOptions, addModelOptions, collect, fmtScore, oneLine, table, type ModelFlags } from './model-options.js';

interface SimilarityFlags extends ModelFlags {
  query: string;
  passage: string[];
  metric: string;
}

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('similarity')
      .description('score a question against passages (cosine of the two encoders\' pooler outputs, as on the model card)')
      .requiredOption('--query <text>', 'the question')
      .requiredOption('--passage <text>', 'a passage (repeat for several)', collect)
      .option('--metric <metric>', 'cosine or dot', 'cosine'),
  )).action(async (flags: SimilarityFlags) => {
    const { loadBiEncoder } = await import('../node/bi-encoder.js');
    const { checkMetric } = await import('../search/similarity.js');
    const metric = checkMetric(flags.metric);
    const bi = await loadBiEncoder({ question: flags.questionModel, context: flags.contextModel }, { dtype: flags.dtype, threads: flags.threads });
    try {
      const [scores] = await bi.score([flags.query], flags.passage, { metric });
      if (flags.json) {
        const result = { query: flags.query, metric, scores: flags.passage.map((passage, i) => ({ passage, score: scores[i] })) };
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      const rows = [['#', metric, 'passage'], ...flags.passage.map((p, i) => [String(i + 1), fmtScore(scores[i]), oneLine(p)])];
      process.stdout.write(`query: ${flags.query}\n` + table(rows));
    } finally {
      bi.dispose();
    }
  });
}
