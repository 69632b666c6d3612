// Owns: the bi-encoder — a question encoder and a context (passage) encoder that share one vector
// space — and what users do with it: encode queries and passages, score them (cosine, as the model
// card does, or dot), and search an index file with exact SIMD search. Runtime-neutral: it takes
// bytes (EncoderFiles), ready Encoders or hub ids (fromPretrained, through hub/), never paths
// (node/bi-encoder.ts adds folders, and the Hugging Face cache folder for hub ids).
// Does not own: the BERT forward pass (encoder.ts), the index format (vector-index.ts) or the
// arithmetic of similarity and top-k (similarity.ts).
import { bytesSource, type ByteSource } from './formats/byte-source.js';
import { checkTexts, Encoder, textChunks, type EmbedBatch, type EmbedChunk, type EncoderFiles, type EncoderOptions, type PretrainedEncoderOptions } from './encoder.js';
import { neutralCache, repoDisplayName } from './hub/load.js';
import { fetchSnapshot } from './hub/snapshot.js';
import { KmedError } from './errors/errors.js';
import type { KernelBackend } from './kernels/backend.js';
import type { BackendChoice } from './webgpu/backend-choice.js';
import { createBackend } from './kernels/index.js';
import { modelFingerprint, shortFingerprint, type ModelIdentity } from './model-identity.js';
import type { Pooling } from './model/pooling.js';
import { checkMetric, scoreMatrix, type Metric, type SearchSession } from './search/similarity.js';
import { IndexError, type IndexMeta, type VectorIndex } from './search/vector-index.js';
import { resolveDtype } from './model/dtype.js';
import { checkBooleanOption, checkOptions, pickOptions, type AssertTrue, type SameKeys } from './options/check-options.js';
import type { OPTION_GROUPS } from './options/option-keys.js';
import { openSearchSession, searchSession, searchSessionMany, type SearchHit, type SearchSessionOptions } from './search/search-sessions.js';

export {
  DEFAULT_RESIDENT_LIMIT_BYTES, openSearchSession, pickMode, searchSession, searchSessionMany, searchSessions, searchSessionsMany,
  type SearchHit, type SearchSessionOptions,
} from './search/search-sessions.js';
import { AnnSearch, checkEf, type AnnQueryOptions } from './search/ann/ann-search.js';
import { openAnnSearch } from './search/ann/ann-index.js';
import { checkGraphTarget } from './search/ann/graph-file.js';

export class BiEncoderError extends KmedError {}

/** The card's example: the query and the three clinical notes of
 *  snumin44/medical-biencoder-ko-bert-{question,context}'s model card, with its printed scores. */
export const MODEL_CARD_EXAMPLE = {
  query: 'high blood pressure 처방 사례',
  passages: [
    '고혈압 진단.\n환자 상담 및 생활습관 교정 권고. 저염식, 규칙적인 운동, 금연, 금주 지시.\n환자 재방문. 혈압: 150/95mmHg. 약물치료 시작. Amlodipine 5mg 1일 1회 처방.',
    '응급실 도착 후 위 내시경 진행.\n소견: Gastric ulcer에서 Forrest IIb 관찰됨. 출혈은 소량의 삼출성 출혈 형태.\n처치: 에피네프린 주사로 출혈 감소 확인. Hemoclip 2개로 출혈 부위 클리핑하여 지혈 완료.',
    '혈중 높은 지방 수치 및 지방간 소견.\n다발성 gallstones 확인. 증상 없을 경우 경과 관찰 권장.\n우측 renal cyst, 양성 가능성 높으며 추가적인 처치 불필요 함.',
  ],
  /** Cosine similarities as printed on the card (4 decimals). */
  similarities: [0.2674, 0.0416, 0.0476],
  /** The card prints 4 decimals; agreement means |ours − card| ≤ 5e-4 (rounding plus f32 noise). */
  tolerance: 5e-4,
} as const;

