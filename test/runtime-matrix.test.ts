// Owns: the runtime matrix (issue 6, item 4). The same check (test/runtimes/check-core.mjs: load the
// tiny question and context encoders from bytes, embed the model card's example, compare poolers
// with tiny-golden.json) runs in Node (this one, 22 and 24), Deno, Bun and headless Chromium, for every thread count in
// THREAD_COUNTS, each importing the package the way that runtime would: the command-line runtimes
// by the package's own name (self-reference, so the `exports` map picks the entry) and the page
// through the neutral entry the map gives browsers. A runtime that cannot start fails the test.
// Does not own: the packaged-install variant (pack.test.ts) or the timings in the README
// (bench/runtimes.ts measures those on the full-size synthetic model).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../scripts/serve-web.mjs';
import {
  type CheckResult,
  type CliRuntime,
  formatRow,
  launchChromium,
  REPO_ROOT,
  resolveExport,
  run,
  runCliCheck,
  runtimeCommand,
  TABLE_HEADER,
  threadCounts,
} from './runtimes/launch.js';
import { chromium, extraNode, skipWithout } from './helpers/requirement.js';

/** Thread counts each runtime is checked with: [1], and [1, 2] once the `threads` option exists. */
const THREAD_COUNTS = threadCounts();
const POOLER_TOLERANCE = 2e-5;
const SIMILARITY_TOLERANCE = 1e-5;
/** What each runtime imports, and the entry the exports map must resolve it to: by name, the
 *  command-line runtimes get the Node entry; `kmed-dpr/web` is the neutral one everywhere (what a
 *  browser gets by name), checked here in the command-line runtimes too. */
const IMPORTS = [
  { lib: 'kmed-dpr', entry: 'node' },
  { lib: 'kmed-dpr/web', entry: 'neutral' },
];

const results: CheckResult[] = [];

function expectPass(r: CheckResult, threads: number, entry: string): void {
  results.push(r);
  expect(r.error, `${r.runtime} failed:\n${r.error}`).toBeUndefined();
  expect(r.entry, `${r.runtime} importing ${r.lib} got the ${r.entry} entry`).toBe(entry);
  expect(r.threads, `${r.runtime} ran with ${r.threads} threads, asked for ${threads}`).toBe(threads);
  expect(r.maxError!, `${r.runtime}: ${r.worst}`).toBeLessThanOrEqual(POOLER_TOLERANCE);
  expect(r.maxSimilarityError!).toBeLessThanOrEqual(SIMILARITY_TOLERANCE);
}

