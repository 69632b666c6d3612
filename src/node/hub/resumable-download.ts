// Owns: the file side of a resumable download in Node — a BlobWriter over one file on disk that
// appends where an earlier, broken transfer stopped (`openFileWriter`, used for the Hugging Face
// cache's blobs by hub-cache.ts and for `kmed download`'s `<dest>.part`), and `downloadFile`, which
// moves one URL into `<dest>` through `<dest>.part` with the runtime-neutral transfer
// (../../hub/transfer.ts: Range resume, redirects, size and sha256 / git blob id checks), renaming the
// `.part` into place only once verified, so `<dest>` never holds a truncated or corrupt file.
// Also `isComplete`, the check that a file already present need not be fetched again.
// Does not own listing (hub-client.ts), the HTTP exchange (../../hub/transfer.ts) or progress display.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { BlobWriter, CachedFile } from '../../hub/cache.js';
import { DownloadError } from '../../hub/download-error.js';
import type { ResolvedHubLimits } from '../../hub/limits.js';
import { transferBlob } from '../../hub/transfer.js';
import type { Hasher } from '../../formats/sha256.js';

export interface FileTransfer {
  url: string;
  /** Final path; the transfer writes `${dest}.part` first. */
  dest: string;
  /** What error messages call the file, e.g. 'snumin44/x/model.safetensors'. */
  label: string;
  size: number;
  sha256?: string;
  gitBlobId?: string;
  /** Access token for private or gated repos. */
  token?: string;
  /** Time, rate, attempt and deadline limits (../../hub/limits.ts). */
  limits: ResolvedHubLimits;
  /** Cancels the transfer (AbortError); the bytes received stay in `${dest}.part` for a resume. */
  signal?: AbortSignal;
  /** The commit the URL is pinned to: an answer naming another (X-Repo-Commit) is refused. */
  commit?: string;
  /**
   * Called as bytes land: `position` is the bytes of this file now on disk, `networkBytes` the
   * bytes that just arrived (0 when the position moves for another reason: resume, restart).
   */
  onProgress?: (position: number, networkBytes: number) => void;
}

export interface TransferResult {
  /** Bytes of an earlier `.part` that were kept (0 for a fresh download, or when it had to start over). */
  resumedFrom: number;
  /** Requests made; more than 1 means a broken transfer was resumed (or restarted). */
  requests: number;
}

/** A BlobWriter over `path`, keeping what the file already holds; `publish` and `close` are the caller's. */
export type FileWriter = Omit<BlobWriter, 'publish' | 'close'> & {
  /** Flushes to disk (fsync) and closes: the bytes are durable before the file is renamed into place. */
  finish(): Promise<void>;
  /** Closes without syncing (after a failure). */
  release(): Promise<void>;
};

/** Opens `path` for appending after the bytes it already has (a fresh empty file when absent). */
export async function openFileWriter(path: string): Promise<FileWriter> {
  let offset = Math.max(0, await sizeOf(path));
  let handle: FileHandle;
  try {
    handle = await open(path, offset > 0 ? 'a' : 'w');
  } catch (error) {
    throw writeError(error, path);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    get offset() {
      return offset;
    },
    async *readHeld() {
      if (offset === 0) return;
      for await (const chunk of createReadStream(path, { start: 0, end: offset - 1 })) yield chunk as Uint8Array;
    },
    async write(chunk) {
      try {
        await handle.write(chunk);
      } catch (error) {
        throw writeError(error, path);
      }
      offset += chunk.byteLength;
    },
    async restart() {
      try {
        await close();
        handle = await open(path, 'w');
        closed = false;
      } catch (error) {
        throw writeError(error, path);
      }
      offset = 0;
    },
    async finish() {
      try {
        await handle.sync();
        await close();
      } catch (error) {
        throw writeError(error, path);
      }
    },
    release: () => close().catch(() => {}),
  };
}

/** Downloads `t.url` into `t.dest` (see file header). Throws DownloadError. */
export async function downloadFile(t: FileTransfer): Promise<TransferResult> {
  const part = `${t.dest}.part`;
  const file = await openFileWriter(part);
  const writer: BlobWriter = {
    ...file,
    get offset() {
      return file.offset;
    },
    async publish(): Promise<CachedFile> {
      await file.finish();
      try {
        await rename(part, t.dest);
      } catch (error) {
        throw writeError(error, t.dest);
      }
      return { size: t.size, path: t.dest, bytes: async () => new Uint8Array() };
    },
    close: async () => file.release(),
  };
  try {
    const result = await transferBlob(
      t.url,
      t.label,
      { path: t.label, size: t.size, sha256: t.sha256, gitBlobId: t.gitBlobId, etag: t.sha256 ?? t.gitBlobId ?? '' },
      writer,
      {
        endpoint: new URL(t.url).origin,
        token: t.token,
        fetch: globalThis.fetch.bind(globalThis),
        signal: t.signal,
        limits: t.limits,
        commit: t.commit,
        createSha256: nodeSha256,
        onBytes: t.onProgress,
      },
    );
    await writer.publish('', t.dest);
    return result;
  } catch (error) {
    await file.release();
    // Bytes proven wrong must not be resumed; a broken transfer's bytes are kept for the next run.
    if (error instanceof DownloadError && (error.code === 'CHECKSUM_MISMATCH' || error.code === 'SIZE_MISMATCH')) await rm(part, { force: true });
    throw error;
  }
}

/** True when `path` exists with the stated size and hash (so it need not be downloaded again). */
export async function isComplete(path: string, file: { size: number; sha256?: string; gitBlobId?: string }): Promise<boolean> {
  if ((await sizeOf(path)) !== file.size) return false;
  if (file.sha256) return (await digestOf(path, createHash('sha256'))) === file.sha256;
  if (file.gitBlobId) return (await digestOf(path, createHash('sha1').update(`blob ${file.size}\0`))) === file.gitBlobId;
  return true;
}

/** node:crypto's SHA-256 behind the portable Hasher interface (several times faster than ../sha256.ts). */
export function nodeSha256(): Hasher {
  const hash = createHash('sha256');
  return {
    update: (bytes) => void hash.update(bytes),
    digestHex: () => hash.digest('hex'),
  };
}

async function digestOf(path: string, hash: ReturnType<typeof createHash>): Promise<string> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : -1;
  } catch {
    return -1;
  }
}

function writeError(error: unknown, path: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DownloadError('DEST_WRITE_FAILED', `cannot write ${path} (${message})`, { cause: error });
}