/** What the bi-encoder needs from an encoder (Encoder satisfies it; tests may pass their own). */
export interface EmbeddingModel {
  readonly dimension: number;
  /** `normalize: true` must return unit vectors, as Encoder's EmbedOptions.normalize defines them. */
  embed(
    texts: string[],
    options?: { pooling?: Pooling; maxLength?: number; batchSize?: number; normalize?: boolean } & EncodeControl,
  ): Promise<Float32Array[]>;
  /** Optional streaming form (Encoder has it); without it encodePassagesStream embeds chunk by chunk with `embed`. */
  embedStream?(
    texts: Iterable<string> | AsyncIterable<string>,
    options?: { pooling?: Pooling; maxLength?: number; batchSize?: number; normalize?: boolean; signal?: AbortSignal },
  ): AsyncIterable<EmbedChunk>;
  dispose?(): void;
}

/** Cancellation and progress for encodeQueries / encodePassages (see EmbedOptions). */
export interface EncodeControl {
  /** Cancels between forward passes: the call rejects with AbortError. */
  signal?: AbortSignal;
  /** Called after each forward pass (indices, vectors, done, total). */
  onBatch?: (batch: EmbedBatch) => void;
}

/** Options of encodeQueries / encodePassages. */
export interface EncodeTextsOptions extends EncodeControl {
  /** Unit-length vectors (default false); see EmbedOptions.normalize for the definition. */
  normalize?: boolean;
}

/** The two hub repos of a bi-encoder (each defaulting to the snumin44 encoder of its role). */
export interface PretrainedIds {
  question?: string;
  context?: string;
}

/** The default hub repos: the two encoders of snumin44's medical bi-encoder. */
export const DEFAULT_PRETRAINED = {
  question: 'snumin44/medical-biencoder-ko-bert-question',
  context: 'snumin44/medical-biencoder-ko-bert-context',
} as const;

/** BiEncoderOptions plus where and how to fetch both models (see Encoder.fromPretrained). */
export interface PretrainedBiEncoderOptions extends BiEncoderOptions, Omit<PretrainedEncoderOptions, keyof EncoderOptions> {}

export interface BiEncoderOptions extends EncoderOptions {
  /** Pooling for both towers; the model card uses pooler_output ('pooler', the default). */
  pooling?: Pooling;
  /** Truncation length in tokens (default 512, the model's limit). */
  maxLength?: number;
  /** Texts per forward pass (default 8). */
  batchSize?: number;
  /** Display names recorded in index files (default 'question' / 'context'). */
  names?: { question?: string; context?: string };
}

export interface FromEncodersOptions {
  pooling?: Pooling;
  maxLength?: number;
  batchSize?: number;
  /** Identities of the two models, used to stamp and check index files; without them an index's
   *  model identity cannot be checked (only its dimension and pooling). */
  identity?: { question?: ModelIdentity | null; context?: ModelIdentity | null };
  /** The encoders' backend choice (EncoderOptions.backend); exact search runs on the wasm kernels
   *  ('reference': the scalar ones) whatever the encoders run on. */
  backend?: BackendChoice;
  wasmBytes?: EncoderOptions['wasmBytes'];
  /** Kernel threads of each search session (default 1). */
  threads?: number;
}

export interface ScoreOptions {
  metric?: Metric;
}

// The declared option keys (options/option-keys.ts) must be exactly these interfaces' keys.
type _BiEncoderOptionKeys = AssertTrue<SameKeys<Omit<BiEncoderOptions, keyof EncoderOptions>, typeof OPTION_GROUPS.biEncoder>>;
type _FromEncodersOptionKeys = AssertTrue<SameKeys<FromEncodersOptions, typeof OPTION_GROUPS.fromEncoders>>;
type _EncodeOptionKeys = AssertTrue<SameKeys<EncodeTextsOptions, typeof OPTION_GROUPS.encode>>;
type _ScoreOptionKeys = AssertTrue<SameKeys<ScoreOptions, typeof OPTION_GROUPS.score>>;
type _BiEncoderSearchOptionKeys = AssertTrue<SameKeys<BiEncoderSearchOptions, typeof OPTION_GROUPS.biEncoderSearch>>;
type _PretrainedIdKeys = AssertTrue<SameKeys<PretrainedIds, typeof OPTION_GROUPS.pretrainedIds>>;

