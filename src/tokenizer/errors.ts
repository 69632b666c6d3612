// Owns: TokenizerError, the one error family of src/tokenizer/ and its Node adapter.
// Does not own: the wording of CLI output (src/cli/ prints `error.message` as is).
import { KmedError } from '../errors/errors.js';

/**
 * Thrown for a vocabulary or configuration that cannot give HF-identical ids, or for bad
 * arguments. `code` is one of:
 * TOKENIZER_MISSING_FILE, TOKENIZER_BAD_ENCODING (not UTF-8), TOKENIZER_EMPTY_VOCAB,
 * TOKENIZER_DUPLICATE_TOKEN, TOKENIZER_MISSING_SPECIAL_TOKEN, TOKENIZER_BAD_JSON,
 * TOKENIZER_BAD_CONFIG, TOKENIZER_UNSUPPORTED, TOKENIZER_VOCAB_MISMATCH, TOKENIZER_BAD_INPUT,
 * TOKENIZER_BAD_OPTION, TOKENIZER_BAD_ID.
 * The message names the file (vocab.txt, tokenizer_config.json, …), line or token at fault.
 */
export class TokenizerError extends KmedError {}
