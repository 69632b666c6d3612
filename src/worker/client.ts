// Owns: the main-thread face of the encoder worker — WorkerEncoder and WorkerBiEncoder, the same
// calls as Encoder and BiEncoder (all async), each answered by a module worker (worker-main.ts)
// that holds the real model and its kernel threads, so a page's main thread never runs a forward
// pass. Model files move into the worker by transfer (their buffers are detached here) and vectors
// come back the same way, one buffer per answer. The library's call contract holds across the
// thread: `signal` (already aborted: AbortError before anything is sent; aborted later: the call
// rejects at once and the worker stops after its current forward pass, staying usable),
// `onBatch` (runs here, on batches the worker posts back), typed errors for arguments that cannot
// be sent (WORKER_CANNOT_SEND, not a raw DataCloneError), and no call left pending after any
// failure.
// Does not own: the message shapes (protocol.ts) or anything the worker computes.
//
// The worker is started as `new Worker(new URL('./worker-main.js', import.meta.url), { type: 'module' })`:
// that literal is the form Vite and webpack 5 recognise and bundle as a worker. Elsewhere (esbuild,
// a CDN on another origin) pass `createWorker`.
import { AbortError, throwIfAborted } from '../errors/abort-error.js';
import { BiEncoderError, type BiEncoderIdentity, type BiEncoderOptions, type EncodeTextsOptions, type PretrainedBiEncoderOptions, type PretrainedIds, type SearchHit } from '../bi-encoder.js';
import { ConfigError } from '../model/config.js';
import { checkTexts, textChunks, type EmbedBatch, type EmbedChunk, type EmbedOptions, type EncoderFiles, type EncoderOptions } from '../encoder.js';
import { EncoderError } from '../errors/encoder-error.js';
import { KmedError, type KmedErrorCode } from '../errors/errors.js';
import { DownloadError } from '../hub/download-error.js';
import type { HubProgressCallback } from '../hub/progress.js';
import type { BackendFallbackEvent } from '../webgpu/backend-choice.js';
import { WebGpuError } from '../errors/webgpu-error.js';
import { KernelError } from '../kernels/kernel-error.js';
import { SafetensorsError } from '../formats/safetensors.js';
import { SimilarityError, type Metric } from '../search/similarity.js';
import { TokenizerError } from '../tokenizer/errors.js';
import { IndexError, type IndexMeta } from '../search/vector-index.js';
import { OptionError } from '../errors/option-error.js';
import { resolveDtype } from '../model/dtype.js';
import { checkOptions, type AssertTrue, type SameKeys } from '../options/check-options.js';
import type { OPTION_GROUPS } from '../options/option-keys.js';
import type { ClientMessage, LoadedInfo, PackedBatch, PackedVectors, WorkerAnswer, WorkerErrorInfo, WorkerMessage, WorkerRequest } from './protocol.js';

export interface WorkerOptions {
  /** Start the worker yourself (it must run dist/worker/worker-main.js as a module); default:
   *  `new Worker(new URL('./worker-main.js', import.meta.url), { type: 'module' })`. */
  createWorker?: () => Worker;
}

// The declared option keys (options/option-keys.ts) must be exactly this interface's keys.
type _WorkerOptionKeys = AssertTrue<SameKeys<WorkerOptions, typeof OPTION_GROUPS.worker>>;