/** How BiEncoder.search / searchMany open an index's session (cached per index and these options). */
export interface BiEncoderSearchOptions extends ScoreOptions, Pick<SearchSessionOptions, 'mode' | 'exact' | 'rerank' | 'residentLimitBytes' | 'windowBytes'> {}

type Vectors = ArrayLike<number>[];

/** The two identities (null when unknown) of a question/context pair, for messages and headers. */
export interface BiEncoderIdentity {
  question: ModelIdentity | null;
  context: ModelIdentity | null;
}

/** A question encoder and a context encoder whose vectors are compared by cosine (or dot). */
export class BiEncoder {
  readonly question: EmbeddingModel;
  readonly context: EmbeddingModel;
  readonly identity: BiEncoderIdentity;
  readonly pooling: Pooling;
  readonly maxLength: number;
  readonly batchSize: number;
  private readonly searchBackend: Pick<SearchSessionOptions, 'kind' | 'wasmBytes' | 'threads'>;
  private readonly sessions = new Map<VectorIndex, Map<string, SearchSession>>();
  private readonly graphs = new Map<VectorIndex, { source: ByteSource; metric: Metric; ef?: number }>();

  /** Prefer `BiEncoder.fromEncoders` / `fromFiles` (or the Node entry's `fromDirectories`). */
  constructor(question: EmbeddingModel, context: EmbeddingModel, options: FromEncodersOptions = {}) {
    options = checkOptions('BiEncoder', options);
    this.identity = { question: options.identity?.question ?? null, context: options.identity?.context ?? null };
    if (question.dimension !== context.dimension) {
      const q = this.identity.question?.name ?? 'question encoder';
      const c = this.identity.context?.name ?? 'context encoder';
      throw new BiEncoderError(
        'BI_ENCODER_DIMENSION_MISMATCH',
        `the question encoder (${q}) gives ${question.dimension}-dimensional vectors but the context encoder ` +
          `(${c}) gives ${context.dimension}: the two must be a matched pair`,
      );
    }
    this.question = question;
    this.context = context;
    this.pooling = options.pooling ?? 'pooler';
    this.maxLength = options.maxLength ?? 512;
    this.batchSize = options.batchSize ?? 8;
    this.searchBackend = { kind: options.backend === 'reference' ? 'reference' : 'wasm', wasmBytes: options.wasmBytes, threads: options.threads };
  }

  /** Pair two ready encoders (their dimensions must match). */
  static fromEncoders<B extends BiEncoder>(
    this: new (question: EmbeddingModel, context: EmbeddingModel, options?: FromEncodersOptions) => B,
    question: EmbeddingModel,
    context: EmbeddingModel,
    options: FromEncodersOptions = {},
  ): B {
    return new this(question, context, options);
  }

