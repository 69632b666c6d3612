// Owns: unknown option keys are refused on every public call that takes an options object —
// library (neutral and Node), LangChain entry, worker client — with OptionError OPTION_UNKNOWN
// naming the call, the key, the likely intended key and every key the call takes; options that are
// not an object are OPTION_BAD_VALUE; and loaders that forward their options (fromPretrained: hub +
// encoder + bi-encoder options) accept the whole union. The table of calls below must cover every
// entry of OPTION_KEYS (checked), so a call added there without a test here fails.
// Does not own the option values (api-habits.test.ts) or the worker's behaviour (worker-api.test.ts).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BiEncoder as BaseBiEncoder, openSearchSession } from '../src/bi-encoder.js';
import { Encoder as BaseEncoder, type EncoderFiles } from '../src/encoder.js';
import { KmedError } from '../src/errors/errors.js';
import { OptionError } from '../src/errors/option-error.js';
import { KmedEmbeddings } from '../src/langchain/embeddings.js';
import { BiEncoder, loadEncoder, loadPretrainedEncoder } from '../src/node/bi-encoder.js';
import { Encoder } from '../src/node/encoder.js';
import { OPTION_KEYS, type OptionCall } from '../src/options/option-keys.js';
import { serializeIndex, VectorIndex } from '../src/search/vector-index.js';
import { WorkerBiEncoder, WorkerEncoder } from '../src/worker/client.js';
import { repoFromFolder, startHubServer, type HubServer } from './helpers/hub-server.js';
import { nodeWorker } from './helpers/node-worker.js';

const FIX = 'test/fixtures';
const Q = join(FIX, 'tiny-question');
const C = join(FIX, 'tiny-context');

function filesOf(dir: string): EncoderFiles {
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  return { config: read('config.json'), vocab: read('vocab.txt'), tokenizerConfig: read('tokenizer_config.json'), weights: read('model.safetensors') };
}

async function rejection(run: () => unknown): Promise<KmedError> {
  const error = await Promise.resolve().then(run).then(() => undefined, (e: unknown) => e);
  expect(error, 'expected a KmedError').toBeInstanceOf(KmedError);
  return error as KmedError;
}

/** A fetch that must not be called: a refused option is refused before any request. */
let requests = 0;
const noFetch = (async () => {
  requests++;
  throw new Error('no request expected');
}) as typeof fetch;

let enc: Encoder;
let bi: BiEncoder;
let index: VectorIndex;
let workerEncoder: WorkerEncoder;
let workerBi: WorkerBiEncoder;
let workersStarted = 0;
const countingWorker = () => {
  workersStarted++;
  return nodeWorker();
};

beforeAll(async () => {
  enc = await Encoder.fromDirectory(Q, { threads: 1 });
  bi = await BiEncoder.fromDirectories({ question: Q, context: C }, { threads: 1 });
  const passages = ['고혈압 진단', 'gallstones', 'renal cyst'];
  const vectors = await bi.encodePassages(passages);
  index = VectorIndex.fromBytes(serializeIndex({ meta: bi.indexMeta(), dimension: bi.dimension, vectors, ids: passages.map((_, i) => `p${i}`), texts: passages }));
  workerEncoder = await WorkerEncoder.fromFiles(filesOf(Q), { threads: 1, createWorker: nodeWorker });
  workerBi = await WorkerBiEncoder.fromFiles({ question: filesOf(Q), context: filesOf(C) }, { threads: 1, createWorker: nodeWorker });
});
afterAll(() => {
  enc?.dispose();
  bi?.dispose();
  workerEncoder?.dispose();
  workerBi?.dispose();
});

const drain = async (stream: AsyncIterable<unknown>) => {
  for await (const _ of stream) void _;
};

