// The dynamic batcher on its own, with a recording fake encoder: requests arriving within the wait
// bound share one call, the token budget splits calls on request boundaries, each request gets its
// own vectors back in order, the bounded queue refuses with QueueFullError, a failing call fails
// only the requests in it, drain() waits for the queue to empty, and a request whose signal fires
// while it waits leaves the queue uncomputed and is counted. (That merged calls give the same bits
// as offline embed is checked against the real encoder in serve.test.ts.)
import { describe, expect, it, vi } from 'vitest';
import { ClientGoneError, DynamicBatcher, QueueFullError, type IdsEmbedder } from '../src/node/server/batcher.js';

/** Each vector is [first id, length, position in the call]; calls are recorded. */
function fakeEncoder(options: { failOn?: number } = {}) {
  const calls: number[][][] = [];
  const encoder: IdsEmbedder = {
    async embedIds(ids) {
      const seqs = ids.map((s) => Array.from(s));
      calls.push(seqs);
      if (options.failOn !== undefined && seqs.some((s) => s[0] === options.failOn)) throw new Error('boom');
      return seqs.map((s, i) => Float32Array.from([s[0], s.length, i]));
    },
  };
  return { encoder, calls };
}

const seq = (first: number, length: number) => Int32Array.from({ length }, (_, i) => (i === 0 ? first : 7));