const ERROR_CLASSES: Record<string, new (code: KmedErrorCode, message: string) => KmedError> = {
  KmedError, EncoderError, BiEncoderError, ConfigError, KernelError, SafetensorsError, SimilarityError, TokenizerError, IndexError, OptionError, WebGpuError,
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

/** A failed postMessage (structured clone refused an argument: a function, a class instance's
 *  methods, a DOM object) as a typed error; the underlying DataCloneError is its cause. */
function cannotSend(what: string, error: unknown): KmedError {
  const why = error instanceof Error ? error.message : String(error);
  return new KmedError(
    'WORKER_CANNOT_SEND',
    `${what}: its arguments cannot be sent to the worker (${why}); pass strings, numbers, plain arrays and objects, and typed arrays`,
    { cause: error },
  );
}

function defaultWorker(): Worker {
  if (typeof Worker !== 'function') {
    throw new KmedError('WORKER_UNAVAILABLE', 'this runtime has no Web Worker API: use Encoder / BiEncoder from kmed-dpr directly');
  }
  // The name shows in devtools, and webpack names the worker's chunk file after it (a development
  // build emits kmed-dpr-encoder.js): no spaces, so the file name needs no quoting in URLs, shells
  // or CDN rules. A literal, not a constant: webpack reads it from this call's source.
  return new Worker(new URL('./worker-main.js', import.meta.url), { type: 'module', name: 'kmed-dpr-encoder' });
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

/** What a call may carry besides its request: callbacks and a signal, which stay on this side. */
interface CallOptions {
  onProgress?: HubProgressCallback;
  signal?: AbortSignal;
  onBatch?: (batch: EmbedBatch) => void;
}

interface PendingCall {
  resolve(v: WorkerAnswer): void;
  reject(e: unknown): void;
  onProgress?: HubProgressCallback;
  onBatch?: (batch: EmbedBatch) => void;
}

/** One worker and its pending calls. */
class WorkerChannel {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PendingCall>();
  readonly #ready: Promise<void>;
  #nextId = 1;
  #failed: Error | undefined;
  /** The owner's handler of `fallback` messages (backend 'auto' moved to wasm in the worker). */
  onFallback: ((event: BackendFallbackEvent) => void) | undefined;

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
      if ('fallback' in m) return this.onFallback?.(m.fallback);
      const call = this.#pending.get(m.id);
      if (!call) return; // settled already (aborted, or failed on this side)
      if ('progress' in m) return call.onProgress?.(m.progress);
      if ('batch' in m) return this.#batch(m.id, call, m.batch);
      if (m.ok) call.resolve(m.value);
      else call.reject(rebuildError(m.error));
    };
    // An answer that cannot be read on this side: its call is unknown, so the channel fails as a
    // whole rather than leave that call pending for ever.
    this.#worker.onmessageerror = () => {
      this.#fail(new KmedError('WORKER_FAILED', 'a message from the kmed-dpr worker could not be read (structured clone failed on arrival)'));
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault?.();
      this.#fail(new KmedError('WORKER_FAILED', `the kmed-dpr worker failed: ${event.message || 'its script did not load (is dist/worker/worker-main.js served?)'}`));
      notReady(this.#failed!);
    };
  }

  #fail(error: Error): void {
    this.#failed = error;
    for (const call of [...this.#pending.values()]) call.reject(error);
    this.#pending.clear();
  }

  /** Calls sent and not yet settled (each settles exactly once, whatever fails). */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** One forward pass posted back: the caller's onBatch runs here; if it throws, the call fails
   *  with that error (as the library's embed does) and the worker is told to stop. */
  #batch(id: number, call: PendingCall, batch: PackedBatch): void {
    try {
      call.onBatch?.({ indices: batch.indices, vectors: unpack(batch.vectors), done: batch.done, total: batch.total });
    } catch (error) {
      this.#worker.postMessage({ abort: id } satisfies ClientMessage);
      call.reject(error);
    }
  }

  async call<T extends WorkerAnswer>(request: WorkerRequest, transfer: Transferable[] = [], control: CallOptions = {}): Promise<T> {
    const { signal } = control;
    const what = `the worker's ${request.op}`;
    throwIfAborted(signal, what); // before anything is sent
    await this.#ready;
    if (this.#failed) throw this.#failed;
    throwIfAborted(signal, what);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#worker.postMessage({ abort: id } satisfies ClientMessage);
        settle.reject(new AbortError(what, signal!.reason));
      };
      // Every way out removes the call from the table and the listener from the signal.
      const done = () => {
        this.#pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      const settle: PendingCall = {
        resolve: (v) => (done(), resolve(v as T)),
        reject: (e) => (done(), reject(e)),
        onProgress: control.onProgress,
        onBatch: control.onBatch,
      };
      this.#pending.set(id, settle);
      signal?.addEventListener('abort', onAbort, { once: true });
      const message: ClientMessage = { id, request, control: { abortable: signal !== undefined || undefined, batches: control.onBatch !== undefined || undefined } };
      try {
        this.#worker.postMessage(message, transfer);
      } catch (error) {
        settle.reject(cannotSend(what, error));
      }
    });
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
  #backendKind: LoadedInfo['backendKind'];

  private constructor(channel: WorkerChannel, info: LoadedInfo, onBackendFallback: EncoderOptions['onBackendFallback']) {
    this.#channel = channel;
    this.#handle = info.handle;
    this.dimension = info.dimension;
    this.threads = info.threads;
    this.#backendKind = info.backendKind;
    channel.onFallback = (event) => {
      this.#backendKind = 'wasm';
      onBackendFallback?.(event);
    };
  }

  /** Where the forward pass runs inside the worker (as Encoder.backendKind). */
  get backendKind(): LoadedInfo['backendKind'] {
    return this.#backendKind;
  }

  /** Encoder.fromFiles in a new worker; the files' buffers move there (detached here).
   *  `onBackendFallback` runs on this side. */
  static async fromFiles(files: EncoderFiles, options: EncoderOptions & WorkerOptions = {}): Promise<WorkerEncoder> {
    const { createWorker, onBackendFallback, ...encoderOptions } = checkOptions('WorkerEncoder.fromFiles', options);
    resolveDtype('WorkerEncoder.fromFiles', encoderOptions.dtype); // before a worker starts
    const moved = transferables([files]);
    const channel = new WorkerChannel({ createWorker });
    // Load-time events arrive before the answer: queue them until the encoder exists.
    const early: BackendFallbackEvent[] = [];
    channel.onFallback = (event) => early.push(event);
    try {
      const info = await channel.call<LoadedInfo>({ op: 'loadEncoder', files: moved.files[0], options: encoderOptions }, moved.transfer);
      const encoder = new WorkerEncoder(channel, info, onBackendFallback);
      for (const event of early) onBackendFallback?.(event);
      return encoder;
    } catch (error) {
      channel.terminate();
      throw error;
    }
  }

  /** Embed one text: its Float32Array (as Encoder.embed). */
  embed(text: string, options?: EmbedOptions): Promise<Float32Array>;
  /** Embed texts: one Float32Array per text, in input order (as Encoder.embed). `signal` and
   *  `onBatch` work across the thread (onBatch runs on this side). */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  embed(input: string | readonly string[], options?: EmbedOptions): Promise<Float32Array | Float32Array[]>;
  async embed(input: string | readonly string[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    // Checked here, before anything is posted: a bad element is named by its index, never a
    // DataCloneError, and the worker is not asked for work it would refuse.
    checkOptions('WorkerEncoder.embed', options);
    const texts = checkTexts(input, 'embed');
    const { signal, onBatch, ...sent } = options;
    const vectors = unpack(await this.#channel.call<PackedVectors>({ op: 'embed', handle: this.#handle, texts, options: sent }, [], { signal, onBatch }));
    return typeof input === 'string' ? vectors[0] : vectors;
  }

  /** As Encoder.embedIds; `signal` and `onBatch` as for embed. */
  async embedIds(ids: ArrayLike<number>[], options: Omit<EmbedOptions, 'maxLength'> = {}): Promise<Float32Array[]> {
    checkOptions('WorkerEncoder.embedIds', options);
    if (!Array.isArray(ids)) throw new EncoderError('ENCODER_BAD_INPUT', 'embedIds expects an array of id arrays');
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] == null || typeof ids[i] !== 'object') throw new EncoderError('ENCODER_BAD_INPUT', `ids[${i}] is not an array of token ids`);
    }
    const { signal, onBatch, ...sent } = options;
    throwIfAborted(signal, "the worker's embedIds");
    const seqs = ids.map((s) => Int32Array.from(s));
    return unpack(await this.#channel.call<PackedVectors>({ op: 'embedIds', handle: this.#handle, ids: seqs, options: sent }, seqs.map((s) => s.buffer), { signal, onBatch }));
  }

  /** @internal Calls awaiting the worker's answer (0 whenever none is in flight; for leak tests). */
  get pendingCalls(): number {
    return this.#channel.pendingCalls;
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
  /** Texts per forward pass, and per chunk of encodePassagesStream (the BiEncoder's batchSize). */
  readonly batchSize: number;
  #backendKind: LoadedInfo['backendKind'];

  private constructor(channel: WorkerChannel, info: LoadedInfo, onBackendFallback: EncoderOptions['onBackendFallback'], early: BackendFallbackEvent[]) {
    this.#channel = channel;
    this.#handle = info.handle;
    this.dimension = info.dimension;
    this.threads = info.threads;
    this.identity = info.identity ?? { question: null, context: null };
    this.batchSize = info.batchSize ?? 8;
    this.#backendKind = info.backendKind;
    channel.onFallback = (event) => {
      this.#backendKind = 'wasm';
      onBackendFallback?.(event);
    };
    for (const event of early) onBackendFallback?.(event);
  }

  /** Where the question tower's forward pass runs inside the worker (as Encoder.backendKind). */
  get backendKind(): LoadedInfo['backendKind'] {
    return this.#backendKind;
  }

  /** BiEncoder.fromFiles in a new worker; the files' buffers move there (detached here). */
  static async fromFiles(
    files: { question: EncoderFiles; context: EncoderFiles },
    options: BiEncoderOptions & WorkerOptions = {},
  ): Promise<WorkerBiEncoder> {
    if (files == null || typeof files !== 'object' || files.question == null || files.context == null) {
      throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'WorkerBiEncoder.fromFiles needs { question: EncoderFiles, context: EncoderFiles }');
    }
    const { createWorker, onBackendFallback, ...biOptions } = checkOptions('WorkerBiEncoder.fromFiles', options);
    resolveDtype('WorkerBiEncoder.fromFiles', biOptions.dtype); // before a worker starts
    const moved = transferables([files.question, files.context]);
    const channel = new WorkerChannel({ createWorker });
    const early: BackendFallbackEvent[] = [];
    channel.onFallback = (event) => early.push(event);
    try {
      const info = await channel.call<LoadedInfo>(
        { op: 'loadBiEncoder', files: { question: moved.files[0], context: moved.files[1] }, options: biOptions },
        moved.transfer,
      );
      return new WorkerBiEncoder(channel, info, onBackendFallback, early);
    } catch (error) {
      channel.terminate();
      throw error;
    }
  }

  /** BiEncoder.fromPretrained in a new worker: download (or take from the worker's Cache API store)
   *  and load both models there; `onProgress` and `signal` work across the thread boundary. */
  static async fromPretrained(ids: PretrainedIds = {}, options: PretrainedBiEncoderOptions & WorkerOptions = {}): Promise<WorkerBiEncoder> {
    const { createWorker, onProgress, signal, cache, onBackendFallback, ...rest } = checkOptions('WorkerBiEncoder.fromPretrained', options);
    resolveDtype('WorkerBiEncoder.fromPretrained', rest.dtype); // before a worker starts
    if (ids != null && typeof ids === 'object') checkOptions('WorkerBiEncoder.fromPretrained ids', ids);
    if (cache !== undefined && cache !== false) {
      throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'WorkerBiEncoder.fromPretrained cannot send a cache object to its worker: use cacheDir (the Cache API store name) or cache: false');
    }
    const channel = new WorkerChannel({ createWorker });
    const early: BackendFallbackEvent[] = [];
    channel.onFallback = (event) => early.push(event);
    try {
      const request = { op: 'loadPretrained' as const, ids, options: cache === false ? { ...rest, cache } : rest };
      const info = await channel.call<LoadedInfo>(request, [], { onProgress, signal });
      return new WorkerBiEncoder(channel, info, onBackendFallback, early);
    } catch (error) {
      channel.terminate();
      throw error;
    }
  }

  /** The question encoder's embedding of one query (as BiEncoder.encodeQueries). */
  encodeQueries(text: string, options?: EncodeTextsOptions): Promise<Float32Array>;
  /** Question-encoder embeddings, one per text, in order. */
  encodeQueries(texts: readonly string[], options?: EncodeTextsOptions): Promise<Float32Array[]>;
  encodeQueries(input: string | readonly string[], options?: EncodeTextsOptions): Promise<Float32Array | Float32Array[]>;
  encodeQueries(input: string | readonly string[], options: EncodeTextsOptions = {}): Promise<Float32Array | Float32Array[]> {
    return this.#encode('WorkerBiEncoder.encodeQueries', 'question', input, options);
  }

  /** The context encoder's embedding of one passage (as BiEncoder.encodePassages). */
  encodePassages(text: string, options?: EncodeTextsOptions): Promise<Float32Array>;
  /** Context-encoder embeddings, one per text, in order. */
  encodePassages(texts: readonly string[], options?: EncodeTextsOptions): Promise<Float32Array[]>;
  encodePassages(input: string | readonly string[], options?: EncodeTextsOptions): Promise<Float32Array | Float32Array[]>;
  encodePassages(input: string | readonly string[], options: EncodeTextsOptions = {}): Promise<Float32Array | Float32Array[]> {
    return this.#encode('WorkerBiEncoder.encodePassages', 'context', input, options);
  }

  async #encode(
    call: 'WorkerBiEncoder.encodeQueries' | 'WorkerBiEncoder.encodePassages',
    tower: 'question' | 'context',
    input: string | readonly string[],
    options: EncodeTextsOptions,
  ): Promise<Float32Array | Float32Array[]> {
    checkOptions(call, options);
    const texts = checkTexts(input, call);
    const { signal, onBatch, ...sent } = options;
    const vectors = unpack(await this.#channel.call<PackedVectors>({ op: 'encode', handle: this.#handle, tower, texts, options: sent }, [], { signal, onBatch }));
    return typeof input === 'string' ? vectors[0] : vectors;
  }

  /**
   * Context-encoder embeddings of a long stream of passages, as BiEncoder.encodePassagesStream:
   * one chunk of `batchSize` consecutive passages at a time, in input order, bitwise what
   * encodePassages returns. The stream is read here, one chunk at a time, and each chunk is
   * embedded in the worker, so memory on both sides stays bounded by one chunk. `signal` is
   * checked before each chunk.
   */
  async *encodePassagesStream(texts: Iterable<string> | AsyncIterable<string>, options: Omit<EncodeTextsOptions, 'onBatch'> = {}): AsyncGenerator<EmbedChunk> {
    checkOptions('WorkerBiEncoder.encodePassagesStream', options);
    const { signal, ...rest } = options;
    for await (const { offset, texts: chunk } of textChunks(texts, this.batchSize, 'encodePassagesStream')) {
      if (signal?.aborted) throw new AbortError('encodePassagesStream', signal.reason);
      const vectors = unpack(await this.#channel.call<PackedVectors>({ op: 'encode', handle: this.#handle, tower: 'context', texts: chunk, options: rest }, [], { signal }));
      yield { offset, vectors };
    }
  }

  /** @internal Calls awaiting the worker's answer (0 whenever none is in flight; for leak tests). */
  get pendingCalls(): number {
    return this.#channel.pendingCalls;
  }

  /** scores[q][p], as BiEncoder.score (texts are encoded in the worker; vectors are sent there). */
  async score(queries: string[] | ArrayLike<number>[], passages: string[] | ArrayLike<number>[], options: { metric?: Metric } = {}): Promise<number[][]> {
    checkOptions('WorkerBiEncoder.score', options);
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
  async search(query: string | ArrayLike<number>, index: WorkerIndex, k = 10, options: { metric?: Metric; ef?: number; exact?: boolean } = {}): Promise<SearchHit[]> {
    checkOptions('WorkerBiEncoder.search', options);
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