/** Every checked call, given `options` where it takes them (the other arguments valid). */
const CALLS: Record<OptionCall, (options: never) => unknown> = {
  'Encoder.fromFiles': (o) => BaseEncoder.fromFiles(filesOf(Q), o),
  'Encoder.fromDirectory': (o) => Encoder.fromDirectory(Q, o),
  'Encoder.fromPretrained': (o) => BaseEncoder.fromPretrained('kmed-test/tiny-question', { fetch: noFetch, cache: false, ...(o as object) }),
  'Encoder.fromSnapshot': (o) => BaseEncoder.fromSnapshot({ repo: 'kmed-test/x', revision: 'main', commit: '0'.repeat(40), files: new Map(), requests: 0 }, o),
  'Encoder.embed': (o) => enc.embed('a', o),
  'Encoder.embedIds': (o) => enc.embedIds([[2, 3]], o),
  'Encoder.embedStream': (o) => drain(enc.embedStream(['a'], o)),
  BiEncoder: (o) => new BaseBiEncoder(enc, enc, o),
  'BiEncoder.fromFiles': (o) => BaseBiEncoder.fromFiles({ question: filesOf(Q), context: filesOf(C) }, o),
  'BiEncoder.fromDirectories': (o) => BiEncoder.fromDirectories({ question: Q, context: C }, o),
  'BiEncoder.fromDirectories locations': (o) => BiEncoder.fromDirectories(o),
  'BiEncoder.fromPretrained': (o) => BaseBiEncoder.fromPretrained({}, { fetch: noFetch, cache: false, ...(o as object) }),
  'BiEncoder.fromPretrained ids': (o) => BaseBiEncoder.fromPretrained(o, { fetch: noFetch, cache: false }),
  'BiEncoder.encodeQueries': (o) => bi.encodeQueries('q', o),
  'BiEncoder.encodePassages': (o) => bi.encodePassages(['p'], o),
  'BiEncoder.encodePassagesStream': (o) => drain(bi.encodePassagesStream(['p'], o)),
  'BiEncoder.score': (o) => bi.score(['q'], ['p'], o),
  'BiEncoder.openIndex': (o) => bi.openIndex(index, o),
  'BiEncoder.search': (o) => bi.search('q', index, 2, o),
  'BiEncoder.searchMany': (o) => bi.searchMany(['q'], index, 2, o),
  openSearchSession: (o) => openSearchSession(index, o),
  loadEncoder: (o) => loadEncoder('question', { model: Q }, o),
  'loadEncoder location': (o) => loadEncoder('question', o),
  loadPretrainedEncoder: (o) => loadPretrainedEncoder('kmed-test/tiny-question', { fetch: noFetch, cacheDir: '/nonexistent/kmed-cache', ...(o as object) }),
  'WorkerEncoder.fromFiles': (o) => WorkerEncoder.fromFiles(filesOf(Q), { createWorker: countingWorker, ...(o as object) }),
  'WorkerEncoder.embed': (o) => workerEncoder.embed(['a'], o),
  'WorkerEncoder.embedIds': (o) => workerEncoder.embedIds([[2, 3]], o),
  'WorkerBiEncoder.fromFiles': (o) => WorkerBiEncoder.fromFiles({ question: filesOf(Q), context: filesOf(C) }, { createWorker: countingWorker, ...(o as object) }),
  'WorkerBiEncoder.fromPretrained': (o) => WorkerBiEncoder.fromPretrained({}, { createWorker: countingWorker, ...(o as object) }),
  'WorkerBiEncoder.fromPretrained ids': (o) => WorkerBiEncoder.fromPretrained(o, { createWorker: countingWorker }),
  'WorkerBiEncoder.encodeQueries': (o) => workerBi.encodeQueries('q', o),
  'WorkerBiEncoder.encodePassages': (o) => workerBi.encodePassages(['p'], o),
  'WorkerBiEncoder.encodePassagesStream': (o) => drain(workerBi.encodePassagesStream(['p'], o)),
  'WorkerBiEncoder.score': (o) => workerBi.score(['q'], ['p'], o),
  'WorkerBiEncoder.search': async (o) => workerBi.search('q', await workerBi.openIndex(serializeIndex({ meta: bi.indexMeta(), dimension: 64, vectors: [new Float32Array(64).fill(1)], ids: ['a'], texts: ['a'] })), 1, o),
  KmedEmbeddings: (o) => new KmedEmbeddings({ biEncoder: bi, ...(o as object) }),
};

