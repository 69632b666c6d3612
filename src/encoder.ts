// Owns: the public, runtime-neutral Encoder — text (or token ids) in, one vector per input out.
// It wires the pieces together: config (config.ts) + tokenizer (tokenizer/) + weights (weights.ts)
// into a kernel backend's heap — or onto a WebGPU device (webgpu/, backend 'webgpu' | 'auto', with
// the one-time fall back to wasm of 'auto') — then batches inputs for the forward pass (bert.ts, or
// webgpu/forward.ts) and pools (pooling.ts). Inputs are bytes or strings, never paths: the Node adapter (node/encoder.ts) adds
// `fromDirectory`. Does not own any arithmetic, parsing or file access.
//
// Batching: inputs are sorted by token count (longest first) and cut into batches of at most
// `batchSize` sequences and `maxBatchTokens` padded tokens, so each batch pads to a length close to
// its members' and the activation scratch (about 27 KB per token for bert-base, plus the attention
// scores of one sequence) stays bounded: the wasm heap never shrinks, so the largest batch ever run
// sets the process's memory for good. Results come back in input order. Because bert.ts attends
// over each sequence's real length only, the batching never changes a result.
// Also here: `fromPretrained` (a hub id's files fetched and cached by hub/snapshot.ts, then
// `fromFiles`), and the cancellable, streaming forms of embed (`signal`, `onBatch`, `embedStream`).
import { AbortError, throwIfAborted } from './errors/abort-error.js';
import { bertForward, bertForwardWith, type BertForwardOptions, type BertInput, type BertOutput } from './model/bert.js';
import type { BertParams } from './model/bert-params.js';
import { bytesSource, type ByteSource } from './formats/byte-source.js';
import { parseBertConfig, type BertConfig } from './model/config.js';
import { EncoderError } from './errors/encoder-error.js';
import { firstNonFinite } from './model/finite.js';
import { createBackend } from './kernels/index.js';
import { defaultThreadCount } from './kernels/thread-pool.js';
import type { KernelBackend } from './kernels/backend.js';
import { checkPooling, poolSequence, type Pooling } from './model/pooling.js';
import { BertTokenizer } from './tokenizer/tokenizer.js';
import { loadBertParams, safetensorsTensorSource } from './model/weights.js';
import { WebGpuBertModel, type WebGpuModelInfo } from './webgpu/model.js';
import { WebGpuError } from './errors/webgpu-error.js';
import { checkBackendOption, checkWebGpuOptions, type BackendChoice, type BackendFallbackEvent, type WebGpuOptions } from './webgpu/backend-choice.js';
import type { WordEmbeddingPlacement } from './model/word-embedding-source.js';
import { neutralCache, snapshotContents, type PretrainedOptions } from './hub/load.js';
import { fetchSnapshot, type ModelSnapshot } from './hub/snapshot.js';
import { resolveDtype, type DtypeOption } from './model/dtype.js';
import { normalizeEmbedding } from './model/normalize.js';
import { checkBooleanOption, checkOptions, pickOptions, type AssertTrue, type SameKeys } from './options/check-options.js';
import type { OPTION_GROUPS } from './options/option-keys.js';

export { EncoderError } from './errors/encoder-error.js';

/** A small text file's content: a string, or its UTF-8 bytes. */
export type FileContent = string | Uint8Array | ArrayBuffer;

/** The files of a Hugging Face BERT folder, as contents (never paths). */
export interface EncoderFiles {
  /** config.json */
  config: FileContent;
  /** vocab.txt */
  vocab: FileContent;
  /** tokenizer_config.json; where absent, Hugging Face BertTokenizer defaults apply (do_lower_case true), so pass it for klue models. */
  tokenizerConfig?: FileContent;
  /** special_tokens_map.json */
  specialTokensMap?: FileContent;
  /** tokenizer.json (its normalizer settings win, as in Hugging Face's fast tokenizer). */
  tokenizerJson?: FileContent;
  /** model.safetensors: the bytes, or a ByteSource to read it piece by piece. */
  weights: Uint8Array | ArrayBuffer | ByteSource;
}

