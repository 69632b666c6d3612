// Graph search in Chromium, through kmed-dpr/worker: the fixture corpus is indexed with the tiny
// encoders and given a graph by the CLI (`kmed index --ann hnsw`), served with the tiny models, and
// test/runtimes/ann.mjs moves index and graph into a WorkerBiEncoder, then searches the 40 fixture
// questions through the graph and exactly. Asserts: recall@10 against exact ≥ 0.95, the page's
// first query finds what `kmed search` finds in Node through the same graph, and a damaged graph is
// refused inside the worker with its KmedError code (ANN_CHECKSUM).
// Does not own: the worker (src/worker/) or the graph (src/search/ann/).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../scripts/serve-web.mjs';
import { FIXTURES, launchChromium, REPO_ROOT, run } from './runtimes/launch.js';
import { chromium, skipWithout } from './helpers/requirement.js';

const models = ['--question-model', join(FIXTURES, 'tiny-question'), '--context-model', join(FIXTURES, 'tiny-context')];

describe.skipIf(skipWithout(chromium()))('graph search in a worker in Chromium', () => {
  let work: string;
  let queries: string[];
  beforeAll(async () => {
    for (const built of ['dist/worker/index.js', 'dist/worker/worker-main.js', 'dist/cli/main.js', 'dist/kernels/kernels.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    work = mkdtempSync(join(tmpdir(), 'kmed-ann-browser-'));
    const r = await run(process.execPath, ['dist/cli/main.js', 'index', '--corpus', join(FIXTURES, 'corpus', 'corpus.txt'), '--out', join(work, 'c.idx'),
      ...models, '--ann', 'hnsw', '--ann-m', '8', '--ann-ef-construction', '64', '--threads', '1'], REPO_ROOT, 180_000);
    if (r.code !== 0) throw new Error(`kmed index failed (exit ${r.code}): ${r.stderr}`);
    queries = readFileSync(join(FIXTURES, 'corpus', 'queries.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    writeFileSync(join(work, 'queries.json'), JSON.stringify(queries));
  }, 200_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('finds the exact top 10 through the graph, as kmed search does in Node, and refuses a damaged graph', async () => {
    const server = await startServer({ mounts: { '/data/': work } });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/test/runtimes/ann.html?question=/test/fixtures/tiny-question/&context=/test/fixtures/tiny-context/` +
        '&index=/data/c.idx&graph=/data/c.idx.ann&texts=/data/queries.json&k=10&ef=16&ef=64');
      await page.waitForFunction(() => (window as unknown as { kmedAnn?: unknown }).kmedAnn !== undefined, null, { timeout: 180_000 });
      const r = (await page.evaluate(() => (window as unknown as { kmedAnn: unknown }).kmedAnn)) as {
        error?: string;
        queries: number;
        refusal: string;
        openMs: number;
        exactMedianMs: number;
        sweep: Array<{ ef: number; recall: number; medianMs: number; first: string[] }>;
      };
      expect(r.error).toBeUndefined();
      console.log(`Chromium ${browser.version()}, 603 passages × 64 dims, ${r.queries} queries through the worker: open ${r.openMs.toFixed(0)} ms, ` +
        `exact median ${r.exactMedianMs.toFixed(2)} ms; ${r.sweep.map((s) => `ef ${s.ef}: recall@10 ${s.recall.toFixed(3)}, median ${s.medianMs.toFixed(2)} ms`).join('; ')}`);
      expect(r.queries).toBe(queries.length);
      expect(r.refusal).toBe('ANN_CHECKSUM');
      expect(r.sweep.at(-1)!.recall).toBeGreaterThanOrEqual(0.95);
      // The same graph searched from the CLI in Node gives the same passages for the first question.
      const cli = await run(process.execPath, ['dist/cli/main.js', 'search', '--index', join(work, 'c.idx'), '--query', queries[0], '--ef', '64', '--json', ...models], REPO_ROOT, 60_000);
      expect(cli.code, cli.stderr).toBe(0);
      const ids = (JSON.parse(cli.stdout) as Array<{ id: string }>).map((h) => h.id);
      expect(new Set(r.sweep.at(-1)!.first)).toEqual(new Set(ids));
    } finally {
      await browser.close();
      await server.close();
    }
  }, 240_000);
});
