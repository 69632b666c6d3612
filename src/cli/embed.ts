// Owns: `kmed embed` — JSON lines in on stdin ({"text": ...}, or {"ids": [...]} to bypass the
// tokenizer), one {"embedding": [...]} line out per input line, in order. Lines are embedded in
// chunks so memory stays bounded on long inputs; blank lines are skipped. A bad line stops the run
// with one error naming its line number, after the lines before it have been written. Stdin is
// read by ../node/utf8-lines.ts: invalid UTF-8 is refused (line and byte offset), a leading BOM skipped.
// Does not own the model (encoder.ts) or loading (node/encoder.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { checkTokenIds, EncoderError } from '../encoder.js';
import { Encoder } from '../node/encoder.js';
import { readUtf8Lines } from '../node/text-input/utf8-lines.js';
import { assertStdinNotFolder } from '../node/fs/regular-file.js';
import { addEncoderOptions } from './model-options.js';
import { checkPooling, POOLINGS, type Pooling } from '../model/pooling.js';

interface EmbedCliOptions {
  model: string;
  dtype?: 'f32' | 'f16' | 'int8';
  threads?: number;
  pooling: string;
  maxLength?: number;
  batchSize: number;
}

type Item = { line: number; text: string } | { line: number; ids: Int32Array };

export function register(program: Command): void {
  const command = program
    .command('embed')
    .description('embed JSON lines from stdin ({"text": "..."} or {"ids": [...]}) into {"embedding": [...]} lines')
    .requiredOption('--model <dir>', 'Hugging Face model folder (config.json, vocab.txt, model.safetensors, ...)')
    .option('--pooling <kind>', `how to pool the token vectors: ${POOLINGS.join('|')}`, 'pooler')
    .option('--max-length <n>', 'truncate texts to n tokens ([CLS] and [SEP] included; default 512)', positiveInt)
    .option('--batch-size <n>', 'sequences per forward pass', positiveInt, 8);
  addEncoderOptions(command).action(async (options: EmbedCliOptions) => {
    const pooling = checkPooling(options.pooling);
    assertStdinNotFolder();
    const encoder = await Encoder.fromDirectory(options.model, { dtype: options.dtype, threads: options.threads });
    await embedStream(encoder, pooling, options);
  });
}

function positiveInt(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

async function embedStream(encoder: Encoder, pooling: Pooling, options: EmbedCliOptions): Promise<void> {
  // Enough lines per chunk that length-sorting inside `embed` still finds similar lengths.
  const chunkSize = Math.max(64, options.batchSize * 8);
  let pending: Item[] = [];
  try {
    for await (const { text: raw, line } of readUtf8Lines(process.stdin, 'stdin')) {
      if (raw.trim() === '') continue;
      pending.push(parseLine(raw, line, encoder));
      if (pending.length >= chunkSize) {
        await flush(encoder, pending, pooling, options);
        pending = [];
      }
    }
  } catch (error) {
    // A bad line (not UTF-8, not JSON, ...): the lines before it are still written.
    await flush(encoder, pending, pooling, options);
    throw error;
  }
  await flush(encoder, pending, pooling, options);
}

function parseLine(raw: string, line: number, encoder: Encoder): Item {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new EncoderError('ENCODER_BAD_INPUT', `stdin line ${line}: not valid JSON (${(cause as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EncoderError('ENCODER_BAD_INPUT', `stdin line ${line}: expected an object with "text" or "ids"`);
  }
  const obj = value as Record<string, unknown>;
  if ('text' in obj && 'ids' in obj) {
    throw new EncoderError('ENCODER_BAD_INPUT', `stdin line ${line}: give "text" or "ids", not both`);
  }
  if ('text' in obj) {
    if (typeof obj.text !== 'string') throw new EncoderError('ENCODER_BAD_INPUT', `stdin line ${line}: "text" must be a string`);
    return { line, text: obj.text };
  }
  if ('ids' in obj) {
    if (!Array.isArray(obj.ids)) throw new EncoderError('ENCODER_BAD_INPUT', `stdin line ${line}: "ids" must be an array of token ids`);
    return { line, ids: checkTokenIds(obj.ids, encoder.config, `stdin line ${line}: "ids"`) };
  }
  throw new EncoderError('ENCODER_BAD_INPUT', `stdin line ${line}: expected an object with "text" or "ids"`);
}

async function flush(encoder: Encoder, items: Item[], pooling: Pooling, options: EmbedCliOptions): Promise<void> {
  if (items.length === 0) return;
  const texts: string[] = [];
  const ids: Int32Array[] = [];
  for (const item of items) {
    if ('text' in item) texts.push(item.text);
    else ids.push(item.ids);
  }
  const common = { pooling, batchSize: options.batchSize };
  const fromTexts = texts.length ? await encoder.embed(texts, { ...common, maxLength: options.maxLength }) : [];
  const fromIds = ids.length ? await encoder.embedIds(ids, common) : [];
  let t = 0;
  let i = 0;
  const out: string[] = [];
  for (const item of items) {
    const v = 'text' in item ? fromTexts[t++] : fromIds[i++];
    out.push(`{"embedding":[${Array.from(v, formatF32).join(',')}]}\n`);
  }
  await write(out.join(''));
}

/** The shortest decimal that reads back as the same float32 (JSON numbers are doubles, so the
 *  default printing of a widened f32 carries ~17 meaningless digits). */
export function formatF32(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  for (let p = 6; p < 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(Number(v.toPrecision(9)));
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
