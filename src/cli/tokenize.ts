// Owns: `kmed tokenize` — JSON lines {"text": "..."} on stdin, one {"ids": [...]} line per input on
// stdout, in order ([CLS] … [SEP]; no truncation unless --max-length). Blank lines are skipped.
// A bad line (not JSON, no string "text") stops the run with one error naming its line number,
// after the lines before it were written; the exit code is then 1. Stdin is read by
// ../node/utf8-lines.ts: invalid UTF-8 is refused (line and byte offset), a leading BOM skipped.
// Does not own: tokenization (src/tokenizer/) or loading (src/node/model-files/tokenizer-files.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { loadTokenizerFromDirectory } from '../node/model-files/tokenizer-files.js';
import { readUtf8Lines } from '../node/text-input/utf8-lines.js';
import { assertStdinNotFolder } from '../node/fs/regular-file.js';
import { TokenizerError } from '../tokenizer/errors.js';

interface TokenizeCliOptions {
  model: string;
  maxLength?: number;
}

export function register(program: Command): void {
  program
    .command('tokenize')
    .description('tokenize JSON lines from stdin ({"text": "..."}) into {"ids": [...]} lines')
    .requiredOption('--model <dir>', 'model folder with vocab.txt (and tokenizer_config.json, special_tokens_map.json, tokenizer.json)')
    .option('--max-length <n>', 'truncate to n ids, [CLS] and [SEP] included (default: no truncation)', atLeastTwo)
    .action(async (options: TokenizeCliOptions) => {
      assertStdinNotFolder();
      const tokenizer = loadTokenizerFromDirectory(options.model);
      const maxLength = options.maxLength ?? Infinity;
      let buffered = '';
      try {
        for await (const { text: raw, line } of readUtf8Lines(process.stdin, 'stdin')) {
          if (raw.trim() === '') continue;
          const text = parseLine(raw, line);
          buffered += `{"ids":[${tokenizer.encode(text, { maxLength }).ids.join(',')}]}\n`;
          // Write in blocks: one write per line would dominate on large inputs.
          if (buffered.length > 1 << 16) {
            if (!process.stdout.write(buffered)) await new Promise((resolve) => process.stdout.once('drain', resolve));
            buffered = '';
          }
        }
      } catch (error) {
        // A bad line (not UTF-8, not JSON, ...): the lines before it are still written.
        process.stdout.write(buffered);
        throw error;
      }
      process.stdout.write(buffered);
    });
}

function atLeastTwo(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 2) throw new InvalidArgumentError('expected an integer >= 2 (room for [CLS] and [SEP])');
  return Number(value);
}

function parseLine(raw: string, line: number): string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new TokenizerError('TOKENIZER_BAD_INPUT', `stdin line ${line}: not valid JSON (${(cause as Error).message})`);
  }
  const text = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>).text : undefined;
  if (typeof text !== 'string') {
    throw new TokenizerError('TOKENIZER_BAD_INPUT', `stdin line ${line}: expected an object with a string "text"`);
  }
  return text;
}
