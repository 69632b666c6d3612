// Owns: dynamic batching for the embeddings server — requests that arrive close together are merged
// into one `embedIds` call (which the encoder cuts into forward passes of at most `maxBatchTokens`
// padded tokens), so concurrent clients share forward passes instead of queueing one by one. Also
// owns the bounded queue behind it: past `maxQueue` waiting inputs, `submit` throws QueueFullError
// at once (the server turns that into 503 + Retry-After) instead of letting latency grow without end.
// Runtime-neutral (no node: imports; only timers), though only the Node server uses it today.
// Does not own tokenizing, HTTP, or the arithmetic: merging never changes a vector, because the
// forward pass attends over each sequence's own length only (see ../../encoder.ts), so a request's
// vectors are bit-for-bit those of an offline `embed` of the same texts.
import { KmedError } from '../../errors/errors.js';
import type { Pooling } from '../../model/pooling.js';

export class BatcherError extends KmedError {}

/** The queue is full; retry after `retryAfterSeconds`. */
export class QueueFullError extends BatcherError {
  constructor(readonly retryAfterSeconds: number, queued: number, limit: number) {
    super('SERVER_QUEUE_FULL', `the server is busy (${queued} inputs queued, limit ${limit}): retry in ${retryAfterSeconds} s`);
  }
}

/** What the batcher needs from an encoder (Encoder satisfies it). */
export interface IdsEmbedder {
  embedIds(ids: ArrayLike<number>[], options?: { pooling?: Pooling; batchSize?: number; maxBatchTokens?: number }): Promise<Float32Array[]>;
}

export interface BatcherOptions {
  /** Real (unpadded) tokens merged into one `embedIds` call before it starts at once (default 512). */
  maxBatchTokens?: number;
  /** How long the first waiting request waits for company before its batch runs (default 2 ms). */
  maxWaitMs?: number;
  /** Inputs allowed to wait; one more and `submit` throws QueueFullError (default 512). */
  maxQueue?: number;
  /** Pooling, as for `embed` (default 'pooler'). */
  pooling?: Pooling;
  /** Called after each merged call: inputs, real tokens and requests in it, and its duration. */
  onBatch?: (stats: { inputs: number; tokens: number; requests: number; ms: number }) => void;
}

interface Job {
  ids: Int32Array[];
  tokens: number;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
}

export class DynamicBatcher {
  readonly maxBatchTokens: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly #encoder: IdsEmbedder;
  readonly #pooling: Pooling;
  readonly #onBatch?: BatcherOptions['onBatch'];
  #queue: Job[] = [];
  #queuedInputs = 0;
  #queuedTokens = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #idle: Array<() => void> = [];

  constructor(encoder: IdsEmbedder, options: BatcherOptions = {}) {
    this.#encoder = encoder;
    this.maxBatchTokens = checkInt('maxBatchTokens', options.maxBatchTokens ?? 512, 1);
    this.maxWaitMs = checkInt('maxWaitMs', options.maxWaitMs ?? 2, 0);
    this.maxQueue = checkInt('maxQueue', options.maxQueue ?? 512, 1);
    this.#pooling = options.pooling ?? 'pooler';
    this.#onBatch = options.onBatch;
  }

  /** Inputs waiting for a forward pass (not counting the batch running now). */
  get queueDepth(): number {
    return this.#queuedInputs;
  }

  /**
   * Embed the token-id sequences of one request; resolves with one vector per sequence, in order.
   * Throws QueueFullError (synchronously, via the returned promise) when the queue is full. A
   * request larger than the whole queue is still accepted when the queue is empty, so no request
   * size below the server's per-request limit is refused forever.
   */
  submit(ids: Int32Array[]): Promise<Float32Array[]> {
    if (ids.length === 0) return Promise.resolve([]);
    if (this.#queuedInputs > 0 && this.#queuedInputs + ids.length > this.maxQueue) {
      // One wait bound plus roughly one batch per queue's worth of work; a hint, not a promise.
      return Promise.reject(new QueueFullError(1, this.#queuedInputs, this.maxQueue));
    }
    let tokens = 0;
    for (const seq of ids) tokens += seq.length;
    return new Promise((resolve, reject) => {
      this.#queue.push({ ids, tokens, resolve, reject });
      this.#queuedInputs += ids.length;
      this.#queuedTokens += tokens;
      this.#schedule();
    });
  }

  /** Resolves once the queue is empty and no batch runs (for graceful shutdown). */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#running !== undefined) return; // the running batch schedules the next when it ends
    if (this.#queuedTokens >= this.maxBatchTokens) {
      this.#clearTimer();
      this.#start();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#start();
      }, this.maxWaitMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    if (this.#running !== undefined || this.#queue.length === 0) return;
    // Whole requests, oldest first, while they fit the token budget (always at least one).
    const jobs: Job[] = [];
    let tokens = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0];
      if (jobs.length > 0 && tokens + next.tokens > this.maxBatchTokens) break;
      jobs.push(this.#queue.shift()!);
      tokens += next.tokens;
    }
    let inputs = 0;
    for (const job of jobs) inputs += job.ids.length;
    this.#queuedInputs -= inputs;
    this.#queuedTokens -= tokens;
    this.#running = this.#run(jobs, inputs, tokens).finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) {
        // Those waiting have already waited a batch; the short timer lets the requests that
        // arrived during the (synchronous) forward pass be parsed and join them.
        this.#clearTimer();
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#start();
        }, this.#queuedTokens >= this.maxBatchTokens ? 0 : this.maxWaitMs);
      } else {
        for (const resolve of this.#idle.splice(0)) resolve();
      }
    });
  }

  async #run(jobs: Job[], inputs: number, tokens: number): Promise<void> {
    const all: Int32Array[] = [];
    for (const job of jobs) all.push(...job.ids);
    const t0 = performance.now();
    let vectors: Float32Array[];
    try {
      // batchSize is not the limit here: maxBatchTokens (padded) cuts the forward passes.
      vectors = await this.#encoder.embedIds(all, { pooling: this.#pooling, batchSize: all.length, maxBatchTokens: this.maxBatchTokens });
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    const ms = performance.now() - t0;
    let o = 0;
    for (const job of jobs) {
      job.resolve(vectors.slice(o, o + job.ids.length));
      o += job.ids.length;
    }
    this.#onBatch?.({ inputs, tokens, requests: jobs.length, ms });
  }
}

function checkInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new BatcherError('SERVER_BAD_OPTION', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
