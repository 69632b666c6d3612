// Owns: building an index file (or one shard of it) from a corpus (Node only) — streaming, with
// bounded memory (one batch of passages at a time), exclusive, and resumable.
//
// Before anything is embedded the whole corpus is scanned once (corpus-reader.ts scanCorpus: every
// line parsed, ids unique, passages counted, sha256), and `<out>.lock` is created with O_EXCL
// holding {pid, host}: a second build of the same output is refused; a lock whose pid is dead on
// this host is stale and taken over. Work in progress lives in `<out>.partial/`:
//   vectors.f32    the vectors so far, in index layout
//   offsets.u64    per passage its id and text offsets into strings.bin (index layout)
//   strings.bin    ids and texts so far (UTF-8)
//   checkpoint.json  how many passages those files hold, the CRC-32C of each file's vouched bytes,
//                  the corpus's sha256, the slice (shard) being built, what models and settings
//                  (dtype, pooling, max length) made them, and a CRC-32C of the checkpoint itself
// Each batch is appended and flushed to disk before the checkpoint is replaced (write, fsync,
// rename), so after a crash or Ctrl-C anything past the checkpoint is simply cut off. Rerunning the
// same command checks the corpus, models and settings against the checkpoint and every partial
// file against its CRC (a flipped bit is refused, never carried in), then carries on; vectors do
// not depend on batch composition, so the result is byte-identical to an uninterrupted run.
// The finished file is assembled (partial CRCs checked again while copying; rows scaled to unit
// length with their norms and optional scan rows, block checksums computed: IndexFileWriter) next
// to `out` and renamed over it: `out` is never half-written.
//
// Sharding (`--shard I/N`): shard I of N builds passages [floor(P·I/N), floor(P·(I+1)/N)) of the
// corpus's P passages into an index file whose meta also holds `shard`; index-merge.ts joins the N
// files into exactly the bytes a single build writes.
// Does not own the file layout (../vector-index.ts), parsing the corpus (corpus-reader.ts) or the
// encoders.
import { closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { crc32c } from '../../formats/checksum.js';
import { KmedError } from '../../errors/errors.js';
import type { IndexMeta, ScanDtype, ShardInfo } from '../../search/index-layout.js';
import { IndexFileWriter, writeFailed } from './index-file-writer.js';
import { corpusFormat, parsePassage, readRawLines, scanCorpus, type CorpusFormat, type Passage } from '../text-input/corpus-reader.js';

export class IndexBuildError extends KmedError {}

export interface IndexBuildOptions {
  /** Corpus file: .txt (one passage per line) or .jsonl ({"id", "text"} per line). */
  corpus: string;
  /** Index file to write. */
  out: string;
  /** The context encoder: one vector of `dimension` floats per text, in order. `first` is the
   *  corpus ordinal (0-based, over all passages) of texts[0], for vectors that come from elsewhere
   *  (`--vectors FILE.npy`: row `first + i` is passage `first + i`). */
  embed: (texts: string[], first: number) => Promise<Float32Array[]>;
  dimension: number;
  /** Stamped into the header (the corpus name and hash, and the shard, are added here). Every
   *  field that changes rows (models, pooling, max_length, dtype) must match to resume. */
  meta: Omit<IndexMeta, 'corpus' | 'shard'>;
  /** Build only slice `index` of `of` of the passages (see the file header). */
  shard?: { index: number; of: number };
  /** Also store the rows as f16 or int8 (per-row scale) for a faster first pass of the search,
   *  re-ranked against the f32 rows (default none). Decided when the file is assembled: a resumed
   *  build may change it. */
  scan?: ScanDtype | null;
  /** Called with the corpus's passage count once it is scanned, before anything is embedded (an
   *  import checks its row count there). */
  expectPassages?: (passages: number) => void;
  /** Passages per embedding call and per checkpoint (default 32). */
  batchSize?: number;
  /** Replace an existing `out` (only once the new index is complete). */
  force?: boolean;
  /** Checked after each checkpoint: when aborted, the build stops with INDEX_INTERRUPTED. */
  signal?: AbortSignal;
  /** Called once before embedding starts: passages to build and how many were already done. */
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

type FileKey = 'vectors' | 'offsets' | 'strings';
const FILE_KEYS: readonly FileKey[] = ['vectors', 'offsets', 'strings'];

interface Checkpoint {
  kind: 'kmed-index-checkpoint';
  version: 2;
  corpus: { name: string; format: string; bytes: number; sha256: string; passages: number };
  /** Passages [first, end) of the corpus are this build's. */
  range: { first: number; end: number };
  shard: { index: number; of: number } | null;
  dimension: number;
  meta: Omit<IndexMeta, 'corpus' | 'shard'>;
  count: number;
  bytes: Record<FileKey, number>;
  crc: Record<FileKey, number>;
  /** CRC-32C of this JSON written without `checksum`. */
  checksum?: number;
}

const COPY_CHUNK = 4 << 20;

export function partialPath(out: string): string {
  return `${out}.partial`;
}

export function lockPath(out: string): string {
  return `${out}.lock`;
}

/** The real path of `p`, or of its folder joined with its name when `p` does not exist yet. */
function realish(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(p))), basename(p));
    } catch {
      return resolve(p);
    }
  }
}