export interface EncoderOptions {
  /** Where the forward pass runs: 'wasm' (SIMD kernels, default), 'reference' (scalar TypeScript,
   *  slow), 'webgpu' (WGSL kernels on the GPU through navigator.gpu; any failure to get or keep a
   *  device is a WebGpuError) or 'auto' (WebGPU when an adapter that is not a fallback (software)
   *  adapter exists and dtype is not 'int8', else wasm; a WebGPU fault — none, device lost, out of
   *  memory — moves the encoder to wasm once and reports it to `onBackendFallback`).
   *  `encoder.backendKind` says which one runs. See docs/webgpu.md. */
  backend?: BackendChoice;
  /** WebGPU settings: `timeoutMs` for the adapter, device and each read-back (default 30000), and
   *  `maxStorageBufferBindingSize` to lay the model out for a smaller binding limit than the
   *  device's (the word-embedding table is split into chunks that fit). */
  webgpu?: WebGpuOptions;
  /** Called once if backend 'auto' runs on wasm instead of WebGPU: at load (no WebGPU, no adapter,
   *  only a fallback adapter, a refused device, dtype 'int8') or later (device lost, out of
   *  memory), with the reason and its WebGpuError code. */
  onBackendFallback?: (event: BackendFallbackEvent) => void;
  /** The compiled kernels (build/kernels.wasm) where they cannot be found next to the module. */
  wasmBytes?: BufferSource | WebAssembly.Module;
  /** Threads the forward pass runs on, the calling one included (default: the core count, at most
   *  8). Results are bitwise the same for any count. Needs SharedArrayBuffer (in a browser, a
   *  cross-origin isolated page); without it the encoder runs on 1 thread and says why once. */
  threads?: number;
  /** build/kernels-mt.wasm (for threads > 1) where it cannot be found next to the module. */
  wasmThreadsBytes?: BufferSource | WebAssembly.Module;
  /** Which SIMD kernels: 'auto' (default: relaxed SIMD where the engine has it — Node >= 22, Deno,
   *  Chromium — else baseline), 'baseline' or 'relaxed' (an error where unsupported). The relaxed
   *  build fuses the matmuls' multiply-adds: faster, results within the same parity tolerances,
   *  possibly different from the baseline's in the last bits. Ignored with wasmBytes given. */
  simd?: 'auto' | 'baseline' | 'relaxed';
  /** How the weights are held: 'f32' (default, exact), 'f16' (half the memory, weights rounded to
   *  f16) or 'int8' (a quarter: weights per output channel, activations per row at run time; pooler
   *  cosine vs f32 ≥ 0.999 on the test models, and faster). transformers.js's names are aliases:
   *  'fp32' = 'f32', 'fp16' = 'f16', 'q8' = 'int8'. Anything else: OptionError OPTION_BAD_VALUE. */
  dtype?: DtypeOption;
  /** Where the word-embedding table (a quarter of bert-base's weights) lives: 'heap' (default here;
   *  read once at load) or 'source' (left in `files.weights`, the rows of each batch read from it:
   *  less memory; the source must stay readable and unchanged while the encoder lives). Node's
   *  `fromDirectory` defaults to 'source'. Outputs are bitwise the same either way. */
  wordEmbeddings?: WordEmbeddingPlacement;
  /** Load weights holding NaN or ±Infinity (default false: refused at load with
   *  SAFETENSORS_NON_FINITE naming the tensor and element). For inspecting a damaged model only:
   *  embed still refuses any non-finite output (ENCODER_NON_FINITE_OUTPUT). */
  allowNonFinite?: boolean;
}

export interface EmbedOptions {
  /** 'pooler' (default; pooler_output, as the model card), 'cls' (hidden row 0) or 'mean'. */
  pooling?: Pooling;
  /** Truncate to this many tokens, [CLS] and [SEP] included (default 512; capped at
   *  max_position_embeddings). Applies to `embed` only: `embedIds` never truncates. */
  maxLength?: number;
  /** Most sequences per forward pass (default 8). */
  batchSize?: number;
  /** Most padded tokens (sequences × the longest one's length) per forward pass (default
   *  DEFAULT_MAX_BATCH_TOKENS); a longer single sequence still runs, alone. Bounds the activation
   *  memory; the results do not depend on it. */
  maxBatchTokens?: number;
  /** Cancels the call between two forward passes: it rejects with AbortError. Given a signal, the
   *  call also yields to the event loop between passes, so a timer or a click can abort it. */
  signal?: AbortSignal;
  /** Called after each forward pass with the inputs it embedded (by index) and how many are done. */
  onBatch?: (batch: EmbedBatch) => void;
  /** Scale every vector to unit length (default false): v / ‖v‖₂, the norm summed in float64,
   *  each value rounded to float32 — bitwise `normalized()` of the vector embedded without it, so
   *  dot product then equals cosine. An all-zero vector cannot be scaled: EncoderError
   *  ENCODER_ZERO_VECTOR naming the input (never NaN). */
  normalize?: boolean;
}

