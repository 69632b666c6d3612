// Owns: the one runtime check every JavaScript runtime runs (Node, Deno, Bun, Chromium): load the
// tiny question and context encoders from bytes, embed the model card's example, and compare with
// tiny-golden.json. Plain ESM with web-standard APIs only; each runtime's launcher (check.mjs for
// the command-line runtimes, browser.mjs for a page) imports the library its own way and hands in
// `read`, a function returning a fixture file's bytes the runtime's own way.
// Does not own: how the library is found (the launcher imports it) or what counts as passing (the
// tests compare `maxError` / `maxSimilarityError` with their tolerances and print the line).

/** Files of a Hugging Face BERT folder, as the tiny fixtures have them. */
const MODEL_FILES = {
  config: 'config.json',
  vocab: 'vocab.txt',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  tokenizerJson: 'tokenizer.json',
  weights: 'model.safetensors',
};

/**
 * @param {object} args
 * @param {any} args.lib the imported package (its `Encoder`, and `BiEncoder` once it exists)
 * @param {(path: string) => Promise<Uint8Array | ArrayBuffer>} args.read bytes of a file, by its
 *   path relative to test/fixtures/ (e.g. 'tiny-question/config.json')
 * @param {number} args.threads threads to ask the library for
 * @param {string} args.runtime 'node' | 'deno' | 'bun' | 'chromium'
 * @param {string} args.version the runtime's version
 * @returns {Promise<object>} one result, ready to print as a JSON line
 */
export async function runCheck({ lib, read, threads, runtime, version }) {
  const started = performance.now();
  const golden = JSON.parse(new TextDecoder().decode(toBytes(await read('tiny-golden.json'))));
  // The model card's example: texts[0] is the query, texts[1..3] its three clinical notes.
  const query = golden.texts[0];
  const notes = golden.texts.slice(1, 4);

  // Item 2 of the issue: every file may be a Uint8Array or an ArrayBuffer, and a text file also a
  // string. The question encoder gets Uint8Arrays, the context encoder ArrayBuffers and strings, so
  // each runtime exercises all three forms.
  const questionFiles = await readModel(read, 'tiny-question', (bytes) => toBytes(bytes));
  const contextFiles = await readModel(read, 'tiny-context', (bytes, key) =>
    key === 'weights' ? toArrayBuffer(bytes) : key === 'vocab' ? toArrayBuffer(bytes) : new TextDecoder().decode(toBytes(bytes)),
  );
  const readMs = performance.now() - started;

  // Always explicit: a library whose default is several threads must still run 1 when asked. The
  // default kernels are the relaxed-SIMD build where the runtime has it; then the baseline build
  // (simd: 'baseline') is checked too, so both builds run wherever both can.
  const options = { threads };
  const loadStart = performance.now();
  const question = await lib.Encoder.fromFiles(questionFiles, options);
  const context = await lib.Encoder.fromFiles(contextFiles, options);
  const loadMs = performance.now() - loadStart;

  const embedStart = performance.now();
  const [queryVector] = await question.embed([query]);
  const noteVectors = await context.embed(notes);
  const embedMs = performance.now() - embedStart;
  const kernels = [question.backend?.name ?? '?'];
  /** Pooler vectors of the other build ([query, ...notes]), compared below like the first's. */
  let baseline;
  if (kernels[0] === 'wasm-relaxed-simd') {
    const q2 = await lib.Encoder.fromFiles(questionFiles, { ...options, simd: 'baseline' });
    const c2 = await lib.Encoder.fromFiles(contextFiles, { ...options, simd: 'baseline' });
    kernels.push(q2.backend?.name ?? '?');
    baseline = [...(await q2.embed([query])), ...(await c2.embed(notes))];
    q2.dispose?.();
    c2.dispose?.();
  }

  let maxError = 0;
  let worst = '';
  const compare = (ours, ref, label) => {
    if (!ours || ours.length !== ref.length) {
      throw new Error(`${label}: got ${ours?.length} values, golden has ${ref.length}`);
    }
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(ours[i] - ref[i]);
      // `!(err <= maxError)` so a NaN counts as the worst error instead of hiding.
      if (!(err <= maxError)) {
        maxError = Number.isNaN(err) ? Infinity : err;
        worst = `${label}[${i}]: ours ${ours[i]} golden ${ref[i]}`;
      }
    }
  };
  compare(queryVector, golden.models['tiny-question'][0].pooler_f64, 'tiny-question text 0 pooler');
  notes.forEach((_, i) => compare(noteVectors[i], golden.models['tiny-context'][i + 1].pooler_f64, `tiny-context text ${i + 1} pooler`));
  if (baseline) {
    compare(baseline[0], golden.models['tiny-question'][0].pooler_f64, 'baseline build: tiny-question text 0 pooler');
    notes.forEach((_, i) => compare(baseline[i + 1], golden.models['tiny-context'][i + 1].pooler_f64, `baseline build: tiny-context text ${i + 1} pooler`));
  }

  // The card's scores: cosine of the question pooler with each note's context pooler.
  const similarities = noteVectors.map((v) => cosine(queryVector, v));
  let maxSimilarityError = 0;
  similarities.forEach((s, i) => {
    const err = Math.abs(s - golden.seed_similarity_f64[i]);
    if (!(err <= maxSimilarityError)) maxSimilarityError = Number.isNaN(err) ? Infinity : err;
  });

  const reportedThreads = question.threads ?? 1;
  question.dispose?.();
  context.dispose?.();
  return {
    runtime,
    version,
    // Which entry of the exports map the runtime got: the Node one adds Encoder.fromDirectory.
    entry: typeof lib.Encoder.fromDirectory === 'function' ? 'node' : 'neutral',
    threads: reportedThreads,
    requestedThreads: threads,
    kernels: kernels.join(' + '),
    maxError,
    worst,
    maxSimilarityError,
    similarities,
    ms: round(embedMs),
    loadMs: round(loadMs),
    readMs: round(readMs),
  };
}

async function readModel(read, folder, convert) {
  const files = {};
  for (const [key, name] of Object.entries(MODEL_FILES)) files[key] = convert(await read(`${folder}/${name}`), key);
  return files;
}

function toBytes(data) {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** A standalone ArrayBuffer with exactly the file's bytes (a Node Buffer may sit in a larger pool). */
function toArrayBuffer(data) {
  const bytes = toBytes(data);
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
}

function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

function round(ms) {
  return Math.round(ms * 100) / 100;
}
