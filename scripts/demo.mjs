#!/usr/bin/env node
// `npm run demo` (after `npm run build`, which the npm script runs first): the model card's example
// end to end on a fresh machine. Downloads the two encoders into weights/ when they are missing
// (`kmed download`: resumable, checked; fails with one clear line when the hub cannot be reached,
// saying the folders can be copied by hand), then runs `kmed verify`, which prints our three
// similarities beside the card's and exits 0 only when each is within 5e-4.
// Owns nothing else: everything here is a CLI command a user could type.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const cli = 'dist/cli/main.js';
const repos = ['snumin44/medical-biencoder-ko-bert-question', 'snumin44/medical-biencoder-ko-bert-context'];

function kmed(...args) {
  process.stdout.write(`\n$ kmed ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  return result.status ?? 1;
}

if (!existsSync(cli)) {
  console.error(`demo: ${cli} is missing: run \`npm run build\` first (\`npm run demo\` does)`);
  process.exit(1);
}
const missing = repos.filter((repo) => {
  const dir = join('weights', repo.slice(repo.indexOf('/') + 1));
  return !existsSync(join(dir, 'config.json')) || !existsSync(join(dir, 'model.safetensors'));
});
if (missing.length > 0) {
  const code = kmed('download', ...missing);
  if (code !== 0) {
    console.error('demo: the encoders could not be downloaded (see the line above); nothing to verify yet');
    process.exit(code);
  }
}
process.exit(kmed('verify'));