// The declared option keys (options/option-keys.ts) must be exactly these interfaces' keys.
type _EncoderOptionKeys = AssertTrue<SameKeys<EncoderOptions, typeof OPTION_GROUPS.encoder>>;
type _EmbedOptionKeys = AssertTrue<SameKeys<EmbedOptions, typeof OPTION_GROUPS.embed>>;

/** One forward pass's results, as `onBatch` sees them. */
export interface EmbedBatch {
  /** Indices (into the input array) of the texts this pass embedded; passes run longest first. */
  indices: number[];
  /** Their vectors, in the order of `indices`. */
  vectors: Float32Array[];
  /** Inputs embedded so far, and in all. */
  done: number;
  total: number;
}

/** One chunk of `embedStream`'s results: consecutive inputs, in input order. */
export interface EmbedChunk {
  /** Index of the chunk's first input. */
  offset: number;
  /** One vector per input of the chunk, in order. */
  vectors: Float32Array[];
}

/** EncoderOptions plus where and how to fetch the model (see Encoder.fromPretrained). */
export interface PretrainedEncoderOptions extends EncoderOptions, PretrainedOptions {}

/** 512 padded tokens: ~27 MB of f32 activations for bert-base, while a Linear on 512 rows already
 *  runs at full speed (bench/kernels.ts), so larger batches would buy memory, not throughput. */
export const DEFAULT_MAX_BATCH_TOKENS = 512;

/** Everything an Encoder holds; built by `fromFiles` (exposed so subclasses can reuse it). */
export interface EncoderParts {
  config: BertConfig;
  tokenizer: BertTokenizer;
  backend: KernelBackend;
  params: BertParams;
}

interface Sequence {
  ids: Int32Array;
  tokenTypeIds: Int32Array;
}

export class Encoder {
  /** The model's configuration (Hugging Face key names). */
  readonly config: BertConfig;
  /** The tokenizer `embed` uses. */
  readonly tokenizer: BertTokenizer;
  #backend: KernelBackend;
  #params: BertParams | undefined;
  /** Set while the forward pass runs on WebGPU (then #params is empty and #backend holds no weights). */
  #gpu: WebGpuBertModel | undefined;
  /** Backend 'auto' on WebGPU: how to move to wasm after a fault (loads the weights from the source). */
  #fallback: ((error: WebGpuError) => Promise<void>) | undefined;
  #disposed = false;

  /** Use `Encoder.fromFiles` (or the Node entry's `fromDirectory`). */
  constructor(parts: EncoderParts) {
    this.config = parts.config;
    this.tokenizer = parts.tokenizer;
    this.#backend = parts.backend;
    this.#params = parts.params;
  }

  /** The kernel backend holding the weights (on WebGPU: an empty one, used for nothing but `threads`). */
  get backend(): KernelBackend {
    return this.#backend;
  }

