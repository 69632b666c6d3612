// Owns: the command-line launcher of the runtime check for Node, Deno and Bun. It imports the
// library (a path to a built entry, or the package name after `npm pack` + install), reads the
// fixtures with the runtime's own file API (node:fs, Deno.readFile, Bun.file), runs check-core.mjs
// and prints exactly one JSON line on stdout (exit 1 with {"error": ...} when anything throws).
// Does not own: the check itself (check-core.mjs) or the tolerances (the tests).
//
//   node|bun check.mjs  --lib SPEC --fixtures DIR [--threads N]
//   deno run --allow-read check.mjs --lib SPEC --fixtures DIR [--threads N]
// SPEC is a path to an entry (e.g. dist/index.js) or a bare package name (e.g. kmed-dpr).
import { runCheck } from './check-core.mjs';

const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const version = runtime === 'deno' ? Deno.version.deno : runtime === 'bun' ? Bun.version : process.versions.node;
const argv = runtime === 'deno' ? Deno.args : process.argv.slice(2);
const cwd = runtime === 'deno' ? Deno.cwd() : process.cwd();

function arg(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}

function fileUrl(path) {
  const absolute = path.startsWith('/') ? path : `${cwd}/${path}`;
  return new URL(`file://${absolute.split('/').map(encodeURIComponent).join('/')}`).href;
}

/** Each runtime reads files its own way; the library only ever sees bytes. */
async function reader(root) {
  if (runtime === 'deno') return (path) => Deno.readFile(`${root}/${path}`);
  if (runtime === 'bun') return (path) => Bun.file(`${root}/${path}`).arrayBuffer();
  const { readFile } = await import('node:fs/promises');
  return (path) => readFile(`${root}/${path}`);
}

function exit(code) {
  if (runtime === 'deno') Deno.exit(code);
  else process.exit(code);
}

try {
  const spec = arg('--lib', 'dist/index.js');
  const fixtures = arg('--fixtures', 'test/fixtures');
  const threads = Number(arg('--threads', '1'));
  const isPath = spec.startsWith('.') || spec.startsWith('/') || spec.endsWith('.js');
  const lib = await import(isPath ? fileUrl(spec) : spec);
  const result = await runCheck({ lib, read: await reader(fixtures), threads, runtime, version });
  console.log(JSON.stringify({ ...result, lib: spec }));
  exit(0);
} catch (error) {
  console.log(JSON.stringify({ runtime, version, error: String(error?.stack ?? error) }));
  exit(1);
}