  /** Load both encoders from their files' bytes (config.json, vocab.txt, ..., model.safetensors). */
  static async fromFiles<B extends BiEncoder>(
    this: new (question: EmbeddingModel, context: EmbeddingModel, options?: FromEncodersOptions) => B,
    files: { question: EncoderFiles; context: EncoderFiles },
    options: BiEncoderOptions = {},
  ): Promise<B> {
    if (files == null || typeof files !== 'object' || files.question == null || files.context == null) {
      throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'BiEncoder.fromFiles needs { question: EncoderFiles, context: EncoderFiles }');
    }
    options = checkOptions('BiEncoder.fromFiles', options);
    resolveDtype('BiEncoder.fromFiles', options.dtype);
    const names = { question: options.names?.question ?? 'question', context: options.names?.context ?? 'context' };
    const encoderOptions = pickOptions<EncoderOptions>('Encoder.fromFiles', options);
    // Encoders first: Encoder.fromFiles names a missing or malformed file; the fingerprints then
    // hash inputs known to be well-formed.
    const question = await Encoder.fromFiles(files.question, encoderOptions);
    let context: Encoder;
    try {
      context = await Encoder.fromFiles(files.context, encoderOptions);
    } catch (error) {
      question.dispose();
      throw error;
    }
    try {
      const identity = {
        question: {
          name: names.question,
          fingerprint: await modelFingerprint(files.question.config, files.question.weights),
        },
        context: {
          name: names.context,
          fingerprint: await modelFingerprint(files.context.config, files.context.weights),
        },
      };
      return new this(question, context, { ...pickOptions<FromEncodersOptions>('BiEncoder', options), identity });
    } catch (error) {
      question.dispose();
      context.dispose();
      throw error;
    }
  }

  /**
   * Load both encoders by hub id (default: the snumin44 medical question and context encoders),
   * one after the other, through Encoder.fromPretrained's cache; their identities (repo name +
   * fingerprint) stamp index files. `onProgress` sees both repos' events (each names its repo).
   */
  static async fromPretrained(ids: PretrainedIds = {}, options: PretrainedBiEncoderOptions = {}): Promise<BiEncoder> {
    options = checkOptions('BiEncoder.fromPretrained', options);
    resolveDtype('BiEncoder.fromPretrained', options.dtype); // before a byte is downloaded
    const repos = pretrainedRepos(ids, 'BiEncoder.fromPretrained ids');
    const cache = neutralCache(options);
    const encoderOptions = pickOptions<PretrainedEncoderOptions>('Encoder.fromSnapshot', options);
    const loaded: Array<{ encoder: Encoder; identity: ModelIdentity }> = [];
    try {
      for (const role of ['question', 'context'] as const) {
        const snapshot = await fetchSnapshot(repos[role], options, cache);
        const { encoder, contents } = await Encoder.fromSnapshot(snapshot, encoderOptions);
        const entry = { encoder, identity: { name: options.names?.[role] ?? repoDisplayName(repos[role]), fingerprint: '' } };
        loaded.push(entry); // before the fingerprint, so a failure there still disposes it
        // The cache verified the weights' LFS sha256 when it stored them: no second pass over them.
        const weightsSha256 = snapshot.files.get('model.safetensors')?.sha256;
        entry.identity.fingerprint = await modelFingerprint(contents.config, contents.weights, { weightsSha256 });
      }
      const [q, c] = loaded;
      return new this(q.encoder, c.encoder, { ...pickOptions<FromEncodersOptions>('BiEncoder', options), identity: { question: q.identity, context: c.identity } });
    } catch (error) {
      for (const { encoder } of loaded) encoder.dispose();
      throw error;
    }
  }

  /** Vector size shared by both encoders. */
  get dimension(): number {
    return this.question.dimension;
  }

  private embedOptions() {
    return { pooling: this.pooling, maxLength: this.maxLength, batchSize: this.batchSize };
  }

  /** The question encoder's embedding of one query. */
  encodeQueries(text: string, options?: EncodeTextsOptions): Promise<Float32Array>;
  /** Question-encoder embeddings, one per text, in order. */
  encodeQueries(texts: readonly string[], options?: EncodeTextsOptions): Promise<Float32Array[]>;
  encodeQueries(input: string | readonly string[], options?: EncodeTextsOptions): Promise<Float32Array | Float32Array[]>;
  encodeQueries(input: string | readonly string[], options: EncodeTextsOptions = {}): Promise<Float32Array | Float32Array[]> {
    return this.#encode('BiEncoder.encodeQueries', this.question, input, options);
  }

  /** The context encoder's embedding of one passage. */
  encodePassages(text: string, options?: EncodeTextsOptions): Promise<Float32Array>;
  /** Context-encoder embeddings, one per text, in order. */
  encodePassages(texts: readonly string[], options?: EncodeTextsOptions): Promise<Float32Array[]>;
  encodePassages(input: string | readonly string[], options?: EncodeTextsOptions): Promise<Float32Array | Float32Array[]>;
  encodePassages(input: string | readonly string[], options: EncodeTextsOptions = {}): Promise<Float32Array | Float32Array[]> {
    return this.#encode('BiEncoder.encodePassages', this.context, input, options);
  }

  async #encode(
    call: 'BiEncoder.encodeQueries' | 'BiEncoder.encodePassages',
    model: EmbeddingModel,
    input: string | readonly string[],
    options: EncodeTextsOptions,
  ): Promise<Float32Array | Float32Array[]> {
    const { signal, onBatch, normalize } = checkOptions(call, options);
    checkBooleanOption(call, 'normalize', normalize);
    const vectors = await model.embed(checkTexts(input, call), { ...this.embedOptions(), signal, onBatch, normalize });
    return typeof input === 'string' ? vectors[0] : vectors;
  }

  /** Context-encoder embeddings of a long stream of passages, one chunk of `batchSize` consecutive
   *  passages at a time, in order (bitwise what encodePassages returns, `normalize` included). */
  async *encodePassagesStream(texts: Iterable<string> | AsyncIterable<string>, options: Omit<EncodeTextsOptions, 'onBatch'> = {}): AsyncGenerator<EmbedChunk> {
    checkOptions('BiEncoder.encodePassagesStream', options);
    checkBooleanOption('BiEncoder.encodePassagesStream', 'normalize', options.normalize);
    const embedOptions = { ...this.embedOptions(), signal: options.signal, normalize: options.normalize };
    if (this.context.embedStream) {
      yield* this.context.embedStream(texts, embedOptions);
      return;
    }
    for await (const { offset, texts: chunk } of textChunks(texts, this.batchSize, 'encodePassagesStream')) {
      yield { offset, vectors: await this.context.embed(chunk, embedOptions) };
    }
  }

  /**
   * scores[q][p] between every query and every passage: texts are encoded with the matching tower
   * first; vectors are used as given. Cosine by default, as on the model card.
   */
  async score(
    queries: string[] | Vectors,
    passages: string[] | Vectors,
    options: ScoreOptions = {},
  ): Promise<number[][]> {
    checkOptions('BiEncoder.score', options);
    const metric = checkMetric(options.metric ?? 'cosine');
    const isText = (xs: string[] | Vectors): xs is string[] => xs.length > 0 && typeof xs[0] === 'string';
    const q = isText(queries) ? await this.encodeQueries(queries) : (queries as Vectors);
    const p = isText(passages) ? await this.encodePassages(passages) : (passages as Vectors);
    return scoreMatrix(q, p, metric);
  }

  /** Header metadata for an index of passages encoded by this bi-encoder (serializeIndex,
   *  buildIndex). Needs the models' identities (fromFiles and the Node loaders provide them). */
  indexMeta(): IndexMeta {
    if (!this.identity.context) {
      throw new BiEncoderError(
        'BI_ENCODER_NO_IDENTITY',
        'this BiEncoder has no model identities to stamp an index with: pass `identity` to fromEncoders',
      );
    }
    return { context_model: this.identity.context, question_model: this.identity.question, pooling: this.pooling, max_length: this.maxLength };
  }

  /**
   * Throws unless `index` was built for these encoders: same dimension and pooling and, where both
   * sides know them, the same context (and question) model fingerprints.
   */
  checkIndex(index: VectorIndex): void {
    checkIndexCompatibility(index, { dimension: this.dimension, pooling: this.pooling, ...this.identity });
  }

  /**
   * The search session for `index` (see openSearchSession: resident up to 2 GiB of rows, else
   * streaming; f16/int8 scan rows re-ranked in f32 when the index has them, unless `exact`), opened
   * on the first search and reused by every later search of the same index with the same options.
   */
  async openIndex(index: VectorIndex, options: BiEncoderSearchOptions = {}): Promise<SearchSession> {
    checkOptions('BiEncoder.openIndex', options);
    const metric = checkMetric(options.metric ?? 'cosine');
    this.checkIndex(index);
    let byOptions = this.sessions.get(index);
    if (!byOptions) this.sessions.set(index, (byOptions = new Map()));
    // With a graph of this metric, one session answers through the graph and exactly (one copy of the rows).
    const graph = this.graphs.get(index);
    const key = graph?.metric === metric
      ? JSON.stringify(['graph', metric])
      : JSON.stringify([metric, options.mode ?? 'auto', options.exact ?? false, options.rerank ?? null, options.residentLimitBytes ?? null, options.windowBytes ?? null]);
    let session = byOptions.get(key);
    if (!session) {
      session = graph?.metric === metric
        ? await openAnnSearch(index, graph.source, { metric, ef: graph.ef, ...this.searchBackend })
        : await openSearchSession(index, { ...options, metric, ...this.searchBackend });
      byOptions.set(key, session);
    }
    return session;
  }

  /**
   * Search `index` through its graph index from now on (the bytes of `INDEX.ann`, made by `kmed
   * index --ann hnsw`, or a ByteSource over them): approximate and much faster on large indexes.
   * The graph is checked against the index now (ANN_INDEX_MISMATCH for one built for another
   * index, or for this one before it changed); it is read into the heap, verified whole, on the
   * first search. Searches with the graph's metric use it (`{ exact: true }` still scores every
   * row); searches with another metric are exact.
   */
  useGraph(index: VectorIndex, graph: Uint8Array | ByteSource, options: { ef?: number } = {}): void {
    this.checkIndex(index);
    const source = graph instanceof Uint8Array ? bytesSource(graph, `${index.name}.ann`) : graph;
    if (options.ef !== undefined) checkEf(options.ef);
    const header = checkGraphTarget(source, { fingerprint: index.fingerprint(), rows: index.count, dimension: index.dimension, metric: 'cosine', name: index.name, anyMetric: true });
    this.closeIndex(index);
    this.graphs.set(index, { source, metric: header.metric, ef: options.ef });
  }

  /** Forget the search sessions of `index` (its rows leave the heap). */
  closeIndex(index: VectorIndex): void {
    const byOptions = this.sessions.get(index);
    if (!byOptions) return;
    for (const session of byOptions.values()) session.dispose();
    this.sessions.delete(index);
  }

  /** The k passages of `index` most relevant to `query` (text or question vector), best first; by
   *  its graph when one was given (useGraph), with beam `ef`, unless `exact`. */
  async search(query: string | ArrayLike<number>, index: VectorIndex, k = 10, options: BiEncoderSearchOptions & AnnQueryOptions = {}): Promise<SearchHit[]> {
    checkOptions('BiEncoder.search', options);
    if (typeof query === 'string') checkQueryText(query);
    if (options.ef !== undefined) checkEf(options.ef);
    const { ef, ...sessionOptions } = options;
    const session = await this.openIndex(index, sessionOptions);
    const vector = typeof query === 'string' ? await this.encodeQueries(query) : query;
    return searchSession(session, index, vector, k, { ef, exact: options.exact });
  }

  /**
   * The k passages of `index` most relevant to each query (texts, encoded in batches, or question
   * vectors), best first: every query is scored in the same pass over the rows (a matrix–matrix
   * kernel), far faster than one search per query. Scores may differ from search()'s in the last
   * bits (another summation order); they do not depend on how many queries come together.
   */
  async searchMany(queries: ReadonlyArray<string> | ReadonlyArray<ArrayLike<number>>, index: VectorIndex, k = 10, options: BiEncoderSearchOptions & AnnQueryOptions & EncodeControl = {}): Promise<SearchHit[][]> {
    if (!Array.isArray(queries)) throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'searchMany takes an array of query texts or vectors');
    if (queries.length === 0) return [];
    const texts = queries.every((q) => typeof q === 'string');
    if (texts) (queries as string[]).forEach(checkQueryText);
    else if (queries.some((q) => typeof q === 'string')) throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'searchMany takes query texts or query vectors, not a mix');
    const { signal, onBatch, ef, ...sessionOptions } = checkOptions('BiEncoder.searchMany', options);
    const session = await this.openIndex(index, sessionOptions);
    const vectors = texts ? await this.encodeQueries(queries as string[], { signal, onBatch }) : (queries as ArrayLike<number>[]);
    return searchSessionMany(session, index, vectors, k, { ef, exact: options.exact });
  }

  /** Free both encoders and every search session. */
  dispose(): void {
    for (const index of [...this.sessions.keys()]) this.closeIndex(index);
    this.graphs.clear();
    this.question.dispose?.();
    this.context.dispose?.();
  }
}

