// Owns: telling cheaply whether a blob of the Hugging Face cache still holds the content its name
// states (blobs/{sha256} for LFS files, blobs/{git blob id} for the others). When kmed stores a
// blob, or has hashed one it found, it writes a stamp of what the file system says of it —
// {repo folder}/.kmed/verified/{etag}.json: size, mtime, ctime, inode and device, to the
// nanosecond. A later load compares one stat with the stamp: equal, the blob is trusted without a
// read; different (an edit, a copy, a blob Python fetched, a chmod), it is hashed and compared with
// its name before it is trusted, and stamped again when it matches. A mismatch is
// DownloadError HUB_CACHE_CORRUPT naming the blob.
// What this catches: any write through the file system — it moves mtime and ctime, and a writer can
// put mtime back (touch -r, rsync -t) but not ctime. What it cannot: bytes changed beneath the file
// system (a failing disk, a raw block-device write), or on a file system that keeps no ctime.
// The stamp lives in the repo's folder, beside blobs/, where huggingface_hub's scan-cache does not
// look. A stamp that cannot be written (a read-only cache) only means hashing again next time.
// Does not own the cache layout (hub-cache.ts) or downloads (../../hub/transfer.ts).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, realpathSync, type BigIntStats } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DownloadError } from '../../hub/download-error.js';

const STAMP_VERSION = 1;
const SHA256_NAME = /^[0-9a-f]{64}$/;
const GIT_BLOB_NAME = /^[0-9a-f]{40}$/;

/** True when `name` is an etag a blob can be named by (and so checked against). */
export function isBlobName(name: string): boolean {
  return SHA256_NAME.test(name) || GIT_BLOB_NAME.test(name);
}

/** The stamp file of `blob` ({repo}/blobs/{etag} -> {repo}/.kmed/verified/{etag}.json). */
export function stampPath(blob: string): string {
  return join(dirname(dirname(blob)), '.kmed', 'verified', `${basename(blob)}.json`);
}

/** The blob a snapshot file links to ({repo}/blobs/{etag}), or undefined when it is no such link
 *  (a copy, where symlinks are not allowed: it cannot be checked against a name). */
export function blobOfSnapshotFile(file: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined;
  }
  return isBlobName(basename(real)) && basename(dirname(real)) === 'blobs' ? real : undefined;
}

/** How a blob was found trustworthy: its stamp matched, or its bytes were hashed. */
export type BlobCheck = 'stamp' | 'hashed';

/**
 * Throws DownloadError HUB_CACHE_CORRUPT unless the blob at `blob` (a path ending in blobs/{etag})
 * holds the content its name states; see the file header for when that costs a hash.
 */
export async function verifyBlob(blob: string): Promise<BlobCheck> {
  const etag = basename(blob);
  if (!isBlobName(etag)) throw new DownloadError('HUB_CACHE_CORRUPT', `${blob} is not named by a sha256 or git blob id, so it cannot be checked`);
  const before = await stat(blob, { bigint: true });
  if (await stampMatches(blob, before)) return 'stamp';
  const actual = await digestOf(blob, etag);
  if (actual !== etag) {
    throw new DownloadError(
      'HUB_CACHE_CORRUPT',
      `the cached blob ${blob} was modified after it was downloaded: its ${etag.length === 64 ? 'sha256' : 'git blob id'} is ${actual}, ` +
        `not the ${etag} it is named by; delete it and load again (online) to fetch it anew`,
    );
  }
  const after = await stat(blob, { bigint: true });
  // Stamped only when nothing moved while it was hashed, or the stamp could bless a mix.
  if (identity(after) === identity(before)) await writeStamp(blob, after);
  return 'hashed';
}

/** Checks each of `paths` that is a file of a Hugging Face cache snapshot (a link to blobs/{etag})
 *  against its name (verifyBlob); other paths, and paths that do not exist, pass. */
export async function verifySnapshotFiles(paths: string[]): Promise<void> {
  for (const path of paths) {
    const blob = blobOfSnapshotFile(path);
    if (blob !== undefined) await verifyBlob(blob);
  }
}

/** Records `blob` as verified as it is now (called right after a verified blob is stored), if it is
 *  still the file `ino` (the one this process verified). */
export async function stampBlob(blob: string, ino: bigint): Promise<void> {
  try {
    const now = await stat(blob, { bigint: true });
    if (now.ino === ino) await writeStamp(blob, now);
  } catch {
    // The stamp only saves a hash next time.
  }
}

function identity(s: BigIntStats): string {
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}:${s.dev}`;
}

async function stampMatches(blob: string, now: BigIntStats): Promise<boolean> {
  try {
    const text = await readFile(stampPath(blob), 'utf8');
    if (text.length > 1024) return false;
    const stamp = JSON.parse(text) as { version?: unknown; etag?: unknown; identity?: unknown };
    return stamp.version === STAMP_VERSION && stamp.etag === basename(blob) && stamp.identity === identity(now);
  } catch {
    return false;
  }
}

async function writeStamp(blob: string, now: BigIntStats): Promise<void> {
  const path = stampPath(blob);
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, JSON.stringify({ version: STAMP_VERSION, etag: basename(blob), identity: identity(now) }) + '\n');
    await rename(tmp, path);
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
  }
}

/** The sha256 (for a 64-hex name) or git blob id (40-hex) of the file at `path`. */
async function digestOf(path: string, etag: string): Promise<string> {
  const hash = etag.length === 64 ? createHash('sha256') : createHash('sha1').update(`blob ${(await stat(path)).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
