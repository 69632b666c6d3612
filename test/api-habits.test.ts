// Owns: the habits transformers.js users bring, on the library (tiny models, wasm backend):
// embed(text) gives one vector and embed(texts) an array (the bi-encoder's encodeQueries /
// encodePassages too); `normalize: true` gives unit vectors, bitwise `normalized()` of the plain
// ones, and refuses an all-zero vector instead of returning NaN; `dtype` takes fp32/fp16/q8 as
// aliases and any other value is an option error (never a model-file error); malformed text inputs
// (sparse arrays, null, non-strings) are EncoderErrors naming the index.
// Does not own option-key checking (options.test.ts) or the worker (worker-api.test.ts).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BiEncoder } from '../src/bi-encoder.js';
import { Encoder as BaseEncoder, EncoderError, type EncoderFiles } from '../src/encoder.js';
import { KmedError } from '../src/errors/errors.js';
import { OptionError } from '../src/errors/option-error.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig } from '../src/model/config.js';
import { loadBertParams } from '../src/model/weights.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { Encoder } from '../src/node/encoder.js';
import { loadBiEncoder } from '../src/node/bi-encoder.js';
import { l2Norm, normalized } from '../src/search/similarity.js';

const FIX = 'test/fixtures';
const TEXTS = ['고혈압 진단', 'Amlodipine 5mg 1일 1회 처방', 'x', 'a longer passage about gallstones and a renal cyst'];

function filesOf(dir: string): EncoderFiles {
  const read = (name: string) => new Uint8Array(readFileSync(join(FIX, dir, name)));
  return { config: read('config.json'), vocab: read('vocab.txt'), tokenizerConfig: read('tokenizer_config.json'), weights: read('model.safetensors') };
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<KmedError> {
  const error = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => undefined, (e: unknown) => e);
  expect(error, 'expected a KmedError').toBeInstanceOf(KmedError);
  return error as KmedError;
}

/** model.safetensors of `dir` with the named F32 tensors set to zero (same header, same layout). */
function withZeroedTensors(dir: string, names: string[]): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(FIX, dir, 'model.safetensors')));
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  for (const name of names) {
    const entry = header[name];
    expect(entry?.dtype, name).toBe('F32');
    bytes.fill(0, 8 + headerLength + entry.data_offsets[0], 8 + headerLength + entry.data_offsets[1]);
  }
  return bytes;
}

let enc: Encoder;
let bi: BiEncoder;
beforeAll(async () => {
  enc = await Encoder.fromDirectory(join(FIX, 'tiny-question'));
  bi = await loadBiEncoder({ question: join(FIX, 'tiny-question'), context: join(FIX, 'tiny-context') });
});
afterAll(() => {
  enc?.dispose();
  bi?.dispose();
});

describe('one text in, one vector out', () => {
  it('embed(text) is one Float32Array, bitwise embed([text])[0]; embed(texts) stays an array', async () => {
    const one = await enc.embed(TEXTS[1]);
    expect(one).toBeInstanceOf(Float32Array);
    expect(one).toHaveLength(enc.dimension);
    expect(one).toEqual((await enc.embed([TEXTS[1]]))[0]);
    const many = await enc.embed(TEXTS);
    expect(Array.isArray(many)).toBe(true);
    expect(many).toHaveLength(TEXTS.length);
    expect(many[1]).toEqual(one);
    // A one-element array is still an array (the overload follows the argument's type, not its length).
    expect(Array.isArray(await enc.embed([TEXTS[0]]))).toBe(true);
    // Options still apply to the single form.
    expect(await enc.embed(TEXTS[1], { pooling: 'mean' })).toEqual((await enc.embed([TEXTS[1]], { pooling: 'mean' }))[0]);
  });

  it('encodeQueries(text) / encodePassages(text) give one vector, bitwise the array forms; search takes the same path', async () => {
    const q = await bi.encodeQueries(TEXTS[0]);
    expect(q).toBeInstanceOf(Float32Array);
    expect(q).toEqual((await bi.encodeQueries([TEXTS[0]]))[0]);
    const p = await bi.encodePassages(TEXTS[3]);
    expect(p).toBeInstanceOf(Float32Array);
    expect(p).toEqual((await bi.encodePassages([TEXTS[3]]))[0]);
    // The two towers differ: a text encoded by each gives different vectors.
    expect(await bi.encodePassages(TEXTS[0])).not.toEqual(q);
  });
});

describe('the overloads in TypeScript', () => {
  it('tsc accepts test/types/api-overloads.ts: Float32Array for one text, Float32Array[] for many, dtype aliases; refuses a bad dtype or key', async () => {
    // The file's @ts-expect-error lines fail the compile if the refused forms ever type-check.
    const run = await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'test/types/tsconfig.json'], { encoding: 'utf8' }).then(
      () => ({ code: 0, out: '' }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? 1, out: e.stdout ?? '' }),
    );
    expect(run.out).toBe('');
    expect(run.code).toBe(0);
  }, 180_000);
});

