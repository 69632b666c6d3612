// Owns: kmed-dpr/worker's API surface matches the library's, through the real worker script
// (dist/worker/worker-main.js) in a Node thread (helpers/node-worker.ts): embed(text) and
// encodeQueries/encodePassages(text) give one vector; normalize: true crosses and gives the
// library's bits; encodePassagesStream streams chunks of batchSize in order, bitwise
// encodePassages; malformed inputs are EncoderErrors naming the index before anything is posted;
// errors come back as their own classes (OptionError included). Chromium runs the same worker in
// worker.test.ts and bundlers.test.ts.
// Does not own cancellation or progress across the boundary (signal, onBatch).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BiEncoder } from '../src/bi-encoder.js';
import { Encoder, EncoderError, type EmbedChunk, type EncoderFiles } from '../src/encoder.js';
import { AbortError } from '../src/errors/abort-error.js';
import { KmedError } from '../src/errors/errors.js';
import { OptionError } from '../src/errors/option-error.js';
import { normalized } from '../src/search/similarity.js';
import { WorkerBiEncoder, WorkerEncoder } from '../src/worker/client.js';
import { nodeWorker } from './helpers/node-worker.js';

const FIX = 'test/fixtures';
const TEXTS = ['고혈압 진단', 'Amlodipine 5mg 1일 1회 처방', 'x', 'gallstones', 'renal cyst', '저염식, 규칙적인 운동', 'Hemoclip 2개', 'Forrest IIb'];

function filesOf(dir: string): EncoderFiles {
  const read = (name: string) => new Uint8Array(readFileSync(join(FIX, dir, name)));
  return { config: read('config.json'), vocab: read('vocab.txt'), tokenizerConfig: read('tokenizer_config.json'), weights: read('model.safetensors') };
}

async function rejection(run: () => unknown): Promise<KmedError> {
  const error = await Promise.resolve().then(run).then(() => undefined, (e: unknown) => e);
  expect(error, 'expected a KmedError').toBeInstanceOf(KmedError);
  return error as KmedError;
}

