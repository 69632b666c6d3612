// Owns: the browser figure of graph search — a full-size (768-d) synthetic bi-encoder (`kmed synth`,
// question and context), an index of --rows clustered 768-d vectors made for it (default 100 000,
// bench/search.ts's overlapping set), its graph built in Node (`--threads` build threads), then in
// headless Chromium test/runtimes/ann.mjs moves both into a kmed-dpr/worker WorkerBiEncoder and
// searches --queries query vectors through the graph at each ef and exactly: recall@10 against
// exact and median latency of one search call (the worker round trip included). Prints a table.
// Not a test: timings are of this machine as it is.
//
//   npm run build && npx tsx bench/ann-browser.ts --rows 100000
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../scripts/serve-web.mjs';
import { modelIdentityOfDirectory } from '../src/node/bi-encoder.js';
import { writeAnnFile } from '../src/node/indexing/ann-file.js';
import { ClusteredVectors } from '../test/helpers/clustered-vectors.js';
import { FIXTURES, launchChromium, REPO_ROOT, run } from '../test/runtimes/launch.js';
import { SYNTHETIC_META, writeSyntheticIndex } from './synthetic-index.js';

const option = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const ROWS = Number(option('rows', '100000'));
const QUERIES = Number(option('queries', '200'));
const EFS = option('efs', '32,64,100,128').split(',').map(Number);
const THREADS = Number(option('threads', '2'));
const D = 768;

const work = mkdtempSync(join(tmpdir(), 'kmed-ann-browser-bench-'));
try {
  for (const role of ['question', 'context']) {
    const r = await run(process.execPath, ['dist/cli/main.js', 'synth', '--seed', role, '--out', join(work, role), '--vocab', join(FIXTURES, 'tokenizer', 'vocab.txt')], REPO_ROOT, 600_000);
    if (r.code !== 0) throw new Error(`kmed synth failed: ${r.stderr}`);
  }
  const gen = new ClusteredVectors({ dimension: D, centroids: 20000, spread: 2, rank: 32, seed: 1 });
  const indexPath = join(work, 'data', 'i.idx');
  mkdirSync(join(work, 'data'));
  const meta = { ...SYNTHETIC_META, context_model: await modelIdentityOfDirectory(join(work, 'context')) };
  await writeSyntheticIndex(indexPath, ROWS, D, 1, { fill: (dst, r0, n) => gen.fill(dst, r0, n), meta });
  const t = performance.now();
  const built = await writeAnnFile(indexPath, { threads: THREADS, force: true });
  console.log(`graph of ${ROWS} rows built in Node in ${((performance.now() - t) / 1000).toFixed(1)} s on ${built.threads} threads (M ${built.settings.M}, ef-construction ${built.settings.efConstruction})`);
  const q = gen.rows(0, QUERIES, 1);
  writeFileSync(join(work, 'data', 'q.f32'), new Uint8Array(q.buffer));

  const server = await startServer({ mounts: { '/q/': join(work, 'question'), '/c/': join(work, 'context'), '/data/': join(work, 'data') } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/test/runtimes/ann.html?question=/q/&context=/c/&index=/data/i.idx&graph=/data/i.idx.ann&vectors=/data/q.f32&k=10&${EFS.map((e) => `ef=${e}`).join('&')}`);
    await page.waitForFunction(() => (window as unknown as { kmedAnn?: unknown }).kmedAnn !== undefined, null, { timeout: 1_800_000 });
    const r = (await page.evaluate(() => (window as unknown as { kmedAnn: unknown }).kmedAnn)) as {
      error?: string;
      openMs: number;
      exactMedianMs: number;
      refusal: string;
      sweep: Array<{ ef: number; recall: number; medianMs: number }>;
    };
    if (r.error) throw new Error(r.error);
    console.log(`\nChromium ${browser.version()}, kmed-dpr/worker, ${ROWS} rows × ${D} (overlapping clustered set), ${QUERIES} query vectors, one search call at a time`);
    console.log(`open (index + graph into the worker's heap, first query): ${r.openMs.toFixed(0)} ms; exact search median ${r.exactMedianMs.toFixed(2)} ms; damaged graph: ${r.refusal}\n`);
    console.log('| ef | recall@10 vs exact | median ms | speed-up over exact |\n|---|---|---|---|');
    for (const s of r.sweep) console.log(`| ${s.ef} | ${s.recall.toFixed(4)} | ${s.medianMs.toFixed(2)} | ${(r.exactMedianMs / s.medianMs).toFixed(0)}× |`);
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
