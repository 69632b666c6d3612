// Owns: importNodeBuiltin, the one way runtime-neutral code reaches a Node built-in (node:fs to read
// kernels.wasm from a file: URL, node:worker_threads for the thread pool) — only at run time, and
// only after the caller has checked it runs where Node's built-ins exist (Node, Deno, Bun).
// Does not own: deciding when that is (the callers test process.versions.node).
//
// Why a computed specifier behind two comments: a bundler targeting browsers must neither try to
// resolve `node:` (webpack 5 `target: 'web'` fails on it, esbuild `platform: 'browser'` refuses it,
// Vite stubs it with a warning) nor turn the import into a context module. A specifier it cannot
// read is left alone by esbuild; `webpackIgnore` and `@vite-ignore` tell webpack and Vite to leave
// the native import() as written. In a browser the import never runs.

/** Import node:<name> (e.g. 'fs/promises'); the caller has checked that the runtime has it. */
export function importNodeBuiltin<T>(name: string): Promise<T> {
  const specifier = `node:${name}`;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}
