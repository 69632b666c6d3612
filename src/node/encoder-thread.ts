// Owns: a Node Encoder run on a worker_threads thread of its own (EncoderThread), for long CLI jobs
// that must answer signals while they embed. A forward pass holds the thread that runs it for its
// whole length — with a thread pool too: the calling thread waits for its helpers synchronously —
// so on the main thread a Ctrl-C could only be seen after the batch in flight (seconds to minutes
// on bert-base). Here the main thread stays free: it can give up on a call at once and `dispose()`
// ends the thread mid-kernel. The model is loaded in the thread itself (Encoder.fromDirectory), so
// the weights exist once, there; texts go in and vectors come back by transfer.
// Does not own the encoder (encoder.ts) or the thread's side of the messages
// (encoder-thread-main.ts).
import { Worker } from 'node:worker_threads';
import type { EmbedOptions, EncoderOptions } from '../encoder.js';
import { EncoderError } from '../errors/encoder-error.js';
import { KmedError, type KmedErrorCode } from '../errors/errors.js';

/** The options an EncoderThread's embed takes (what can cross to the thread: no callbacks). */
export type ThreadEmbedOptions = Pick<EmbedOptions, 'pooling' | 'maxLength' | 'batchSize' | 'maxBatchTokens' | 'normalize'>;

/** Messages of the thread (encoder-thread-main.ts) to this side. */
export type ThreadMessage =
  | { ready: true; dimension: number; threads: number }
  | { id: number; vectors: Float32Array; count: number }
  | { id: number | 'load'; error: ThreadError };

export interface ThreadError {
  name: string;
  code?: KmedErrorCode;
  message: string;
}

export class EncoderThread {
  /** Length of every vector (hidden_size). */
  readonly dimension: number;
  /** Threads the forward pass runs on inside the encoder thread. */
  readonly threads: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(vectors: Float32Array[]): void; reject(error: Error): void }>();
  #nextId = 1;
  #ended: Error | undefined;

  private constructor(worker: Worker, ready: { dimension: number; threads: number }) {
    this.#worker = worker;
    this.dimension = ready.dimension;
    this.threads = ready.threads;
    worker.on('message', (m: ThreadMessage) => {
      if ('ready' in m || m.id === 'load') return;
      const call = this.#pending.get(m.id);
      if (!call) return;
      this.#pending.delete(m.id);
      if ('error' in m) call.reject(rebuild(m.error));
      else call.resolve(Array.from({ length: m.count }, (_, i) => m.vectors.subarray(i * this.dimension, (i + 1) * this.dimension)));
    });
    const fail = (error: Error) => this.#end(error);
    worker.on('error', (error) => fail(new KmedError('WORKER_FAILED', `the encoder thread failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new KmedError('WORKER_FAILED', `the encoder thread exited (code ${code})`)));
  }

  /** Loads the model folder `dir` (Node Encoder.fromDirectory with `options`) in a new thread. */
  static start(dir: string, options: Pick<EncoderOptions, 'dtype' | 'threads' | 'simd' | 'backend' | 'wordEmbeddings' | 'allowNonFinite'> = {}): Promise<EncoderThread> {
    const worker = new Worker(new URL('./encoder-thread-main.js', import.meta.url), { workerData: { dir, options } });
    return new Promise<EncoderThread>((resolve, reject) => {
      const failed = (error: Error) => {
        void worker.terminate();
        reject(error);
      };
      worker.once('message', (m: ThreadMessage) => {
        if ('ready' in m) resolve(new EncoderThread(worker, m));
        else failed('error' in m ? rebuild(m.error) : new KmedError('WORKER_FAILED', 'the encoder thread answered before it was ready'));
      });
      worker.once('error', (error) => failed(new KmedError('WORKER_FAILED', `the encoder thread failed to start: ${error.message}`)));
      worker.once('exit', (code) => failed(new KmedError('WORKER_FAILED', `the encoder thread exited while loading (code ${code})`)));
    });
  }

  /** One vector per text, in order (Encoder.embed in the thread). */
  embed(texts: string[], options: ThreadEmbedOptions = {}): Promise<Float32Array[]> {
    if (this.#ended) return Promise.reject(this.#ended);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, texts, options });
    });
  }

  /** Ends the thread at once, even mid-kernel; calls still waiting reject with ENCODER_DISPOSED.
   *  The process does not wait for the thread to wind down before it may exit. */
  dispose(): void {
    this.#end(new EncoderError('ENCODER_DISPOSED', 'the encoder thread was disposed'));
    this.#worker.unref();
    void this.#worker.terminate();
  }

  #end(error: Error): void {
    this.#ended ??= error;
    for (const call of this.#pending.values()) call.reject(this.#ended);
    this.#pending.clear();
  }
}

/** The thread's error as a KmedError of the same name and code (the CLI prints its message). */
function rebuild(info: ThreadError): Error {
  const error = info.code ? new KmedError(info.code, info.message) : new Error(info.message);
  error.name = info.name;
  return error;
}
