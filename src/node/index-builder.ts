// Owns: building an index file from a corpus (Node only) — streaming, with bounded memory (one
// batch of passages at a time), and resumable. Work in progress lives in `<out>.partial/`:
//   vectors.f32    the vectors so far, in index layout
//   offsets.u64    per passage its id and text offsets into strings.bin (index layout)
//   strings.bin    ids and texts so far (UTF-8)
//   checkpoint.json  how many passages those files hold, how many corpus bytes they came from and
//                  the sha256 of that corpus prefix, and what model and settings made them
// Each batch is appended and flushed to disk before the checkpoint is replaced (write + rename), so
// after a crash or Ctrl-C anything past the checkpoint is simply cut off. Rerunning the same
// command checks the corpus prefix and the model against the checkpoint and carries on; batches
// restart at the same passage boundaries, so the result is byte-identical to an uninterrupted run.
// The finished file is assembled next to `out` and renamed over it: `out` is never half-written.
// Does not own the file layout (../vector-index.ts), parsing the corpus (corpus-reader.ts) or the
// encoders.
import { createHash, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { KmedError } from '../errors.js';
import { encodeHeader, type IndexMeta } from '../vector-index.js';
import { corpusFormat, countNonBlankLines, parsePassage, readRawLines, type Passage } from './corpus-reader.js';

export class IndexBuildError extends KmedError {}

export interface IndexBuildOptions {
  /** Corpus file: .txt (one passage per line) or .jsonl ({"id", "text"} per line). */
  corpus: string;
  /** Index file to write. */
  out: string;
  /** The context encoder: one vector of `dimension` floats per text, in order. */
  embed: (texts: string[]) => Promise<Float32Array[]>;
  dimension: number;
  /** Stamped into the header (the corpus name and hash are added here). */
  meta: Omit<IndexMeta, 'corpus'>;
  /** Passages per embedding call and per checkpoint (default 32). */
  batchSize?: number;
  /** Replace an existing `out` (only once the new index is complete). */
  force?: boolean;
  /** Checked after each checkpoint: when aborted, the build stops with INDEX_INTERRUPTED. */
  signal?: AbortSignal;
  /** Called once before embedding starts: estimated total passages and how many were already done. */
  onStart?: (info: { total: number; resumed: number }) => void;
  /** Called after each batch is safely checkpointed. */
  onBatch?: (info: { done: number; batch: number }) => void;
}

export interface IndexBuildResult {
  out: string;
  count: number;
  dimension: number;
  /** Passages taken over from an interrupted run (0 for a fresh build). */
  resumedFrom: number;
  bytes: number;
}

interface Checkpoint {
  kind: 'kmed-index-checkpoint';
  version: 1;
  corpus: { name: string; format: string; bytes: number; lines: number; sha256: string };
  dimension: number;
  meta: Omit<IndexMeta, 'corpus'>;
  count: number;
  vectorsBytes: number;
  stringsBytes: number;
}

const COPY_CHUNK = 4 << 20;

export function partialPath(out: string): string {
  return `${out}.partial`;
}

/** Build (or finish building) the index of `corpus` into `out`. See the file header. */
export async function buildIndex(options: IndexBuildOptions): Promise<IndexBuildResult> {
  const { corpus, out, dimension, meta } = options;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new IndexBuildError('INDEX_BAD_OPTION', `batch size must be a positive integer, got ${batchSize}`);
  }
  const format = corpusFormat(corpus);
  if (existsSync(out) && !options.force) {
    throw new IndexBuildError('INDEX_EXISTS', `${out} already exists: set force to replace it, or choose another output path`);
  }
  if (!existsSync(corpus)) throw new IndexBuildError('CORPUS_NOT_FOUND', `corpus ${corpus} not found`);

  const partial = partialPath(out);
  const files = {
    vectors: join(partial, 'vectors.f32'),
    offsets: join(partial, 'offsets.u64'),
    strings: join(partial, 'strings.bin'),
    checkpoint: join(partial, 'checkpoint.json'),
  };
  await mkdir(partial, { recursive: true });
  const previous = await readCheckpoint(files.checkpoint, partial);
  if (previous) checkResumable(previous, { corpus, format, dimension, meta, partial });

  const state = {
    count: previous?.count ?? 0,
    vectorsBytes: previous?.vectorsBytes ?? 0,
    stringsBytes: previous?.stringsBytes ?? 0,
    corpusBytes: previous?.corpus.bytes ?? 0,
    corpusLines: previous?.corpus.lines ?? 0,
  };
  const resumedFrom = state.count;

  // Cut every file back to what the checkpoint vouches for (a crash may have left more).
  const handles = {
    vectors: await openAt(files.vectors, state.vectorsBytes, partial),
    offsets: await openAt(files.offsets, state.count * 16, partial),
    strings: await openAt(files.strings, state.stringsBytes, partial),
  };
  const hash = createHash('sha256');
  try {
    options.onStart?.({ total: await countNonBlankLines(corpus), resumed: resumedFrom });
    if (options.signal?.aborted) throw interrupted(state.count, partial);

    let hashedTo = 0;
    let batch: Passage[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await appendBatch(batch, handles, state, options, files);
      state.corpusBytes = hashedTo;
      state.corpusLines = batch[batch.length - 1].line;
      await writeCheckpoint(files.checkpoint, {
        kind: 'kmed-index-checkpoint',
        version: 1,
        corpus: { name: basename(corpus), format, bytes: state.corpusBytes, lines: state.corpusLines, sha256: hash.copy().digest('hex') },
        dimension,
        meta,
        count: state.count,
        vectorsBytes: state.vectorsBytes,
        stringsBytes: state.stringsBytes,
      });
      const n = batch.length;
      batch = [];
      options.onBatch?.({ done: state.count, batch: n });
      if (options.signal?.aborted) throw interrupted(state.count, partial);
    };

    const resumeAt = previous?.corpus.bytes ?? 0;
    let checkedPrefix = resumeAt === 0;
    for await (const raw of readRawLines(corpus)) {
      hashLine(hash, raw.bytes, raw.end - hashedTo);
      hashedTo = raw.end;
      if (!checkedPrefix) {
        if (hashedTo < resumeAt) continue;
        checkPrefix(hashedTo === resumeAt ? hash : null, previous!, corpus, partial);
        checkedPrefix = true;
        continue;
      }
      const passage = parsePassage(raw, format, corpus);
      if (passage === null) continue;
      batch.push(passage);
      if (batch.length === batchSize) await flush();
    }
    if (!checkedPrefix) checkPrefix(null, previous!, corpus, partial);
    await flush();

    if (state.count === 0) {
      await closeAll(handles);
      await rm(partial, { recursive: true, force: true });
      throw new IndexBuildError('CORPUS_EMPTY', `corpus ${corpus} has no passages (every line is blank): nothing to index`);
    }
    const fullMeta: IndexMeta = { ...meta, corpus: { name: basename(corpus), sha256: hash.digest('hex') } };
    const bytes = await assemble(out, partial, fullMeta, dimension, state, handles);
    await closeAll(handles);
    await rm(partial, { recursive: true, force: true });
    return { out, count: state.count, dimension, resumedFrom, bytes };
  } catch (error) {
    // Nothing was checkpointed (e.g. the first line is bad): leave no empty .partial behind.
    if (state.count === 0) {
      await closeAll(handles);
      await rm(partial, { recursive: true, force: true });
    }
    throw error;
  } finally {
    await closeAll(handles);
  }
}