  /** Where the forward pass runs now: 'webgpu', 'wasm' or 'reference'. */
  get backendKind(): 'webgpu' | 'wasm' | 'reference' {
    if (this.#gpu) return 'webgpu';
    return this.#backend.name === 'reference' ? 'reference' : 'wasm';
  }

  /** The WebGPU adapter, limits and weight bytes while running on WebGPU, else undefined. */
  get webgpu(): WebGpuModelInfo | undefined {
    return this.#gpu?.info;
  }

  /** Build an encoder from a model folder's file contents. */
  static async fromFiles<E extends Encoder>(
    this: new (parts: EncoderParts) => E,
    files: EncoderFiles,
    options: EncoderOptions = {},
  ): Promise<E> {
    options = checkOptions('Encoder.fromFiles', options);
    const dtype = resolveDtype('Encoder.fromFiles', options.dtype);
    if (files == null || typeof files !== 'object') {
      throw new EncoderError('ENCODER_BAD_INPUT', 'Encoder.fromFiles needs an object of file contents');
    }
    for (const key of ['config', 'vocab', 'weights'] as const) {
      if (files[key] == null) {
        throw new EncoderError('ENCODER_MISSING_FILE', `Encoder.fromFiles: missing "${key}" (${FILE_NAMES[key]})`);
      }
    }
    const config = parseBertConfig(asText(files.config, 'config.json'), 'config.json');
    const tokenizer = BertTokenizer.fromFiles({
      vocab: asStringOrBytes(files.vocab, 'vocab.txt'),
      tokenizerConfig: optional(files.tokenizerConfig, 'tokenizer_config.json'),
      specialTokensMap: optional(files.specialTokensMap, 'special_tokens_map.json'),
      tokenizerJson: optional(files.tokenizerJson, 'tokenizer.json'),
    });
    // A vocabulary the embedding table cannot index would fail on the first unlucky text; say so now.
    if (tokenizer.vocabSize > config.vocab_size) {
      throw new EncoderError(
        'ENCODER_BAD_INPUT',
        `vocab.txt has ${tokenizer.vocabSize} tokens but config.json says vocab_size=${config.vocab_size}: the tokenizer does not belong to this model`,
      );
    }
    const choice = checkBackendOption('Encoder.fromFiles', options.backend);
    const webgpu = checkWebGpuOptions('Encoder.fromFiles', options.webgpu);
    const weights = asByteSource(files.weights);
    const loadWasm = async (): Promise<EncoderParts> => {
      const backend = await createBackend(choice === 'reference' ? 'reference' : 'wasm', {
        wasmBytes: options.wasmBytes,
        wasmThreadsBytes: options.wasmThreadsBytes,
        simd: options.simd,
        threads: options.threads ?? defaultThreadCount(),
      });
      try {
        const params = loadBertParams(weights, config, backend, { dtype, wordEmbeddings: options.wordEmbeddings, allowNonFinite: options.allowNonFinite });
        return { config, tokenizer, backend, params };
      } catch (error) {
        backend.dispose();
        throw error;
      }
    };
    if (choice === 'wasm' || choice === 'reference') return new this(await loadWasm());

    // WebGPU: f32 weights, or f16-stored ones; int8 has no WGSL kernels.
    const fallback = (error: WebGpuError, when: 'load' | 'embed'): void => {
      options.onBackendFallback?.({ type: 'backend-fallback', from: 'webgpu', to: 'wasm', when, code: error.code, reason: error.message });
    };
    let gpu: WebGpuBertModel;
    try {
      if (dtype === 'int8') {
        throw new WebGpuError('WEBGPU_LIMIT', "dtype 'int8' has no WebGPU kernels (the WebGPU backend stores weights as f32 or f16): use dtype 'f32' or 'f16', or backend 'wasm'");
      }
      gpu = await WebGpuBertModel.create(safetensorsTensorSource(weights), config, {
        ...webgpu,
        dtype: dtype === 'f16' ? 'f16' : 'f32',
        refuseFallbackAdapter: choice === 'auto',
        allowNonFinite: options.allowNonFinite,
      });
    } catch (error) {
      if (choice === 'auto' && error instanceof WebGpuError) {
        fallback(error, 'load');
        return new this(await loadWasm());
      }
      throw error;
    }
    try {
      // No weights in this backend: it only answers `threads` (and holds nothing big).
      const backend = await createBackend('reference');
      const encoder = new this({ config, tokenizer, backend, params: { layers: [] } as unknown as BertParams });
      encoder.#attachGpu(gpu, choice === 'auto' ? async (error) => {
        const parts = await loadWasm();
        encoder.#moveToWasm(parts);
        fallback(error, 'embed');
      } : undefined);
      return encoder;
    } catch (error) {
      gpu.dispose();
      throw error;
    }
  }

  #attachGpu(gpu: WebGpuBertModel, fallback: ((error: WebGpuError) => Promise<void>) | undefined): void {
    this.#gpu = gpu;
    this.#params = undefined;
    this.#fallback = fallback;
  }

  #moveToWasm(parts: EncoderParts): void {
    this.#gpu?.dispose();
    this.#gpu = undefined;
    this.#fallback = undefined;
    this.#backend.dispose();
    this.#backend = parts.backend;
    this.#params = parts.params;
    if (this.#disposed) this.dispose();
  }

  /**
   * Load a model by Hugging Face hub id, e.g. 'snumin44/medical-biencoder-ko-bert-question':
   * its files are fetched (resumable, size- and sha256-checked) into the cache — the Cache API in
   * browsers; the Node entry uses the Hugging Face cache folder Python shares — and loaded from
   * there. A second load by commit hash, or `offline`, makes no request; by branch name, one.
   */
  static async fromPretrained(repoId: string, options: PretrainedEncoderOptions = {}): Promise<Encoder> {
    options = checkOptions('Encoder.fromPretrained', options);
    resolveDtype('Encoder.fromPretrained', options.dtype); // before a byte is downloaded
    const snapshot = await fetchSnapshot(repoId, options, neutralCache(options));
    return (await Encoder.fromSnapshot.call(this, snapshot, options)).encoder;
  }

  /** Build from a fetched snapshot's files; returns the contents too (callers fingerprint them). */
  static async fromSnapshot(
    snapshot: ModelSnapshot,
    options: PretrainedEncoderOptions = {},
  ): Promise<{ encoder: Encoder; contents: Awaited<ReturnType<typeof snapshotContents>> }> {
    options = checkOptions('Encoder.fromSnapshot', options);
    const started = Date.now();
    const contents = await snapshotContents(snapshot);
    throwIfAborted(options.signal, `loading ${snapshot.repo}`);
    const encoder = await (this as typeof Encoder).fromFiles(contents, pickOptions<EncoderOptions>('Encoder.fromFiles', options));
    options.onProgress?.({ type: 'loaded', repo: snapshot.repo, commit: snapshot.commit, ms: Date.now() - started });
    return { encoder, contents };
  }

  /** Threads the forward pass runs on (1 after a fallback, or with the reference backend; 1 on WebGPU). */
  get threads(): number {
    return this.#backend.threads;
  }

  /** Length of every vector this encoder returns (hidden_size). */
  get dimension(): number {
    return this.config.hidden_size;
  }

  /** Embed one text: its Float32Array of `dimension` values. */
  embed(text: string, options?: EmbedOptions): Promise<Float32Array>;
  /** Embed texts: one Float32Array of `dimension` per text, in input order. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  embed(input: string | readonly string[], options?: EmbedOptions): Promise<Float32Array | Float32Array[]>;
  async embed(input: string | readonly string[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    const { pooling, batchSize, maxBatchTokens } = this.#checkOptions('Encoder.embed', options);
    const maxLength = this.#checkMaxLength(options.maxLength);
    const texts = checkTexts(input, 'embed');
    const seqs: Sequence[] = texts.map((text) => {
      const enc = this.tokenizer.encode(text, { maxLength });
      return { ids: Int32Array.from(enc.ids), tokenTypeIds: Int32Array.from(enc.tokenTypeIds) };
    });
    const vectors = await this.#run(seqs, pooling, batchSize, maxBatchTokens, options);
    return typeof input === 'string' ? vectors[0] : vectors;
  }

  /**
   * Embed a long (or endless) stream of texts chunk by chunk: yields one EmbedChunk per
   * `batchSize` consecutive texts, in input order, so memory stays bounded by one chunk. Vectors
   * are bitwise those `embed` returns. `signal` cancels between chunks (AbortError).
   */
  async *embedStream(texts: Iterable<string> | AsyncIterable<string>, options: Omit<EmbedOptions, 'onBatch'> = {}): AsyncGenerator<EmbedChunk> {
    const { batchSize } = this.#checkOptions('Encoder.embedStream', options);
    for await (const { offset, texts: chunk } of textChunks(texts, batchSize, 'embedStream')) {
      throwIfAborted(options.signal, 'embedStream');
      yield { offset, vectors: await this.embed(chunk, options) };
    }
  }

  /** Embed sequences of token ids (special tokens included, as the model should see them),
   *  bypassing the tokenizer. Every id must be < vocab_size and every sequence 1 to
   *  max_position_embeddings long; nothing is truncated. */
  async embedIds(ids: ArrayLike<number>[], options: Omit<EmbedOptions, 'maxLength'> = {}): Promise<Float32Array[]> {
    const { pooling, batchSize, maxBatchTokens } = this.#checkOptions('Encoder.embedIds', options);
    if (!Array.isArray(ids)) throw new EncoderError('ENCODER_BAD_INPUT', 'embedIds expects an array of id arrays');
    // Indexed, not map(): map skips the holes of a sparse array, which would reach the model.
    const seqs: Sequence[] = Array.from({ length: ids.length }, (_, i) => {
      const out = checkTokenIds(ids[i], this.config, `ids[${i}]`);
      return { ids: out, tokenTypeIds: new Int32Array(out.length) };
    });
    return this.#run(seqs, pooling, batchSize, maxBatchTokens, options);
  }

  /**
   * The raw model outputs for one batch, exactly as given (padded to the longest, not sorted, not
   * truncated): last_hidden_state [B, T, C] and pooler_output [B, C], plus each sequence's length.
   * `onHiddenState` sees the hidden state after the embeddings and after every layer.
   */
  forwardIds(ids: ArrayLike<number>[], options: BertForwardOptions = {}): BertOutput & { lengths: number[] } {
    if (this.#gpu) throw new EncoderError('ENCODER_BAD_OPTION', 'forwardIds runs synchronously, which the WebGPU backend cannot: use forwardIdsAsync');
    const params = this.#params;
    if (params === undefined) throw new EncoderError('ENCODER_DISPOSED', 'this Encoder was disposed');
    if (!Array.isArray(ids) || ids.length === 0) {
      throw new EncoderError('ENCODER_BAD_INPUT', 'forwardIds expects a non-empty array of id arrays');
    }
    const seqs = ids.map((seq, i) => checkTokenIds(seq, this.config, `ids[${i}]`));
    const input = this.#batch(seqs.map((s) => ({ ids: s, tokenTypeIds: new Int32Array(s.length) })), seqs.map((_, i) => i));
    const out = bertForward(this.backend, params, this.config, input, options);
    // Raw outputs too: a non-finite pooler_output row is an error, never handed back.
    for (let b = 0; b < out.B; b++) checkFiniteOutput(out.poolerOutput.subarray(b * out.C, (b + 1) * out.C), b, 'pooler');
    return { ...out, lengths: Array.from(input.lengths) };
  }

  /** forwardIds on any backend (WebGPU included, where the pass is asynchronous); no
   *  `onHiddenState` on WebGPU. */
  async forwardIdsAsync(ids: ArrayLike<number>[], options: Pick<BertForwardOptions, 'rows'> = {}): Promise<BertOutput & { lengths: number[] }> {
    if (!this.#gpu) return this.forwardIds(ids, options);
    if (!Array.isArray(ids) || ids.length === 0) {
      throw new EncoderError('ENCODER_BAD_INPUT', 'forwardIdsAsync expects a non-empty array of id arrays');
    }
    const seqs = ids.map((seq, i) => checkTokenIds(seq, this.config, `ids[${i}]`));
    const input = this.#batch(seqs.map((s) => ({ ids: s, tokenTypeIds: new Int32Array(s.length) })), seqs.map((_, i) => i));
    const out = await this.#forward(input, options.rows ?? 'all');
    for (let b = 0; b < out.B; b++) checkFiniteOutput(out.poolerOutput.subarray(b * out.C, (b + 1) * out.C), b, 'pooler');
    return { ...out, lengths: Array.from(input.lengths) };
  }

  /** One forward pass on whichever backend runs now, the outputs copied out. With backend 'auto',
   *  a WebGPU fault moves the encoder to wasm (once) and the same batch is run there: the
   *  failed pass's outputs are never used. */
  async #forward(input: BertInput, rows: 'all' | 'first'): Promise<BertOutput> {
    const gpu = this.#gpu;
    if (gpu) {
      try {
        return await gpu.forward(input, rows);
      } catch (error) {
        // dispose() destroyed the device under this pass: say so as wasm would.
        if (this.#disposed) throw new EncoderError('ENCODER_DISPOSED', 'this Encoder was disposed', { cause: error });
        const fallback = this.#fallback;
        if (!(error instanceof WebGpuError) || !fallback) throw error;
        this.#fallback = undefined;
        await fallback(error);
      }
    }
    const params = this.#params;
    if (params === undefined) throw new EncoderError('ENCODER_DISPOSED', 'this Encoder was disposed');
    return bertForward(this.#backend, params, this.config, input, { rows });
  }

  /** Drop the weights and stop the worker threads (or free the GPU device); any later call throws
   *  ENCODER_DISPOSED. The heap goes with the last reference. */
  dispose(): void {
    this.#disposed = true;
    this.#params = undefined;
    this.#gpu?.dispose();
    this.#gpu = undefined;
    this.#fallback = undefined;
    this.#backend.dispose();
  }

  #checkOptions(call: 'Encoder.embed' | 'Encoder.embedIds' | 'Encoder.embedStream', options: EmbedOptions): { pooling: Pooling; batchSize: number; maxBatchTokens: number } {
    if (this.#params === undefined && !this.#gpu) throw new EncoderError('ENCODER_DISPOSED', 'this Encoder was disposed');
    checkOptions(call, options);
    checkBooleanOption(call, 'normalize', options.normalize);
    const pooling = checkPooling(options.pooling ?? 'pooler');
    const batchSize = options.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new EncoderError('ENCODER_BAD_OPTION', `batchSize ${batchSize} is not a positive integer`);
    }
    const maxBatchTokens = options.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS;
    if (!Number.isInteger(maxBatchTokens) || maxBatchTokens < 1) {
      throw new EncoderError('ENCODER_BAD_OPTION', `maxBatchTokens ${maxBatchTokens} is not a positive integer`);
    }
    return { pooling, batchSize, maxBatchTokens };
  }

  #checkMaxLength(maxLength: number | undefined): number {
    const m = maxLength ?? 512;
    // Two tokens are [CLS] and [SEP]; fewer would leave the model nothing to read.
    if (!Number.isInteger(m) || m < 2) {
      throw new EncoderError('ENCODER_BAD_OPTION', `maxLength ${m} is not an integer >= 2`);
    }
    return Math.min(m, this.config.max_position_embeddings);
  }

  async #run(
    seqs: Sequence[],
    pooling: Pooling,
    batchSize: number,
    maxBatchTokens: number,
    control: Pick<EmbedOptions, 'signal' | 'onBatch' | 'normalize'> = {},
  ): Promise<Float32Array[]> {
    const { signal, onBatch, normalize } = control;
    throwIfAborted(signal, 'embed');
    const results = new Array<Float32Array>(seqs.length);
    // Longest first (stable): the first batch finds out at once whether the heap is big enough, and
    // each batch's first member sets its padded length.
    const order = seqs.map((_, i) => i).sort((a, b) => seqs[b].ids.length - seqs[a].ids.length || a - b);
    for (let start = 0; start < order.length; ) {
      // The heap may have been dropped (dispose) while this call waited between passes.
      const params = this.#params;
      if (params === undefined && !this.#gpu) throw new EncoderError('ENCODER_DISPOSED', 'this Encoder was disposed');
      const T = seqs[order[start]].ids.length;
      const count = Math.max(1, Math.min(batchSize, Math.floor(maxBatchTokens / T)));
      const members = order.slice(start, start + count);
      start += members.length;
      const input = this.#batch(seqs, members);
      // Pool straight from the heap: no [B, T, C] copy of the hidden states. `pooler` and `cls`
      // read only row 0 of each sequence, so the last layer computes only those rows (bert.ts).
      const rows = pooling === 'mean' ? 'all' : 'first';
      const pool = (out: BertOutput): void => {
        members.forEach((i, b) => {
          const vector = checkFiniteOutput(poolSequence(pooling, out, b, seqs[i].ids.length), i, pooling);
          results[i] = normalize ? normalizeEmbedding(vector, i) : vector;
        });
      };
      if (this.#gpu) pool(await this.#forward(input, rows));
      else bertForwardWith(this.#backend, params!, this.config, input, pool, { rows });
      onBatch?.({ indices: members, vectors: members.map((i) => results[i]), done: start, total: order.length });
      if (signal && start < order.length) {
        // A forward pass holds the thread: let the abort (a timer, a click) run before the next one.
        await nextTask();
        if (signal.aborted) throw new AbortError('embed', signal.reason);
      }
    }
    return results;
  }

  /** Pad `members` of `seqs` into one BertInput (right padding to the longest). */
  #batch(seqs: Sequence[], members: number[]): BertInput {
    const B = members.length;
    let T = 0;
    for (const i of members) T = Math.max(T, seqs[i].ids.length);
    const input: BertInput = {
      B,
      T,
      inputIds: new Int32Array(B * T).fill(this.#padId()),
      tokenTypeIds: new Int32Array(B * T),
      lengths: members.map((i) => seqs[i].ids.length),
    };
    members.forEach((i, b) => {
      input.inputIds.set(seqs[i].ids, b * T);
      input.tokenTypeIds.set(seqs[i].tokenTypeIds, b * T);
    });
    return input;
  }

  #padId(): number {
    const pad = this.config.pad_token_id ?? 0;
    return Number.isInteger(pad) && pad >= 0 && pad < this.config.vocab_size ? pad : 0;
  }
}

/** `vector` (the embedding of input `index`) if every value is finite; an overflow inside the model
 *  (or weights loaded with allowNonFinite) must never reach a caller as NaN similarities. */
function checkFiniteOutput(vector: Float32Array, index: number, pooling: Pooling): Float32Array {
  const d = firstNonFinite(vector);
  if (d >= 0) {
    throw new EncoderError('ENCODER_NON_FINITE_OUTPUT', `input ${index}: the ${pooling} embedding holds ${vector[d]} at dimension ${d} (the model overflowed or its weights are damaged); no embedding is returned`);
  }
  return vector;
}

/**
 * `texts` (an iterable or async iterable) in consecutive chunks of `size`, the last one shorter,
 * each with the index of its first text and checked by checkTexts (a bad text is named by its
 * place in the whole stream). What every streaming call (embedStream, encodePassagesStream, the
 * worker's) reads its input with: memory stays bounded by one chunk.
 */
export async function* textChunks(
  texts: Iterable<string> | AsyncIterable<string>,
  size: number,
  call: string,
): AsyncGenerator<{ offset: number; texts: string[] }> {
  if (texts == null || (typeof (texts as AsyncIterable<string>)[Symbol.asyncIterator] !== 'function' && typeof (texts as Iterable<string>)[Symbol.iterator] !== 'function')) {
    throw new EncoderError('ENCODER_BAD_INPUT', `${call} expects an iterable or async iterable of strings`);
  }
  let offset = 0;
  let chunk: string[] = [];
  for await (const text of texts as AsyncIterable<string>) {
    chunk.push(text);
    if (chunk.length < size) continue;
    yield { offset, texts: checkTexts(chunk, call, offset) };
    offset += chunk.length;
    chunk = [];
  }
  if (chunk.length > 0) yield { offset, texts: checkTexts(chunk, call, offset) };
}

/**
 * The texts of an embed call as an array, each checked to be a string: `input` itself when it is a
 * string (one text), else every element of the array — holes of a sparse array included, which
 * Array.prototype.map would skip. EncoderError ENCODER_BAD_INPUT names the first bad one as
 * `texts[offset + i]` (a stream's chunk passes its offset, so the index is the one in the stream).
 */
export function checkTexts(input: unknown, call: string, offset = 0): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) {
    throw new EncoderError('ENCODER_BAD_INPUT', `${call} expects a string or an array of strings, not ${describeValue(input)}`);
  }
  for (let i = 0; i < input.length; i++) {
    const where = `texts[${offset + i}]`;
    if (!(i in input)) throw new EncoderError('ENCODER_BAD_INPUT', `${where} is missing (a hole in a sparse array), not a string`);
    const text: unknown = input[i];
    if (typeof text !== 'string') throw new EncoderError('ENCODER_BAD_INPUT', `${where} is ${text === null ? 'null' : typeof text}, not a string`);
  }
  return input as string[];
}

