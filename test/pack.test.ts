// Owns: the packaging check (issue 6, item 6). `npm pack` the package as it would be published,
// install the tarball into an empty folder (its dependencies from the npm registry), and run the
// runtime check there in Node, Deno and Bun importing the package by name — so a file missing from
// `files`, a wrong `exports` target or a path that only works inside this repository fails here.
// Does not own: the in-repository matrix (runtime-matrix.test.ts).
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  TABLE_HEADER,
  threadCounts,
} from './runtimes/launch.js';
import { chromium, skipWithout } from './helpers/requirement.js';
import { CELLS, ENTRIES, verdicts, writeConsumer } from './helpers/ts-consumers.js';

const POOLER_TOLERANCE = 2e-5;
const SIMILARITY_TOLERANCE = 1e-5;
const THREAD_COUNTS = threadCounts();
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('npm pack → install into an empty folder → import by name', () => {
  let work: string;
  let app: string;
  let packed: { files: { path: string }[]; filename: string; size: number; unpackedSize: number };
  const results: CheckResult[] = [];

  beforeAll(async () => {
    for (const built of ['dist/index.js', 'dist/node/index.js', 'dist/kernels/kernels.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    work = mkdtempSync(join(tmpdir(), 'kmed-pack-'));
    // --ignore-scripts: pack the dist/ this run built (pretest); `prepare` must not rebuild it under tests that read it.
    const pack = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO_ROOT, 120_000);
    if (pack.code !== 0) throw new Error(`npm pack failed (exit ${pack.code}):\n${pack.stderr}`);
    // npm prints lifecycle output before the JSON on some versions: take from the first '['.
    [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));

    app = join(work, 'app');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kmed-pack-check', private: true, type: 'module' }));
    const install = await run(
      NPM,
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', join(work, packed.filename)],
      app,
      300_000,
    );
    if (install.code !== 0) throw new Error(`npm install of the tarball failed (exit ${install.code}):\n${install.stderr}`);
    // The check scripts travel with the app, so a bare `kmed-dpr` resolves from its node_modules.
    for (const f of ['check.mjs', 'check-core.mjs']) copyFileSync(join(REPO_ROOT, 'test', 'runtimes', f), join(app, f));
  });

  afterAll(() => {
    console.log(
      `\nnpm pack: ${packed?.filename}, ${packed?.files.length} files, ${((packed?.size ?? 0) / 1024).toFixed(0)} KiB packed` +
        `\n${TABLE_HEADER}\n${results.map(formatRow).join('\n')}\n`,
    );
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the tarball holds the compiled library, the kernels and the CLI, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const needed of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/node/index.js', 'dist/node/index.d.ts', 'dist/cli/main.js', 'dist/kernels/kernels.wasm', 'dist/kernels/kernels-mt.wasm']) {
      expect(paths, `${needed} missing from the package`).toContain(needed);
    }
    expect(paths.filter((p) => /^(src|test|assembly|bench|web|scripts)\//.test(p))).toEqual([]);
    // Every file the exports map names must be in the tarball.
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const targets = new Set<string>();
    const walk = (v: unknown) => {
      if (typeof v === 'string') targets.add(v.replace(/^\.\//, ''));
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(pkg.exports);
    for (const t of targets) expect(paths, `exports target ${t} is not in the package`).toContain(t);
  });

  // Every thread count too: threads need dist/kernels/kernels-mt.wasm and the worker code in the tarball.
  for (const runtime of ['node', 'deno', 'bun'] as CliRuntime[]) {
    for (const threads of THREAD_COUNTS) {
      it(`${runtime} imports 'kmed-dpr' from the installed package and passes the check (${threads} thread(s))`, async () => {
        const r = await runCliCheck(runtime, { cwd: app, script: join(app, 'check.mjs'), lib: 'kmed-dpr', threads });
        results.push(r);
        expect(r.error, `${runtime} failed:\n${r.error}`).toBeUndefined();
        expect(r.entry).toBe('node');
        expect(r.threads).toBe(threads);
        expect(r.maxError!, r.worst).toBeLessThanOrEqual(POOLER_TOLERANCE);
        expect(r.maxSimilarityError!).toBeLessThanOrEqual(SIMILARITY_TOLERANCE);
      });
    }
  }

  it("node imports the runtime-neutral entry 'kmed-dpr/web' from the installed package", async () => {
    const r = await runCliCheck('node', { cwd: app, script: join(app, 'check.mjs'), lib: 'kmed-dpr/web', threads: 1 });
    results.push({ ...r, runtime: 'node (kmed-dpr/web)' });
    expect(r.error, r.error).toBeUndefined();
    expect(r.entry).toBe('neutral');
    expect(r.maxError!).toBeLessThanOrEqual(POOLER_TOLERANCE);
  });

  it.skipIf(skipWithout(chromium()))('chromium loads the installed package through its exports map (browser condition)', async () => {
    const installed = join(app, 'node_modules', 'kmed-dpr');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    const entry = '/pkg/' + resolveExport(pkg.exports, '.', ['browser', 'import']).replace(/^\.\//, '');
    const server = await startServer({ mounts: { '/pkg/': installed } });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const threads = Math.max(...THREAD_COUNTS);
      await page.goto(`${server.url}/test/runtimes/browser.html?threads=${threads}&lib=${encodeURIComponent(entry)}`);
      await page.waitForFunction(() => (window as unknown as { kmedCheck?: unknown }).kmedCheck !== undefined, null, {
        timeout: 60_000,
      });
      const r = (await page.evaluate(() => (window as unknown as { kmedCheck: unknown }).kmedCheck)) as CheckResult;
      r.version = browser.version();
      results.push(r);
      expect(r.error, r.error).toBeUndefined();
      expect(r.entry).toBe('neutral');
      expect(r.threads).toBe(threads);
      expect(r.maxError!, r.worst).toBeLessThanOrEqual(POOLER_TOLERANCE);
      expect(r.maxSimilarityError!).toBeLessThanOrEqual(SIMILARITY_TOLERANCE);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  // Every moduleResolution a consumer may use × ESM and CommonJS, against the installed tarball
  // (test/helpers/ts-consumers.ts): the Node entry's types for 'kmed-dpr' wherever TypeScript cannot
  // tell a browser build from a Node program (node10 reads `types`/`typesVersions`; bundler has no
  // runtime condition), the neutral ones for 'kmed-dpr/web'. One table, one verdict per entry.
  it('TypeScript: node10, node16, nodenext and bundler × ESM and CommonJS type every entry', async () => {
    // The optional peer a LangChain user installs, from this repository's node_modules.
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(join(app, 'node_modules', '@langchain'), { recursive: true });
    if (!existsSync(join(app, 'node_modules', '@langchain', 'core'))) symlinkSync(join(REPO_ROOT, 'node_modules', '@langchain', 'core'), join(app, 'node_modules', '@langchain', 'core'));
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const rows = await Promise.all(CELLS.map(async (cell) => {
      const dir = join(app, `types-${cell.resolution}-${cell.kind}`);
      const lineEntries = writeConsumer(dir, cell);
      const { code, stdout, stderr } = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir, 180_000);
      const found = verdicts(cell, lineEntries, stdout + stderr);
      if (code !== 0 && found.size === 0) found.set('*', `tsc exit ${code}: ${stdout}${stderr}`);
      return { cell, found };
    }));
    const mark = (v: string | undefined) => (v === undefined ? 'ok' : 'FAIL');
    console.log(
      `\nTypeScript consumers of the packed 'kmed-dpr' (tsc ${JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'typescript', 'package.json'), 'utf8')).version}; ok = the entry's types resolve and are the right ones)\n` +
        `| moduleResolution | module | consumer | loads by | ${ENTRIES.join(' | ')} |\n|---|---|---|---|${ENTRIES.map(() => '---|').join('')}\n` +
        rows.map(({ cell, found }) => `| ${cell.resolution} | ${cell.module} | ${cell.kind} (${cell.file}) | ${cell.load} | ${ENTRIES.map((e) => mark(found.get(e))).join(' | ')} |`).join('\n') + '\n',
    );
    const failures = rows.flatMap(({ cell, found }) => [...found].map(([entry, error]) => `${cell.resolution}/${cell.kind} ${entry}: ${error}`));
    expect(failures).toEqual([]);
  });

  it("a browser bundle of 'kmed-dpr' (esbuild, platform browser) holds only the package's neutral code", async () => {
    const { build } = await import('esbuild');
    writeFileSync(join(app, 'browser-entry.js'), "import { BiEncoder } from 'kmed-dpr'; console.log(BiEncoder);\n");
    const result = await build({
      entryPoints: [join(app, 'browser-entry.js')], absWorkingDir: app, bundle: true, platform: 'browser', format: 'esm',
      write: false, metafile: true, outdir: join(app, 'browser-out'), logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).filter((p) => p !== 'browser-entry.js');
    const foreign = inputs.filter((p) => !p.startsWith('node_modules/kmed-dpr/dist/') || /\/(node|cli)\//.test(p));
    const bytes = result.outputFiles.reduce((n, f) => n + f.contents.length, 0);
    // What a browser-only install downloads: every package under node_modules, and its size.
    const { readdirSync, statSync } = await import('node:fs');
    const packages: string[] = [];
    let unpacked = 0;
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) unpacked += statSync(p).size;
      }
    };
    for (const name of readdirSync(join(app, 'node_modules'))) {
      if (name.startsWith('.')) continue;
      const scoped = name.startsWith('@') ? readdirSync(join(app, 'node_modules', name)).map((n) => `${name}/${n}`) : [name];
      packages.push(...scoped);
    }
    walk(join(app, 'node_modules'));
    console.log(
      `browser bundle: ${inputs.length} modules, all from kmed-dpr/dist (neutral), ${(bytes / 1024).toFixed(0)} KiB unminified; ` +
        `\`npm install kmed-dpr\` (--omit=dev) installs ${packages.length} packages (${packages.filter((p) => p !== 'kmed-dpr').length} dependencies), ` +
        `${(unpacked / 2 ** 20).toFixed(1)} MiB unpacked: ${packages.join(', ')}`,
    );
    expect(inputs.length).toBeGreaterThan(10);
    expect(foreign, 'modules outside the neutral core in a browser bundle').toEqual([]);
  });

  it('the source maps in the tarball carry their sources', () => {
    const maps = packed.files.map((f) => f.path).filter((p) => p.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    const installed = join(app, 'node_modules', 'kmed-dpr');
    const missing = maps.filter((m) => {
      const map = JSON.parse(readFileSync(join(installed, m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      return !map.sourcesContent || map.sourcesContent.length !== map.sources.length || map.sourcesContent.some((c) => typeof c !== 'string' || c.length === 0);
    });
    expect(missing, 'source maps without sourcesContent').toEqual([]);
  });

  it('the installed `kmed` command starts', async () => {
    const { code, stdout, stderr } = await run(join(app, 'node_modules', '.bin', 'kmed'), ['--help'], app, 30_000);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/Usage: kmed/);
  });
});