function interrupted(count: number, partial: string): IndexBuildError {
  return new IndexBuildError(
    'INDEX_INTERRUPTED',
    `interrupted after ${count} passages; progress is saved in ${partial}/: rerun the same command to continue`,
  );
}

/** Hash a line as it is in the file: its bytes plus the '\n' when the line had one. */
function hashLine(hash: Hash, bytes: Uint8Array, span: number): void {
  hash.update(bytes);
  if (span > bytes.length) hash.update('\n');
}

function checkPrefix(hash: Hash | null, previous: Checkpoint, corpus: string, partial: string): void {
  if (hash === null || hash.copy().digest('hex') !== previous.corpus.sha256) {
    throw new IndexBuildError(
      'INDEX_RESUME_MISMATCH',
      `${corpus} is not the corpus the interrupted build in ${partial}/ was reading (its first ` +
        `${previous.corpus.bytes} bytes changed): delete ${partial}/ to start over`,
    );
  }
}

async function readCheckpoint(path: string, partial: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null; // no checkpoint yet: a fresh start (files are truncated to 0 below)
  }
  const damaged = () =>
    new IndexBuildError('INDEX_PARTIAL_CORRUPT', `${path} is damaged: delete ${partial}/ to start over`);
  let cp: Checkpoint;
  try {
    cp = JSON.parse(text) as Checkpoint;
  } catch {
    throw damaged();
  }
  const ints = [cp?.count, cp?.vectorsBytes, cp?.stringsBytes, cp?.corpus?.bytes, cp?.corpus?.lines, cp?.dimension];
  if (cp?.kind !== 'kmed-index-checkpoint' || cp.version !== 1 || !ints.every((n) => Number.isSafeInteger(n) && n >= 0) ||
      typeof cp.corpus.sha256 !== 'string' || typeof cp.meta?.context_model?.fingerprint !== 'string') {
    throw damaged();
  }
  return cp;
}