describe('normalize: true', () => {
  it('gives unit vectors, bitwise normalized() of the plain ones, for every pooling; onBatch sees the same vectors', async () => {
    for (const pooling of ['pooler', 'cls', 'mean'] as const) {
      const plain = await enc.embed(TEXTS, { pooling });
      const seen: Float32Array[] = [];
      const unit = await enc.embed(TEXTS, { pooling, normalize: true, batchSize: 2, onBatch: (b) => seen.push(...b.vectors) });
      unit.forEach((v, i) => {
        expect(Math.abs(l2Norm(v) - 1), `${pooling} ${i}`).toBeLessThan(1e-6);
        expect(v, `${pooling} ${i}`).toEqual(normalized(plain[i]));
        // Not already unit length: the option did something.
        expect(Math.abs(l2Norm(plain[i]) - 1)).toBeGreaterThan(1e-3);
      });
      expect(seen).toHaveLength(TEXTS.length);
      for (const v of seen) expect(unit).toContain(v);
    }
    expect(await enc.embed(TEXTS[2], { normalize: true })).toEqual(normalized(await enc.embed(TEXTS[2])));
    // normalize: false is the default.
    expect(await enc.embed(TEXTS, { normalize: false })).toEqual(await enc.embed(TEXTS));
  });

  it('embedStream, encodeQueries, encodePassages and encodePassagesStream honour it the same way', async () => {
    const chunks = [];
    for await (const chunk of enc.embedStream(TEXTS, { normalize: true, batchSize: 3 })) chunks.push(...chunk.vectors);
    expect(chunks).toEqual((await enc.embed(TEXTS)).map((v) => normalized(v)));
    const q = await bi.encodeQueries(TEXTS, { normalize: true });
    expect(q).toEqual((await bi.encodeQueries(TEXTS)).map((v) => normalized(v)));
    const p = await bi.encodePassages(TEXTS, { normalize: true });
    expect(p).toEqual((await bi.encodePassages(TEXTS)).map((v) => normalized(v)));
    const streamed = [];
    for await (const chunk of bi.encodePassagesStream(TEXTS, { normalize: true })) streamed.push(...chunk.vectors);
    expect(streamed).toEqual(p);
    // With unit vectors the dot product is the cosine.
    const [cos] = await bi.score([TEXTS[0]], [TEXTS[3]]);
    let dot = 0;
    for (let d = 0; d < q[0].length; d++) dot += q[0][d] * p[3][d];
    expect(Math.abs(dot - cos[0])).toBeLessThan(1e-6);
  });

  it('an all-zero embedding is ENCODER_ZERO_VECTOR naming the input, never NaN; without normalize it comes back as zeros', async () => {
    // Pooler weights and bias zeroed: pooler_output = tanh(0) = 0 for every input.
    const files = { ...filesOf('tiny-question'), weights: withZeroedTensors('tiny-question', ['pooler.dense.weight', 'pooler.dense.bias']) };
    const zero = await BaseEncoder.fromFiles(files);
    try {
      const plain = await zero.embed(TEXTS);
      for (const v of plain) expect(Array.from(v).every((x) => x === 0)).toBe(true);
      const error = await rejection(zero.embed(TEXTS, { normalize: true }));
      expect(error).toBeInstanceOf(EncoderError);
      expect(error.code).toBe('ENCODER_ZERO_VECTOR');
      expect(error.message).toMatch(/^input \d: the embedding is all zeros/);
      // Other poolings are not zero here: the refusal is about the vector, not the model.
      const mean = await zero.embed(TEXTS, { pooling: 'mean', normalize: true });
      for (const v of mean) expect(Math.abs(l2Norm(v) - 1)).toBeLessThan(1e-6);
    } finally {
      zero.dispose();
    }
  });

  it('a value other than true or false is OPTION_BAD_VALUE', async () => {
    for (const call of [() => enc.embed(TEXTS, { normalize: 'yes' as never }), () => bi.encodeQueries(TEXTS, { normalize: 1 as never })]) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(OptionError);
      expect(error.code).toBe('OPTION_BAD_VALUE');
      expect(error.message).toMatch(/normalize .* is not accepted; use true or false/);
    }
  });
});

