// Owns: installing the package as a stranger would without the npm registry's copy: `npm install
// git+file://<clone>` into an empty project (npm clones it, installs its devDependencies, and the
// `prepare` step builds dist/), then the model card's example on the tiny checkpoints through
// `import 'kmed-dpr'` and through `require('kmed-dpr')` (require(esm): Node 20.19+, 22.12+, 24);
// and `npm install <folder>` of a built checkout. Tests the committed HEAD (git clone), not the
// working tree. Slow (about a minute: every devDependency is installed and the package built), so
// it runs under CI=true or KMED_SLOW_TESTS=1 and says it skipped otherwise.
// Does not own: the published tarball's content and runtimes (pack.test.ts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWithout, slowLeg, tool } from './helpers/requirement.js';
import { FIXTURES, REPO_ROOT, run } from './runtimes/launch.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];
const golden = JSON.parse(readFileSync(join(FIXTURES, 'tiny-golden.json'), 'utf8')) as { texts: string[]; seed_similarity_f64: number[] };
const TOLERANCE = 1e-5;

/** The model card's example on the tiny encoders, as a user would write it (ESM or CommonJS). */
function cardExample(kind: 'esm' | 'cjs'): string {
  const load = kind === 'esm' ? "import { BiEncoder } from 'kmed-dpr';" : "const { BiEncoder } = require('kmed-dpr');";
  const body = [
    `const bi = await BiEncoder.fromDirectories({ question: ${JSON.stringify(join(FIXTURES, 'tiny-question'))}, context: ${JSON.stringify(join(FIXTURES, 'tiny-context'))} });`,
    `const [scores] = await bi.score([${JSON.stringify(golden.texts[0])}], ${JSON.stringify(golden.texts.slice(1, 4))});`,
    'bi.dispose();',
    'console.log(JSON.stringify(scores));',
  ];
  return kind === 'esm' ? [load, ...body].join('\n') : [load, '(async () => {', ...body, '})();'].join('\n');
}

const skip = skipWithout(slowLeg('install from git', 'test/git-install.test.ts', 'about a minute: npm installs every devDependency and builds')) ||
  skipWithout(tool('git', ['git', '--version'], 'apt-get install -y git'));

describe.skipIf(skip)('npm install git+file://… and a folder into an empty project', () => {
  let work: string;
  let app: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kmed-git-install-'));
    const clone = join(work, 'kmed-dpr');
    const git = await run('git', ['clone', '--quiet', '--depth', '1', `file://${REPO_ROOT}`, clone], work, 120_000);
    if (git.code !== 0) throw new Error(`git clone failed:\n${git.stderr}`);
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kmed-git-install-check', private: true, type: 'module' }));
    const install = await run(NPM, ['install', ...INSTALL_FLAGS, `git+file://${clone}`], app, 540_000);
    if (install.code !== 0) throw new Error(`npm install git+file:// failed (exit ${install.code}):\n${install.stdout}\n${install.stderr}`);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the install holds the built library, kernels and CLI, and no sources', () => {
    const pkg = join(app, 'node_modules', 'kmed-dpr');
    for (const f of ['dist/index.js', 'dist/node/index.js', 'dist/node/index.d.ts', 'dist/cli/main.js', 'dist/kernels/kernels.wasm', 'dist/kernels/kernels-mt.wasm', 'LICENSE']) {
      expect(existsSync(join(pkg, f)), `${f} missing from the git install`).toBe(true);
    }
    expect(existsSync(join(pkg, 'src')), 'sources travel only in the repository').toBe(false);
  });

  for (const kind of ['esm', 'cjs'] as const) {
    it(`the model card example on the tiny models through ${kind === 'esm' ? "import 'kmed-dpr'" : "require('kmed-dpr')"}`, async () => {
      const file = join(app, kind === 'esm' ? 'card.mjs' : 'card.cjs');
      writeFileSync(file, cardExample(kind));
      const r = await run(process.execPath, [file], app, 120_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr, 'no warning either (require(esm) is unflagged and quiet on Node 20.19+/22.12+)').toBe('');
      const scores = JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
      console.log(`git install, ${kind}: ${scores.map((s) => s.toFixed(6)).join(', ')} (f64 golden ${golden.seed_similarity_f64.map((s) => s.toFixed(6)).join(', ')})`);
      scores.forEach((s, i) => expect(Math.abs(s - golden.seed_similarity_f64[i])).toBeLessThanOrEqual(TOLERANCE));
    });
  }

  it('npm install <folder> of a built checkout: the same example runs', async () => {
    const folderApp = join(work, 'folder-app');
    mkdirSync(folderApp);
    writeFileSync(join(folderApp, 'package.json'), JSON.stringify({ name: 'kmed-folder-install-check', private: true, type: 'module' }));
    const install = await run(NPM, ['install', ...INSTALL_FLAGS, REPO_ROOT], folderApp, 300_000);
    expect(install.code, install.stderr).toBe(0);
    writeFileSync(join(folderApp, 'card.mjs'), cardExample('esm'));
    const r = await run(process.execPath, ['card.mjs'], folderApp, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const scores = JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
    scores.forEach((s, i) => expect(Math.abs(s - golden.seed_similarity_f64[i])).toBeLessThanOrEqual(TOLERANCE));
  });
});
