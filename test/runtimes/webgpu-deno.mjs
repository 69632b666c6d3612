// Owns: the WebGPU check run in Deno (navigator.gpu is built in): the tiny models on backend
// 'webgpu' against tiny-golden.json (max |ours − f64| per model, hidden states and pooler), and
// backend 'auto', which must refuse a fallback (software) adapter and run on wasm, saying so once;
// then, with navigator.gpu made to find no adapter, 'webgpu' must throw WEBGPU_NO_ADAPTER.
// Texts of up to --max-tokens tokens (software adapters are slow; Chromium's test runs them all).
// Prints one JSON line. Started by test/webgpu-deno.test.ts.
//   deno run --allow-read --allow-env test/runtimes/webgpu-deno.mjs --lib dist/node/index.js --fixtures test/fixtures
const arg = (name) => Deno.args[Deno.args.indexOf(name) + 1];
const lib = await import(new URL(arg('--lib'), `file://${Deno.cwd()}/`).href);
const fixtures = arg('--fixtures');
const maxTokens = Number(arg('--max-tokens') ?? '512');
const golden = JSON.parse(await Deno.readTextFile(`${fixtures}/tiny-golden.json`));

const maxAbs = (ours, ref) => ours.reduce((m, x, i) => Math.max(m, Math.abs(x - ref[i])), 0);
const describe = (e) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e) });
const result = { runtime: 'deno', version: Deno.version.deno, hasNavigatorGpu: typeof navigator !== 'undefined' && navigator.gpu !== undefined, models: {} };
try {
  for (const model of ['tiny-question', 'tiny-context', 'tiny-odd-f16']) {
    let encoder;
    try {
      encoder = await lib.Encoder.fromDirectory(`${fixtures}/${model}`, { backend: 'webgpu' });
    } catch (e) {
      result.models[model] = { error: describe(e) };
      continue;
    }
    result.adapter = encoder.webgpu.adapter;
    let hidden = 0;
    let pooler = 0;
    const items = golden.models[model].filter((item) => item.ids.length <= maxTokens);
    for (const item of items) {
      const out = await encoder.forwardIdsAsync([item.ids]);
      hidden = Math.max(hidden, maxAbs(Array.from(out.lastHiddenState.subarray(0, item.ids.length * out.C)), item.hidden_f64));
      pooler = Math.max(pooler, maxAbs(Array.from(out.poolerOutput), item.pooler_f64));
    }
    result.models[model] = { kind: encoder.backendKind, texts: items.length, hidden, pooler };
    encoder.dispose();
  }
  const events = [];
  const auto = await lib.Encoder.fromDirectory(`${fixtures}/tiny-question`, { backend: 'auto', onBackendFallback: (e) => events.push(e) });
  result.auto = { kind: auto.backendKind, events };
  auto.dispose();
  const real = navigator.gpu;
  Object.defineProperty(navigator, 'gpu', { value: { requestAdapter: async () => null }, configurable: true });
  try {
    await lib.Encoder.fromDirectory(`${fixtures}/tiny-question`, { backend: 'webgpu' });
    result.noAdapter = 'loaded';
  } catch (e) {
    result.noAdapter = describe(e);
  } finally {
    Object.defineProperty(navigator, 'gpu', { value: real, configurable: true });
  }
} catch (e) {
  result.error = String(e?.stack ?? e);
}
console.log(JSON.stringify(result));