function checkResumable(
  cp: Checkpoint,
  now: { corpus: string; format: string; dimension: number; meta: Omit<IndexMeta, 'corpus'>; partial: string },
): void {
  const was = cp.meta;
  const differences: string[] = [];
  if (was.context_model.fingerprint !== now.meta.context_model.fingerprint) {
    differences.push(`context model ${was.context_model.name} → ${now.meta.context_model.name}`);
  }
  if (cp.dimension !== now.dimension) differences.push(`dimension ${cp.dimension} → ${now.dimension}`);
  if (was.pooling !== now.meta.pooling) differences.push(`pooling ${was.pooling} → ${now.meta.pooling}`);
  if (was.max_length !== now.meta.max_length) differences.push(`max length ${was.max_length} → ${now.meta.max_length}`);
  if (cp.corpus.format !== now.format) differences.push(`corpus format ${cp.corpus.format} → ${now.format}`);
  if (cp.vectorsBytes !== cp.count * now.dimension * 4) differences.push('vector bytes do not match the count');
  if (differences.length > 0) {
    throw new IndexBuildError(
      'INDEX_RESUME_MISMATCH',
      `${now.partial}/ holds an interrupted build made differently (${differences.join(', ')}): ` +
        `rerun with the same settings, or delete ${now.partial}/ to start over`,
    );
  }
}

/** Open `path` for writing, created if missing, cut back to `length` bytes (which it must have). */
async function openAt(path: string, length: number, partial: string): Promise<FileHandle> {
  const handle = await open(path, existsSync(path) ? 'r+' : 'w+');
  const size = (await handle.stat()).size;
  if (size < length) {
    await handle.close();
    throw new IndexBuildError(
      'INDEX_PARTIAL_CORRUPT',
      `${path} holds ${size} bytes but its checkpoint counts ${length}: delete ${partial}/ to start over`,
    );
  }
  if (size > length) await handle.truncate(length);
  return handle;
}

async function closeAll(handles: Record<string, FileHandle>): Promise<void> {
  for (const handle of Object.values(handles)) {
    try {
      await handle.close();
    } catch {
      // already closed
    }
  }
}

