// Owns: the zero-config bundling test (issue 11, item 3). `npm pack`s the package, installs the
// tarball into an empty app (`--omit=dev`, as a user would), bundles one small page
// (test/bundlers/main.js: the model card's example through 'kmed-dpr' and 'kmed-dpr/worker') with
// Vite, webpack 5 and esbuild, serves each output with COOP/COEP and checks in Chromium that both
// give tiny-golden.json's seed similarities on 2 threads. Vite and webpack get no configuration
// beyond entry and output; esbuild gets the one addition README documents (the package's worker
// script and .wasm files as extra entry points, `--loader:.wasm=copy`), because it does not follow
// `new URL('./x', import.meta.url)`.
// Does not own: the library, the pack checks (pack.test.ts).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../scripts/serve-web.mjs';
import { FIXTURES, launchChromium, REPO_ROOT, run } from './runtimes/launch.js';
import { chromium, skipWithout } from './helpers/requirement.js';

const SIMILARITY_TOLERANCE = 1e-5;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const golden = JSON.parse(readFileSync(join(FIXTURES, 'tiny-golden.json'), 'utf8')) as { seed_similarity_f64: number[] };

interface BundleResult {
  error?: string;
  scores: number[];
  workerScores: number[];
  threads: number;
  workerThreads: number;
  warnings: string[];
  crossOriginIsolated: boolean;
}

type Bundler = 'vite' | 'webpack' | 'esbuild';