describe('dtype', () => {
  it("'fp32', 'fp16' and 'q8' load bitwise as 'f32', 'f16' and 'int8'", async () => {
    for (const [alias, dtype] of [['fp32', 'f32'], ['fp16', 'f16'], ['q8', 'int8']] as const) {
      const a = await BaseEncoder.fromFiles(filesOf('tiny-question'), { dtype: alias });
      const b = await BaseEncoder.fromFiles(filesOf('tiny-question'), { dtype });
      try {
        expect(await a.embed(TEXTS), `${alias} = ${dtype}`).toEqual(await b.embed(TEXTS));
      } finally {
        a.dispose();
        b.dispose();
      }
    }
    // The three dtypes really differ, so the comparison above can fail.
    const f16 = await Encoder.fromDirectory(join(FIX, 'tiny-question'), { dtype: 'fp16' });
    expect(await f16.embed(TEXTS[0])).not.toEqual(await enc.embed(TEXTS[0]));
    f16.dispose();
    // The low-level loader takes the aliases too.
    const config = parseBertConfig(readFileSync(join(FIX, 'tiny-question', 'config.json'), 'utf8'));
    const weights = bytesSource(new Uint8Array(readFileSync(join(FIX, 'tiny-question', 'model.safetensors'))), 'model.safetensors');
    expect(loadBertParams(weights, config, createReferenceBackend(), { dtype: 'q8' }).wordEmbeddingsDtype).toBe('int8');
  });

  it('any other value is OptionError OPTION_BAD_VALUE naming the option and the accepted values, never the model file', async () => {
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['Encoder.fromFiles', () => BaseEncoder.fromFiles(filesOf('tiny-question'), { dtype: 'fp64' as never })],
      ['Encoder.fromDirectory', () => Encoder.fromDirectory(join(FIX, 'tiny-question'), { dtype: 'float32' as never })],
      ['BiEncoder.fromFiles', () => BiEncoder.fromFiles({ question: filesOf('tiny-question'), context: filesOf('tiny-context') }, { dtype: 'bf16' as never })],
      ['BiEncoder.fromDirectories', () => loadBiEncoder({ question: join(FIX, 'tiny-question'), context: join(FIX, 'tiny-context') }, { dtype: 'int4' as never })],
      ['loadBertParams', async () => loadBertParams(bytesSource(new Uint8Array(readFileSync(join(FIX, 'tiny-question', 'model.safetensors'))), 'model.safetensors'), parseBertConfig(readFileSync(join(FIX, 'tiny-question', 'config.json'), 'utf8')), createReferenceBackend(), { dtype: 'FP32' as never })],
    ];
    for (const [call, run] of calls) {
      const error = await rejection(run);
      expect(error, call).toBeInstanceOf(OptionError);
      expect(error.code).toBe('OPTION_BAD_VALUE');
      expect(error.message).toMatch(new RegExp(`^${call.replace('.', '\\.')}: dtype "[^"]+" is not accepted; use one of 'f32', 'f16', 'int8', 'fp32', 'fp16', 'q8'$`));
      expect(error.message).not.toMatch(/safetensors/);
    }
  });

  it('fromPretrained refuses a bad dtype before any request', async () => {
    let requests = 0;
    const fetch = (async () => {
      requests++;
      throw new Error('no request expected');
    }) as typeof globalThis.fetch;
    for (const load of [
      () => BaseEncoder.fromPretrained('kmed-test/tiny-question', { dtype: 'fp64' as never, fetch, cache: false }),
      () => Encoder.fromPretrained('kmed-test/tiny-question', { dtype: 'fp64' as never, fetch, cacheDir: '/nonexistent/kmed' }),
      () => BiEncoder.fromPretrained({}, { dtype: 'fp64' as never, fetch, cache: false }),
    ]) {
      expect((await rejection(load)).code).toBe('OPTION_BAD_VALUE');
    }
    expect(requests).toBe(0);
  });
});

describe('malformed text inputs are named by index', () => {
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [, 'a'] as unknown as string[];
  const cases: Array<[string, unknown, RegExp]> = [
    ['a sparse array', sparse, /^texts\[0\] is missing \(a hole in a sparse array\), not a string$/],
    ['a hole in the middle', ['a', 'b', , 'd'], /^texts\[2\] is missing/],
    ['null', ['a', null], /^texts\[1\] is null, not a string$/],
    ['undefined', ['a', undefined], /^texts\[1\] is undefined, not a string$/],
    ['a number', [5], /^texts\[0\] is number, not a string$/],
    ['an object', ['a', 'b', { text: 'c' }], /^texts\[2\] is object, not a string$/],
  ];
  it.each(cases)('embed with %s: ENCODER_BAD_INPUT', async (_, input, message) => {
    for (const call of [() => enc.embed(input as string[]), () => bi.encodeQueries(input as string[]), () => bi.encodePassages(input as string[])]) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(EncoderError);
      expect(error.code).toBe('ENCODER_BAD_INPUT');
      expect(error.message).toMatch(message);
    }
  });

  it('a value that is neither a string nor an array names what it is', async () => {
    for (const [input, what] of [[null, 'null'], [undefined, 'undefined'], [42, 'a number'], [{ 0: 'a', length: 1 }, 'an object']] as const) {
      const error = await rejection(() => enc.embed(input as never));
      expect(error.code).toBe('ENCODER_BAD_INPUT');
      expect(error.message).toBe(`embed expects a string or an array of strings, not ${what}`);
    }
  });

  it('embedIds with a sparse array names the missing sequence; embedStream names the index in the whole stream', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const error = await rejection(enc.embedIds([[2, 3], , [2, 4]] as number[][]));
    expect(error.code).toBe('ENCODER_BAD_INPUT');
    expect(error.message).toMatch(/^ids\[1\] is not an array of token ids/);
    const texts = Array.from({ length: 12 }, (_, i) => `text ${i}`);
    delete texts[10];
    const stream = await rejection((async () => {
      for await (const _ of enc.embedStream(texts, { batchSize: 4 })) void _;
    })());
    expect(stream.code).toBe('ENCODER_BAD_INPUT');
    expect(stream.message).toMatch(/^texts\[10\] is undefined, not a string$/);
  });
});
