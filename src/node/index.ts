// Owns: the Node entry of kmed-dpr (package.json exports "node"): everything the neutral entry
// exports, with `Encoder` replaced by the subclass that adds `fromDirectory(dir)` (and whose
// `fromPretrained` uses the Hugging Face cache folder, hub-cache.ts).
// One line per module, like ../index.ts.
export * from '../index.js';
export { Encoder } from './encoder.js';
export { BiEncoder, loadBiEncoder, loadEncoder, loadPretrainedEncoder, modelIdentityOfDirectory, resolveModelDir, DEFAULT_CONTEXT_MODEL, DEFAULT_QUESTION_MODEL, type BiEncoderLocations } from './bi-encoder.js';
export { buildIndex, IndexBuildError, type IndexBuildOptions, type IndexBuildResult } from './index-builder.js';
export { CorpusError } from './corpus-reader.js';
export { fileSource, FileSourceError, type FileByteSource } from './file-source.js';
export { loadTokenizerFromDirectory } from './tokenizer-files.js';
export { HfFileCache, defaultHubCacheDir, findCachedSnapshot, repoFolderName } from './hub-cache.js';
export { cachedWeightsSha256, recordWeightsSha256 } from './model-fingerprint.js';
