// Owns: bench:e2e's Chromium row (`--chromium`, issue 12 item 6): serve the repository's dist/, the
// synthetic model, its ONNX export and onnxruntime-web (bench/node_modules) to headless Chromium with
// cross-origin isolation (threads need SharedArrayBuffer), open page.html once per thread count —
// ours and ort-web share that page and are timed in turns there — and turn what the page publishes
// into markdown lines: batch-1 latency at 128/512 tokens and the corpus rows, as ratios against
// ort-web in the same page.
// Does not own: the timing loop (page.mjs) or the Node tables (../e2e.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../scripts/serve-web.mjs';
import { launchChromium } from '../../test/runtimes/launch.js';
import { makeBatch } from './inputs.js';
import type { Corpus } from './corpora.js';
import { fmt, PARITY_TOLERANCE } from './format.js';

export interface ChromiumOptions {
  root: string;
  modelDir: string;
  onnxDir: string;
  onnxDataFile: string;
  threads: number[];
  lengths: number[];
  corpora: Corpus[];
  quick: boolean;
  vocabSize: number;
  seed: number;
  log: (s: string) => void;
}

interface PageResult {
  error?: string;
  threads: number;
  crossOriginIsolated: boolean;
  oursLoadMs: number;
  ortLoadMs: number;
  parityMaxAbs: number;
  latency: Array<{ T: number; oursMs: number; ortMs: number; runs: number }>;
  corpora: Array<{ name: string; file: string; texts: number; tokens: number; oursMs: number; ortMs: number; runs: number }>;
}

export async function chromiumRow(o: ChromiumOptions): Promise<{ lines: string[]; failures: string[] }> {
  const data = mkdtempSync(join(tmpdir(), 'kmed-e2e-chromium-'));
  const spec = {
    onnxDataFile: o.onnxDataFile,
    reps: o.quick ? 2 : 5,
    corpusReps: o.quick ? 2 : 3,
    latencyIds: o.lengths.map((T) => Array.from(makeBatch(o.seed, [T], o.vocabSize)[0])),
    corpora: o.corpora,
  };
  writeFileSync(join(data, 'spec.json'), JSON.stringify(spec));
  const server = await startServer({
    mounts: { '/model/': o.modelDir, '/onnx/': o.onnxDir, '/bench/': join(o.root, 'bench'), '/e2e-data/': data },
  });
  const failures: string[] = [];
  const results: PageResult[] = [];
  let version = '?';
  const browser = await launchChromium();
  try {
    version = browser.version();
    for (const threads of o.threads) {
      o.log(`chromium ${version}, ${threads} thread${threads > 1 ? 's' : ''}: ours and ort-web in one page ...`);
      const page = await browser.newPage();
      page.on('pageerror', (e) => o.log(`  page error: ${e.message}`));
      await page.goto(`${server.url}/bench/e2e/page.html?threads=${threads}`);
      await page.waitForFunction(() => (window as unknown as { kmedE2e?: unknown }).kmedE2e !== undefined, null, { timeout: 1_200_000 });
      const r = (await page.evaluate(() => (window as unknown as { kmedE2e: unknown }).kmedE2e)) as PageResult;
      await page.close();
      if (r.error) failures.push(`chromium t${threads}: ${r.error.split('\n')[0]}`);
      else if (r.threads !== threads) failures.push(`chromium: asked for ${threads} threads, ours ran ${r.threads} (crossOriginIsolated ${r.crossOriginIsolated})`);
      else if (!(r.parityMaxAbs <= PARITY_TOLERANCE)) failures.push(`chromium t${threads}: ours vs ort-web pooler max |Δ| ${r.parityMaxAbs}`);
      else results.push(r);
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(data, { recursive: true, force: true });
  }

  const lines = [`Headless Chromium ${version}: ours (f32, simd 'auto') and onnxruntime-web 1.30 (wasm, SIMD, threads) in the same page, ` +
    'timed in turns; medians. Latency: one sequence (batch 1). Corpora as in the Node tables.', '',
    '| threads | case | ours | ort-web | ours/ort-web | runs |', '|---:|---|---:|---:|---:|---:|'];
  for (const r of results) {
    for (const l of r.latency) lines.push(`| ${r.threads} | ${l.T} tokens, ms/seq | ${fmt(l.oursMs)} | ${fmt(l.ortMs)} | ${(l.ortMs / l.oursMs).toFixed(2)}× | ${l.runs} |`);
    for (const c of r.corpora) {
      const rate = (ms: number) => (1000 * c.texts) / ms;
      lines.push(`| ${r.threads} | ${c.name} (${c.file}, ${(c.tokens / c.texts).toFixed(1)} tokens avg), passages/s | ${fmt(rate(c.oursMs))} | ${fmt(rate(c.ortMs))} | ${(c.ortMs / c.oursMs).toFixed(2)}× | ${c.runs} |`);
    }
  }
  for (const r of results) lines.push(`- ${r.threads} thread(s): load ours ${r.oursLoadMs.toFixed(0)} ms, ort-web ${r.ortLoadMs.toFixed(0)} ms; pooler max |Δ| ours vs ort-web ${r.parityMaxAbs.toExponential(1)} ✓.`);
  return { lines, failures };
}