async function appendBatch(
  batch: Passage[],
  handles: { vectors: FileHandle; offsets: FileHandle; strings: FileHandle },
  state: { count: number; vectorsBytes: number; stringsBytes: number },
  options: IndexBuildOptions,
  files: { vectors: string },
): Promise<void> {
  const D = options.dimension;
  const vectors = await options.embed(batch.map((p) => p.text));
  if (vectors.length !== batch.length) {
    throw new IndexBuildError('INDEX_ENCODER_FAILED', `the encoder returned ${vectors.length} vectors for ${batch.length} passages`);
  }
  const vectorBytes = Buffer.alloc(batch.length * D * 4);
  const offsets = Buffer.alloc(batch.length * 16);
  const strings: Buffer[] = [];
  let s = state.stringsBytes;
  for (let i = 0; i < batch.length; i++) {
    const v = vectors[i];
    if (v.length !== D) {
      throw new IndexBuildError('INDEX_ENCODER_FAILED', `the encoder returned ${v.length} dimensions for line ${batch[i].line}, expected ${D}`);
    }
    for (let d = 0; d < D; d++) {
      if (!Number.isFinite(v[d])) {
        throw new IndexBuildError('INDEX_ENCODER_FAILED', `the encoder returned a non-finite value for line ${batch[i].line}`);
      }
      vectorBytes.writeFloatLE(v[d], (i * D + d) * 4);
    }
    const id = Buffer.from(batch[i].id, 'utf8');
    const text = Buffer.from(batch[i].text, 'utf8');
    offsets.writeBigUInt64LE(BigInt(s), i * 16);
    offsets.writeBigUInt64LE(BigInt(s + id.length), i * 16 + 8);
    s += id.length + text.length;
    strings.push(id, text);
  }
  const stringBytes = Buffer.concat(strings);
  try {
    await handles.vectors.write(vectorBytes, 0, vectorBytes.length, state.vectorsBytes);
    await handles.offsets.write(offsets, 0, offsets.length, state.count * 16);
    await handles.strings.write(stringBytes, 0, stringBytes.length, state.stringsBytes);
    // On disk before the checkpoint that vouches for them.
    await Promise.all([handles.vectors.datasync(), handles.offsets.datasync(), handles.strings.datasync()]);
  } catch (error) {
    throw new IndexBuildError('INDEX_WRITE_FAILED', `writing ${files.vectors} and its siblings failed: ${(error as Error).message}`);
  }
  state.count += batch.length;
  state.vectorsBytes += vectorBytes.length;
  state.stringsBytes = s;
}

async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(cp, null, 1));
  const handle = await open(tmp, 'r');
  await handle.sync();
  await handle.close();
  await rename(tmp, path);
}

/** Header + vectors + offsets (+ the closing entry) + strings into `<partial>/index.tmp`, then
 *  renamed to `out`. Copies in 4 MiB pieces so memory stays flat. */
async function assemble(
  out: string,
  partial: string,
  meta: IndexMeta,
  dimension: number,
  state: { count: number; stringsBytes: number },
  handles: { vectors: FileHandle; offsets: FileHandle; strings: FileHandle },
): Promise<number> {
  const { bytes: header, layout } = encodeHeader(meta, dimension, state.count, state.stringsBytes);
  const tmp = join(partial, 'index.tmp');
  const target = await open(tmp, 'w');
  let position = 0;
  const put = async (buf: Uint8Array) => {
    await target.write(buf, 0, buf.length, position);
    position += buf.length;
  };
  try {
    await put(header);
    const chunk = Buffer.alloc(COPY_CHUNK);
    for (const [handle, length] of [
      [handles.vectors, state.count * dimension * 4],
      [handles.offsets, state.count * 16],
    ] as const) {
      for (let at = 0; at < length; ) {
        const { bytesRead } = await handle.read(chunk, 0, Math.min(COPY_CHUNK, length - at), at);
        if (bytesRead === 0) throw new IndexBuildError('INDEX_PARTIAL_CORRUPT', `${partial}/ ended early while assembling ${out}`);
        await put(chunk.subarray(0, bytesRead));
        at += bytesRead;
      }
    }
    const last = Buffer.alloc(8);
    last.writeBigUInt64LE(BigInt(state.stringsBytes));
    await put(last);
    for (let at = 0; at < state.stringsBytes; ) {
      const { bytesRead } = await handles.strings.read(chunk, 0, Math.min(COPY_CHUNK, state.stringsBytes - at), at);
      if (bytesRead === 0) throw new IndexBuildError('INDEX_PARTIAL_CORRUPT', `${partial}/ ended early while assembling ${out}`);
      await put(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
    if (position !== layout.fileLength) {
      throw new IndexBuildError('INDEX_WRITE_FAILED', `assembled ${position} bytes for ${out}, expected ${layout.fileLength}`);
    }
    await target.sync();
  } finally {
    await target.close();
  }
  await rename(tmp, out);
  return (await stat(out)).size;
}