describe('DynamicBatcher', () => {
  it('merges requests that arrive within the wait bound into one call, and answers each with its own vectors', async () => {
    const { encoder, calls } = fakeEncoder();
    const batcher = new DynamicBatcher(encoder, { maxWaitMs: 20, maxBatchTokens: 1000 });
    const results = await Promise.all([batcher.submit([seq(1, 3)]), batcher.submit([seq(2, 4), seq(3, 5)]), batcher.submit([seq(4, 2)])]);
    expect(calls).toHaveLength(1);
    expect(calls[0].map((s) => s[0])).toEqual([1, 2, 3, 4]);
    expect(results.map((r) => r.map((v) => v[0]))).toEqual([[1], [2, 3], [4]]);
    expect(results[1].map((v) => v[1])).toEqual([4, 5]);
    expect(batcher.queueDepth).toBe(0);
  });

  it('starts at once when the token budget is reached, and cuts calls on request boundaries', async () => {
    const { encoder, calls } = fakeEncoder();
    // Fake timers: the clock stays at 0 unless the test moves it, so the answers arriving with no
    // time passed proves no call waited for the 10 s bound (every call was full).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let results: Float32Array[][] | undefined;
    try {
      const t0 = Date.now();
      const batcher = new DynamicBatcher(encoder, { maxWaitMs: 10_000, maxBatchTokens: 10 });
      void Promise.all([batcher.submit([seq(1, 4)]), batcher.submit([seq(2, 4)]), batcher.submit([seq(3, 4)]), batcher.submit([seq(4, 6)])]).then((r) => (results = r));
      for (let i = 0; i < 10 && !results; i++) await vi.advanceTimersByTimeAsync(0);
      expect(Date.now()).toBe(t0);
    } finally {
      vi.useRealTimers();
    }
    expect(results, 'the requests waited for the time bound').toBeDefined();
    expect(calls.map((c) => c.map((s) => s[0]))).toEqual([[1, 2], [3, 4]]);
    expect(results!.map((r) => r[0][0])).toEqual([1, 2, 3, 4]);
  });

  it('runs a request larger than the budget on its own rather than refusing it', async () => {
    const { encoder, calls } = fakeEncoder();
    const batcher = new DynamicBatcher(encoder, { maxWaitMs: 1, maxBatchTokens: 4, maxQueue: 2 });
    const out = await batcher.submit([seq(1, 9), seq(2, 9), seq(3, 9)]);
    expect(out.map((v) => v[0])).toEqual([1, 2, 3]);
    expect(calls).toHaveLength(1);
  });

  it('refuses past the bounded queue with QueueFullError, and serves those queued', async () => {
    const { encoder } = fakeEncoder();
    const batcher = new DynamicBatcher(encoder, { maxWaitMs: 30, maxQueue: 3, maxBatchTokens: 1000 });
    const a = batcher.submit([seq(1, 2), seq(2, 2)]);
    const b = batcher.submit([seq(3, 2)]);
    expect(batcher.queueDepth).toBe(3);
    const refused = batcher.submit([seq(4, 2)]);
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ code: 'SERVER_QUEUE_FULL', retryAfterSeconds: 1 });
    expect((await a).length + (await b).length).toBe(3);
    // Room again once the queue has run.
    expect((await batcher.submit([seq(5, 2)]))[0][0]).toBe(5);
  });

  it('fails only the requests of a failing call; drain() resolves when idle', async () => {
    const { encoder, calls } = fakeEncoder({ failOn: 66 });
    const batcher = new DynamicBatcher(encoder, { maxWaitMs: 5, maxBatchTokens: 4 });
    const bad = batcher.submit([seq(66, 4)]);
    const good = batcher.submit([seq(1, 4)]);
    const drained = batcher.drain();
    await expect(bad).rejects.toThrow('boom');
    expect((await good)[0][0]).toBe(1);
    await drained;
    expect(calls).toHaveLength(2);
    expect(batcher.queueDepth).toBe(0);
  });

  it('drops a waiting request whose client has gone before it runs, counts it, and frees its queue room', async () => {
    const { encoder, calls } = fakeEncoder();
    const drops: Array<{ inputs: number; tokens: number }> = [];
    const batcher = new DynamicBatcher(encoder, { maxWaitMs: 40, maxQueue: 3, maxBatchTokens: 1000, onDrop: (d) => drops.push(d) });
    const gone = new AbortController();
    const left = batcher.submit([seq(1, 2), seq(2, 3)], gone.signal);
    const stays = batcher.submit([seq(3, 2)]);
    expect(batcher.queueDepth).toBe(3);
    gone.abort();
    await expect(left).rejects.toBeInstanceOf(ClientGoneError);
    await expect(left).rejects.toMatchObject({ code: 'SERVER_CLIENT_GONE' });
    // Its room is free at once: two more inputs fit a queue of 3 beside the one that stays.
    expect(batcher.queueDepth).toBe(1);
    const more = batcher.submit([seq(4, 2), seq(5, 2)]);
    expect((await stays)[0][0]).toBe(3);
    expect((await more).map((v) => v[0])).toEqual([4, 5]);
    // The dropped inputs never reached the encoder.
    expect(calls.flat().map((s) => s[0])).toEqual([3, 4, 5]);
    expect(drops).toEqual([{ inputs: 2, tokens: 5 }]);
    // An already-aborted signal is dropped without queueing; a queue emptied by drops is idle.
    const before = calls.length;
    await expect(batcher.submit([seq(6, 2)], AbortSignal.abort())).rejects.toBeInstanceOf(ClientGoneError);
    const lone = new AbortController();
    const waiting = batcher.submit([seq(7, 2)], lone.signal);
    const drained = batcher.drain();
    lone.abort();
    await expect(waiting).rejects.toBeInstanceOf(ClientGoneError);
    await drained;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(calls.length).toBe(before);
    expect(drops.map((d) => d.inputs)).toEqual([2, 1, 1]);
  });

  it('runs a request to its end once its forward pass has started, even if its client goes', async () => {
    let release!: () => void;
    const started = new Promise<void>((resolve) => (release = resolve));
    const encoder: IdsEmbedder = {
      async embedIds(ids) {
        release();
        await new Promise((resolve) => setTimeout(resolve, 20));
        return ids.map((s) => Float32Array.from([s[0]]));
      },
    };
    const drops: unknown[] = [];
    const batcher = new DynamicBatcher(encoder, { maxWaitMs: 0, onDrop: (d) => drops.push(d) });
    const gone = new AbortController();
    const running = batcher.submit([seq(9, 2)], gone.signal);
    await started;
    gone.abort();
    expect((await running)[0][0]).toBe(9);
    expect(drops).toEqual([]);
  });

  it('checks its options', () => {
    const { encoder } = fakeEncoder();
    expect(() => new DynamicBatcher(encoder, { maxBatchTokens: 0 })).toThrow(/maxBatchTokens must be an integer >= 1/);
    expect(() => new DynamicBatcher(encoder, { maxWaitMs: -1 })).toThrow(/maxWaitMs must be an integer >= 0/);
    expect(() => new DynamicBatcher(encoder, { maxQueue: 1.5 })).toThrow(/maxQueue/);
  });
});
