// Owns: the main-thread face of the encoder worker — WorkerEncoder and WorkerBiEncoder, the same
// calls as Encoder and BiEncoder (all async), each answered by a module worker (worker-main.ts)
// that holds the real model and its kernel threads, so a page's main thread never runs a forward
// pass. Model files move into the worker by transfer (their buffers are detached here) and vectors
// come back the same way, one buffer per answer.
// Does not own: the message shapes (protocol.ts) or anything the worker computes.
//
// The worker is started as `new Worker(new URL('./worker-main.js', import.meta.url), { type: 'module' })`:
// that literal is the form Vite and webpack 5 recognise and bundle as a worker. Elsewhere (esbuild,
// a CDN on another origin) pass `createWorker`.
import { AbortError } from '../errors/abort-error.js';
import { BiEncoderError, type BiEncoderIdentity, type BiEncoderOptions, type PretrainedBiEncoderOptions, type PretrainedIds, type SearchHit } from '../bi-encoder.js';
import { ConfigError } from '../model/config.js';
import type { EmbedOptions, EncoderFiles, EncoderOptions } from '../encoder.js';
import { EncoderError } from '../errors/encoder-error.js';
import { KmedError, type KmedErrorCode } from '../errors/errors.js';
import { DownloadError } from '../hub/download-error.js';
import type { HubProgressCallback } from '../hub/progress.js';
import { KernelError } from '../kernels/kernel-error.js';
import { SafetensorsError } from '../formats/safetensors.js';
import { SimilarityError, type Metric } from '../search/similarity.js';
import { TokenizerError } from '../tokenizer/errors.js';
import { IndexError, type IndexMeta } from '../search/vector-index.js';
import type { LoadedInfo, PackedVectors, WorkerAnswer, WorkerErrorInfo, WorkerMessage, WorkerRequest } from './protocol.js';

export interface WorkerOptions {
  /** Start the worker yourself (it must run dist/worker/worker-main.js as a module); default:
   *  `new Worker(new URL('./worker-main.js', import.meta.url), { type: 'module' })`. */
  createWorker?: () => Worker;
}

const ERROR_CLASSES: Record<string, new (code: KmedErrorCode, message: string) => KmedError> = {
  KmedError, EncoderError, BiEncoderError, ConfigError, KernelError, SafetensorsError, SimilarityError, TokenizerError, IndexError,
  DownloadError: DownloadError as unknown as new (code: KmedErrorCode, message: string) => KmedError,
};

function rebuildError(info: WorkerErrorInfo): Error {
  if (info.name === 'AbortError') {
    const error = new AbortError('the worker load');
    error.message = info.message;
    return error;
  }
  const Class = ERROR_CLASSES[info.name];
  if (Class) return new Class(info.code ?? 'WORKER_ERROR', info.message);
  if (info.code) {
    const error = new KmedError(info.code, info.message);
    error.name = info.name;
    return error;
  }
  return new Error(`${info.name}: ${info.message}`);
}

function defaultWorker(): Worker {
  if (typeof Worker !== 'function') {
    throw new KmedError('WORKER_UNAVAILABLE', 'this runtime has no Web Worker API: use Encoder / BiEncoder from kmed-dpr directly');
  }
  return new Worker(new URL('./worker-main.js', import.meta.url), { type: 'module', name: 'kmed-dpr encoder' });
}

/** The buffers of `files` to move (a view over part of a buffer is copied, so the rest of that
 *  buffer stays the caller's; shared buffers are shared, not moved). */
function transferables(files: EncoderFiles[]): { files: EncoderFiles[]; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const move = (v: unknown, name: string): unknown => {
    if (v instanceof ArrayBuffer) {
      if (!transfer.includes(v)) transfer.push(v);
      return v;
    }
    if (v instanceof Uint8Array) {
      if (!(v.buffer instanceof ArrayBuffer)) return v;
      if (v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength) return v.slice();
      if (!transfer.includes(v.buffer)) transfer.push(v.buffer);
      return v;
    }
    if (typeof v === 'string' || v === undefined || v === null) return v;
    throw new EncoderError('ENCODER_BAD_INPUT', `the worker encoder takes file contents as strings, Uint8Array or ArrayBuffer; ${name} is ${typeof v === 'object' ? 'a ByteSource' : typeof v}`);
  };
  const moved = files.map((f) => {
    if (f == null || typeof f !== 'object') throw new EncoderError('ENCODER_BAD_INPUT', 'the worker encoder needs an object of file contents');
    return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, move(v, k)])) as unknown as EncoderFiles;
  });
  return { files: moved, transfer };
}

function unpack(p: PackedVectors): Float32Array[] {
  return Array.from({ length: p.count }, (_, i) => p.data.subarray(i * p.dimension, (i + 1) * p.dimension));
}

function packVectors(vectors: ArrayLike<number>[], dimension: number): PackedVectors {
  const data = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => {
    if (v.length !== dimension) throw new SimilarityError('SIMILARITY_DIMENSION_MISMATCH', `vector ${i} has ${v.length} values, expected ${dimension}`);
    data.set(v, i * dimension);
  });
  return { data, count: vectors.length, dimension };
}