describe('runtime matrix: the tiny check in every runtime', () => {
  beforeAll(() => {
    for (const built of ['dist/index.js', 'dist/node/index.js', 'dist/kernels/kernels.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
  });

  afterAll(() => {
    console.log(`\nruntime matrix (tiny encoders, model card example; tolerance ${POOLER_TOLERANCE})\n${TABLE_HEADER}\n${results.map(formatRow).join('\n')}\n`);
  });

  for (const runtime of ['node', 'node22', 'node24', 'deno', 'bun'] as CliRuntime[]) {
    // Node 22 and 24 come from their own npm install (Linux x64 only): said and skipped when absent.
    const skip = runtime === 'node22' || runtime === 'node24' ? skipWithout(extraNode(runtime)) : false;
    for (const threads of THREAD_COUNTS) {
      for (const { lib, entry } of IMPORTS) {
        it.skipIf(skip)(`${runtime}, ${threads} thread(s), import '${lib}'`, async () => {
          const r = await runCliCheck(runtime, { cwd: REPO_ROOT, script: 'test/runtimes/check.mjs', lib, threads });
          expectPass(r, threads, entry);
        });
      }
    }
    // CommonJS: require() of the ES module package (require(esm), unflagged since Node 20.19 and
    // 22.12), every entry by name, from a .cjs file; no warning printed.
    if (runtime.startsWith('node')) {
      it.skipIf(skip)(`${runtime}: require() of every entry from CommonJS`, async () => {
        const [command] = runtimeCommand(runtime);
        const script = "for (const e of ['kmed-dpr', 'kmed-dpr/node', 'kmed-dpr/web', 'kmed-dpr/worker']) { const m = require(e); if (typeof m.Encoder?.fromFiles !== 'function') throw new Error(e + ': no Encoder'); } console.log(typeof require('kmed-dpr').Encoder.fromDirectory, typeof require('kmed-dpr/web').Encoder.fromDirectory);";
        const r = await run(command, ['--input-type=commonjs', '-e', script], REPO_ROOT, 60_000);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr, 'require(esm) prints no warning').toBe('');
        expect(r.stdout.trim()).toBe('function undefined');
      });
    }
  }

  describe.skipIf(skipWithout(chromium()))('chromium', () => {
    let server: Awaited<ReturnType<typeof startServer>>;
    let browser: Awaited<ReturnType<typeof launchChromium>>;

    beforeAll(async () => {
      server = await startServer();
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    // What the exports map gives a browser for `import 'kmed-dpr'` (conditions a bundler sets).
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const browserEntry = '/' + resolveExport(pkg.exports, '.', ['browser', 'import']).replace(/^\.\//, '');

    for (const threads of THREAD_COUNTS) {
      it(`chromium, ${threads} thread(s), import '${browserEntry}' (exports["."] for browser)`, async () => {
        const page = await browser.newPage();
        const logs: string[] = [];
        page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
        await page.goto(`${server.url}/test/runtimes/browser.html?threads=${threads}&lib=${encodeURIComponent(browserEntry)}`);
        await page.waitForFunction(() => (window as unknown as { kmedCheck?: unknown }).kmedCheck !== undefined, null, {
          timeout: 60_000,
        });
        const r = (await page.evaluate(() => (window as unknown as { kmedCheck: unknown }).kmedCheck)) as CheckResult;
        await page.close();
        // The user agent is frozen at 156.0.0.0; the browser object knows the full version.
        r.version = browser.version();
        if (r.error && logs.length) r.error += `\nconsole:\n${logs.join('\n')}`;
        // The server sends COOP/COEP, so the page must be cross-origin isolated (threads need it).
        expect(r.crossOriginIsolated, 'page is not cross-origin isolated').toBe(true);
        expectPass(r, threads, 'neutral');
      });
    }

    // Without COOP/COEP a page has no SharedArrayBuffer: asked for several threads, the library
    // must still give the right answer on one, and say so exactly once (issue 6, item 3).
    it.runIf(THREAD_COUNTS.includes(2))('chromium without cross-origin isolation falls back to 1 thread, warning once', async () => {
      const plain = await startServer({ isolation: false });
      try {
        const page = await browser.newPage();
        const warnings: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'warning' && /thread/i.test(m.text())) warnings.push(m.text());
        });
        await page.goto(`${plain.url}/test/runtimes/browser.html?threads=2&lib=${encodeURIComponent(browserEntry)}`);
        await page.waitForFunction(() => (window as unknown as { kmedCheck?: unknown }).kmedCheck !== undefined, null, {
          timeout: 60_000,
        });
        const r = (await page.evaluate(() => (window as unknown as { kmedCheck: unknown }).kmedCheck)) as CheckResult;
        await page.close();
        r.version = browser.version();
        expect(r.crossOriginIsolated).toBe(false);
        expectPass({ ...r, runtime: 'chromium (no COOP/COEP)' }, 1, 'neutral');
        expect(r.requestedThreads).toBe(2);
        console.log(`fallback warning: ${warnings.join(' | ')}`);
        // Two encoders were asked for 2 threads; one warning in all.
        expect(warnings).toHaveLength(1);
        // The hint must say how to serve the page (Chromium hides SharedArrayBuffer there, so a
        // check of the global first would only say it is missing).
        expect(warnings[0]).toMatch(/not cross-origin isolated.*Cross-Origin-Opener-Policy/);
      } finally {
        await plain.close();
      }
    });
  });
});
