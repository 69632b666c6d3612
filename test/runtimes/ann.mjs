// Owns: the page half of test/ann-browser.test.ts and bench/ann-browser.ts. Loads a bi-encoder into
// a worker (kmed-dpr/worker's WorkerBiEncoder) from ?question= and ?context= folders, moves an
// index and its graph (?index=, ?graph=) into it, and runs the queries — texts (?texts=, a JSON
// array) or vectors (?vectors=, raw little-endian f32, D per query) — through the graph at each
// ?ef= (repeatable) and exactly, one at a time as a page would: per ef the recall@k against exact
// and the median latency of a search call (the worker round trip included). Also opens the index
// with a damaged copy of the graph, whose refusal must come back as a KmedError code.
// Publishes window.kmedAnn.
const q = new URLSearchParams(location.search);
const k = Number(q.get('k') ?? 10);
const efs = q.getAll('ef').map(Number);
const threads = Number(q.get('threads') ?? 1);
const out = document.getElementById('out');

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
async function model(dir) {
  const opt = async (name) => {
    const r = await fetch(dir + name);
    return r.status === 404 ? undefined : new Uint8Array(await r.arrayBuffer());
  };
  return {
    config: await bytes(dir + 'config.json'), vocab: await bytes(dir + 'vocab.txt'), tokenizerConfig: await opt('tokenizer_config.json'),
    specialTokensMap: await opt('special_tokens_map.json'), weights: await bytes(dir + 'model.safetensors'),
  };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  const worker = await import('/dist/worker/index.js');
  const bi = await worker.WorkerBiEncoder.fromFiles({ question: await model(q.get('question')), context: await model(q.get('context')) }, { threads });
  const indexBytes = await bytes(q.get('index'));
  const graphBytes = await bytes(q.get('graph'));
  let queries;
  if (q.get('texts')) queries = JSON.parse(new TextDecoder().decode(await bytes(q.get('texts'))));
  else {
    const raw = await bytes(q.get('vectors'));
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    queries = Array.from({ length: all.length / bi.dimension }, (_, i) => all.subarray(i * bi.dimension, (i + 1) * bi.dimension));
  }
  // A damaged graph is refused inside the worker, and the code crosses back.
  const damaged = graphBytes.slice();
  damaged[damaged.length - 3] ^= 0x10;
  let refusal;
  try {
    const bad = await bi.openIndex(indexBytes.slice(), { graph: damaged });
    await bi.search(queries[0], bad, k);
    refusal = 'accepted';
  } catch (error) {
    refusal = error.code ?? String(error);
  }
  const t0 = performance.now();
  const index = await bi.openIndex(indexBytes.slice(), { graph: graphBytes.slice() });
  // The first search reads the rows and the graph into the worker's heap.
  await bi.search(queries[0], index, k);
  const openMs = performance.now() - t0;
  const exact = [];
  const exactMs = [];
  for (const query of queries) {
    const t = performance.now();
    exact.push(await bi.search(query, index, k, { exact: true }));
    exactMs.push(performance.now() - t);
  }
  const sweep = [];
  for (const ef of efs) {
    const ms = [];
    let found = 0;
    let first;
    for (const [i, query] of queries.entries()) {
      const t = performance.now();
      const hits = await bi.search(query, index, k, { ef });
      ms.push(performance.now() - t);
      const truth = new Set(exact[i].map((h) => h.id));
      found += hits.filter((h) => truth.has(h.id)).length;
      first ??= hits.map((h) => h.id);
    }
    sweep.push({ ef, recall: found / (k * queries.length), medianMs: median(ms), first });
  }
  bi.dispose();
  window.kmedAnn = { queries: queries.length, threads: bi.threads, openMs, exactMedianMs: median(exactMs), exactFirst: exact[0].map((h) => h.id), sweep, refusal };
} catch (error) {
  window.kmedAnn = { error: `${error?.code ?? ''} ${error?.stack ?? error}` };
}
out.textContent = JSON.stringify(window.kmedAnn, null, 2);