/** 'null', 'an array', 'a number' ... for messages about a value of the wrong type. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/**
 * Validate one sequence of token ids against a config (integers in [0, vocab_size), 1 to
 * max_position_embeddings of them) and return it as an Int32Array. `label` names the sequence in
 * the error (e.g. 'ids[3]' or 'line 12').
 */
export function checkTokenIds(
  seq: unknown,
  config: Pick<BertConfig, 'vocab_size' | 'max_position_embeddings'>,
  label: string,
): Int32Array {
  const { vocab_size, max_position_embeddings } = config;
  if (seq == null || typeof seq !== 'object' || typeof (seq as ArrayLike<number>).length !== 'number') {
    throw new EncoderError('ENCODER_BAD_INPUT', `${label} is not an array of token ids`);
  }
  const s = seq as ArrayLike<unknown>;
  if (s.length === 0) throw new EncoderError('ENCODER_EMPTY_SEQUENCE', `${label} is empty`);
  if (s.length > max_position_embeddings) {
    throw new EncoderError(
      'ENCODER_SEQUENCE_TOO_LONG',
      `${label} has ${s.length} tokens, more than max_position_embeddings=${max_position_embeddings}`,
    );
  }
  const out = new Int32Array(s.length);
  for (let p = 0; p < s.length; p++) {
    const id = s[p];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab_size) {
      throw new EncoderError(
        'ENCODER_BAD_IDS',
        `${label} position ${p}: token id ${JSON.stringify(id) ?? String(id)} is not an integer in [0, vocab_size=${vocab_size})`,
      );
    }
    out[p] = id;
  }
  return out;
}

