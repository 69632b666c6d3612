// Owns: the Node entry of kmed-dpr (package.json exports "node"): everything the neutral entry
// exports, with `Encoder` replaced by the subclass that adds `fromDirectory(dir)` (and whose
// `fromPretrained` uses the Hugging Face cache folder, hub-cache.ts).
// One line per module, like ../index.ts.
export * from '../index.js';
export { Encoder } from './encoder.js';
export { BiEncoder, loadBiEncoder, loadEncoder, loadPretrainedEncoder, modelIdentityOfDirectory, resolveModelDir, DEFAULT_CONTEXT_MODEL, DEFAULT_QUESTION_MODEL, type BiEncoderLocations } from './bi-encoder.js';
export { buildIndex, IndexBuildError, type IndexBuildOptions, type IndexBuildResult } from './indexing/index-builder.js';
export { CorpusError } from './text-input/corpus-reader.js';
export { fileSource, FileSourceError, type FileByteSource } from './fs/file-source.js';
export { loadTokenizerFromDirectory } from './model-files/tokenizer-files.js';
export { HfFileCache, defaultHubCacheDir, findCachedSnapshot, repoFolderName } from './hub/hub-cache.js';
export { cachedWeightsSha256, recordWeightsSha256 } from './model-files/model-fingerprint.js';
export { annPath, openAnnFile, writeAnnFile } from './indexing/ann-file.js';
