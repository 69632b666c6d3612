// Owns: `npx tsx bench/worker.ts` — what kmed-dpr/worker buys a page, in time: the full-size
// synthetic model (`kmed synth`, klue/bert-base shape) embeds the same 8 passages in headless
// Chromium with WorkerEncoder on 1 and 2 threads (interleaved, `--rounds` each) and once per round
// with the plain Encoder on the main thread (the peer, same run). Per run: embed ms, the longest
// main-thread task (PerformanceObserver 'longtask', > 50 ms), long tasks, the longest 10 ms-timer
// gap, and the main-thread turns a message ping-pong counted during the embed. Prints medians per
// kind, the 1 vs 2 thread ratio, the load average and this process's peak RSS (the page's memory is
// Chromium's own). The page is test/runtimes/worker.mjs, which test/worker.test.ts drives for the
// clock-free assertions.
//
//   npm run build && npx tsx bench/worker.ts [--rounds 5]
// Does not own the worker (src/worker/) or the model rule (src/model/synthetic.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../scripts/serve-web.mjs';
import { median } from './median.js';
import { FIXTURES, launchChromium, REPO_ROOT, run } from '../test/runtimes/launch.js';
import type { WorkerPageRun as Run } from '../test/runtimes/worker-run.js';


const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('rounds', 5);

for (const built of ['dist/worker/index.js', 'dist/worker/worker-main.js', 'dist/cli/main.js', 'dist/kernels/kernels-mt.wasm']) {
  if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
}
const work = mkdtempSync(join(tmpdir(), 'kmed-bench-worker-'));
try {
  const synth = await run(process.execPath, ['dist/cli/main.js', 'synth', '--seed', 'context', '--out', join(work, 'model'), '--vocab', join(FIXTURES, 'tokenizer', 'vocab.txt')], REPO_ROOT, 300_000);
  if (synth.code !== 0) throw new Error(`kmed synth failed (exit ${synth.code}): ${synth.stderr}`);
  const server = await startServer({ mounts: { '/model/': join(work, 'model') } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/test/runtimes/worker.html?rounds=${rounds}&mainRounds=${rounds}`);
    await page.waitForFunction(() => (window as unknown as { kmedWorker?: unknown }).kmedWorker !== undefined, null, { timeout: 1_800_000 });
    const r = (await page.evaluate(() => (window as unknown as { kmedWorker: unknown }).kmedWorker)) as { error?: string; runs: Run[] };
    if (r.error) throw new Error(r.error);
    const labels = [...new Set(r.runs.map((x) => x.label))];
    const med = (label: string, key: 'ms' | 'longestTask' | 'longTasks' | 'longestTimerGap' | 'turns') => median(r.runs.filter((x) => x.label === label).map((x) => x[key]));
    const rows = labels.map((label) =>
      `| ${label} | ${r.runs.filter((x) => x.label === label).length} | ${med(label, 'ms').toFixed(0)} | ${med(label, 'longestTask').toFixed(0)} | ` +
        `${med(label, 'longTasks')} | ${med(label, 'longestTimerGap').toFixed(0)} | ${med(label, 'turns')} |`);
    const one = med('worker, 1 thread', 'ms');
    const two = med('worker, 2 threads', 'ms');
    console.log(
      `Chromium ${browser.version()}, full-size synthetic model, 8 passages; medians over the runs\n` +
        '| run | runs | embed ms | longest main-thread task ms | long tasks | longest 10 ms-timer gap ms | main-thread turns |\n' +
        `|---|---|---|---|---|---|---|\n${rows.join('\n')}\n` +
        `worker 1 thread / 2 threads: ${(one / two).toFixed(2)}x; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; ` +
        `peak RSS of this process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
