// Owns: the WebGPU benchmark runner: serves the repository's dist/, a model folder (default the
// tiny-question fixture: SwiftShader runs a bert-base layer at ~0.25 GFLOP/s, so full-size models
// take minutes per pass there) and onnxruntime-web (bench/node_modules, `npm run bench:install`) to
// headless Chromium with WebGPU enabled, and prints the table page.mjs measures: batch-1 median ms per
// engine and length, and each engine's max |pooler − wasm f32|, under the adapter's description.
// A fallback (software) adapter is labelled: its times say nothing about a GPU.
// Not a test: timings are of this machine as it is.
//
//   npm run build && npx tsx bench/webgpu.ts [--model test/fixtures/tiny-question] [--runs 5] [--lengths 8,32] [--adapter swiftshader|default]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { startServer } from '../scripts/serve-web.mjs';
import { CHROMIUM, FIXTURES, REPO_ROOT } from '../test/runtimes/launch.js';

const option = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const MODEL = resolve(option('model', join(FIXTURES, 'tiny-question')));
const RUNS = Number(option('runs', '5'));
const LENGTHS = option('lengths', '8,32');
// 'swiftshader' (default): Chromium's bundled software adapter, the one every machine has; 'default':
// whatever adapter Chromium picks (a real GPU where there is one and its driver is allowed).
const ADAPTER = option('adapter', 'swiftshader');

const ORT_DIST = join(REPO_ROOT, 'bench', 'node_modules', 'onnxruntime-web', 'dist');
if (!existsSync(ORT_DIST)) console.log(`onnxruntime-web is not installed (${ORT_DIST}): its row will be unavailable; run \`npm run bench:install\``);
for (const f of ['model.safetensors', 'config.json', 'vocab.txt']) {
  if (!existsSync(join(MODEL, f))) throw new Error(`${MODEL}/${f} is missing`);
}
if (!existsSync(join(REPO_ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');

/** RSS bytes of this process's descendants (Chromium's browser, GPU and renderer processes), from
 *  /proc (Linux; undefined elsewhere). Sampled while the page runs; the largest sum is reported. */
function descendantsRss(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      rss.set(Number(name), Number(fields[21]) * 4096);
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += bytes;
        break;
      }
    }
  }
  return total;
}
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, descendantsRss() ?? 0)), 250);

const server = await startServer({ mounts: { '/model/': MODEL, '/ort/': ORT_DIST, '/bench-page/': join(REPO_ROOT, 'bench', 'webgpu') } });
const { chromium } = await import('playwright-core');
const args = ['--no-sandbox', '--enable-unsafe-webgpu', ...(ADAPTER === 'swiftshader' ? ['--use-webgpu-adapter=swiftshader'] : ['--enable-features=Vulkan'])];
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
try {
  const page = await browser.newPage();
  const load = loadavg();
  await page.goto(`${server.url}/bench-page/page.html?runs=${RUNS}&lengths=${LENGTHS}`);
  await page.waitForFunction(() => (window as unknown as { kmedBench?: unknown }).kmedBench !== undefined, null, { timeout: 1_800_000 });
  const r = (await page.evaluate(() => (window as unknown as { kmedBench: unknown }).kmedBench)) as {
    error?: string;
    adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
    config: { hidden_size: number; num_hidden_layers: number; vocab_size: number };
    lengths: number[];
    runs: number;
    rows: Array<{ label: string; failed?: string; medianMs?: number[]; maxAbsVsWasmF32?: number }>;
  };
  clearInterval(sampler);
  if (r.error) throw new Error(r.error);
  const a = r.adapter;
  const adapterText = a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') + (a.isFallbackAdapter ? ' (fallback adapter)' : '') : 'none';
  console.log(`adapter: ${adapterText}`);
  if (!a || a.isFallbackAdapter) console.log('SwiftShader / software adapter: not meaningful for speed (times are of a CPU emulating a GPU); the max-diff column is what counts here.');
  console.log(`Chromium ${browser.version()}; model ${MODEL} (hidden ${r.config.hidden_size}, ${r.config.num_hidden_layers} layers); batch 1, ${r.runs} timed runs per cell in turns after one warm-up; 1 wasm thread; load average at start ${load.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`peak RSS of Chromium's processes (sum, sampled every 250 ms; all four engines live in one page): ${peakRss ? `${(peakRss / 2 ** 20).toFixed(0)} MiB` : 'n/a'}\n`);
  console.log(`| engine | ${r.lengths.map((T) => `${T} tokens, median ms`).join(' | ')} | max abs vs wasm f32 (pooler) |`);
  console.log(`|---|${r.lengths.map(() => '---:').join('|')}|---:|`);
  for (const row of r.rows) {
    if (row.failed) console.log(`| ${row.label} | ${row.failed} |${r.lengths.slice(1).map(() => ' |').join('')} – |`);
    else console.log(`| ${row.label} | ${row.medianMs!.map((x) => x.toFixed(2)).join(' | ')} | ${row.maxAbsVsWasmF32 === 0 ? '(reference)' : row.maxAbsVsWasmF32!.toExponential(2)} |`);
  }
} finally {
  clearInterval(sampler);
  await browser.close();
  await server.close();
}
