// Owns: the public surface of src/tokenizer/ (what src/index.ts re-exports).
export { BertTokenizer, type EncodeOptions, type TokenizerFiles } from './tokenizer.js';
export type { Encoding } from './encoding.js';
export { TokenizerError } from './errors.js';
export type { FileContents } from './utf8.js';