/** The two repos of BiEncoder.fromPretrained, defaults filled in and checked to be strings. */
export function pretrainedRepos(
  ids: PretrainedIds | undefined,
  call: 'BiEncoder.fromPretrained ids' | 'WorkerBiEncoder.fromPretrained ids' = 'BiEncoder.fromPretrained ids',
): { question: string; context: string } {
  if (ids != null && typeof ids !== 'object') {
    throw new BiEncoderError('BI_ENCODER_BAD_INPUT', 'BiEncoder.fromPretrained takes { question?: hub id, context?: hub id }');
  }
  if (ids != null) checkOptions(call, ids);
  return { question: ids?.question ?? DEFAULT_PRETRAINED.question, context: ids?.context ?? DEFAULT_PRETRAINED.context };
}

/** Throws BiEncoderError (EMPTY_QUERY) for a query with nothing but whitespace: it has no meaning
 *  to rank by, and its embedding would still rank passages as if it had one. */
export function checkQueryText(query: string): void {
  if (query.trim() === '') {
    throw new BiEncoderError('EMPTY_QUERY', 'the query is empty (or only whitespace): give a question to search for');
  }
}

/** What an index must match to be searched: the query side's dimension and pooling, and the model
 *  identities where known (null or absent: not checked). */
export interface IndexExpectation {
  dimension: number;
  pooling: Pooling;
  question?: ModelIdentity | null;
  context?: ModelIdentity | null;
}