async function collect(stream: AsyncIterable<EmbedChunk>): Promise<EmbedChunk[]> {
  const chunks: EmbedChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

let enc: Encoder;
let bi: BiEncoder;
let wEnc: WorkerEncoder;
let wBi: WorkerBiEncoder;
beforeAll(async () => {
  enc = await Encoder.fromFiles(filesOf('tiny-question'), { threads: 1 });
  bi = await BiEncoder.fromFiles({ question: filesOf('tiny-question'), context: filesOf('tiny-context') }, { threads: 1, batchSize: 3 });
  wEnc = await WorkerEncoder.fromFiles(filesOf('tiny-question'), { threads: 1, createWorker: nodeWorker });
  wBi = await WorkerBiEncoder.fromFiles({ question: filesOf('tiny-question'), context: filesOf('tiny-context') }, { threads: 1, batchSize: 3, createWorker: nodeWorker });
});
afterAll(() => {
  enc?.dispose();
  bi?.dispose();
  wEnc?.dispose();
  wBi?.dispose();
});

describe('kmed-dpr/worker speaks the library API', () => {
  it('embed(text) is one Float32Array and embed(texts) an array, bitwise the library; normalize crosses', async () => {
    const one = await wEnc.embed(TEXTS[0]);
    expect(one).toBeInstanceOf(Float32Array);
    expect(one).toEqual(await enc.embed(TEXTS[0]));
    const many = await wEnc.embed(TEXTS);
    expect(many).toEqual(await enc.embed(TEXTS));
    expect(await wEnc.embed(TEXTS, { normalize: true, pooling: 'mean' })).toEqual((await enc.embed(TEXTS, { pooling: 'mean' })).map((v) => normalized(v)));
  });

  it('encodeQueries(text) / encodePassages(text) give one vector; normalize crosses; search takes a text', async () => {
    const q = await wBi.encodeQueries(TEXTS[0]);
    expect(q).toBeInstanceOf(Float32Array);
    expect(q).toEqual(await bi.encodeQueries(TEXTS[0]));
    expect(await wBi.encodePassages(TEXTS[1])).toEqual(await bi.encodePassages(TEXTS[1]));
    expect(await wBi.encodePassages(TEXTS)).toEqual(await bi.encodePassages(TEXTS));
    const unit = await wBi.encodeQueries(TEXTS, { normalize: true });
    expect(unit).toEqual((await bi.encodeQueries(TEXTS)).map((v) => normalized(v)));
    expect(wBi.batchSize).toBe(3);
  });

  it('encodePassagesStream yields chunks of batchSize in order, bitwise encodePassages, from arrays and async iterables', async () => {
    const expected = await bi.encodePassages(TEXTS);
    async function* slowly() {
      for (const t of TEXTS) {
        await new Promise((r) => setTimeout(r, 1));
        yield t;
      }
    }
    for (const source of [TEXTS, slowly()]) {
      const chunks = await collect(wBi.encodePassagesStream(source));
      expect(chunks.map((c) => [c.offset, c.vectors.length])).toEqual([[0, 3], [3, 3], [6, 2]]);
      expect(chunks.flatMap((c) => c.vectors)).toEqual(expected);
    }
    // The same chunks as the library's stream, normalize included.
    const library = await collect(bi.encodePassagesStream(TEXTS, { normalize: true }));
    expect(await collect(wBi.encodePassagesStream(TEXTS, { normalize: true }))).toEqual(library);
    expect(await collect(wBi.encodePassagesStream([]))).toEqual([]);
  });

  it('encodePassagesStream reads its input one chunk ahead at most, and stops on an aborted signal', async () => {
    let pulled = 0;
    function* counted() {
      for (let i = 0; i < 30; i++) {
        pulled++;
        yield `passage ${i}`;
      }
    }
    const stream = wBi.encodePassagesStream(counted());
    const first = await stream.next();
    expect((first.value as EmbedChunk).vectors).toHaveLength(3);
    expect(pulled).toBe(3);
    await stream.return(undefined);
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(() => collect(wBi.encodePassagesStream(TEXTS, { signal: controller.signal })));
    expect(error).toBeInstanceOf(AbortError);
  });

  it('malformed inputs are EncoderErrors naming the index, before anything is posted', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [, 'a'] as unknown as string[];
    for (const [run, message] of [
      [() => wEnc.embed(sparse), /^texts\[0\] is missing \(a hole in a sparse array\)/],
      [() => wEnc.embed(['a', null as never]), /^texts\[1\] is null/],
      // A function cannot be cloned: named here, never a DataCloneError.
      [() => wEnc.embed(['a', 'b', (() => 'c') as never]), /^texts\[2\] is function/],
      [() => wEnc.embed(null as never), /^embed expects a string or an array of strings, not null$/],
      [() => wBi.encodeQueries(sparse), /^texts\[0\] is missing/],
      [() => wBi.encodePassages([1 as never]), /^texts\[0\] is number/],
      [() => collect(wBi.encodePassagesStream(['a', 'b', 'c', 'd', 5 as never])), /^texts\[4\] is number/],
      [() => collect(wBi.encodePassagesStream(42 as never)), /^encodePassagesStream expects an iterable/],
      // eslint-disable-next-line no-sparse-arrays
      [() => wEnc.embedIds([[2, 3], , [2]] as number[][]), /^ids\[1\] is not an array of token ids/],
    ] as const) {
      const error = await rejection(run);
      expect(error).toBeInstanceOf(EncoderError);
      expect(error.code).toBe('ENCODER_BAD_INPUT');
      expect(error.message).toMatch(message);
    }
    // The worker is still fine afterwards.
    expect(await wEnc.embed(TEXTS[2])).toEqual(await enc.embed(TEXTS[2]));
  });

  it("errors thrown in the worker come back as their own class and code (an option value, the worker's own check)", async () => {
    const error = await rejection(() => wEnc.embed('a', { pooling: 'max' as never }));
    expect(error).toBeInstanceOf(EncoderError);
    expect(error.code).toBe('ENCODER_BAD_OPTION');
    const dtype = await rejection(() => WorkerEncoder.fromFiles(filesOf('tiny-question'), { dtype: 'fp64' as never, createWorker: nodeWorker }));
    expect(dtype).toBeInstanceOf(OptionError);
    expect(dtype.code).toBe('OPTION_BAD_VALUE');
    // Aliases load in the worker as in the library.
    const q8 = await WorkerEncoder.fromFiles(filesOf('tiny-question'), { threads: 1, dtype: 'q8', createWorker: nodeWorker });
    const int8 = await Encoder.fromFiles(filesOf('tiny-question'), { threads: 1, dtype: 'int8' });
    expect(await q8.embed(TEXTS)).toEqual(await int8.embed(TEXTS));
    q8.dispose();
    int8.dispose();
  });
});
