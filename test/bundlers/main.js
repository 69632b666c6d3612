// The page every bundler builds in test/bundlers.test.ts: the model card's example through
// 'kmed-dpr' (the browser condition: the neutral entry) and through 'kmed-dpr/worker', both on 2
// threads, with the tiny encoders served at /models/. Publishes window.kmedBundle.
import { BiEncoder, MODEL_CARD_EXAMPLE } from 'kmed-dpr';
import { WorkerBiEncoder } from 'kmed-dpr/worker';

async function folder(base) {
  const get = async (name) => {
    const r = await fetch(`${base}/${name}`);
    if (!r.ok) throw new Error(`${base}/${name}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  return {
    config: await get('config.json'), vocab: await get('vocab.txt'), tokenizerConfig: await get('tokenizer_config.json'),
    specialTokensMap: await get('special_tokens_map.json'), weights: await get('model.safetensors'),
  };
}
const models = async () => ({ question: await folder('/models/question'), context: await folder('/models/context') });

async function main() {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => {
    warnings.push(args.join(' '));
    warn(...args);
  };
  const passages = [...MODEL_CARD_EXAMPLE.passages];
  const bi = await BiEncoder.fromFiles(await models(), { threads: 2 });
  const [scores] = await bi.score([MODEL_CARD_EXAMPLE.query], passages);
  const threads = bi.question.threads;
  bi.dispose();
  const wbi = await WorkerBiEncoder.fromFiles(await models(), { threads: 2 });
  const [workerScores] = await wbi.score([MODEL_CARD_EXAMPLE.query], passages);
  const workerThreads = wbi.threads;
  wbi.dispose();
  return { scores, threads, workerScores, workerThreads, warnings, crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

main().then(
  (result) => (window.kmedBundle = result),
  (error) => (window.kmedBundle = { error: String(error?.stack ?? error) }),
);