/**
 * The checks on `out` that need no model: not a directory, not the corpus itself (also through a
 * symlink), no plain file where `<out>.partial/` goes, and not already there unless `force`.
 * The CLI runs them before loading a 440 MB model; buildIndex runs them again.
 */
export function checkOutput(corpus: string, out: string, force = false): void {
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  if (isDir(out)) {
    throw new IndexBuildError('INDEX_OUT_IS_DIRECTORY', `the output ${out} is a directory: give the path of the index file to write, e.g. ${join(out, 'index.kidx')}`);
  }
  if (existsSync(corpus) && realish(out) === realish(corpus)) {
    throw new IndexBuildError('INDEX_OUT_IS_CORPUS', `the output ${out} is the corpus ${corpus} itself: choose another output file`);
  }
  const partial = partialPath(out);
  if (existsSync(partial) && !isDir(partial)) {
    throw new IndexBuildError('INDEX_PARTIAL_NOT_DIRECTORY', `${partial} is a file, but kmed keeps the work in progress of ${out} in a folder of that name: move or delete it`);
  }
  if (existsSync(out) && !force) {
    throw new IndexBuildError('INDEX_EXISTS', `${out} already exists: set force to replace it, or choose another output path`);
  }
}

/** Parse `I/N` (0 <= I < N). */
export function parseShard(spec: string): { index: number; of: number } {
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const of = m ? Number(m[2]) : NaN;
  if (!m || of < 1 || index >= of) {
    throw new IndexBuildError('INDEX_BAD_SHARD', `shard ${JSON.stringify(spec.slice(0, 40))} must be I/N with 0 <= I < N, e.g. 0/4 (or $JOB_COMPLETION_INDEX/4)`);
  }
  return { index, of };
}

/** Passages [first, end) of shard `index` of `of` over `total` passages. */
export function shardRange(total: number, index: number, of: number): { first: number; end: number } {
  return { first: Math.floor((total * index) / of), end: Math.floor((total * (index + 1)) / of) };
}

interface LockContent {
  pid: number;
  host: string;
  started: string;
}

/**
 * Take `<out>.lock` (O_CREAT|O_EXCL) or throw INDEX_LOCKED naming the holder. A lock left by a
 * process that no longer runs on this host is stale and taken over once. Returns the release.
 */
