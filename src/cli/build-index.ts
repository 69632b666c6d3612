// Owns: `kmed index --corpus FILE --out INDEX` — embeds a corpus with the context encoder into an
// index file, with a progress bar (passages/s, ETA), resumable after Ctrl-C or a crash (rerun the
// same command), exclusive (`INDEX.lock`), or one shard of it (`--shard I/N`, joined by `kmed
// merge`). The output is checked (not a directory, not the corpus, no stray INDEX.partial file) and
// the two encoders' dimensions compared before a model is loaded or a passage embedded. The
// progress clock starts before the first batch, so the closing rate is true. The context encoder
// runs on a thread of its own (../node/encoder-thread.ts): a forward pass holds its thread for its
// whole length, so on the main thread Ctrl-C (or `kill -INT`) could only be seen after the batch in
// flight. Here the first Ctrl-C stops at once: the batch in flight is abandoned, the last
// checkpoint stays valid (a rerun resumes), the bar's final state is drawn and then the one
// "progress is saved" line, nothing after it. `--vectors FILE.npy`
// imports embeddings computed elsewhere instead (row i = passage i; float32 or float16, C order;
// shape, dtype and every value checked, errors naming the file and row): no model is loaded, the
// context model is only fingerprinted, and the metadata records the file's name, sha256 and dtype.
// `--row-dtype f16|int8` also stores smaller scan rows. With `--ann hnsw` a graph index is built
// beside the new index (INDEX.ann); `kmed index --index INDEX --ann hnsw` adds one to an index
// already built (no model is loaded). Named build-index.ts so it is not mistaken for a barrel file.
// Does not own the build itself (../node/indexing/index-builder.ts, ann-options.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { addEncoderOptions, addModelOptions, positiveInt, type ModelFlags } from './model-options.js';
import { addAnnOptions, buildGraphFile, type AnnFlags } from './ann-options.js';

interface IndexFlags extends ModelFlags, AnnFlags {
  corpus?: string;
  out?: string;
  index?: string;
  batchSize?: number;
  force?: boolean;
  shard?: string;
  vectors?: string;
  rowDtype?: 'f16' | 'int8';
}

/** Passages per checkpoint when importing vectors: a checkpoint is an fsync, and importing is I/O. */
const IMPORT_BATCH = 8192;