/** Resolves after pending tasks (timers, events) have run. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const FILE_NAMES = { config: 'config.json', vocab: 'vocab.txt', weights: 'model.safetensors' } as const;

function asStringOrBytes(content: FileContent, name: string): string | Uint8Array {
  if (typeof content === 'string' || content instanceof Uint8Array) return content;
  if (content instanceof ArrayBuffer) return new Uint8Array(content);
  throw new EncoderError('ENCODER_BAD_INPUT', `${name}: expected a string, Uint8Array or ArrayBuffer`);
}

function optional(content: FileContent | undefined, name: string): string | Uint8Array | undefined {
  return content == null ? undefined : asStringOrBytes(content, name);
}

function asText(content: FileContent, name: string): string {
  const c = asStringOrBytes(content, name);
  if (typeof c === 'string') return c;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(c);
  } catch (cause) {
    throw new EncoderError('ENCODER_BAD_INPUT', `${name}: not valid UTF-8`, { cause });
  }
}

function asByteSource(weights: Uint8Array | ArrayBuffer | ByteSource): ByteSource {
  if (weights instanceof Uint8Array) return bytesSource(weights, 'model.safetensors (bytes)');
  if (weights instanceof ArrayBuffer) return bytesSource(new Uint8Array(weights), 'model.safetensors (bytes)');
  if (weights != null && typeof weights === 'object' && typeof weights.readInto === 'function' && Number.isInteger(weights.size)) {
    return weights;
  }
  throw new EncoderError('ENCODER_BAD_INPUT', 'weights: expected a Uint8Array, ArrayBuffer or ByteSource');
}
