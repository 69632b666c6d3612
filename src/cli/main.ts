#!/usr/bin/env node
// Owns: the `kmed` command line (Node only). Each subcommand lives in its own file under
// src/cli/ and exports `register(program)`; this file only wires them together and turns a
// KmedError into one clear line on stderr and a non-zero exit code.
import { Command } from 'commander';
import { KmedError } from '../errors.js';

const program = new Command()
  .name('kmed')
  .description('Korean medical dense-passage retrieval (bi-encoder) in TypeScript + WebAssembly SIMD')
  .showHelpAfterError();

// One line per subcommand module; keep alphabetical.
const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  () => import('./build-index.js'),
  () => import('./download.js'),
  () => import('./embed.js'),
  () => import('./search.js'),
  () => import('./serve.js'),
  () => import('./similarity.js'),
  () => import('./synth.js'),
  () => import('./tokenize.js'),
  () => import('./verify.js'),
];

for (const load of commandModules) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof KmedError) {
    process.stderr.write(`kmed: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
