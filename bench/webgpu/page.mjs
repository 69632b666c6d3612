// Owns: the timing loop of bench/webgpu.ts, in one page: the same model on wasm f32, wasm int8,
// our WebGPU backend and onnxruntime-web's WebGPU execution provider, batch-1 passes at each
// length, timed in turns (one run of each engine, then the next round) so a background hiccup slows
// all alike; medians per engine and length; each engine's pooler output compared with wasm f32's;
// the adapter described. Publishes window.kmedBench.
// Does not own: serving, the browser or the table (../webgpu.ts).
const params = new URLSearchParams(location.search);
const runs = Number(params.get('runs') ?? '5');
const lengths = (params.get('lengths') ?? '8,32').split(',').map(Number);
const ORT = '/ort/';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const maxAbs = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
async function read(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
const errorText = (e) => String(e?.message ?? e).split('\n')[0];
/** `promise`, or a rejection after `ms`: an engine that never answers becomes a failed row, not a hung page. */
const within = (promise, ms, what) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))]);
const RUN_TIMEOUT_MS = 120_000;

async function main() {
  const lib = await import('/dist/index.js');
  const names = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];
  const [config, vocab, tokenizerConfig, specialTokensMap, tokenizerJson, weights] = await Promise.all(names.map((n) => read(`/model/${n}`)));
  const files = () => ({ config, vocab, tokenizerConfig, specialTokensMap, tokenizerJson, weights });
  const cfg = JSON.parse(new TextDecoder().decode(config));

  // Deterministic ids: [CLS] (2), T - 2 ids from a fixed LCG, [SEP] (3).
  let z = 12345;
  const next = () => (z = (Math.imul(z, 1103515245) + 12345) >>> 0);
  const inputs = lengths.map((T) => [2, ...Array.from({ length: T - 2 }, () => 5 + (next() % (cfg.vocab_size - 5))), 3]);

  const engines = [];
  const unavailable = [];
  const ours = async (label, options) => {
    try {
      const encoder = await lib.Encoder.fromFiles(files(), { threads: 1, ...options });
      engines.push({ label, run: async (ids) => (await encoder.embedIds([ids]))[0], encoder });
    } catch (e) {
      unavailable.push({ label, reason: `${e?.code ?? e?.name}: ${errorText(e)}` });
    }
  };
  await ours('kmed wasm f32', { backend: 'wasm', dtype: 'f32' });
  await ours('kmed wasm int8', { backend: 'wasm', dtype: 'int8' });
  await ours('kmed WebGPU', { backend: 'webgpu' });
  try {
    const ort = await import(`${ORT}ort.webgpu.bundle.min.mjs`);
    ort.env.wasm.wasmPaths = ORT;
    ort.env.wasm.numThreads = 1;
    const [model, data] = await Promise.all([read('/model/model.onnx'), read('/model/model.onnx.data')]);
    const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], externalData: [{ path: 'model.onnx.data', data }] });
    const output = session.outputNames.includes('pooler_output') ? 'pooler_output' : session.outputNames[session.outputNames.length - 1];
    const big = (xs) => BigInt64Array.from(xs, (x) => BigInt(x));
    engines.push({
      label: 'onnxruntime-web WebGPU EP',
      run: async (ids) => {
        const T = ids.length;
        const out = await session.run({
          input_ids: new ort.Tensor('int64', big(ids), [1, T]),
          attention_mask: new ort.Tensor('int64', big(ids.map(() => 1)), [1, T]),
          token_type_ids: new ort.Tensor('int64', new BigInt64Array(T), [1, T]),
        });
        return Float32Array.from(await out[output].getData());
      },
      version: ort.env.versions?.web ?? '',
    });
  } catch (e) {
    unavailable.push({ label: 'onnxruntime-web WebGPU EP', reason: errorText(e) });
  }

  // Warm-up (compiles pipelines, first upload), and the reference vectors of wasm f32.
  const reference = [];
  for (const e of engines) {
    e.times = lengths.map(() => []);
    e.diff = 0;
    try {
      for (let i = 0; i < inputs.length; i++) {
        const v = await within(e.run(inputs[i]), RUN_TIMEOUT_MS, `${e.label} warm-up at ${inputs[i].length} tokens`);
        if (e === engines[0]) reference.push(v);
        else e.diff = Math.max(e.diff, maxAbs(Array.from(v), Array.from(reference[i])));
      }
    } catch (err) {
      e.failed = errorText(err);
    }
  }
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < inputs.length; i++) {
      for (const e of engines) {
        if (e.failed) continue;
        const t = performance.now();
        try {
          await within(e.run(inputs[i]), RUN_TIMEOUT_MS, `${e.label} at ${inputs[i].length} tokens`);
        } catch (err) {
          e.failed = errorText(err);
          continue;
        }
        e.times[i].push(performance.now() - t);
      }
    }
  }
  const gpu = engines.find((e) => e.label === 'kmed WebGPU')?.encoder?.webgpu;
  let adapter = gpu?.adapter;
  if (!adapter && navigator.gpu) {
    const a = await navigator.gpu.requestAdapter();
    adapter = a ? { vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description, isFallbackAdapter: a.info.isFallbackAdapter } : undefined;
  }
  for (const e of engines) e.encoder?.dispose();
  return {
    userAgent: navigator.userAgent,
    adapter,
    config: { hidden_size: cfg.hidden_size, num_hidden_layers: cfg.num_hidden_layers, vocab_size: cfg.vocab_size },
    lengths,
    runs,
    rows: [
      ...engines.map((e) => ({ label: e.label, failed: e.failed, medianMs: e.times.map(median), maxAbsVsWasmF32: e === engines[0] ? 0 : e.diff })),
      ...unavailable.map((u) => ({ label: u.label, failed: `unavailable: ${u.reason}` })),
    ],
  };
}

try {
  window.kmedBench = await main();
} catch (e) {
  window.kmedBench = { error: String(e?.stack ?? e) };
}
document.getElementById('out').textContent = JSON.stringify(window.kmedBench, null, 2);
