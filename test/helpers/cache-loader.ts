// Owns: one loader process of the shared-cache test (test/hub-faults.test.ts), run with
// `node --import tsx`: loads a model by hub id into a shared Hugging Face cache, prints 'loaded',
// then embeds one text again and again until the stop file appears, and prints one JSON line: how
// many embeds ran, every error (code and message), and the first values of the vector.
// Does not own any assertion (the test compares the vectors with the golden file).
import { existsSync } from 'node:fs';
import { Encoder } from '../../src/node/index.js';

const [endpoint, cacheDir, repo, stopFile, text] = process.argv.slice(2);
const encoder = await Encoder.fromPretrained(repo, { endpoint, cacheDir, retryDelayMs: 10, timeoutMs: 60_000, threads: 1 });
process.stdout.write('loaded\n');
const errors: string[] = [];
let embeds = 0;
let first: number[] | undefined;
const once = async () => {
  try {
    const [vector] = await encoder.embed([text]);
    first ??= Array.from(vector);
    if (Array.from(vector).some((x, i) => x !== first![i])) errors.push('a vector differs from the first one');
    embeds++;
  } catch (error) {
    errors.push(`${(error as { code?: string }).code}: ${(error as Error).message}`);
  }
};
while (!existsSync(stopFile)) {
  await once();
  await new Promise((r) => setTimeout(r, 10));
}
await once(); // after the last republish for sure
encoder.dispose();
process.stdout.write(JSON.stringify({ embeds, errors, first }) + '\n');
