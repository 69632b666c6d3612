// Owns: the sha256 of a model folder's model.safetensors, computed at most once per version of the
// file (Node only). In order: a digest the caller already has (the LFS sha256 from download
// metadata); the name of a Hugging Face cache blob the file links to (the hub downloader names each
// blob by the sha256 it verified; trusted once the blob is known unchanged since, ../hub/blob-stamp.ts);
// a cache file next to the model, `model.safetensors.sha256.json`, valid while the file's size,
// mtime, ctime and inode are those it records; else the whole file is hashed with
// node:crypto (~1 s for 440 MB) and the cache written atomically (temp, fsync, rename). A folder we
// cannot write to (read-only, permissions) just means hashing again next time. A downloader that
// verified the LFS sha256 can record it with recordWeightsSha256.
// Does not own what the digest goes into (../model-identity.ts) or downloading (hub-download.ts).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, type BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SHA256_HEX } from '../../formats/sha256.js';
import { fileSource } from '../fs/file-source.js';
import { blobOfSnapshotFile, verifyBlob } from '../hub/blob-stamp.js';
import { nodeSha256 } from '../hub/resumable-download.js';
import { weightsSha256 } from '../../model-identity.js';

// 2: the key holds ctime and inode too, so a rewrite that puts mtime back (touch -r) is caught.
const CACHE_VERSION = 2;

export interface WeightsDigestOptions {
  /** The file's sha256 when already known (e.g. the LFS oid a download verified). */
  knownSha256?: string;
}

/** Where the digest came from, for diagnostics and tests. */
export type DigestSource = 'given' | 'hf-blob' | 'cache' | 'computed';

/** The cache file kept next to `weightsPath`. */
export function digestCachePath(weightsPath: string): string {
  return join(dirname(weightsPath), `${basename(weightsPath)}.sha256.json`);
}

/** sha256 (hex) of the file at `weightsPath`, and where it came from (see the header). */
export async function cachedWeightsSha256(weightsPath: string, options: WeightsDigestOptions = {}): Promise<{ sha256: string; source: DigestSource }> {
  if (options.knownSha256 !== undefined && SHA256_HEX.test(options.knownSha256)) return { sha256: options.knownSha256, source: 'given' };
  const blob = await hfBlobDigest(weightsPath);
  if (blob) return { sha256: blob, source: 'hf-blob' };
  const stat = statSync(weightsPath, { bigint: true });
  const key = cacheKey(stat);
  const cachePath = digestCachePath(weightsPath);
  const cached = readCache(cachePath);
  if (cached && Object.entries(key).every(([name, value]) => cached[name] === value) && SHA256_HEX.test(String(cached.sha256))) {
    return { sha256: cached.sha256 as string, source: 'cache' };
  }
  const source = fileSource(weightsPath);
  let sha256: string;
  try {
    sha256 = await weightsSha256(source, nodeSha256);
    // The file must not have changed while it was hashed, or the cache would bless a mix.
    source.checkUnchanged?.();
  } finally {
    source.close();
  }
  writeCacheQuietly(cachePath, { ...key, sha256 });
  return { sha256, source: 'computed' };
}

/**
 * Record a digest already verified for the file at `weightsPath` (e.g. by a download that checked
 * the LFS sha256), so the first fingerprint needs no read of the file. Keyed like any cache entry
 * (size and mtime now); a write failure is ignored.
 */
export function recordWeightsSha256(weightsPath: string, sha256: string): void {
  if (!SHA256_HEX.test(sha256)) return;
  const stat = statSync(weightsPath, { bigint: true });
  writeCacheQuietly(digestCachePath(weightsPath), { ...cacheKey(stat), sha256 });
}

/** What a cache entry is valid for: the file as the file system describes it now. Any write moves
 *  mtime and ctime; a writer can put mtime back but not ctime. */
function cacheKey(stat: BigIntStats): Record<string, string | number> {
  return { version: CACHE_VERSION, size: String(stat.size), mtimeNs: String(stat.mtimeNs), ctimeNs: String(stat.ctimeNs), ino: String(stat.ino) };
}

/** A Hugging Face cache snapshot links model.safetensors to `blobs/<sha256>`: that name is the
 *  digest the hub downloader verified, once the blob is known not to have changed since (a stamp
 *  of its size and times, else a hash: ../hub/blob-stamp.ts). A blob that no longer matches its
 *  name is DownloadError HUB_CACHE_CORRUPT. */
async function hfBlobDigest(path: string): Promise<string | undefined> {
  const blob = blobOfSnapshotFile(path);
  if (blob === undefined || !SHA256_HEX.test(basename(blob))) return undefined;
  await verifyBlob(blob);
  return basename(blob);
}

function readCache(path: string): Record<string, unknown> | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    if (text.length > 4096) return undefined;
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Write the cache atomically; any failure (read-only folder, no permission, disk full) is ignored:
 *  the cache only saves time. */
function writeCacheQuietly(path: string, value: object): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    writeSync(fd, JSON.stringify(value) + '\n');
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; nothing more to do
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
  }
}
