// Streaming and cancellation (issue 11, item 6): Encoder.embedStream and BiEncoder.
// encodePassagesStream yield chunks in input order whose vectors are BITWISE those of embed /
// encodePassages on the whole input (the stream batches differently, and bert.ts attends over each
// sequence's real length only, so batching must not change a bit); onBatch reports every forward
// pass; an AbortSignal stops the work between passes with AbortError, also one fired by a timer
// while embed runs (embed yields to the event loop between passes when given a signal).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, BiEncoder, Encoder, EncoderError, type EmbedBatch, type EmbedChunk } from '../src/node/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const texts: string[] = JSON.parse(readFileSync(join(FIXTURES, 'tiny-golden.json'), 'utf8')).texts;

function firstDifference(a: Float32Array[], b: Float32Array[]): string | undefined {
  if (a.length !== b.length) return `${a.length} vectors vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    for (let k = 0; k < a[i].length; k++) if (!Object.is(a[i][k], b[i][k])) return `vector ${i} [${k}]: ${a[i][k]} vs ${b[i][k]}`;
  }
  return undefined;
}

async function collect(stream: AsyncIterable<EmbedChunk>): Promise<{ vectors: Float32Array[]; chunks: EmbedChunk[] }> {
  const chunks: EmbedChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { vectors: chunks.flatMap((c) => c.vectors), chunks };
}

describe.each([
  ['tiny-question', 'f32'],
  ['tiny-odd-f16', 'f32'],
  ['tiny-question', 'int8'],
] as const)('%s (%s): streaming', (model, dtype) => {
  let enc: Encoder;
  beforeAll(async () => {
    enc = await Encoder.fromDirectory(join(FIXTURES, model), { dtype, threads: 2 });
  });
  afterAll(() => enc?.dispose());

  it('embedStream yields input-order chunks bitwise equal to embed, from arrays and async iterables', async () => {
    const whole = await enc.embed(texts);
    for (const batchSize of [1, 5, 8, 64]) {
      const { vectors, chunks } = await collect(enc.embedStream(texts, { batchSize }));
      expect(firstDifference(vectors, whole), `batchSize ${batchSize}`).toBeUndefined();
      expect(chunks.map((c) => c.offset)).toEqual(Array.from({ length: Math.ceil(texts.length / batchSize) }, (_, i) => i * batchSize));
    }
    async function* lines() {
      for (const t of texts) {
        await new Promise((r) => setTimeout(r, 0));
        yield t;
      }
    }
    expect(firstDifference((await collect(enc.embedStream(lines()))).vectors, whole)).toBeUndefined();
  });

  it('onBatch sees every forward pass; its vectors are the results', async () => {
    const batches: EmbedBatch[] = [];
    const out = await enc.embed(texts, { batchSize: 4, onBatch: (b) => batches.push(b) });
    expect(batches.at(-1)).toMatchObject({ done: texts.length, total: texts.length });
    expect(batches.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual(texts.map((_, i) => i));
    for (const b of batches) b.indices.forEach((i, k) => expect(b.vectors[k]).toBe(out[i]));
    expect(batches.every((b) => b.indices.length <= 4)).toBe(true);
  });
});

describe('cancellation', () => {
  let enc: Encoder;
  beforeAll(async () => {
    enc = await Encoder.fromDirectory(join(FIXTURES, 'tiny-question'));
  });
  afterAll(() => enc?.dispose());

  it('a signal aborted from onBatch stops embed after that pass with AbortError', async () => {
    const controller = new AbortController();
    let passes = 0;
    const error = await enc
      .embed(texts, { batchSize: 2, signal: controller.signal, onBatch: () => (++passes === 3 ? controller.abort() : undefined) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).name).toBe('AbortError');
    expect(passes).toBe(3);
  });

  it('a timer can abort a running embed (it yields between passes)', async () => {
    const controller = new AbortController();
    // The timer is set once the first pass is done, as a user's click would come: it can only fire,
    // and abort the rest, if embed gives the event loop a turn between passes.
    let passes = 0;
    const onBatch = () => {
      if (passes++ === 0) setTimeout(() => controller.abort(new Error('user pressed stop')), 0);
    };
    const many = Array.from({ length: 40 }, (_, i) => texts[i % texts.length]);
    const error = (await enc.embed(many, { batchSize: 1, signal: controller.signal, onBatch }).catch((e: unknown) => e)) as AbortError;
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toContain('user pressed stop');
    expect(passes).toBeLessThan(many.length);
  });

  it('an aborted signal stops embedStream between chunks and rejects a call at once', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await (async () => {
      for await (const chunk of enc.embedStream(texts, { batchSize: 4, signal: controller.signal })) {
        seen.push(chunk.offset);
        if (seen.length === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(seen).toEqual([0, 4]);
    await expect(enc.embed(texts, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('embedStream names a bad input by its place in the whole stream', async () => {
    const bad = [...texts.slice(0, 10), 42 as unknown as string];
    const error = (await collect(enc.embedStream(bad, { batchSize: 4 })).catch((e: unknown) => e)) as EncoderError;
    expect(error).toBeInstanceOf(EncoderError);
    expect(error.message).toMatch(/^texts\[10\]/);
  });
});

describe('BiEncoder streaming', () => {
  it('encodePassagesStream equals encodePassages bitwise; encodeQueries/encodePassages take signal and onBatch', async () => {
    const bi = await BiEncoder.fromDirectories({ question: join(FIXTURES, 'tiny-question'), context: join(FIXTURES, 'tiny-context') }, { batchSize: 3 });
    try {
      const whole = await bi.encodePassages(texts);
      const { vectors } = await collect(bi.encodePassagesStream(texts));
      expect(firstDifference(vectors, whole)).toBeUndefined();
      let passes = 0;
      await bi.encodeQueries(texts.slice(0, 7), { onBatch: () => passes++ });
      expect(passes).toBe(3);
      await expect(bi.encodePassages(texts, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    } finally {
      bi.dispose();
    }
  });
});
