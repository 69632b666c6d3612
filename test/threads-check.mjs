// Owns: the thread check test/threads.test.ts runs in Node, Deno and Bun: the tiny question encoder,
// from the built neutral entry, on 1 thread, on 2 with the runtime's default workers
// (node:worker_threads) and on 2 with Web Workers where the runtime has them — every kernel call
// split (minShareNs: 0), so the shares really run on the workers. Prints one JSON line (thread
// counts, whether the vectors are bitwise those of 1 thread) and ends WITHOUT an exit call and, for
// the default workers, without dispose(): a worker that keeps the program alive shows as a timeout.
// Does not own what passes (the test decides).
//
//   node|bun test/threads-check.mjs ROOT      deno run --allow-read test/threads-check.mjs ROOT
const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const root = (globalThis.Deno ? Deno.args : process.argv.slice(2))[0];
const lib = await import(`${root}/dist/index.js`);
const { createBackend } = await import(`${root}/dist/kernels/index.js`);
const { webWorkerFactory } = await import(`${root}/dist/kernels/thread-pool.js`);
const read = async (p) =>
  globalThis.Deno ? Deno.readFile(p) : new Uint8Array(await (await import('node:fs/promises')).readFile(p));
const dir = `${root}/test/fixtures/tiny-question/`;
const config = lib.parseBertConfig(new TextDecoder().decode(await read(dir + 'config.json')), 'config.json');
const tokenizer = lib.BertTokenizer.fromFiles({ vocab: await read(dir + 'vocab.txt') });
const weights = await read(dir + 'model.safetensors');
const texts = ['고혈압 처방 사례', 'high blood pressure', '위 내시경 진행 후 출혈 부위 클리핑'];

const setups = { one: { threads: 1 }, workerThreads: { threads: 2, minShareNs: 0 } };
const web = webWorkerFactory();
if (web) setups.webWorkers = { threads: 2, minShareNs: 0, workerFactory: web };
const runs = {};
for (const [name, options] of Object.entries(setups)) {
  const backend = await createBackend('wasm', options);
  const params = lib.loadBertParams(lib.bytesSource(weights, 'model.safetensors'), config, backend);
  const encoder = new lib.Encoder({ config, tokenizer, backend, params });
  runs[name] = { threads: encoder.threads, vectors: await encoder.embed(texts) };
  // Deno's Web Workers cannot be unref'd: those need dispose() (the default workers must not).
  if (name === 'webWorkers') encoder.dispose();
}

const bits = (v) => new Uint32Array(v.buffer, v.byteOffset, v.length);
const same = (a, b) => a.every((v, i) => bits(v).every((x, j) => x === bits(b[i])[j]));
console.log(
  JSON.stringify({
    runtime,
    threads: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.threads])),
    identical: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, same(r.vectors, runs.one.vectors)])),
  }),
);
