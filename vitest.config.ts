// Test runner settings: tests are correctness only (timings live in bench/). The time limits only
// stop a hang: generous enough for a machine loaded far past its cores (a test that takes 20 s
// alone may take minutes there), never a figure a test asserts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