export function register(program: Command): void {
  addEncoderOptions(addModelOptions(
    program
      .command('index')
      .description('embed a corpus (.txt: one passage per line; .jsonl: {"id","text"} per line) with the context encoder into an index file; rerun to resume')
      .option('--corpus <file>', 'corpus file (.txt or .jsonl)')
      .option('--out <index>', 'index file to write')
      .option('--index <index>', 'with --ann: add a graph index to this index, already built (no corpus, no model)')
      .option('--batch-size <n>', 'passages per forward pass and per checkpoint (default 32; 8192 with --vectors)', positiveInt)
      .option('--force', 'replace an existing index file (once the new one is complete)')
      .option('--shard <i/n>', 'build only slice I of N of the passages (0-based; e.g. $JOB_COMPLETION_INDEX/8), to join with kmed merge')
      .option('--vectors <file.npy>', 'import the passage vectors instead of embedding them: a float32 or float16 .npy of shape [passages, dimension], row i = passage i, made with the context model')
      .option('--row-dtype <dtype>', 'also store the rows as f16 or int8 (per-row scale) for a ~2-4× faster first pass, re-ranked in f32', (value: string) => {
        if (value !== 'f16' && value !== 'int8') throw new InvalidArgumentError(`expected f16 or int8, got '${value}'`);
        return value;
      }),
  ));
  addAnnOptions(program.commands[program.commands.length - 1]).action(async (flags: IndexFlags) => {
    if (flags.index !== undefined) {
      // A graph for an index already built: nothing else of `kmed index` applies.
      const { IndexBuildError } = await import('../node/indexing/index-builder.js');
      if (flags.ann === undefined || flags.corpus !== undefined || flags.out !== undefined || flags.shard !== undefined || flags.vectors !== undefined) {
        throw new IndexBuildError('INDEX_BAD_OPTION', '--index INDEX adds a graph to an index already built: give it with --ann hnsw, and without --corpus, --out, --vectors or --shard');
      }
      await buildGraphFile(flags.index, flags, flags.force ?? false);
      return;
    }
    if (flags.corpus === undefined || flags.out === undefined) {
      const { IndexBuildError } = await import('../node/indexing/index-builder.js');
      throw new IndexBuildError('INDEX_BAD_OPTION', `kmed index needs --corpus FILE and --out INDEX (or --index INDEX --ann hnsw to add a graph to an index)`);
    }
    if (flags.ann === undefined && (flags.annM !== undefined || flags.annEfConstruction !== undefined || flags.annSeed !== undefined || flags.metric !== undefined)) {
      const { IndexBuildError } = await import('../node/indexing/index-builder.js');
      throw new IndexBuildError('INDEX_BAD_OPTION', '--ann-m, --ann-ef-construction, --ann-seed and --metric set up a graph index: add --ann hnsw');
    }
    if (flags.ann !== undefined && flags.shard !== undefined) {
      const { IndexBuildError } = await import('../node/indexing/index-builder.js');
      throw new IndexBuildError('INDEX_BAD_OPTION', '--ann builds the graph of a whole index: build the shards, kmed merge them, then kmed index --index MERGED --ann hnsw');
    }
    const corpus = flags.corpus;
    const outPath = flags.out;
    const { modelIdentityOfDirectory, resolveModelDir } = await import('../node/bi-encoder.js');
    const { EncoderThread } = await import('../node/encoder-thread.js');
    const { buildIndex, checkOutput, IndexBuildError, parseShard, partialPath } = await import('../node/indexing/index-builder.js');
    const { createProgress } = await import('../node/progress.js');
    const { parseBertConfig } = await import('../model/config.js');
    const { existsSync, readFileSync } = await import('node:fs');
    const { basename, join } = await import('node:path');
    const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
    if (!existsSync(corpus)) throw new IndexBuildError('CORPUS_NOT_FOUND', `corpus ${corpus} not found`);
    // Before loading a 440 MB model: the answers do not depend on it.
    checkOutput(corpus, outPath, flags.force);
    const hiddenSize = (dir: string) => parseBertConfig(readFileSync(join(dir, 'config.json'), 'utf8'), join(dir, 'config.json')).hidden_size;

    // The question model is only recorded (so `kmed search` can refuse a mismatched pair); when the
    // default one is not downloaded the index simply does not name it.
    let question = null;
    let questionDir: string | null = null;
    try {
      questionDir = resolveModelDir('question', { model: flags.questionModel });
      question = await modelIdentityOfDirectory(questionDir);
    } catch (error) {
      if (flags.questionModel !== undefined) throw error;
    }
    // A pair that cannot search each other is refused before any passage is embedded.
    const contextDir = resolveModelDir('context', { model: flags.contextModel });
    let expectPassages: ((passages: number) => void) | undefined;
    if (questionDir !== null && hiddenSize(questionDir) !== hiddenSize(contextDir)) {
      throw new IndexBuildError('INDEX_MODEL_PAIR_MISMATCH',
        `the question model ${questionDir} gives ${hiddenSize(questionDir)}-dimensional vectors but the context model ` +
          `${contextDir} gives ${hiddenSize(contextDir)}: the two must be a matched pair`);
    }
    const pooling = 'pooler';
    const maxLength = 512;
    const batchSize = flags.batchSize ?? (flags.vectors !== undefined ? IMPORT_BATCH : 32);
    let source: ReturnType<typeof import('../node/fs/file-source.js')['fileSource']> | undefined;
    let model: { encoder?: { dispose(): void }; identity: Awaited<ReturnType<typeof modelIdentityOfDirectory>>; embed: (texts: string[], first: number) => Promise<Float32Array[]>; dimension: number; imported?: { file: string; sha256: string; dtype: string } };
    if (flags.vectors !== undefined) {
      // Imported vectors: the context model is fingerprinted (and its dimension read), never loaded.
      const { fileSource } = await import('../node/fs/file-source.js');
      const { NpyMatrix } = await import('../formats/npy.js');
      const { fileSha256 } = await import('../node/fs/file-hash.js');
      const { IndexError } = await import('../search/vector-index.js');
      source = fileSource(flags.vectors, 'vectors');
      const npy = NpyMatrix.open(source);
      if (npy.cols !== hiddenSize(contextDir)) {
        throw new IndexError('INDEX_VECTORS_MISMATCH', `${flags.vectors} holds ${npy.cols}-dimensional vectors but the context model ${contextDir} gives ${hiddenSize(contextDir)}: import vectors made with that model`);
      }
      const identity = await modelIdentityOfDirectory(contextDir);
      model = {
        identity,
        dimension: npy.cols,
        imported: { file: basename(flags.vectors), sha256: await fileSha256(flags.vectors), dtype: npy.dtype },
        embed: async (texts, first) => {
          const rows = new Float32Array(texts.length * npy.cols);
          npy.readRows(rows, first, texts.length);
          return Array.from({ length: texts.length }, (_, i) => rows.subarray(i * npy.cols, (i + 1) * npy.cols));
        },
      };
      const rows = npy.rows;
      expectPassages = (passages: number) => {
        if (passages !== rows) {
          throw new IndexError('INDEX_VECTORS_MISMATCH', `${corpus} holds ${passages} passages but ${flags.vectors} ${rows} vectors: row i of the .npy must be passage i of the corpus`);
        }
      };
    } else {
      const identity = await modelIdentityOfDirectory(contextDir);
      const encoder = await EncoderThread.start(contextDir, { dtype: flags.dtype, threads: flags.threads });
      model = { encoder, identity, dimension: encoder.dimension, embed: (texts) => encoder.embed(texts, { pooling, maxLength, batchSize }) };
    }
    const { identity } = model;
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      // First Ctrl-C: stop now — the batch in flight is abandoned, the checkpoint on disk stands.
      // Nothing is written here: the bar is still drawn, and its last state goes before the one
      // closing line. A second Ctrl-C leaves at once (the checkpoint is still consistent).
      if (++interrupts > 1) process.exit(130);
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    let progress: ReturnType<typeof createProgress> | undefined;
    let startProgress = () => {};
    const started = Date.now();
    let embeddingStarted = started;
    let built = false;
    try {
      const result = await buildIndex({
        corpus,
        out: outPath,
        embed: model.embed,
        dimension: model.dimension,
        meta: {
          context_model: identity, question_model: question, pooling, max_length: maxLength,
          // Imported vectors were not made by our weights: their dtype is the file's.
          dtype: model.imported ? model.imported.dtype : flags.dtype ?? 'f32', created_by: 'kmed-dpr',
          ...(model.imported ? { imported_vectors: model.imported } : {}),
        },
        shard,
        scan: flags.rowDtype ?? null,
        expectPassages,
        batchSize,
        force: flags.force,
        signal: controller.signal,
        onStart({ total, resumed }) {
          if (resumed > 0) process.stderr.write(`kmed: resuming ${partialPath(outPath)}/ after ${resumed} passages\n`);
          // The clock starts here, before the first batch is embedded: that batch is counted, so
          // its time must be too (the closing "N passages/s" line is a figure users quote).
          embeddingStarted = Date.now();
          // Drawn from the first finished batch on, so a corpus that fails at once (empty, bad
          // first line) prints nothing but its one error line.
          startProgress = () => {
            progress = createProgress({ label: basename(corpus), total, unit: 'items', itemName: 'passages', startedAt: embeddingStarted });
            if (resumed > 0) progress.skip(resumed);
          };
        },
        onBatch({ batch }) {
          if (!progress) startProgress();
          progress?.advance(batch);
        },
      });
      progress?.stop();
      progress = undefined;
      const seconds = (Date.now() - started) / 1000;
      if (flags.json) {
        process.stdout.write(JSON.stringify({
          out: result.out, count: result.count, dimension: result.dimension, bytes: result.bytes,
          resumed_from: result.resumedFrom, context_model: identity, question_model: question, imported_vectors: model.imported ?? null, row_dtype: flags.rowDtype ?? null, seconds,
        }) + '\n');
      } else {
        process.stdout.write(
          `${result.out}: ${result.count} passages × ${result.dimension} dims, ${result.bytes} bytes, ` +
            `context model ${identity.name}${model.imported ? ` (vectors imported from ${model.imported.file})` : ''}${flags.rowDtype ? `, ${flags.rowDtype} scan rows` : ''}${result.resumedFrom > 0 ? `, resumed after ${result.resumedFrom}` : ''} (${seconds.toFixed(1)} s)\n`,
        );
      }
      built = true;
    } catch (error) {
      if (!(error instanceof IndexBuildError && error.code === 'INDEX_INTERRUPTED')) throw error;
      progress?.stop('interrupted');
      progress = undefined;
      process.stderr.write(`kmed: ${error.message}\n`);
      process.exitCode = 130; // the shell's code for "stopped by SIGINT"
    } finally {
      progress?.stop('stopped');
      process.off('SIGINT', onSigint);
      model.encoder?.dispose();
      source?.close();
    }
    // The index is new: a graph of the old one beside it is stale, and is replaced.
    if (built && flags.ann !== undefined) await buildGraphFile(outPath, flags, true);
  });
}
