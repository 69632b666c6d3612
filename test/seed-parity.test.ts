// Seed parity: the model card's own example on the real encoders. With
// weights/medical-biencoder-ko-bert-{question,context} present (`kmed download`, or copied by hand),
// our three cosine similarities must be within 5e-4 of the card's 0.2674, 0.0416, 0.0476 (the card
// prints 4 decimals). Without them the test is skipped and says how to get them.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_CARD_EXAMPLE } from '../src/bi-encoder.js';
import { loadBiEncoder } from '../src/node/bi-encoder.js';
import { realWeights, skipWithout } from './helpers/requirement.js';

const dirs = ['question', 'context'].map((role) => join('weights', `medical-biencoder-ko-bert-${role}`));
describe.skipIf(skipWithout(realWeights(dirs)))('model card example on the real encoders', () => {
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
