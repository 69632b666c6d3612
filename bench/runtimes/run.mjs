// Owns: the command-line launcher of the runtime benchmark for Node, Deno and Bun: imports the
// library entry given, reads the model folder with the runtime's own file API, runs bench-core.mjs
// and prints one JSON line, with the process's peak RSS (VmHWM) read at the end.
//
//   node|bun run.mjs --lib SPEC --model DIR [--threads N] [--T 128] [--reps 5] [--simd auto|baseline|relaxed]
//   deno run --allow-read --allow-env run.mjs ...
import { runBench } from './bench-core.mjs';

const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const version = runtime === 'deno' ? Deno.version.deno : runtime === 'bun' ? Bun.version : process.versions.node;
const argv = runtime === 'deno' ? Deno.args : process.argv.slice(2);
const cwd = runtime === 'deno' ? Deno.cwd() : process.cwd();
const arg = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const abs = (p) => (p.startsWith('/') ? p : `${cwd}/${p}`);
const exit = (code) => (runtime === 'deno' ? Deno.exit(code) : process.exit(code));

async function readText(path) {
  if (runtime === 'deno') return Deno.readTextFile(path);
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

async function reader(dir) {
  if (runtime === 'deno') {
    return (name) => Deno.readFile(`${dir}/${name}`).catch((e) => (e instanceof Deno.errors.NotFound ? null : Promise.reject(e)));
  }
  if (runtime === 'bun') {
    return async (name) => {
      const f = Bun.file(`${dir}/${name}`);
      return (await f.exists()) ? f.arrayBuffer() : null;
    };
  }
  const { readFile } = await import('node:fs/promises');
  return (name) => readFile(`${dir}/${name}`).catch((e) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
}

try {
  const lib = await import(new URL(`file://${abs(arg('--lib', 'dist/index.js'))}`).href);
  const result = await runBench({
    lib,
    read: await reader(abs(arg('--model', '.bench-cache/runtimes-synthetic-context'))),
    threads: Number(arg('--threads', '1')),
    T: Number(arg('--T', '128')),
    reps: Number(arg('--reps', '5')),
    simd: arg('--simd', 'auto'),
    runtime,
    version,
  });
  // Which Linear tile form the load-time probe picked (src/kernels/tile-probe.ts), where the library has one.
  const probe = await import(new URL('./kernels/tile-probe.js', new URL(`file://${abs(arg('--lib', 'dist/index.js'))}`)).href).catch(() => null);
  const tiles = probe ? Object.entries(probe.tileChoices()).map(([build, immediate]) => `${build}: ${immediate ? 'immediate' : 'pointers'}`).join(', ') : undefined;
  const status = await readText('/proc/self/status').catch(() => '');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  console.log(JSON.stringify({ ...result, tiles, peakRssMiB: hwm ? Math.round(Number(hwm[1]) / 1024) : null }));
  exit(0);
} catch (error) {
  console.log(JSON.stringify({ runtime, version, error: String(error?.stack ?? error) }));
  exit(1);
}
