// Owns: the off-the-main-thread test (issue 11, item 2). Makes the full-size synthetic context model
// (`kmed synth`, klue/bert-base shape) in a temp folder, serves it with COOP/COEP, and in headless
// Chromium (test/runtimes/worker.mjs) embeds 8 passages with kmed-dpr/worker's WorkerEncoder on 1 and
// 2 threads in turns, then with the plain Encoder on the main thread. Asserts: no main-thread long
// task (PerformanceObserver 'longtask', > 50 ms) while the workers embed, 2 threads faster than 1
// (best of 3 each), the same vectors from both; prints the main-thread figures for comparison.
// Does not own: the worker (src/worker/) or the model rule (synthetic.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../scripts/serve-web.mjs';
import { FIXTURES, launchChromium, REPO_ROOT, run } from './runtimes/launch.js';

interface Run {
  label: string;
  ms: number;
  longestTask: number;
  longTasks: number;
  longestTimerGap: number;
  finite: boolean;
  first: number[];
}

describe('kmed-dpr/worker in Chromium: the page stays responsive', () => {
  let work: string;
  beforeAll(async () => {
    for (const built of ['dist/worker/index.js', 'dist/worker/worker-main.js', 'dist/cli/main.js', 'dist/kernels/kernels-mt.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    work = mkdtempSync(join(tmpdir(), 'kmed-worker-'));
    const vocab = join(FIXTURES, 'tokenizer', 'vocab.txt');
    const r = await run(process.execPath, ['dist/cli/main.js', 'synth', '--seed', 'context', '--out', join(work, 'model'), '--vocab', vocab], REPO_ROOT, 180_000);
    if (r.code !== 0) throw new Error(`kmed synth failed (exit ${r.code}): ${r.stderr}`);
  }, 200_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('no main-thread task over 50 ms while the full-size model embeds 8 passages in the worker; 2 threads beat 1', async () => {
    const server = await startServer({ mounts: { '/model/': join(work, 'model') } });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/test/runtimes/worker.html?rounds=3`);
      await page.waitForFunction(() => (window as unknown as { kmedWorker?: unknown }).kmedWorker !== undefined, null, { timeout: 420_000 });
      const r = (await page.evaluate(() => (window as unknown as { kmedWorker: unknown }).kmedWorker)) as {
        error?: string;
        observing: boolean;
        threads: { one: number; two: number };
        runs: Run[];
      };
      expect(r.error, `${r.error}\n${errors.join('\n')}`).toBeUndefined();
      const table = r.runs
        .map((x) => `| ${x.label} | ${x.ms.toFixed(0)} | ${x.longestTask.toFixed(0)} | ${x.longTasks} | ${x.longestTimerGap.toFixed(0)} |`)
        .join('\n');
      const best = (label: string) => Math.min(...r.runs.filter((x) => x.label === label).map((x) => x.ms));
      const one = best('worker, 1 thread');
      const two = best('worker, 2 threads');
      console.log(
        `\nChromium ${browser.version()}, full-size synthetic model, 8 passages\n| run | embed ms | longest main-thread task ms | long tasks | longest 10 ms-timer gap ms |\n|---|---|---|---|---|\n${table}\n` +
          `best of 3: 1 thread ${one.toFixed(0)} ms, 2 threads ${two.toFixed(0)} ms (${(one / two).toFixed(2)}x)\n`,
      );
      expect(r.observing, 'this Chromium does not report longtask entries').toBe(true);
      expect(r.threads).toEqual({ one: 1, two: 2 });
      for (const x of r.runs) expect(x.finite, `${x.label}: not 8 finite 768-vectors`).toBe(true);
      // Threads never change the answer (bitwise), nor does the worker.
      for (const x of r.runs) expect(x.first).toEqual(r.runs[0].first);
      // Best of 3 per thread count: on an oversubscribed machine an idle main thread can still be
      // descheduled mid-task (a 10 ms timer task then "lasts" 80 ms); a forward pass on the main
      // thread would make every run long.
      for (const label of ['worker, 1 thread', 'worker, 2 threads']) {
        const cleanest = Math.min(...r.runs.filter((x) => x.label === label).map((x) => x.longestTask));
        expect(cleanest, `${label}: every run had a main-thread task of ${cleanest.toFixed(0)} ms or more`).toBe(0);
      }
      // The check can fail: the same embed on the main thread is one long task.
      const main = r.runs.find((x) => x.label.startsWith('main'))!;
      expect(main.longestTask).toBeGreaterThan(50);
      // Two threads only pay when a second core is free for them: with the machine's load above its
      // core count the comparison measures the neighbours, so it is reported, not asserted.
      const [load] = loadavg();
      if (load <= cpus().length) expect(two, `2 threads ${two.toFixed(0)} ms, 1 thread ${one.toFixed(0)} ms`).toBeLessThan(one);
      else console.log(`2 threads vs 1 not asserted: load average ${load.toFixed(1)} on ${cpus().length} cores`);
    } finally {
      await browser.close();
      await server.close();
    }
    // Bounded for a busy shared machine; alone on 2 cores the whole test takes about a minute.
  }, 480_000);
});
