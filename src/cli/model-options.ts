// Owns: what the product commands (similarity, index, search, verify) share on the command line —
// the --question-model / --context-model / --json flags, number parsing, and the plain-text table
// they print. Not a subcommand itself (nothing to register). Does not own loading models
// (../node/bi-encoder.ts).
import { InvalidArgumentError, type Command } from 'commander';

export interface ModelFlags {
  questionModel?: string;
  contextModel?: string;
  json?: boolean;
  dtype?: 'f32' | 'f16' | 'int8';
  threads?: number;
}

const DTYPES = ['f32', 'f16', 'int8'] as const;

/** Adds --dtype (how the weights are held: f32, f16 or int8; see EncoderOptions.dtype) and --threads
 *  (EncoderOptions.threads; default: one per core) to `command`. */
export function addEncoderOptions(command: Command): Command {
  return command
    .option('--threads <n>', 'compute threads (default: one per CPU core; 1 where SharedArrayBuffer is unavailable)', positiveInt)
    .option('--dtype <dtype>', `weights in memory: ${DTYPES.join('|')} (int8: ~1/4 the memory and faster, pooler cosine vs f32 >= 0.999)`, (value: string) => {
      if (!(DTYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${DTYPES.join(', ')}, got '${value}'`);
      return value;
    });
}

/** Adds --question-model, --context-model and --json to `command`. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--question-model <dir>', 'question encoder: a model folder, or a hub id looked up in weights/<name>/ then in the Hugging Face cache (default: snumin44/medical-biencoder-ko-bert-question)')
    .option('--context-model <dir>', 'context encoder: a model folder, or a hub id looked up in weights/<name>/ then in the Hugging Face cache (default: snumin44/medical-biencoder-ko-bert-context)')
    .option('--json', 'print machine-readable JSON on stdout');
}

/** Commander parser for a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

/** Commander collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One line of a passage for a table: newlines folded, cut at `width` code points. */
export function oneLine(text: string, width = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= width ? flat : chars.slice(0, width - 1).join('') + '…';
}

/** Columns separated by two spaces, each padded to its widest cell (left-aligned). The last
 *  column is not padded, so long texts don't drag trailing spaces. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell))));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - displayWidth(cell)))).join('  '))
    .join('\n') + '\n';
}

// East Asian wide characters (Hangul, CJK) take two terminal columns.
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd) ? 2 : 1;
  }
  return w;
}

/** Score with 4 decimals (as on the model card); negative zero printed as 0.0000. */
export function fmtScore(x: number): string {
  const s = x.toFixed(4);
  return s === '-0.0000' ? '0.0000' : s;
}
