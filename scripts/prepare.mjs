#!/usr/bin/env node
// Owns: npm's `prepare` step, which npm runs on `npm install`/`npm ci` in a clone, before
// `npm pack`/`npm publish`, and when a project installs this package from git or from a folder;
// `npm test` runs it first too (pretest).
// It runs `npm run build` when dist/ is missing or older than the sources (src/, assembly/,
// tsconfig.json), and does nothing when dist/ is current, so a git install (where npm runs prepare
// twice: in its `npm install` of the clone, then before packing) builds once, and `npm pack` in a
// built checkout packs what is there. Where the build tools are absent (a folder install of a
// clone that never ran `npm ci`) it stops with one line saying so.
// Does not own: the build itself (package.json "build", assembly/build.mjs, tsc).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const KERNELS = ['kernels', 'kernels-mt', 'kernels-relaxed', 'kernels-relaxed-mt'];
/** What the build makes: every entry of the exports map, and each kernel build in dist/kernels/
 *  (the package) and build/ (what the tests load). */
const OUTPUTS = [
  'dist/index.js', 'dist/node/index.js', 'dist/cli/main.js', 'dist/worker/index.js', 'dist/worker/worker-main.js', 'dist/langchain/index.js',
  ...KERNELS.flatMap((k) => [`dist/kernels/${k}.wasm`, `build/${k}.wasm`]),
];
const SOURCES = ['src', 'assembly', 'tsconfig.json'];

/** Newest modification time (ms) of a file, or of any file under a folder. */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const e of readdirSync(path)) max = Math.max(max, newest(join(path, e)));
  return max;
}

const outputs = OUTPUTS.map((f) => join(root, f));
const sourcesTime = Math.max(...SOURCES.map((f) => join(root, f)).filter(existsSync).map(newest));
if (outputs.every(existsSync) && Math.min(...outputs.map((f) => statSync(f).mtimeMs)) >= sourcesTime) {
  console.log('kmed-dpr prepare: dist/ is current, nothing to build');
  process.exit(0);
}
for (const tool of ['node_modules/assemblyscript/package.json', 'node_modules/typescript/package.json']) {
  if (!existsSync(join(root, tool))) {
    console.error(`kmed-dpr prepare: dist/ must be built, but ${tool.split('/')[1]} is not installed in ${root}: run \`npm ci\` there first`);
    process.exit(1);
  }
}
const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
