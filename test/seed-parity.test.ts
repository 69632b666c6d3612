// Seed parity: the model card's own example on the real encoders. With
// weights/medical-biencoder-ko-bert-{question,context} present (`kmed download`, or copied by hand),
// our three cosine similarities must be within 5e-4 of the card's 0.2674, 0.0416, 0.0476 (the card
// prints 4 decimals). Without them the test is skipped and says how to get them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_CARD_EXAMPLE } from '../src/bi-encoder.js';
import { loadBiEncoder } from '../src/node/bi-encoder.js';

const dirs = ['question', 'context'].map((role) => join('weights', `medical-biencoder-ko-bert-${role}`));
const present = dirs.every((d) => existsSync(join(d, 'config.json')) && existsSync(join(d, 'model.safetensors')));
if (!present) {
  console.log(
    `seed-parity: skipped — ${dirs.join(' and ')} not found. Run \`npx kmed download\` (or copy the two ` +
      'model folders into weights/ by hand), then `npx vitest run test/seed-parity.test.ts`.',
  );
}

describe.skipIf(!present)('model card example on the real encoders', () => {
  it('gives 0.2674, 0.0416, 0.0476 within 5e-4', async () => {
    const bi = await loadBiEncoder();
    try {
      const [ours] = await bi.score([MODEL_CARD_EXAMPLE.query], [...MODEL_CARD_EXAMPLE.passages]);
      console.log(`seed parity: ours ${ours.map((s) => s.toFixed(6)).join(', ')} vs card ${MODEL_CARD_EXAMPLE.similarities.join(', ')}`);
      ours.forEach((s, i) => expect(Math.abs(s - MODEL_CARD_EXAMPLE.similarities[i])).toBeLessThanOrEqual(MODEL_CARD_EXAMPLE.tolerance));
    } finally {
      bi.dispose();
    }
  });
});
