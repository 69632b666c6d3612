// The worker client keeps the library's call contract across the thread boundary, run in Node
// (node:worker_threads behind a Web Worker face, test/helpers/node-web-worker.ts) on the tiny
// models with the built worker script (dist/worker/worker-main.js; `npm test` builds first):
// `signal` already aborted rejects with AbortError before anything is sent; an abort during a long
// embed rejects at once and the worker stops within one forward pass and stays usable; `onBatch`
// runs in the caller's thread on batches posted back, covering every input once with the final
// vectors; arguments that cannot be cloned give WORKER_CANNOT_SEND, not a raw DataCloneError; and
// after every failure kind the client's table of pending calls is empty. The Chromium run of the
// same worker is test/worker.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../src/node/encoder.js';
import { WorkerBiEncoder, WorkerEncoder } from '../src/worker/client.js';
import { nodeWebWorker, type NodeWebWorker } from './helpers/node-web-worker.js';

const SCRIPT = 'dist/worker/worker-main.js';
const files = (dir: string) => {
  const read = (name: string) => new Uint8Array(readFileSync(`${dir}/${name}`));
  return { config: read('config.json'), vocab: read('vocab.txt'), tokenizerConfig: read('tokenizer_config.json'), weights: read('model.safetensors') };
};
const corpus = readFileSync('test/fixtures/corpus/passages.txt', 'utf8').split('\n').filter((l) => l !== '');
const texts = (n: number) => Array.from({ length: n }, (_, i) => `${corpus[i % corpus.length]} (${i})`);

let worker: NodeWebWorker;
let enc: WorkerEncoder;
let local: Encoder;

beforeAll(async () => {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  enc = await WorkerEncoder.fromFiles(files('test/fixtures/tiny-context'), { threads: 1, createWorker: () => (worker = nodeWebWorker(SCRIPT)) });
  local = await Encoder.fromDirectory('test/fixtures/tiny-context', { threads: 1 });
});

afterAll(() => {
  enc?.dispose();
  local?.dispose();
});

/** Batch messages the worker posted for call `id`. */
function batchesOf(id: number): number {
  return worker.received.filter((m) => (m as { id?: number; batch?: unknown }).id === id && (m as { batch?: unknown }).batch !== undefined).length;
}

/** The id of the last call sent to the worker (ids count up from 1). */
function lastId(): number {
  return Math.max(0, ...worker.received.map((m) => (m as { id?: number }).id ?? 0));
}