/** Throws IndexError (INDEX_DIMENSION_MISMATCH, INDEX_MODEL_MISMATCH, INDEX_POOLING_MISMATCH) when
 *  `index` was not built for the models described by `expected`. */
export function checkIndexCompatibility(index: VectorIndex, expected: IndexExpectation): void {
  const meta: IndexMeta = index.meta;
  const rebuild = 'rebuild it with `kmed index` using these models, or search with the models it was built with';
  if (index.dimension !== expected.dimension) {
    throw new IndexError(
      'INDEX_DIMENSION_MISMATCH',
      `${index.name} holds ${index.dimension}-dimensional vectors (context model ${meta.context_model.name}) ` +
        `but the question encoder gives ${expected.dimension}: ${rebuild}`,
    );
  }
  for (const role of ['context', 'question'] as const) {
    const recorded = role === 'context' ? meta.context_model : meta.question_model;
    const ours = expected[role] ?? null;
    if (recorded !== null && ours !== null && recorded.fingerprint !== ours.fingerprint) {
      throw new IndexError(
        'INDEX_MODEL_MISMATCH',
        `${index.name} was built for ${role} model ${recorded.name} (${shortFingerprint(recorded.fingerprint)}) ` +
          `but this ${role} model is ${ours.name} (${shortFingerprint(ours.fingerprint)}): ${rebuild}`,
      );
    }
  }
  if (meta.pooling !== expected.pooling) {
    throw new IndexError(
      'INDEX_POOLING_MISMATCH',
      `${index.name} holds '${meta.pooling}'-pooled vectors but queries would use '${expected.pooling}': ` +
        `use pooling '${meta.pooling}' or rebuild the index`,
    );
  }
}
