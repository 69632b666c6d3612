// Owns: the per-runtime timing behind the README's "Runtime support" table: load a model folder's
// files from bytes, then time `embedIds` on one 128-token sequence (batch 1) — median of `reps`
// runs after one warm-up. Plain ESM, web-standard APIs only, so Node, Deno, Bun and a page all run
// exactly this; the launchers (run.mjs, page.mjs) hand in the library and a file reader.
// Does not own: which runtimes run or how the table is printed (bench/runtimes.ts).

/** EncoderFiles key → file name; weights and config are required, the rest optional. */
const FILES = {
  config: 'config.json',
  vocab: 'vocab.txt',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  weights: 'model.safetensors',
};

/** mulberry32: the same ids in every runtime for a given seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** [CLS]=2, T-2 ordinary ids from [5, vocab), [SEP]=3. */
export function seededIds(T, vocabSize, seed = 128) {
  const rand = mulberry32(seed);
  const ids = [2];
  for (let t = 1; t < T - 1; t++) ids.push(5 + Math.floor(rand() * (vocabSize - 5)));
  ids.push(3);
  return ids;
}

/**
 * @param {object} args
 * @param {any} args.lib the imported package
 * @param {(name: string) => Promise<Uint8Array | ArrayBuffer | null>} args.read a model file's
 *   bytes by name, null when absent
 * @param {number} args.threads
 * @param {number} args.T tokens per sequence
 * @param {number} args.reps timed runs
 * @param {string} [args.simd] the `simd` option (default 'auto')
 */
export async function runBench({ lib, read, threads, T, reps, runtime, version, simd = 'auto' }) {
  const files = {};
  const readStart = performance.now();
  for (const [key, name] of Object.entries(FILES)) {
    const bytes = await read(name);
    if (bytes == null) {
      if (key === 'config' || key === 'vocab' || key === 'weights') throw new Error(`model folder has no ${name}`);
      continue;
    }
    files[key] = bytes;
  }
  const readMs = performance.now() - readStart;

  const loadStart = performance.now();
  const encoder = await lib.Encoder.fromFiles(files, { threads, simd });
  const loadMs = performance.now() - loadStart;
  // The file bytes are in the heap now; drop ours so peak memory reflects a real program.
  for (const key of Object.keys(files)) delete files[key];

  const ids = seededIds(T, encoder.config.vocab_size);
  await encoder.embedIds([ids]); // warm-up: JIT, heap growth, first-touch of scratch
  // CPU time of the whole process too where the runtime has process.cpuUsage (Node, Deno, Bun): on a
  // shared machine wall time also counts the time other programs held the core, CPU time does not.
  const cpuUsage = globalThis.process?.cpuUsage?.bind(globalThis.process);
  const cpu = (u) => (u.user + u.system) / 1000;
  const times = [];
  const cpuTimes = [];
  for (let r = 0; r < reps; r++) {
    const c0 = cpuUsage?.();
    const t0 = performance.now();
    const [v] = await encoder.embedIds([ids]);
    times.push(performance.now() - t0);
    if (c0) cpuTimes.push(cpu(cpuUsage()) - cpu(c0));
    if (!v || !Number.isFinite(v[0])) throw new Error('embedIds returned a non-finite vector');
  }
  const median = (xs) => {
    xs.sort((a, b) => a - b);
    return xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2;
  };
  const cpuMedian = cpuTimes.length ? Math.round(median(cpuTimes) * 10) / 10 : undefined;
  const medianMs = median(times);
  const threadsUsed = encoder.threads ?? 1;
  encoder.dispose?.();
  return {
    runtime,
    version,
    threads: threadsUsed,
    requestedThreads: threads,
    T,
    reps,
    msPerSequence: Math.round(medianMs * 10) / 10,
    cpuMsPerSequence: cpuMedian,
    minMs: Math.round(times[0] * 10) / 10,
    kernels: encoder.backend?.name,
    loadMs: Math.round(loadMs),
    readMs: Math.round(readMs),
  };
}
