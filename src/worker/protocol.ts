// Owns: the messages between the main-thread client (client.ts) and the encoder worker
// (worker-main.ts): one request per call, answered once by the same id, with Float32Array results
// packed into one transferred buffer; an abort of a running call; and, for a call whose caller
// gave `onBatch`, one message per forward pass (the callback itself cannot cross: it runs on the
// caller's side with the batch posted back).
// Does not own: what a request does (worker-main.ts) or how results are unpacked (client.ts).
import type { EncoderFiles, EncoderOptions, EmbedOptions } from '../encoder.js';
import type { BackendFallbackEvent } from '../webgpu/backend-choice.js';
import type { BiEncoderOptions, BiEncoderIdentity, EncodeTextsOptions, PretrainedBiEncoderOptions, PretrainedIds, SearchHit } from '../bi-encoder.js';
import type { HubProgressEvent } from '../hub/progress.js';
import type { IndexMeta } from '../search/vector-index.js';
import type { Metric } from '../search/similarity.js';
import type { KmedErrorCode } from '../errors/error-codes.js';

/** What the worker needs to rebuild a thrown error on the other side. */
export interface WorkerErrorInfo {
  name: string;
  /** The KmedError's code, when the thrown error was one. */
  code?: KmedErrorCode;
  message: string;
}

/** Every vector of one answer in one buffer: `count` rows of `dimension` floats. */
export interface PackedVectors {
  data: Float32Array;
  count: number;
  dimension: number;
}

/** EmbedOptions as they cross: the signal and the callback stay with the caller (see CallControl). */
export type SentEmbedOptions = Omit<EmbedOptions, 'signal' | 'onBatch'>;

/** What the caller attached to a call that cannot cross itself. */
export interface CallControl {
  /** The caller has a signal: the worker gives the call one, fired by an `abort` message. */
  abortable?: boolean;
  /** The caller has an onBatch: the worker posts a `batch` message after each forward pass. */
  batches?: boolean;
}

/** One forward pass's results (EmbedBatch), vectors packed. */
export interface PackedBatch {
  indices: number[];
  vectors: PackedVectors;
  done: number;
  total: number;
}

export type WorkerRequest =
  /** `onBackendFallback` stays on the caller's side: the worker posts `fallback` messages. */
  | { op: 'loadEncoder'; files: EncoderFiles; options: Omit<EncoderOptions, 'onBackendFallback'> }
  | { op: 'loadBiEncoder'; files: { question: EncoderFiles; context: EncoderFiles }; options: Omit<BiEncoderOptions, 'onBackendFallback'> }
  /** BiEncoder.fromPretrained; its progress events come back as `progress` messages. */
  | { op: 'loadPretrained'; ids: PretrainedIds; options: Omit<PretrainedBiEncoderOptions, 'onProgress' | 'signal' | 'cache' | 'onBackendFallback'> & { cache?: false } }
  | { op: 'embed'; handle: number; texts: string[]; options: SentEmbedOptions }
  | { op: 'embedIds'; handle: number; ids: Int32Array[]; options: Omit<SentEmbedOptions, 'maxLength'> }
  | { op: 'encode'; handle: number; tower: 'question' | 'context'; texts: string[]; options?: Omit<EncodeTextsOptions, 'signal' | 'onBatch'> }
  | { op: 'score'; handle: number; queries: string[] | PackedVectors; passages: string[] | PackedVectors; metric?: Metric }
  /** `graph`: the bytes of the index's graph (INDEX.ann), searched with beam `ef`. */
  | { op: 'openIndex'; handle: number; bytes: Uint8Array; graph?: Uint8Array; ef?: number }
  | { op: 'search'; handle: number; index: number; query: string | Float32Array; k: number; metric?: Metric; ef?: number; exact?: boolean }
  | { op: 'indexMeta'; handle: number };

/** The answer to a load. */
export interface LoadedInfo {
  handle: number;
  dimension: number;
  threads: number;
  identity?: BiEncoderIdentity;
  /** A bi-encoder's texts per forward pass (the chunk size of encodePassagesStream). */
  batchSize?: number;
  /** Where the forward pass runs in the worker (Encoder.backendKind; a bi-encoder's question tower). */
  backendKind: 'webgpu' | 'wasm' | 'reference';
}

export type WorkerAnswer = LoadedInfo | PackedVectors | number[][] | SearchHit[] | IndexMeta | number | undefined;

export type WorkerMessage =
  | { id: number; ok: true; value: WorkerAnswer }
  | { id: number; ok: false; error: WorkerErrorInfo }
  | { id: number; progress: HubProgressEvent }
  | { id: number; batch: PackedBatch }
  | { ready: true }
  /** Backend 'auto' moved to wasm (at load, or after a WebGPU fault during a call). */
  | { fallback: BackendFallbackEvent };

/** Main thread → worker: a request, or the abort of one still running. */
export type ClientMessage = { id: number; request: WorkerRequest; control?: CallControl } | { abort: number };
