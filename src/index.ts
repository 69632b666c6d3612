// Owns: the runtime-neutral public entry of kmed-dpr (browsers, Deno, Bun, Node without the file
// helpers). Only re-exports; the Node entry (node/index.ts) adds path-based loading on top.
// One line per module: keep it that way so helpers can add theirs without conflicts.
export { KmedError, type KmedErrorCode } from './errors/errors.js';
export { bytesSource, type ByteSource } from './formats/byte-source.js';
export { DEFAULT_MAX_BATCH_TOKENS, Encoder, EncoderError, checkTokenIds, type EmbedBatch, type EmbedChunk, type PretrainedEncoderOptions, type EmbedOptions, type EncoderFiles, type EncoderOptions, type EncoderParts, type FileContent } from './encoder.js';
export { BertTokenizer, TokenizerError, type EncodeOptions, type Encoding, type TokenizerFiles } from './tokenizer/index.js';
export { POOLINGS, type Pooling } from './model/pooling.js';
export { bertForward, bertForwardWith, type BertForwardOptions, type BertInput, type BertOutput } from './model/bert.js';
export { BiEncoder, BiEncoderError, DEFAULT_PRETRAINED, type EncodeControl, type PretrainedBiEncoderOptions, type PretrainedIds, MODEL_CARD_EXAMPLE, checkIndexCompatibility, openSearchSession, searchSession, type BiEncoderOptions, type EmbeddingModel, type FromEncodersOptions, type IndexExpectation, type SearchHit } from './bi-encoder.js';
export { ExactSearch, SimilarityError, TopK, cosine, dot, l2Norm, normalized, normalizeInPlace, scoreMatrix, similarity, topK, type Metric, type Scored } from './search/similarity.js';
export { IndexError, VectorIndex, computeLayout, encodeHeader, serializeIndex, INDEX_FORMAT_VERSION, type IndexEntries, type IndexEntry, type IndexLayout, type IndexMeta } from './search/vector-index.js';
export { modelFingerprint, ModelIdentityError, weightsSha256, type FingerprintOptions, type ModelIdentity } from './model-identity.js';
export { SafetensorsError, parseSafetensorsHeader, readTensorF32, serializeSafetensors, writeSafetensors, type SafetensorsHeader, type SkippedTensor, type TensorInfo, type TensorToWrite } from './formats/safetensors.js';
export { ConfigError, parseBertConfig, type BertConfig } from './model/config.js';
export { loadBertParams, loadBertParamsFromTensors, safetensorsTensorSource, type LoadedBertParams, type LoadOptions, type TensorSource, type WeightsSummary } from './model/weights.js';
export { SYNTHETIC_BASE_CONFIG, fillSynthetic, syntheticModelSha256, syntheticTensor, syntheticTensorSource } from './model/synthetic.js';
export { Sha256, type Hasher } from './formats/sha256.js';
export { AbortError } from './errors/abort-error.js';
export { DownloadError, type DownloadErrorCode } from './hub/download-error.js';
export { MemoryBlobWriter, NoCache, type BlobWriter, type CachedFile, type HubCache } from './hub/cache.js';
export { CacheApiStore, DEFAULT_BROWSER_CACHE_NAME } from './hub/browser-cache.js';
export { fetchSnapshot, OPTIONAL_FILES, REQUIRED_FILES, type HubOptions, type ModelSnapshot } from './hub/snapshot.js';
export { type PretrainedOptions } from './hub/load.js';
export { type HubProgressEvent, type HubProgressCallback, type SnapshotFileInfo } from './hub/progress.js';
export { DEFAULT_ENDPOINT, isCommitHash } from './hub/repo.js';
export { type RepoFile } from './hub/client.js';
export { KernelError } from './kernels/kernel-error.js';
export { DEFAULT_RESIDENT_LIMIT_BYTES, checkQueryText, searchSessions, type SearchSessionOptions } from './bi-encoder.js';
export { DEFAULT_WINDOW_BYTES, StreamingSearch, type SearchSession } from './search/similarity.js';
export { crc32c } from './formats/checksum.js';
export { BlockChecksums, CHECKSUM_BLOCK_BYTES, checksumTable, type SectionName, type ShardInfo } from './search/vector-index.js';
export { pickMode, searchSessionMany, searchSessionsMany, type IndexSearchOptions as BiEncoderSearchOptions } from './bi-encoder.js';
export { IndexSearch, DEFAULT_STREAM_WINDOW_BYTES, defaultRerank, type IndexSearchOptions } from './search/index-search.js';
export { TopKSelector } from './search/top-k.js';
export { IndexEncoder, encodeStrings, type IndexWrite } from './search/index-encoder.js';
export { SCAN_DTYPES, SECTIONS, type ScanDtype } from './search/index-layout.js';
export { xxh32, Xxh32 } from './formats/checksum.js';
