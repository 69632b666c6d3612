// Owns: the page side of bench:e2e's Chromium row — load ours (/dist/index.js, Encoder.fromFiles)
// and onnxruntime-web (its wasm build, ort.wasm.bundle.min.mjs) on the same weights, then time them
// in turns, run for run (ours, then ort-web, then ours…), so a background hiccup slows both alike:
// batch-1 latency at each length, and each corpus embedded whole (ours: `embed(texts)`; ort-web:
// the same token ids one sequence at a time). Also checks parity on the first latency input.
// Publishes window.kmedE2e. Plain ESM: the browser runs it as served.
// Does not own: serving, the browser, or the table (chromium.ts, ../e2e.ts).
const q = new URLSearchParams(location.search);
const threads = Number(q.get('threads') ?? 1);
const ORT_DIST = '/bench/node_modules/onnxruntime-web/dist/';

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main() {
  const spec = await (await fetch('/e2e-data/spec.json')).json();
  const lib = await import('/dist/index.js');
  const files = {
    config: await bytes('/model/config.json'),
    vocab: await bytes('/model/vocab.txt'),
    weights: await bytes('/model/model.safetensors'),
  };
  let t0 = performance.now();
  const encoder = await lib.Encoder.fromFiles(files, { threads });
  const oursLoadMs = performance.now() - t0;
  delete files.weights;

  const ort = await import(`${ORT_DIST}ort.wasm.bundle.min.mjs`);
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = ORT_DIST;
  t0 = performance.now();
  const model = await bytes('/onnx/model.onnx');
  const data = await bytes(`/onnx/${spec.onnxDataFile}`);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData: [{ path: spec.onnxDataFile, data }],
    graphOptimizationLevel: 'all',
  });
  const ortLoadMs = performance.now() - t0;

  const ortRun = async (ids) => {
    const T = ids.length;
    const big = (xs) => BigInt64Array.from(xs, (x) => BigInt(x));
    const out = await session.run({
      input_ids: new ort.Tensor('int64', big(ids), [1, T]),
      attention_mask: new ort.Tensor('int64', big(ids.map(() => 1)), [1, T]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(T), [1, T]),
    }, ['pooler_output']);
    return out.pooler_output.data;
  };
  const oursRun = async (ids) => (await encoder.embedIds([ids], { pooling: 'pooler' }))[0];

  // Parity on the first latency input, and the warm-up of both at every length.
  let parity = 0;
  for (const [i, ids] of spec.latencyIds.entries()) {
    const a = await oursRun(ids);
    const b = await ortRun(ids);
    if (i === 0) for (let c = 0; c < a.length; c++) parity = Math.max(parity, Math.abs(a[c] - b[c]));
  }
  const latency = spec.latencyIds.map((ids) => ({ T: ids.length, ours: [], ort: [] }));
  for (let r = 0; r < spec.reps; r++) {
    for (const [i, ids] of spec.latencyIds.entries()) {
      latency[i].ours.push(await timed(() => oursRun(ids)));
      latency[i].ort.push(await timed(() => ortRun(ids)));
    }
  }
  const corpora = [];
  for (const c of spec.corpora) {
    await encoder.embed(c.texts, { pooling: 'pooler' });
    for (const ids of c.ids) await ortRun(ids);
    const ours = [];
    const ortMs = [];
    for (let r = 0; r < spec.corpusReps; r++) {
      ours.push(await timed(() => encoder.embed(c.texts, { pooling: 'pooler' })));
      ortMs.push(await timed(async () => { for (const ids of c.ids) await ortRun(ids); }));
    }
    const tokens = c.ids.reduce((s, ids) => s + ids.length, 0);
    corpora.push({ name: c.name, file: c.file, texts: c.texts.length, tokens, oursMs: median(ours), ortMs: median(ortMs), runs: ours.length });
  }
  const threadsUsed = encoder.threads ?? 1;
  encoder.dispose();
  await session.release();
  return {
    threads: threadsUsed,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    oursLoadMs,
    ortLoadMs,
    parityMaxAbs: parity,
    latency: latency.map((l) => ({ T: l.T, oursMs: median(l.ours), ortMs: median(l.ort), runs: l.ours.length })),
    corpora,
  };
}

try {
  window.kmedE2e = await main();
} catch (error) {
  window.kmedE2e = { error: String(error?.stack ?? error) };
}
document.getElementById('out').textContent = JSON.stringify(window.kmedE2e, null, 2);