describe('WorkerEncoder keeps the library contract across the thread', () => {
  it('an already-aborted signal rejects with AbortError before anything is sent', async () => {
    const sent = worker.sent;
    const reason = new Error('user left');
    for (const call of [
      () => enc.embed(['a', 'b'], { signal: AbortSignal.abort(reason) }),
      () => enc.embedIds([[2, 5, 3]], { signal: AbortSignal.abort(reason) }),
    ]) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ name: 'AbortError', code: 'ABORTED', reason });
    }
    expect(worker.sent, 'a message was sent to the worker').toBe(sent);
    expect(enc.pendingCalls).toBe(0);
  });

  it('an abort during a 3000-text embed rejects at once; the worker stops within one forward pass and stays usable', async () => {
    const controller = new AbortController();
    let seen = 0;
    const call = enc.embed(texts(3000), {
      batchSize: 8,
      signal: controller.signal,
      onBatch: () => {
        if (++seen === 2) controller.abort();
      },
    });
    const error = await call.then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    const id = lastId();
    expect(enc.pendingCalls).toBe(0);
    // The next call runs once the worker is free: it is answered, and correctly.
    const after = await enc.embed(['고혈압 진단']);
    expect(after).toEqual(await local.embed(['고혈압 진단']));
    console.log(`abort after ${seen} passes seen here; the worker posted ${batchesOf(id)} of 375`);
    // The worker ran the pass it was in when the abort arrived, and perhaps one more: not 375.
    expect(batchesOf(id)).toBeLessThanOrEqual(seen + 2);
    expect(seen).toBeLessThanOrEqual(3);
  });

  it('onBatch runs in the caller\'s thread on every forward pass, each input once, with the final vectors', async () => {
    const input = texts(50);
    const batches: Array<{ indices: number[]; vectors: Float32Array[]; done: number; total: number; main: boolean }> = [];
    const result = await enc.embed(input, { batchSize: 8, onBatch: (b) => batches.push({ ...b, main: isMainThread }) });
    // The same passes, in the same order, as the library's own embed reports.
    const expected: Array<{ indices: number[]; done: number; total: number }> = [];
    expect(result).toEqual(await local.embed(input, { batchSize: 8, onBatch: ({ indices, done, total }) => expected.push({ indices, done, total }) }));
    expect(batches.map(({ indices, done, total }) => ({ indices, done, total }))).toEqual(expected);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(50 / 8));
    expect(batches.every((b) => b.main)).toBe(true);
    expect(batches.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual(input.map((_, i) => i));
    for (const b of batches) b.indices.forEach((i, j) => expect(b.vectors[j]).toEqual(result[i]));
    expect(batches.at(-1)!.done).toBe(50);
    expect(enc.pendingCalls).toBe(0);
  });

  it('an onBatch that throws fails the call with its error, stops the worker, leaves nothing pending', async () => {
    const boom = new Error('callback failed');
    const error = await enc.embed(texts(200), { batchSize: 4, onBatch: () => { throw boom; } }).then(() => undefined, (e: unknown) => e);
    expect(error).toBe(boom);
    expect(enc.pendingCalls).toBe(0);
    expect((await enc.embed(['x'])).length).toBe(1);
  });

  it('arguments that cannot be cloned give WORKER_CANNOT_SEND, not a raw DataCloneError, and leave nothing pending', async () => {
    // A text that is not a string is refused by index before anything is posted (ENCODER_BAD_INPUT);
    // an option value the client passes on unchecked (the worker's encoder checks it) still has to cross.
    const notText = { toString: () => 'x' } as unknown as string;
    await expect(enc.embed([notText])).rejects.toMatchObject({ code: 'ENCODER_BAD_INPUT' });
    expect(enc.pendingCalls).toBe(0);
    const error = (await enc.embed(['x'], { batchSize: (() => 8) as unknown as number }).then(() => undefined, (e: unknown) => e)) as Error & { code?: string; cause?: Error };
    expect(error).toMatchObject({ name: 'KmedError', code: 'WORKER_CANNOT_SEND' });
    expect(error.message).toMatch(/cannot be sent to the worker/);
    expect(error.cause?.name).toBe('DataCloneError');
    expect((await enc.embed(['x'])).length).toBe(1);
  });

  it('leaves no pending call after any failure: a worker error, aborts, clone failures, and dispose mid-call', async () => {
    await expect(enc.embed(['x'], { maxLength: 1 })).rejects.toMatchObject({ code: 'ENCODER_BAD_OPTION' });
    expect(enc.pendingCalls).toBe(0);
    const controller = new AbortController();
    const running = enc.embed(texts(400), { batchSize: 4, signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    expect(enc.pendingCalls).toBe(0);
    await expect(enc.embed(['x'], { pooling: (() => 'cls') as never })).rejects.toMatchObject({ code: 'WORKER_CANNOT_SEND' });
    expect(enc.pendingCalls).toBe(0);

    const own = await WorkerEncoder.fromFiles(files('test/fixtures/tiny-context'), { threads: 1, createWorker: () => nodeWebWorker(SCRIPT) });
    const inFlight = own.embed(texts(400), { batchSize: 4 });
    own.dispose();
    await expect(inFlight).rejects.toMatchObject({ code: 'WORKER_DISPOSED' });
    expect(own.pendingCalls).toBe(0);
  });
});

describe('WorkerBiEncoder keeps the same contract for encodeQueries / encodePassages', () => {
  it('signal and onBatch work across the thread; nothing is left pending', async () => {
    const bi = await WorkerBiEncoder.fromFiles({ question: files('test/fixtures/tiny-question'), context: files('test/fixtures/tiny-context') }, { threads: 1, createWorker: () => nodeWebWorker(SCRIPT) });
    try {
      await expect(bi.encodeQueries(['x'], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
      const seen: number[] = [];
      const vectors = await bi.encodePassages(texts(20), { onBatch: (b) => seen.push(...b.indices) });
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(vectors).toEqual(await local.embed(texts(20)));
      const controller = new AbortController();
      const running = bi.encodeQueries(texts(400), { signal: controller.signal });
      controller.abort();
      await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
      expect(bi.pendingCalls).toBe(0);
      expect((await bi.encodeQueries(['x'])).length).toBe(1);
    } finally {
      bi.dispose();
    }
  });
});
