// Test runner settings for mutation testing (stryker.config.json, `npm run test:mutation`): only the
// fast test files that exercise the mutated modules in-process. Tests that run the built CLI (dist/)
// or a browser cannot see a mutant of src/; the parity tests and the fault fuzzers (index-faults,
// safetensors-fuzz) cost seconds to minutes per run, i.e. hours over hundreds of mutants, and are
// left to `npm test`. Stryker's vitest runner narrows these files further to the ones that import
// the mutated module.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/known-answers.test.ts',
      'test/index-format.test.ts',
      'test/vector-index.test.ts',
      'test/bi-encoder.test.ts',
      'test/similarity.test.ts',
      'test/tokenizer.test.ts',
      'test/tokenizer-errors.test.ts',
      'test/tokenizer-fuzz.test.ts',
      'test/safetensors.test.ts',
      'test/safetensors-upstream.test.ts',
      'test/cli-text-input.test.ts',
      'test/utf8-lines.test.ts',
      'test/corpus-reader.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
