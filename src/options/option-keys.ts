// Owns: the declared option keys of every public call that takes an options object, in one table
// (OPTION_KEYS, by call name) built from the key lists of the option interfaces (OPTION_GROUPS).
// A typo such as `{ polling: 'cls' }` would otherwise be ignored silently; check-options.ts refuses
// any key not listed here for the call.
// Each group must list exactly the keys of its TypeScript interface: the module that declares the
// interface asserts it at compile time (`SameKeys`, check-options.ts), so a key added to an
// interface and not here fails the typecheck instead of being refused at run time. Plain strings,
// no imports: every module may import this one without a cycle.
// Does not own the checking itself (check-options.ts) or what an option means (its interface).

/** The keys of each options interface, by interface. */
export const OPTION_GROUPS = {
  /** EncoderOptions (encoder.ts). */
  encoder: ['backend', 'wasmBytes', 'threads', 'wasmThreadsBytes', 'simd', 'dtype', 'wordEmbeddings', 'allowNonFinite', 'webgpu', 'onBackendFallback'],
  /** PretrainedOptions = HubOptions + cache, cacheDir (hub/load.ts, hub/snapshot.ts). */
  pretrained: ['revision', 'endpoint', 'token', 'offline', 'onProgress', 'signal', 'fetch', 'timeoutMs', 'stallTimeoutMs', 'retries', 'retryDelayMs', 'minBytesPerSecond', 'maxAttempts', 'deadlineMs', 'maxListingBytes', 'cache', 'cacheDir'],
  /** EmbedOptions (encoder.ts). */
  embed: ['pooling', 'maxLength', 'batchSize', 'maxBatchTokens', 'normalize', 'signal', 'onBatch'],
  /** BiEncoderOptions minus EncoderOptions (bi-encoder.ts). */
  biEncoder: ['pooling', 'maxLength', 'batchSize', 'names'],
  /** FromEncodersOptions (bi-encoder.ts). */
  fromEncoders: ['pooling', 'maxLength', 'batchSize', 'identity', 'backend', 'wasmBytes', 'threads'],
  /** EncodeOptions of encodeQueries / encodePassages (bi-encoder.ts). */
  encode: ['signal', 'onBatch', 'normalize'],
  /** ScoreOptions (bi-encoder.ts): score. */
  score: ['metric'],
  /** BiEncoderSearchOptions (bi-encoder.ts): openIndex, search, searchMany. */
  biEncoderSearch: ['metric', 'mode', 'exact', 'rerank', 'residentLimitBytes', 'windowBytes'],
  /** AnnQueryOptions (search/ann/ann-search.ts): per-query settings of a graph search. */
  annQuery: ['ef', 'exact'],
  /** SearchSessionOptions (search/search-sessions.ts). */
  searchSession: ['metric', 'kind', 'wasmBytes', 'threads', 'mode', 'residentLimitBytes', 'windowBytes', 'exact', 'rerank'],
  /** PretrainedIds (bi-encoder.ts). */
  pretrainedIds: ['question', 'context'],
  /** BiEncoderLocations (node/bi-encoder.ts). */
  locations: ['question', 'context', 'weightsRoot'],
  /** ModelLocation (node/bi-encoder.ts). */
  modelLocation: ['model', 'weightsRoot', 'hubCacheDir'],
  /** WorkerOptions (worker/client.ts). */
  worker: ['createWorker'],
  /** KmedEmbeddingsParams (langchain/embeddings.ts), LangChain's AsyncCallerParams included. */
  langchain: ['biEncoder', 'chunkSize', 'maxConcurrency', 'maxRetries', 'onFailedAttempt'],
} as const satisfies Record<string, readonly string[]>;

const G = OPTION_GROUPS;
const without = <K extends string>(keys: readonly K[], ...drop: string[]): K[] => keys.filter((k) => !drop.includes(k));

/** The keys each public call accepts, by the name its errors give it. Loaders that forward their
 *  options (fromPretrained: hub options + encoder options) accept the union. */
export const OPTION_KEYS = {
  'Encoder.fromFiles': G.encoder,
  'Encoder.fromDirectory': G.encoder,
  'Encoder.fromPretrained': [...G.encoder, ...G.pretrained],
  'Encoder.fromSnapshot': [...G.encoder, ...G.pretrained],
  'Encoder.embed': G.embed,
  'Encoder.embedIds': without(G.embed, 'maxLength'),
  'Encoder.embedStream': without(G.embed, 'onBatch'),
  BiEncoder: G.fromEncoders,
  'BiEncoder.fromFiles': [...G.encoder, ...G.biEncoder],
  'BiEncoder.fromDirectories': [...G.encoder, ...G.biEncoder],
  'BiEncoder.fromDirectories locations': G.locations,
  'BiEncoder.fromPretrained': [...G.encoder, ...G.biEncoder, ...G.pretrained],
  'BiEncoder.fromPretrained ids': G.pretrainedIds,
  'BiEncoder.encodeQueries': G.encode,
  'BiEncoder.encodePassages': G.encode,
  'BiEncoder.encodePassagesStream': without(G.encode, 'onBatch'),
  'BiEncoder.score': G.score,
  'BiEncoder.openIndex': G.biEncoderSearch,
  'BiEncoder.search': [...G.biEncoderSearch, 'ef'],
  'BiEncoder.searchMany': [...G.biEncoderSearch, 'ef', 'signal', 'onBatch'],
  openSearchSession: G.searchSession,
  loadEncoder: [...G.encoder, ...G.biEncoder],
  'loadEncoder location': G.modelLocation,
  loadPretrainedEncoder: [...G.encoder, ...G.pretrained],
  'WorkerEncoder.fromFiles': [...G.encoder, ...G.worker],
  'WorkerEncoder.embed': G.embed,
  'WorkerEncoder.embedIds': without(G.embed, 'maxLength'),
  'WorkerBiEncoder.fromFiles': [...G.encoder, ...G.biEncoder, ...G.worker],
  'WorkerBiEncoder.fromPretrained': [...G.encoder, ...G.biEncoder, ...G.pretrained, ...G.worker],
  'WorkerBiEncoder.fromPretrained ids': G.pretrainedIds,
  'WorkerBiEncoder.encodeQueries': G.encode,
  'WorkerBiEncoder.encodePassages': G.encode,
  'WorkerBiEncoder.encodePassagesStream': without(G.encode, 'onBatch'),
  'WorkerBiEncoder.score': G.score,
  'WorkerBiEncoder.search': [...G.score, ...G.annQuery],
  KmedEmbeddings: G.langchain,
} as const satisfies Record<string, readonly string[]>;

/** A call whose options are checked (the name its errors give it). */
export type OptionCall = keyof typeof OPTION_KEYS;