/** One worker and its pending calls. */
class WorkerChannel {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(v: WorkerAnswer): void; reject(e: Error): void; onProgress?: HubProgressCallback }>();
  readonly #ready: Promise<void>;
  #nextId = 1;
  #failed: Error | undefined;

  constructor(options: WorkerOptions) {
    this.#worker = (options.createWorker ?? defaultWorker)();
    let ready!: () => void;
    let notReady!: (e: Error) => void;
    this.#ready = new Promise<void>((ok, fail) => {
      ready = ok;
      notReady = fail;
    });
    this.#worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const m = event.data;
      if ('ready' in m) return ready();
      const call = this.#pending.get(m.id);
      if (!call) return;
      if ('progress' in m) return call.onProgress?.(m.progress);
      this.#pending.delete(m.id);
      if (m.ok) call.resolve(m.value);
      else call.reject(rebuildError(m.error));
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault?.();
      this.#fail(new KmedError('WORKER_FAILED', `the kmed-dpr worker failed: ${event.message || 'its script did not load (is dist/worker/worker-main.js served?)'}`));
      notReady(this.#failed!);
    };
  }

  #fail(error: Error): void {
    this.#failed = error;
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }

  async call<T extends WorkerAnswer>(
    request: WorkerRequest,
    transfer: Transferable[] = [],
    control: { onProgress?: HubProgressCallback; signal?: AbortSignal } = {},
  ): Promise<T> {
    await this.#ready;
    if (this.#failed) throw this.#failed;
    control.signal?.throwIfAborted();
    const id = this.#nextId++;
    const abort = () => this.#worker.postMessage({ abort: id });
    control.signal?.addEventListener('abort', abort, { once: true });
    try {
      return await new Promise<T>((resolve, reject) => {
        this.#pending.set(id, { resolve: resolve as (v: WorkerAnswer) => void, reject, onProgress: control.onProgress });
        this.#worker.postMessage({ id, request }, transfer);
      });
    } finally {
      control.signal?.removeEventListener('abort', abort);
    }
  }

  terminate(): void {
    this.#fail(new KmedError('WORKER_DISPOSED', 'the worker encoder was disposed'));
    this.#worker.terminate();
  }
}

/** Encoder, run in a worker: `embed` resolves while the page stays responsive. */
export class WorkerEncoder {
  readonly #channel: WorkerChannel;
  readonly #handle: number;
  /** Length of every vector (hidden_size). */
  readonly dimension: number;
  /** Threads the forward pass runs on inside the worker. */
  readonly threads: number;

  private constructor(channel: WorkerChannel, info: LoadedInfo) {
    this.#channel = channel;
    this.#handle = info.handle;
    this.dimension = info.dimension;
    this.threads = info.threads;
  }

  /** Encoder.fromFiles in a new worker; the files' buffers move there (detached here). */
  static async fromFiles(files: EncoderFiles, options: EncoderOptions & WorkerOptions = {}): Promise<WorkerEncoder> {
    const { createWorker, ...encoderOptions } = options;
    const moved = transferables([files]);
    const channel = new WorkerChannel({ createWorker });
    try {
      const info = await channel.call<LoadedInfo>({ op: 'loadEncoder', files: moved.files[0], options: encoderOptions }, moved.transfer);
      return new WorkerEncoder(channel, info);
    } catch (error) {
      channel.terminate();
      throw error;
    }
  }

