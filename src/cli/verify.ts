// Owns: `kmed verify` — runs the model card's example (one query, three clinical notes) through
// the two encoders and prints our cosine similarities beside the card's 0.2674, 0.0416, 0.0476;
// exit code 0 only when each is within 5e-4. The end-to-end check that the downloaded encoders
// and this engine reproduce the published numbers. Does not own the example (../bi-encoder.ts).
import type { Command } from 'commander';
import { addModelOptions, fmtScore, oneLine, table, type ModelFlags } from './model-options.js';

export function register(program: Command): void {
  addModelOptions(
    program
      .command('verify')
      .description("reproduce the model card's example (0.2674, 0.0416, 0.0476) with the two encoders; exit 1 unless each is within 5e-4"),
  ).action(async (flags: ModelFlags) => {
    const { loadBiEncoder } = await import('../node/bi-encoder.js');
    const { MODEL_CARD_EXAMPLE: card } = await import('../bi-encoder.js');
    const bi = await loadBiEncoder({ question: flags.questionModel, context: flags.contextModel });
    let scores: number[];
    try {
      [scores] = await bi.score([card.query], [...card.passages]);
    } finally {
      bi.dispose();
    }
    const rows = scores.map((ours, i) => {
      const expected = card.similarities[i];
      const diff = Math.abs(ours - expected);
      return { note: i + 1, ours, card: expected, diff, ok: diff <= card.tolerance };
    });
    const failed = rows.filter((r) => !r.ok).length;
    if (flags.json) {
      const models = { question: bi.identity.question?.name ?? null, context: bi.identity.context?.name ?? null };
      process.stdout.write(JSON.stringify({ query: card.query, models, tolerance: card.tolerance, ok: failed === 0, results: rows }) + '\n');
    } else {
      process.stdout.write(
        `model card example, query: ${card.query}\n` +
          `question model: ${bi.identity.question?.name}, context model: ${bi.identity.context?.name}\n` +
          table([
            ['note', 'ours', 'card', '|diff|', `≤ ${card.tolerance}`, 'text'],
            ...rows.map((r, i) => [String(r.note), r.ours.toFixed(6), fmtScore(r.card), r.diff.toFixed(6), r.ok ? 'yes' : 'NO', oneLine(card.passages[i], 40)]),
          ]),
      );
    }
    if (failed === 0) {
      if (!flags.json) process.stdout.write(`verify: OK, all ${rows.length} similarities match the model card within ${card.tolerance}\n`);
    } else {
      process.stderr.write(
        `kmed: verify failed: ${failed} of ${rows.length} similarities differ from the model card by more than ${card.tolerance} ` +
          `(are these the snumin44/medical-biencoder-ko-bert-* encoders?)\n`,
      );
      process.exitCode = 1;
    }
  });
}