describe.skipIf(skipWithout(chromium()))('bundling the packed package: Vite, webpack 5, esbuild', () => {
  let work: string;
  let app: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  const rows: string[] = [];

  beforeAll(async () => {
    for (const built of ['dist/index.js', 'dist/worker/worker-main.js', 'dist/kernels/kernels.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    work = mkdtempSync(join(tmpdir(), 'kmed-bundlers-'));
    // --ignore-scripts: pack the dist/ this run built (pretest); `prepare` must not rebuild it under tests that read it.
    const pack = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO_ROOT, 120_000);
    if (pack.code !== 0) throw new Error(`npm pack failed (exit ${pack.code}):\n${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string }[];
    app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kmed-bundle-check', private: true, type: 'module' }));
    const install = await run(NPM, ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', join(work, packed.filename)], app, 300_000);
    if (install.code !== 0) throw new Error(`npm install of the tarball failed (exit ${install.code}):\n${install.stderr}`);
    copyFileSync(join(REPO_ROOT, 'test', 'bundlers', 'main.js'), join(app, 'src', 'main.js'));
    browser = await launchChromium();
  });

  afterAll(async () => {
    console.log(`\n| bundler | threads (main / worker) | max similarity error | pass |\n|---|---|---|---|\n${rows.join('\n')}\n`);
    await browser?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function webpackBuild(out: string, mode: 'production' | 'development'): Promise<import('webpack').Stats> {
    const webpack = (await import('webpack')).default;
    const stats = await new Promise<import('webpack').Stats>((ok, fail) =>
      webpack({ mode, target: 'web', context: app, entry: './src/main.js', output: { path: out, clean: true } }, (error, s) =>
        error || !s ? fail(error ?? new Error('no stats')) : ok(s),
      ),
    );
    if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
    return stats;
  }

  const builds: Record<Bundler, (out: string) => Promise<string[]>> = {
    async vite(out) {
      // Vite's own index.html at the app root, pointing at the source entry.
      writeFileSync(join(app, 'index.html'), readFileSync(join(REPO_ROOT, 'test', 'bundlers', 'index.html'), 'utf8').replace('./main.js', './src/main.js'));
      const { build } = await import('vite');
      const warnings: string[] = [];
      await build({
        root: app, configFile: false, logLevel: 'warn',
        build: { outDir: out, emptyOutDir: true },
        customLogger: { info() {}, warn: (m: string) => warnings.push(m), warnOnce: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m), clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
      });
      return warnings;
    },
    async webpack(out) {
      const stats = await webpackBuild(out, 'production');
      writeFileSync(join(out, 'index.html'), readFileSync(join(REPO_ROOT, 'test', 'bundlers', 'index.html'), 'utf8').replace(' type="module"', ''));
      return stats.compilation.warnings.map((w) => w.message);
    },
    async esbuild(out) {
      const { build } = await import('esbuild');
      const pkg = join(app, 'node_modules', 'kmed-dpr', 'dist');
      // The one addition esbuild needs (README "Bundlers"): the files the package names with
      // new URL('./x', import.meta.url) become entry points of their own, copied or bundled beside
      // the page's bundle.
      const result = await build({
        absWorkingDir: app, bundle: true, format: 'esm', platform: 'browser', outdir: out, entryNames: '[name]',
        // Every kernel build (baseline and relaxed SIMD, single and shared memory): dist/kernels/*.wasm.
        entryPoints: ['src/main.js', join(pkg, 'worker', 'worker-main.js'),
          ...readdirSync(join(pkg, 'kernels')).filter((f) => f.endsWith('.wasm')).map((f) => join(pkg, 'kernels', f))],
        loader: { '.wasm': 'copy' }, logLevel: 'silent',
      });
      writeFileSync(join(out, 'index.html'), readFileSync(join(REPO_ROOT, 'test', 'bundlers', 'index.html'), 'utf8'));
      return result.warnings.map((w) => w.text);
    },
  };

  for (const bundler of ['vite', 'webpack', 'esbuild'] as Bundler[]) {
    it(`${bundler}: the bundled page gives the card's similarities on 2 threads, main thread and worker`, async () => {
      const out = join(work, `out-${bundler}`);
      const warnings = await builds[bundler](out);
      console.log(`${bundler}: ${warnings.length} build warning(s)${warnings.length ? ':\n  ' + warnings.join('\n  ') : ''}`);
      // Emitted names need no quoting in URLs, shells or CDN rules: webpack names the worker chunk
      // after the Worker's `name` option, which therefore has no spaces.
      const emitted = (readdirSync(out, { recursive: true }) as string[]).map((f) => f.split(sep).join('/'));
      console.log(`${bundler} emitted: ${emitted.join(', ')}`);
      expect(emitted.filter((f) => /\s/.test(f)), 'emitted file names with whitespace').toEqual([]);
      if (bundler === 'webpack') {
        // Production names chunks by id; development (webpack serve, a watch build) by name.
        const dev = join(work, 'out-webpack-dev');
        await webpackBuild(dev, 'development');
        const devEmitted = readdirSync(dev);
        console.log(`webpack (development) emitted: ${devEmitted.join(', ')}`);
        expect(devEmitted.filter((f) => /\s/.test(f)), 'emitted file names with whitespace').toEqual([]);
        expect(devEmitted, "the worker chunk, named after the Worker's name option").toContain('kmed-dpr-encoder.js');
      }
      const server = await startServer({
        mounts: { '/models/question/': join(FIXTURES, 'tiny-question'), '/models/context/': join(FIXTURES, 'tiny-context'), '/': out },
      });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('response', (r) => {
        if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`);
      });
      let r: BundleResult;
      try {
        await page.goto(`${server.url}/index.html`);
        await page.waitForFunction(() => (window as unknown as { kmedBundle?: unknown }).kmedBundle !== undefined, null, { timeout: 60_000 });
        r = (await page.evaluate(() => (window as unknown as { kmedBundle: unknown }).kmedBundle)) as BundleResult;
      } finally {
        await page.close();
        await server.close();
      }
      const error = Math.max(...[...(r.scores ?? []), ...(r.workerScores ?? [])].map((s, i) => Math.abs(s - golden.seed_similarity_f64[i % 3])));
      const pass = !r.error && r.threads === 2 && r.workerThreads === 2 && error <= SIMILARITY_TOLERANCE;
      rows.push(`| ${bundler} | ${r.threads ?? '-'} / ${r.workerThreads ?? '-'} | ${Number.isFinite(error) ? error.toExponential(2) : '-'} | ${pass ? 'yes' : 'no'} |`);
      expect(r.error, `${r.error}\n${errors.join('\n')}`).toBeUndefined();
      expect(r.crossOriginIsolated).toBe(true);
      expect(r.warnings, 'the library warned (a fallback to 1 thread?)').toEqual([]);
      expect(r.threads).toBe(2);
      expect(r.workerThreads).toBe(2);
      expect(r.scores).toHaveLength(3);
      expect(r.workerScores).toHaveLength(3);
      expect(error).toBeLessThanOrEqual(SIMILARITY_TOLERANCE);
    });
  }
});
