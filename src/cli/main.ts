#!/usr/bin/env node
// Owns: the `kmed` command line (Node only). Each subcommand lives in its own file under
// src/cli/ and exports `register(program)`; this file only wires them together and hands every
// failure to error-line.ts (one `kmed: ...` line on stderr, a non-zero exit, never a stack trace).
// Nothing but Node's builtins is imported statically: a module that cannot be loaded (EMFILE under
// a tight `ulimit -n`, a damaged install) would otherwise end in Node's stack trace before any
// handler of ours runs.
import { readFileSync } from 'node:fs';
import type { Command as CommandType } from 'commander';

/** Loading failed before error-line.ts could: word it with error-line.ts if it loads now (the
 *  failed load's descriptors are closed by then), else plainly; one line either way. */
async function loadFailed(error: unknown): Promise<never> {
  try {
    const { exitWith } = await import('./error-line.js');
    return exitWith(error, process.argv, []);
  } catch {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`kmed: cannot load kmed: ${message.replace(/\s+/g, ' ')}\n`);
    return process.exit(1);
  }
}

let Command!: typeof CommandType;
let exitWith!: typeof import('./error-line.js').exitWith;
let version = '';
try {
  ({ Command } = await import('commander'));
  ({ exitWith } = await import('./error-line.js'));
  ({ version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string });
} catch (error) {
  await loadFailed(error);
}

const program = new Command()
  .name('kmed')
  .description('Korean medical dense-passage retrieval (bi-encoder) in TypeScript + WebAssembly SIMD')
  .version(version, '-V, --version', 'print the kmed-dpr version')
  // Option errors become one line (error-line.ts) instead of commander's message plus the whole
  // help; both settings are inherited by the subcommands registered below.
  .exitOverride()
  .configureOutput({ outputError: () => {} });

const fail = (error: unknown) => exitWith(error, process.argv, program.commands.map((c) => c.name()));
// Errors that escape the awaited chain (a stream's 'error' event, a stray rejection) end the same
// way; EPIPE on stdout (`kmed embed ... | head -1`) ends quietly with status 0, as head expects.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
process.stdout.on('error', fail);

// One line per subcommand module; keep alphabetical.
const commandModules: Array<() => Promise<{ register(program: CommandType): void }>> = [
  () => import('./build-index.js'),
  () => import('./download.js'),
  () => import('./embed.js'),
  () => import('./eval.js'),
  () => import('./merge.js'),
  () => import('./search.js'),
  () => import('./serve.js'),
  () => import('./similarity.js'),
  () => import('./synth.js'),
  () => import('./tokenize.js'),
  () => import('./verify.js'),
  () => import('./verify-index.js'),
];

for (const load of commandModules) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  fail(error);
}