describe('unknown option keys', () => {
  it('the table covers every call that checks its options', () => {
    expect(Object.keys(CALLS).sort()).toEqual(Object.keys(OPTION_KEYS).sort());
  });

  it.each(Object.keys(CALLS) as OptionCall[])('%s refuses { polling: "cls" } naming the call, the key and the keys it takes', async (call) => {
    requests = 0;
    workersStarted = 0;
    const error = await rejection(() => CALLS[call]({ polling: 'cls' } as never));
    expect(error, error.message).toBeInstanceOf(OptionError);
    expect(error.code).toBe('OPTION_UNKNOWN');
    const known = OPTION_KEYS[call] as readonly string[];
    const hint = known.includes('pooling') ? ' (did you mean "pooling"?)' : '';
    expect(error.message).toBe(`${call}: unknown option "polling"${hint}; the options it takes are ${known.join(', ')}`);
    // Refused before any work: no request, no worker started.
    expect(requests).toBe(0);
    expect(workersStarted).toBe(0);
  });

  it('a near miss names the key meant; options that are not an object are OPTION_BAD_VALUE', async () => {
    const typo = await rejection(() => enc.embed('a', { batchsize: 4 } as never));
    expect(typo.message).toMatch(/^Encoder\.embed: unknown option "batchsize" \(did you mean "batchSize"\?\)/);
    const far = await rejection(() => enc.embed('a', { xyzzy: 1 } as never));
    expect(far.message).toMatch(/^Encoder\.embed: unknown option "xyzzy"; the options it takes are pooling, /);
    for (const options of [null, 'cls', ['pooling'], 5]) {
      const error = await rejection(() => enc.embed('a', options as never));
      expect(error).toBeInstanceOf(OptionError);
      expect(error.code).toBe('OPTION_BAD_VALUE');
      expect(error.message).toMatch(/^Encoder\.embed: options must be an object \(or left out\), not /);
    }
    // A key meant for another call is still unknown here (maxLength does not apply to embedIds).
    expect((await rejection(() => enc.embedIds([[2, 3]], { maxLength: 8 } as never))).code).toBe('OPTION_UNKNOWN');
  });

  it('every declared key is accepted (each call with all of its keys set to undefined)', async () => {
    for (const call of Object.keys(CALLS) as OptionCall[]) {
      // Loaders would start real work; their forwarding is covered below with real values.
      if (/from|load|BiEncoder$|Embeddings|Session|openIndex/.test(call)) continue;
      const all = Object.fromEntries((OPTION_KEYS[call] as readonly string[]).map((k) => [k, undefined]));
      await expect(Promise.resolve().then(() => CALLS[call](all as never)), call).resolves.not.toThrow();
    }
  });
});

describe('forwarded options: a loader takes the union of what it forwards', () => {
  let hub: HubServer;
  let cacheDir: string;
  const NAMES = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];
  beforeAll(async () => {
    hub = await startHubServer({ repos: { 'kmed-test/tiny-question': repoFromFolder(Q, NAMES), 'kmed-test/tiny-context': repoFromFolder(C, NAMES) } });
    cacheDir = await mkdtemp(join(tmpdir(), 'kmed-options-'));
  });
  afterAll(async () => {
    await hub?.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('BiEncoder.fromPretrained (neutral and Node) with hub, encoder and bi-encoder options together', async () => {
    const events: string[] = [];
    const options = {
      endpoint: hub.url, revision: 'main', retries: 1, retryDelayMs: 10, timeoutMs: 5_000, stallTimeoutMs: 5_000, onProgress: (e: { type: string }) => events.push(e.type),
      threads: 1, dtype: 'fp32' as const, backend: 'wasm' as const, wordEmbeddings: 'heap' as const, allowNonFinite: false,
      pooling: 'pooler' as const, maxLength: 64, batchSize: 4, names: { question: 'q', context: 'c' },
    };
    const ids = { question: 'kmed-test/tiny-question', context: 'kmed-test/tiny-context' };
    const neutral = await BaseBiEncoder.fromPretrained(ids, { ...options, cache: false });
    const node = await BiEncoder.fromPretrained(ids, { ...options, cacheDir });
    try {
      expect(neutral.identity.question?.name).toBe('q');
      expect(node.batchSize).toBe(4);
      expect(await node.encodeQueries('고혈압')).toEqual(await neutral.encodeQueries('고혈압'));
      expect(await node.encodeQueries('고혈압')).toEqual(await bi.encodeQueries('고혈압'));
      expect(events).toContain('loaded');
      const one = await Encoder.fromPretrained(ids.question, { endpoint: hub.url, cacheDir, threads: 1, dtype: 'fp32', wordEmbeddings: 'source', offline: true });
      expect(await one.embed('고혈압')).toEqual(await enc.embed('고혈압'));
      one.dispose();
    } finally {
      neutral.dispose();
      node.dispose();
    }
  });
});
