// Owns: `kmed synth --seed question|context --out DIR [--vocab FILE]` — writes the deterministic
// full-size synthetic BERT (klue/bert-base shape, test/fixtures/README.md's rule) as an ordinary
// Hugging Face model folder: config.json, model.safetensors (F32, streamed one 4 MiB chunk at a
// time, so memory stays flat), tokenizer_config.json and special_tokens_map.json with klue's
// settings, and vocab.txt copied from --vocab. Prints the model's sha256 as the README defines it
// (over sorted names + float32 bytes — not the file's own sha256), computed in the same pass.
//
// Why no default vocabulary: the synthetic weights say nothing about tokens, and the only
// vocabulary at hand is a test fixture that must not be read at run time. Without --vocab the
// folder has no vocab.txt (a note on stderr says so); weights-only uses (loading, benchmarks on ids)
// work, and tokenizing needs a vocab.txt of at most vocab_size (32000) tokens added later.
// Every file is written under a temporary name, fsynced and renamed, so a failure (a full disk)
// never leaves a truncated file under a real name.
// Does not own the rule (synthetic.ts) or the format (safetensors.ts).
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { parseBertConfig } from '../model/config.js';
import { KmedError } from '../errors/errors.js';
import { fileSystemError, makeDirectory } from '../node/fs/fs-errors.js';
import { assertRegularFile } from '../node/fs/regular-file.js';
import { writeSafetensors } from '../formats/safetensors.js';
import { SYNTHETIC_BASE_CONFIG, syntheticSafetensorsTensors } from '../model/synthetic.js';

export class SynthError extends KmedError {}

export const SYNTH_SEEDS = ['question', 'context'] as const;

/** klue/bert-base's tokenizer_config.json (as in test/fixtures/tokenizer/). */
export const KLUE_TOKENIZER_CONFIG = {
  do_lower_case: false,
  do_basic_tokenize: true,
  never_split: null,
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
  tokenize_chinese_chars: true,
  strip_accents: null,
  model_max_length: 512,
  tokenizer_class: 'BertTokenizer',
};

export const KLUE_SPECIAL_TOKENS_MAP = {
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
};

export interface SynthFolderResult {
  dir: string;
  /** The README's model hash (sorted names + float32 LE bytes). */
  sha256: string;
  safetensorsBytes: number;
  /** Tokens in the copied vocab.txt, or null when none was written. */
  vocabTokens: number | null;
}

/** Write the synthetic model folder. Node only; throws SynthError naming the file at fault. */
export function writeSyntheticFolder(seed: string, dir: string, vocabPath?: string): SynthFolderResult {
  const config = parseBertConfig(SYNTHETIC_BASE_CONFIG, 'synthetic-base config');
  // Read the vocabulary first so a bad --vocab fails before 440 MB are written.
  let vocab: Uint8Array | undefined;
  let vocabTokens: number | null = null;
  if (vocabPath !== undefined) {
    try {
      assertRegularFile(vocabPath, 'vocabulary');
      vocab = readFileSync(vocabPath);
    } catch (error) {
      throw new SynthError('SYNTH_VOCAB_UNREADABLE', fileSystemError(error, vocabPath, 'read the vocabulary').message, { cause: error });
    }
    const lines = new TextDecoder().decode(vocab).split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    vocabTokens = lines.length;
    if (vocabTokens === 0 || vocabTokens > config.vocab_size) {
      throw new SynthError('SYNTH_VOCAB_SIZE', `${vocabPath}: ${vocabTokens} tokens; the synthetic model's vocab_size is ${config.vocab_size}, so a vocabulary needs 1..${config.vocab_size} tokens`);
    }
  }

  makeDirectory(dir, 'create the model folder');
  let bytes = 0;
  const hash = createHash('sha256');
  writeAtomically(join(dir, 'model.safetensors'), (write) => {
    writeSafetensors(
      (chunk) => {
        write(chunk);
        bytes += chunk.length;
      },
      syntheticSafetensorsTensors(seed, config, { update: (b) => void hash.update(b), digestHex: () => hash.digest('hex') }),
      { format: 'pt', kmed_synthetic_seed: seed },
    );
  });
  const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  const small: Array<[string, Uint8Array]> = [
    ['config.json', json(SYNTHETIC_BASE_CONFIG)],
    ['tokenizer_config.json', json(KLUE_TOKENIZER_CONFIG)],
    ['special_tokens_map.json', json(KLUE_SPECIAL_TOKENS_MAP)],
  ];
  if (vocab) small.push(['vocab.txt', vocab]);
  for (const [name, data] of small) writeAtomically(join(dir, name), (write) => write(data));
  return { dir, sha256: hash.digest('hex'), safetensorsBytes: bytes, vocabTokens };
}

/** Write `path` through `<path>.part`: fill, fsync, rename. On failure the .part file is removed and
 *  the error is a KmedError naming the file. */
function writeAtomically(path: string, fill: (write: (bytes: Uint8Array) => void) => void): void {
  const partPath = `${path}.part`;
  let fd: number | undefined;
  try {
    fd = openSync(partPath, 'w');
    const out = fd;
    fill((chunk) => {
      for (let at = 0; at < chunk.length; ) at += writeSync(out, chunk, at, chunk.length - at);
    });
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(partPath, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      rmSync(partPath, { force: true });
    } catch {
      // Nothing was created (the folder is a file, or read-only): nothing to remove.
    }
    if (error instanceof KmedError) throw error;
    const why = fileSystemError(error, path, 'write the file');
    throw new SynthError('SYNTH_WRITE_FAILED', why.message, { cause: why });
  }
}

export function register(program: Command): void {
  program
    .command('synth')
    .description('write the deterministic full-size synthetic BERT (klue/bert-base shape, 110M params) as a Hugging Face model folder')
    .addOption(new Option('--seed <seed>', 'which synthetic model').choices(SYNTH_SEEDS).makeOptionMandatory())
    .requiredOption('--out <dir>', 'folder to write (created if needed; files in it are replaced)')
    .option('--vocab <file>', `vocab.txt to copy into the folder (at most ${SYNTHETIC_BASE_CONFIG.vocab_size} tokens); without it no vocab.txt is written`)
    .action((flags: { seed: string; out: string; vocab?: string }) => {
      const started = performance.now();
      const result = writeSyntheticFolder(flags.seed, flags.out, flags.vocab);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${result.sha256}  ${flags.seed} (synthetic-rule sha256: sorted tensor names + float32 LE bytes)\n`);
      process.stderr.write(`kmed synth: wrote ${result.dir} (model.safetensors ${(result.safetensorsBytes / 1e6).toFixed(1)} MB) in ${seconds} s\n`);
      if (result.vocabTokens === null) {
        process.stderr.write('kmed synth: no --vocab given, so the folder has no vocab.txt; add one (<= 32000 tokens) before tokenizing text with it\n');
      }
    });
}
