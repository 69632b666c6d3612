// Owns: dynamic batching for the embeddings server — requests that arrive close together are merged
// into one `embedIds` call (which the encoder cuts into forward passes of at most `maxBatchTokens`
// padded tokens), so concurrent clients share forward passes instead of queueing one by one. Also
// owns the bounded queue behind it: past `maxQueue` waiting inputs, `submit` throws QueueFullError
// at once (the server turns that into 503 + Retry-After) instead of letting latency grow without end.
// A request whose client has gone (its signal aborted) leaves the queue at once and is never
// computed, as text-embeddings-inference's queue drops entries whose response channel closed;
// `onDrop` counts them.
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

/** The request's client went away (its signal fired) before its forward pass started. */
export class ClientGoneError extends BatcherError {
  constructor(inputs: number) {
    super('SERVER_CLIENT_GONE', `the client closed its connection: ${inputs} queued inputs dropped`);
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
  /** Called when a request leaves the queue unrun because its signal fired: its inputs and tokens. */
  onDrop?: (stats: { inputs: number; tokens: number }) => void;
}

interface Job {
  ids: Int32Array[];
  tokens: number;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
  /** Removes the abort listener (once the job leaves the queue, run or dropped). */
  release: () => void;
}

export class DynamicBatcher {
  readonly maxBatchTokens: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly #encoder: IdsEmbedder;
  readonly #pooling: Pooling;
  readonly #onBatch?: BatcherOptions['onBatch'];
  readonly #onDrop?: BatcherOptions['onDrop'];
  #queue: Job[] = [];
  #queuedInputs = 0;
  #queuedTokens = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #idle: Array<() => void> = [];

  constructor(encoder: IdsEmbedder, options: BatcherOptions = {}) {
    this.#encoder = encoder;
    ({ maxBatchTokens: this.maxBatchTokens, maxWaitMs: this.maxWaitMs, maxQueue: this.maxQueue } = batcherBounds(options));
    this.#pooling = options.pooling ?? 'pooler';
    this.#onBatch = options.onBatch;
    this.#onDrop = options.onDrop;
  }

  /** Inputs waiting for a forward pass (not counting the batch running now). */
  get queueDepth(): number {
    return this.#queuedInputs;
  }

  /**
   * Embed the token-id sequences of one request; resolves with one vector per sequence, in order.
   * Throws QueueFullError (synchronously, via the returned promise) when the queue is full. A
   * request larger than the whole queue is still accepted when the queue is empty, so no request
   * size below the server's per-request limit is refused forever. When `signal` fires while the
   * request waits, it leaves the queue and rejects with ClientGoneError; once its forward pass has
   * started it runs to the end (a pass cannot be cut), and its vectors are returned anyway.
   */
  submit(ids: Int32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (ids.length === 0) return Promise.resolve([]);
    let tokens = 0;
    for (const seq of ids) tokens += seq.length;
    if (signal?.aborted) {
      this.#onDrop?.({ inputs: ids.length, tokens });
      return Promise.reject(new ClientGoneError(ids.length));
    }
    if (this.#queuedInputs > 0 && this.#queuedInputs + ids.length > this.maxQueue) {
      // One wait bound plus roughly one batch per queue's worth of work; a hint, not a promise.
      return Promise.reject(new QueueFullError(1, this.#queuedInputs, this.maxQueue));
    }
    return new Promise((resolve, reject) => {
      const job: Job = { ids, tokens, resolve, reject, release: () => signal?.removeEventListener('abort', drop) };
      const drop = () => {
        const at = this.#queue.indexOf(job);
        if (at < 0) return; // already running
        this.#queue.splice(at, 1);
        this.#queuedInputs -= ids.length;
        this.#queuedTokens -= tokens;
        this.#onDrop?.({ inputs: ids.length, tokens });
        reject(new ClientGoneError(ids.length));
        if (this.#queue.length === 0 && this.#running === undefined) {
          this.#clearTimer();
          for (const resolveIdle of this.#idle.splice(0)) resolveIdle();
        }
      };
      signal?.addEventListener('abort', drop, { once: true });
      this.#queue.push(job);
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
      next.release();
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

/** The batcher's bounds from `options`, defaults filled in; throws BatcherError (SERVER_BAD_OPTION)
 *  for one that is not an integer in range. */
export function batcherBounds(options: BatcherOptions = {}): { maxBatchTokens: number; maxWaitMs: number; maxQueue: number } {
  return {
    maxBatchTokens: checkInt('maxBatchTokens', options.maxBatchTokens ?? 512, 1),
    maxWaitMs: checkInt('maxWaitMs', options.maxWaitMs ?? 2, 0),
    maxQueue: checkInt('maxQueue', options.maxQueue ?? 512, 1),
  };
}

function checkInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new BatcherError('SERVER_BAD_OPTION', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