export function acquireLock(out: string): () => void {
  const path = lockPath(out);
  const mine: LockContent = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw writeFailed(error, path, 'create the lock', 'INDEX_LOCK_FAILED');
      }
      let holder: Partial<LockContent> = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as LockContent;
      } catch {
        // Empty or torn: its writer died between create and write (or is writing right now).
      }
      const sameHost = holder.host === mine.host;
      const alive = typeof holder.pid === 'number' && pidAlive(holder.pid);
      // A lock without content is taken over only once it is old enough not to be mid-write.
      const torn = holder.pid === undefined && Date.now() - safeMtime(path) > 5000;
      if (attempt === 0 && ((sameHost && !alive) || torn)) {
        try {
          unlinkSync(path);
        } catch {
          // another process took it over first: the retry will see its lock
        }
        continue;
      }
      const who = holder.pid !== undefined ? `process ${holder.pid} on ${holder.host}` : 'another process';
      throw new IndexBuildError(
        'INDEX_LOCKED',
        `${out} is being built by ${who} (lock ${path}): wait for it to finish, or delete the lock if that build is gone`,
      );
    }
    try {
      writeSync(fd, JSON.stringify(mine) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return () => {
      try {
        const now = JSON.parse(readFileSync(path, 'utf8')) as LockContent;
        if (now.pid === mine.pid && now.host === mine.host && now.started === mine.started) unlinkSync(path);
      } catch {
        // already gone
      }
    };
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Build (or finish building) the index of `corpus` into `out`. See the file header. */
export async function buildIndex(options: IndexBuildOptions): Promise<IndexBuildResult> {
  const { corpus, out, dimension, meta } = options;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new IndexBuildError('INDEX_BAD_OPTION', `batch size must be a positive integer, got ${batchSize}`);
  }
  const format = corpusFormat(corpus);
  if (!existsSync(corpus)) throw new IndexBuildError('CORPUS_NOT_FOUND', `corpus ${corpus} not found`);
  checkOutput(corpus, out, options.force);
  const release = acquireLock(out);
  try {
    return await buildLocked(options, format, batchSize);
  } finally {
    release();
  }
}

async function buildLocked(options: IndexBuildOptions, format: CorpusFormat, batchSize: number): Promise<IndexBuildResult> {
  const { corpus, out, dimension, meta } = options;
  // Under the lock: another build may have published `out` while we waited for nothing.
  checkOutput(corpus, out, options.force);
  const scan = await scanCorpus(corpus, format);
  options.expectPassages?.(scan.passages);
  const shard = options.shard ?? null;
  const range = shard ? shardRange(scan.passages, shard.index, shard.of) : { first: 0, end: scan.passages };
  const corpusId = { name: basename(corpus), format, bytes: scan.bytes, sha256: scan.sha256, passages: scan.passages };

  const partial = partialPath(out);
  const files: Record<FileKey | 'checkpoint', string> = {
    vectors: join(partial, 'vectors.f32'),
    offsets: join(partial, 'offsets.u64'),
    strings: join(partial, 'strings.bin'),
    checkpoint: join(partial, 'checkpoint.json'),
  };
  try {
    await mkdir(partial, { recursive: true });
  } catch (error) {
    throw writeFailed(error, partial, 'create the folder for the work in progress');
  }
  const previous = await readCheckpoint(files.checkpoint, partial);
  if (previous) checkResumable(previous, { corpus: corpusId, range, shard, dimension, meta, partial, corpusPath: corpus });

  const state = {
    count: previous?.count ?? 0,
    bytes: previous?.bytes ?? { vectors: 0, offsets: 0, strings: 0 },
    crc: previous?.crc ?? { vectors: 0, offsets: 0, strings: 0 },
  };
  const resumedFrom = state.count;
  let handles: Record<FileKey, FileHandle> | undefined;
  try {
    // Cut every file back to what the checkpoint vouches for (a crash may have left more), and
    // check what is kept against its CRC.
    handles = {
      vectors: await openAt(files.vectors, state.bytes.vectors, partial),
      offsets: await openAt(files.offsets, state.bytes.offsets, partial),
      strings: await openAt(files.strings, state.bytes.strings, partial),
    };
    for (const key of FILE_KEYS) await checkPartialCrc(handles[key], files[key], state.bytes[key], state.crc[key], partial);

    options.onStart?.({ total: range.end - range.first, resumed: resumedFrom });
    if (options.signal?.aborted) throw interrupted(state.count, partial);

    let batch: Passage[] = [];
    const h = handles;
    const flush = async () => {
      if (batch.length === 0) return;
      await appendBatch(batch, range.first + state.count, h, state, options, files.vectors);
      const cp: Checkpoint = {
        kind: 'kmed-index-checkpoint', version: 2, corpus: corpusId, range, shard, dimension, meta,
        count: state.count, bytes: { ...state.bytes }, crc: { ...state.crc },
      };
      await writeCheckpoint(files.checkpoint, cp);
      const n = batch.length;
      batch = [];
      options.onBatch?.({ done: state.count, batch: n });
      if (options.signal?.aborted) throw interrupted(state.count, partial);
    };

    // Passages before range.first + count are someone else's or done already.
    const skip = range.first + state.count;
    let ordinal = 0;
    for await (const raw of readRawLines(corpus)) {
      const passage = parsePassage(raw, format, corpus);
      if (passage === null) continue;
      const o = ordinal++;
      if (o < skip) continue;
      if (o >= range.end) break;
      batch.push(passage);
      if (batch.length === batchSize) await flush();
    }
    await flush();
    if (state.count !== range.end - range.first) {
      throw new IndexBuildError('INDEX_RESUME_MISMATCH', `${corpus} changed while it was being indexed (${state.count} of ${range.end - range.first} passages read): rerun the command`);
    }
    const fullMeta: IndexMeta = { ...meta, corpus: { name: corpusId.name, sha256: scan.sha256 } };
    if (shard) fullMeta.shard = { index: shard.index, of: shard.of, first: range.first, total: scan.passages } satisfies ShardInfo;
    const bytes = await assemble(out, partial, fullMeta, dimension, options.scan ?? null, state, h);
    await closeAll(h);
    await rm(partial, { recursive: true, force: true });
    return { out, count: state.count, dimension, resumedFrom, bytes };
  } catch (error) {
    // Nothing was checkpointed (e.g. the encoder failed at once): leave no empty .partial behind.
    if (state.count === 0 && !previous) {
      if (handles) await closeAll(handles);
      await rm(partial, { recursive: true, force: true });
    }
    throw error;
  } finally {
    if (handles) await closeAll(handles);
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian floats of `bytes` (a view on little-endian hosts; `bytes` starts 4-aligned). */
function floatsOf(bytes: Uint8Array): Float32Array {
  if (littleEndianHost) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function interrupted(count: number, partial: string): IndexBuildError {
  return new IndexBuildError(
    'INDEX_INTERRUPTED',
    `interrupted after ${count} passages; progress is saved in ${partial}/: rerun the same command to continue`,
  );
}

async function readCheckpoint(path: string, partial: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // a fresh start
    throw new IndexBuildError('INDEX_PARTIAL_CORRUPT', `${path} cannot be read (${(error as Error).message}): delete ${partial}/ to start over`);
  }
  const damaged = (why: string) =>
    new IndexBuildError('INDEX_PARTIAL_CORRUPT', `${path} is damaged (${why}): delete ${partial}/ to start over`);
  let cp: Checkpoint;
  try {
    cp = JSON.parse(text) as Checkpoint;
  } catch {
    throw damaged('not JSON');
  }
  if (cp?.kind === 'kmed-index-checkpoint' && (cp as { version: number }).version === 1) {
    throw new IndexBuildError('INDEX_RESUME_MISMATCH', `${partial}/ was left by an older kmed (checkpoint version 1, no checksums): delete it to start over`);
  }
  const { checksum, ...rest } = cp ?? {};
  if (cp?.kind !== 'kmed-index-checkpoint' || cp.version !== 2 || checksum !== crc32c(new TextEncoder().encode(JSON.stringify(rest)))) {
    throw damaged('its CRC-32C does not match');
  }
  return cp;
}

function checkResumable(
  cp: Checkpoint,
  now: {
    corpus: Checkpoint['corpus']; range: Checkpoint['range']; shard: Checkpoint['shard']; dimension: number;
    meta: Omit<IndexMeta, 'corpus' | 'shard'>; partial: string; corpusPath: string;
  },
): void {
  if (cp.corpus.sha256 !== now.corpus.sha256 || cp.corpus.format !== now.corpus.format) {
    throw new IndexBuildError(
      'INDEX_RESUME_MISMATCH',
      `${now.corpusPath} is not the corpus the interrupted build in ${now.partial}/ was reading (it changed since): ` +
        `restore it, or delete ${now.partial}/ to start over`,
    );
  }
  const was = cp.meta;
  const differences: string[] = [];
  const fp = (m: { fingerprint: string } | null | undefined) => m?.fingerprint ?? null;
  if (fp(was.context_model) !== fp(now.meta.context_model)) {
    differences.push(`context model ${was.context_model.name} → ${now.meta.context_model.name}`);
  }
  if (fp(was.question_model) !== fp(now.meta.question_model)) {
    differences.push(`question model ${was.question_model?.name ?? '(none)'} → ${now.meta.question_model?.name ?? '(none)'}`);
  }
  if (cp.dimension !== now.dimension) differences.push(`dimension ${cp.dimension} → ${now.dimension}`);
  if (was.pooling !== now.meta.pooling) differences.push(`pooling ${was.pooling} → ${now.meta.pooling}`);
  if (was.max_length !== now.meta.max_length) differences.push(`max length ${was.max_length} → ${now.meta.max_length}`);
  if ((was.imported_vectors?.sha256 ?? null) !== (now.meta.imported_vectors?.sha256 ?? null)) {
    differences.push(`imported vectors ${was.imported_vectors?.file ?? '(none)'} → ${now.meta.imported_vectors?.file ?? '(none)'}`);
  }
  if ((was.dtype ?? null) !== (now.meta.dtype ?? null)) differences.push(`dtype ${was.dtype ?? '(default)'} → ${now.meta.dtype ?? '(default)'}`);
  const shardText = (s: Checkpoint['shard']) => (s ? `${s.index}/${s.of}` : 'none');
  if (shardText(cp.shard) !== shardText(now.shard)) differences.push(`shard ${shardText(cp.shard)} → ${shardText(now.shard)}`);
  if (cp.range.first !== now.range.first || cp.range.end !== now.range.end) differences.push('passage range');
  const D = now.dimension;
  if (cp.bytes.vectors !== cp.count * D * 4 || cp.bytes.offsets !== cp.count * 16 || cp.count > cp.range.end - cp.range.first) {
    differences.push('byte counts do not match the passage count');
  }
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
  let handle: FileHandle;
  try {
    handle = await open(path, existsSync(path) ? 'r+' : 'w+');
  } catch (error) {
    throw writeFailed(error, path, 'open for writing');
  }
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

/** Reads the first `length` bytes of a partial file and compares their CRC-32C with `expected`. */
async function checkPartialCrc(handle: FileHandle, path: string, length: number, expected: number, partial: string): Promise<void> {
  const chunk = Buffer.alloc(Math.min(COPY_CHUNK, Math.max(length, 1)));
  let crc = 0;
  for (let at = 0; at < length; ) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, length - at), at);
    if (bytesRead === 0) break;
    crc = crc32c(chunk, crc, 0, bytesRead);
    at += bytesRead;
  }
  if (crc !== expected) throw partialDamaged(path, partial);
}

function partialDamaged(path: string, partial: string): IndexBuildError {
  return new IndexBuildError(
    'INDEX_PARTIAL_CORRUPT',
    `${path} fails its CRC-32C checksum (the file was damaged since it was written): delete ${partial}/ to start over`,
  );
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
  first: number,
  handles: Record<FileKey, FileHandle>,
  state: { count: number; bytes: Record<FileKey, number>; crc: Record<FileKey, number> },
  options: IndexBuildOptions,
  where: string,
): Promise<void> {
  const D = options.dimension;
  const vectors = await options.embed(batch.map((p) => p.text), first);
  if (vectors.length !== batch.length) {
    throw new IndexBuildError('INDEX_ENCODER_FAILED', `the encoder returned ${vectors.length} vectors for ${batch.length} passages`);
  }
  const data: Record<FileKey, Buffer> = {
    vectors: Buffer.alloc(batch.length * D * 4),
    offsets: Buffer.alloc(batch.length * 16),
    strings: Buffer.alloc(0),
  };
  const strings: Buffer[] = [];
  let s = state.bytes.strings;
  for (let i = 0; i < batch.length; i++) {
    const v = vectors[i];
    if (v.length !== D) {
      throw new IndexBuildError('INDEX_ENCODER_FAILED', `the encoder returned ${v.length} dimensions for line ${batch[i].line}, expected ${D}`);
    }
    for (let d = 0; d < D; d++) {
      if (!Number.isFinite(v[d])) {
        throw new IndexBuildError('INDEX_ENCODER_FAILED', `the encoder returned a non-finite value for line ${batch[i].line}`);
      }
    }
    if (littleEndianHost && v instanceof Float32Array) data.vectors.set(new Uint8Array(v.buffer, v.byteOffset, D * 4), i * D * 4);
    else for (let d = 0; d < D; d++) data.vectors.writeFloatLE(v[d], (i * D + d) * 4);
    const id = Buffer.from(batch[i].id, 'utf8');
    const text = Buffer.from(batch[i].text, 'utf8');
    data.offsets.writeBigUInt64LE(BigInt(s), i * 16);
    data.offsets.writeBigUInt64LE(BigInt(s + id.length), i * 16 + 8);
    s += id.length + text.length;
    strings.push(id, text);
  }
  data.strings = Buffer.concat(strings);
  try {
    for (const key of FILE_KEYS) await handles[key].write(data[key], 0, data[key].length, state.bytes[key]);
    // On disk before the checkpoint that vouches for them.
    await Promise.all(FILE_KEYS.map((key) => handles[key].datasync()));
  } catch (error) {
    throw writeFailed(error, where, 'write the work in progress');
  }
  state.count += batch.length;
  for (const key of FILE_KEYS) {
    state.bytes[key] += data[key].length;
    state.crc[key] = crc32c(data[key], state.crc[key]);
  }
}

async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const sealed: Checkpoint = { ...cp, checksum: crc32c(new TextEncoder().encode(JSON.stringify(cp))) };
  const tmp = `${path}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(sealed, null, 1));
    const handle = await open(tmp, 'r');
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (error) {
    throw writeFailed(error, path, 'write');
  }
}

/** The index file from the partial files: the raw vectors become unit rows, norms (and scan rows),
 *  then the offsets (+ the closing entry) and strings, written through IndexFileWriter into
 *  `<partial>/index.tmp` and renamed to `out`. Copies in ~4 MiB pieces so memory stays flat; every
 *  partial file's CRC is checked again on the way. */
async function assemble(
  out: string,
  partial: string,
  meta: IndexMeta,
  dimension: number,
  scan: ScanDtype | null,
  state: { count: number; bytes: Record<FileKey, number>; crc: Record<FileKey, number> },
  handles: Record<FileKey, FileHandle>,
): Promise<number> {
  const writer = await IndexFileWriter.create(join(partial, 'index.tmp'), meta, dimension, state.count, state.bytes.strings, scan);
  try {
    // Whole rows per piece for the vectors (they are re-encoded row by row).
    const rowBytes = dimension * 4;
    const piece = Math.max(1, Math.floor(COPY_CHUNK / rowBytes)) * rowBytes;
    const chunk = new Uint8Array(Math.max(piece, COPY_CHUNK));
    for (const key of FILE_KEYS) {
      const length = state.bytes[key];
      const step = key === 'vectors' ? piece : COPY_CHUNK;
      let crc = 0;
      for (let at = 0; at < length; ) {
        const want = Math.min(step, length - at);
        const { bytesRead } = await handles[key].read(chunk, 0, want, at);
        if (bytesRead !== want) throw new IndexBuildError('INDEX_PARTIAL_CORRUPT', `${partial}/ ended early while assembling ${out}`);
        const bytes = chunk.subarray(0, bytesRead);
        crc = crc32c(bytes, crc);
        if (key === 'vectors') await writer.rows(floatsOf(bytes));
        else await writer.write(key, bytes);
        at += bytesRead;
      }
      if (crc !== state.crc[key]) throw partialDamaged(join(partial, basename(key === 'vectors' ? 'vectors.f32' : key === 'offsets' ? 'offsets.u64' : 'strings.bin')), partial);
      if (key === 'offsets') {
        const last = new Uint8Array(8);
        new DataView(last.buffer).setBigUint64(0, BigInt(state.bytes.strings), true);
        await writer.write('offsets', last);
      }
    }
    return await writer.finish(out);
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
