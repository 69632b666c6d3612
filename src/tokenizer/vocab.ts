// Owns: parsing vocab.txt into the token <-> id tables, as tokenizers' `WordPiece::read_file` does:
// one token per line, id = line index (0-based), "\n" or "\r\n" line ends, no empty line made by the
// final newline, trailing whitespace of each line trimmed (Rust `str::trim_end`).
// Does not own: how ids are looked up while tokenizing (wordpiece.ts) or which tokens are special
// (config.ts). Stricter than HF on purpose: an empty file and a token on two lines are errors (HF
// would silently keep the later id and leave a hole in the id space).
import { TokenizerError } from './errors.js';
import { WHITESPACE, charFlags } from './unicode.js';
import { type FileContents, decodeText } from './utf8.js';

export class Vocab {
  /** Token of each id; `tokens.length` is the vocabulary size. */
  readonly tokens: readonly string[];
  /** Id of each token. */
  readonly ids: ReadonlyMap<string, number>;
  /** Where the vocabulary came from, for error messages. */
  readonly fileName: string;

  constructor(tokens: readonly string[], fileName: string) {
    const ids = new Map<string, number>();
    for (let id = 0; id < tokens.length; id++) {
      const token = tokens[id];
      const earlier = ids.get(token);
      if (earlier !== undefined) {
        throw new TokenizerError(
          'TOKENIZER_DUPLICATE_TOKEN',
          `${fileName}: token ${JSON.stringify(token)} appears on line ${earlier + 1} and again on line ${id + 1}`,
        );
      }
      ids.set(token, id);
    }
    if (tokens.length === 0) throw new TokenizerError('TOKENIZER_EMPTY_VOCAB', `${fileName}: the vocabulary is empty`);
    this.tokens = tokens;
    this.ids = ids;
    this.fileName = fileName;
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Parse vocab.txt contents. */
  static parse(contents: FileContents, fileName = 'vocab.txt'): Vocab {
    const text = decodeText(contents, fileName);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return new Vocab(lines.map(trimEnd), fileName);
  }
}

/** Rust `str::trim_end`: drop trailing White_Space (JavaScript's trimEnd differs: U+FEFF, U+0085). */
function trimEnd(line: string): string {
  let end = line.length;
  // Every White_Space character is in the BMP, so code units are enough here.
  while (end > 0 && (charFlags(line.charCodeAt(end - 1)) & WHITESPACE) !== 0) end--;
  return end === line.length ? line : line.slice(0, end);
}
