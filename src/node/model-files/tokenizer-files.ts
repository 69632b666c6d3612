// Owns: loading a BertTokenizer from a Hugging Face model folder on disk (Node only): vocab.txt
// (required), tokenizer_config.json, special_tokens_map.json and tokenizer.json when present.
// A missing vocab.txt or an unreadable file is a TokenizerError naming the path; anything but a
// regular file (a folder, a FIFO that would block the read) is refused before it is opened.
// Does not own: what the files mean (src/tokenizer/config.ts, vocab.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BertTokenizer } from '../../tokenizer/tokenizer.js';
import { TokenizerError } from '../../tokenizer/errors.js';
import { fileSystemError } from '../fs/fs-errors.js';
import { assertRegularFile } from '../fs/regular-file.js';

function read(path: string): Uint8Array {
  try {
    assertRegularFile(path, 'tokenizer file');
    return readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'FS_NOT_FOUND') throw new TokenizerError('TOKENIZER_MISSING_FILE', `${path}: no such file`, { cause });
    throw new TokenizerError('TOKENIZER_MISSING_FILE', fileSystemError(cause, path, 'read the tokenizer file').message, { cause });
  }
}

const readIfPresent = (path: string): Uint8Array | undefined => (existsSync(path) ? read(path) : undefined);

/** The tokenizer of the model folder `dir`. */
export function loadTokenizerFromDirectory(dir: string): BertTokenizer {
  const vocabPath = join(dir, 'vocab.txt');
  // Read before the try below: these errors already name their full path.
  const files = {
    vocab: read(vocabPath),
    tokenizerConfig: readIfPresent(join(dir, 'tokenizer_config.json')),
    specialTokensMap: readIfPresent(join(dir, 'special_tokens_map.json')),
    tokenizerJson: readIfPresent(join(dir, 'tokenizer.json')),
  };
  try {
    return BertTokenizer.fromFiles(files);
  } catch (error) {
    // The core names files by their bare names; prefix the folder so the message is actionable.
    if (error instanceof TokenizerError) throw new TokenizerError(error.code, `${dir}/${error.message}`, { cause: error });
    throw error;
  }
}