  async embed(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    return unpack(await this.#channel.call<PackedVectors>({ op: 'embed', handle: this.#handle, texts, options }));
  }

  async embedIds(ids: ArrayLike<number>[], options: Omit<EmbedOptions, 'maxLength'> = {}): Promise<Float32Array[]> {
    const seqs = ids.map((s) => Int32Array.from(s));
    return unpack(await this.#channel.call<PackedVectors>({ op: 'embedIds', handle: this.#handle, ids: seqs, options }, seqs.map((s) => s.buffer)));
  }

  /** End the worker (and its kernel threads). */
  dispose(): void {
    this.#channel.terminate();
  }
}

/** A VectorIndex opened inside a WorkerBiEncoder's worker (see `openIndex`). */
export class WorkerIndex {
  /** @internal */
  constructor(readonly handle: number, readonly owner: WorkerBiEncoder) {}
}

/** BiEncoder, run in a worker: both towers, scoring and search off the main thread. */
export class WorkerBiEncoder {
  readonly #channel: WorkerChannel;
  readonly #handle: number;
  readonly dimension: number;
  readonly threads: number;
  readonly identity: BiEncoderIdentity;

  private constructor(channel: WorkerChannel, info: LoadedInfo) {
    this.#channel = channel;
    this.#handle = info.handle;
    this.dimension = info.dimension;
    this.threads = info.threads;
    this.identity = info.identity ?? { question: null, context: null };
  }

  /** BiEncoder.fromFiles in a new worker; the files' buffers move there (detached here). */
  static async fromFiles(
    files: { question: EncoderFiles; context: EncoderFiles },
    options: BiEncoderOptions & WorkerOptions = {},
  ): Promise<WorkerBiEncoder> {
    if (files == null || typeof files !== 'object' || files.question == null || files.context == null) {
      throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'WorkerBiEncoder.fromFiles needs { question: EncoderFiles, context: EncoderFiles }');
    }
    const { createWorker, ...biOptions } = options;
    const moved = transferables([files.question, files.context]);
    const channel = new WorkerChannel({ createWorker });
    try {
      const info = await channel.call<LoadedInfo>(
        { op: 'loadBiEncoder', files: { question: moved.files[0], context: moved.files[1] }, options: biOptions },
        moved.transfer,
      );
      return new WorkerBiEncoder(channel, info);
    } catch (error) {
      channel.terminate();
      throw error;
    }
  }

  /** BiEncoder.fromPretrained in a new worker: download (or take from the worker's Cache API store)
   *  and load both models there; `onProgress` and `signal` work across the thread boundary. */
  static async fromPretrained(ids: PretrainedIds = {}, options: PretrainedBiEncoderOptions & WorkerOptions = {}): Promise<WorkerBiEncoder> {
    const { createWorker, onProgress, signal, cache, ...rest } = options;
    if (cache !== undefined && cache !== false) {
      throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'WorkerBiEncoder.fromPretrained cannot send a cache object to its worker: use cacheDir (the Cache API store name) or cache: false');
    }
    const channel = new WorkerChannel({ createWorker });
    try {
      const request = { op: 'loadPretrained' as const, ids, options: cache === false ? { ...rest, cache } : rest };
      const info = await channel.call<LoadedInfo>(request, [], { onProgress, signal });
      return new WorkerBiEncoder(channel, info);
    } catch (error) {
      channel.terminate();
      throw error;
    }
  }

  async encodeQueries(texts: string[]): Promise<Float32Array[]> {
    return unpack(await this.#channel.call<PackedVectors>({ op: 'encode', handle: this.#handle, tower: 'question', texts }));
  }

  async encodePassages(texts: string[]): Promise<Float32Array[]> {
    return unpack(await this.#channel.call<PackedVectors>({ op: 'encode', handle: this.#handle, tower: 'context', texts }));
  }

  /** scores[q][p], as BiEncoder.score (texts are encoded in the worker; vectors are sent there). */
  async score(queries: string[] | ArrayLike<number>[], passages: string[] | ArrayLike<number>[], options: { metric?: Metric } = {}): Promise<number[][]> {
    const side = (xs: string[] | ArrayLike<number>[]) =>
      xs.length > 0 && typeof xs[0] !== 'string' ? packVectors(xs as ArrayLike<number>[], this.dimension) : (xs as string[]);
    return this.#channel.call<number[][]>({ op: 'score', handle: this.#handle, queries: side(queries), passages: side(passages), metric: options.metric });
  }

  indexMeta(): Promise<IndexMeta> {
    return this.#channel.call<IndexMeta>({ op: 'indexMeta', handle: this.#handle });
  }

  /** Move an index file's bytes (serializeIndex's output) into the worker and check it fits; with
   *  `graph` (the bytes of its INDEX.ann), searches go through the graph (BiEncoder.useGraph) with
   *  beam `ef`. The buffers are transferred, not copied, when they are whole ArrayBuffers. */
  async openIndex(bytes: Uint8Array, options: { graph?: Uint8Array; ef?: number } = {}): Promise<WorkerIndex> {
    const owned = (b: Uint8Array) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b : b.slice());
    const own = owned(bytes);
    const graph = options.graph ? owned(options.graph) : undefined;
    const transfer = [own.buffer as ArrayBuffer, ...(graph && graph.buffer !== own.buffer ? [graph.buffer as ArrayBuffer] : [])];
    const handle = await this.#channel.call<number>({ op: 'openIndex', handle: this.#handle, bytes: own, graph, ef: options.ef }, transfer);
    return new WorkerIndex(handle, this);
  }

  /** The k passages of `index` most relevant to `query`, best first (as BiEncoder.search). */
  search(query: string | ArrayLike<number>, index: WorkerIndex, k = 10, options: { metric?: Metric; ef?: number; exact?: boolean } = {}): Promise<SearchHit[]> {
    if (!(index instanceof WorkerIndex) || index.owner !== this) {
      return Promise.reject(new BiEncoderError('BI_ENCODER_BAD_INPUT', 'search needs an index opened by this WorkerBiEncoder (openIndex)'));
    }
    const q = typeof query === 'string' ? query : Float32Array.from(query);
    return this.#channel.call<SearchHit[]>({ op: 'search', handle: this.#handle, index: index.handle, query: q, k, metric: options.metric, ef: options.ef, exact: options.exact });
  }

  /** End the worker (both encoders, their kernel threads and every index). */
  dispose(): void {
    this.#channel.terminate();
  }
}
