// The Encoder API's edges: bytes-in construction equals fromDirectory, results come back in input
// order, and every bad input is a typed EncoderError naming what is wrong (never a trap or a
// silent answer). Tiny model, wasm backend.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Encoder as BaseEncoder, EncoderError } from '../src/encoder.js';
import { Encoder } from '../src/node/encoder.js';

const DIR = 'test/fixtures/tiny-question';

function expectEncoderError(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EncoderError);
    expect((error as EncoderError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected EncoderError ${code}`);
}

async function expectRejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error, `expected EncoderError ${code}`).toBeInstanceOf(EncoderError);
  expect((error as EncoderError).code).toBe(code);
  expect((error as Error).message).toMatch(message);
}

describe('Encoder', () => {
  let enc: Encoder;
  beforeAll(async () => {
    enc = await Encoder.fromDirectory(DIR);
  });

  it('fromFiles with bytes (Uint8Array / ArrayBuffer / string) equals fromDirectory', async () => {
    const read = (n: string) => readFileSync(`${DIR}/${n}`);
    // Node pools small Buffers: an ArrayBuffer must be cut to the file's own bytes.
    const arrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    const fromBytes = await BaseEncoder.fromFiles({
      config: read('config.json').toString('utf8'),
      vocab: read('vocab.txt'),
      tokenizerConfig: arrayBuffer(read('tokenizer_config.json')),
      weights: arrayBuffer(read('model.safetensors')),
    });
    expect(fromBytes.dimension).toBe(64);
    const texts = ['고혈압 진단', 'a much longer text about Amlodipine 5mg 1일 1회 처방 and more words', 'x'];
    expect(await fromBytes.embed(texts)).toEqual(await enc.embed(texts));
  });

  it('returns one vector per input, in input order, whatever the batch size', async () => {
    const texts = ['short', 'a longer sentence with several more tokens in it', '', 'mid length text'];
    const one = await Promise.all(texts.map(async (t) => (await enc.embed([t]))[0]));
    for (const batchSize of [1, 2, 3, 100]) expect(await enc.embed(texts, { batchSize })).toEqual(one);
    expect(await enc.embed([])).toEqual([]);
    expect(await enc.embedIds([])).toEqual([]);
  });

  it('maxBatchTokens bounds each forward pass and never changes a vector', async () => {
    const texts = ['short', 'a longer sentence with several more tokens in it', '', 'mid length text', 'x y z', 'Amlodipine 5mg 1일 1회'];
    const lengths = texts.map((t) => enc.tokenizer.encode(t).ids.length);
    const longest = Math.max(...lengths);
    const one = await Promise.all(texts.map(async (t) => (await enc.embed([t]))[0]));
    const oneMean = await Promise.all(texts.map(async (t) => (await enc.embed([t], { pooling: 'mean' }))[0]));
    // Every LayerNorm of a forward pass runs over the batch's real tokens, packed (bert.ts), which
    // are never more than its padded tokens B·T.
    const be = enc.backend;
    const layerNorm = be.layerNorm.bind(be);
    let rowsSeen: number[] = [];
    be.layerNorm = (out, x, g, b, rows, C, eps) => {
      rowsSeen.push(rows);
      return layerNorm(out, x, g, b, rows, C, eps);
    };
    try {
      for (const maxBatchTokens of [1, longest, 2 * longest, 1000]) {
        for (const pooling of ['pooler', 'mean'] as const) {
          rowsSeen = [];
          const got = await enc.embed(texts, { maxBatchTokens, batchSize: 100, pooling });
          expect(got, `maxBatchTokens ${maxBatchTokens}, ${pooling}`).toEqual(pooling === 'pooler' ? one : oneMean);
          // No pass ran on more padded tokens than the budget, unless one sequence alone is longer.
          expect(Math.max(...rowsSeen)).toBeLessThanOrEqual(Math.max(maxBatchTokens, longest));
          // 1000 padded tokens hold every text: one pass over all their real tokens.
          if (maxBatchTokens === 1000) expect(Math.max(...rowsSeen)).toBe(lengths.reduce((a, b) => a + b, 0));
        }
      }
    } finally {
      be.layerNorm = layerNorm;
    }
    await expectRejects(enc.embed(['a'], { maxBatchTokens: 0 }), 'ENCODER_BAD_OPTION', /maxBatchTokens 0/);
  });

  it('embedIds names the sequence, position and id at fault', async () => {
    await expectRejects(enc.embedIds([[2, 3], [2, 10336, 3]]), 'ENCODER_BAD_IDS', /ids\[1\] position 1: token id 10336 .*vocab_size=10336/);
    await expectRejects(enc.embedIds([[2, -1, 3]]), 'ENCODER_BAD_IDS', /ids\[0\] position 1: token id -1/);
    await expectRejects(enc.embedIds([[2, 1.5, 3]]), 'ENCODER_BAD_IDS', /position 1: token id 1.5/);
    await expectRejects(enc.embedIds([[2, '7' as unknown as number]]), 'ENCODER_BAD_IDS', /position 1: token id "7"/);
    await expectRejects(enc.embedIds([[]]), 'ENCODER_EMPTY_SEQUENCE', /ids\[0\] is empty/);
    await expectRejects(enc.embedIds([new Array(513).fill(5)]), 'ENCODER_SEQUENCE_TOO_LONG', /513 tokens.*max_position_embeddings=512/);
    // 512 is the limit, not past it.
    expect((await enc.embedIds([new Array(512).fill(5)]))[0]).toHaveLength(64);
  });

  it('rejects bad options and inputs', async () => {
    await expectRejects(enc.embed(['a'], { pooling: 'max' as never }), 'ENCODER_BAD_OPTION', /unknown pooling "max"/);
    await expectRejects(enc.embed(['a'], { batchSize: 0 }), 'ENCODER_BAD_OPTION', /batchSize 0/);
    await expectRejects(enc.embed(['a'], { maxLength: 1 }), 'ENCODER_BAD_OPTION', /maxLength 1/);
    await expectRejects(enc.embed(['a', 5 as unknown as string]), 'ENCODER_BAD_INPUT', /texts\[1\] is number/);
    // maxLength above max_position_embeddings truncates at the model's limit.
    const long = 'word '.repeat(2000);
    expect(await enc.embed([long], { maxLength: 100_000 })).toEqual(await enc.embed([long], { maxLength: 512 }));
  });

  it('refuses a vocabulary larger than the embedding table', async () => {
    const read = (n: string) => readFileSync(`${DIR}/${n}`);
    const config = JSON.parse(read('config.json').toString('utf8'));
    await expectRejects(
      BaseEncoder.fromFiles({ config: JSON.stringify({ ...config, vocab_size: 100 }), vocab: read('vocab.txt'), weights: read('model.safetensors') }),
      'ENCODER_BAD_INPUT',
      /vocab\.txt has 10336 tokens but config\.json says vocab_size=100/,
    );
  });

  it('fromDirectory names the missing folder or file', async () => {
    await expectRejects(Encoder.fromDirectory('test/fixtures/nope'), 'ENCODER_MISSING_FILE', /test\/fixtures\/nope does not exist/);
    await expectRejects(Encoder.fromDirectory('test/fixtures/tokenizer'), 'ENCODER_MISSING_FILE', /config\.json is missing/);
  });

  it('refuses use after dispose', async () => {
    const e = await Encoder.fromDirectory(DIR);
    e.dispose();
    await expectRejects(e.embed(['a']), 'ENCODER_DISPOSED', /disposed/);
    expectEncoderError(() => e.forwardIds([[2, 3]]), 'ENCODER_DISPOSED', /disposed/);
  });
});
