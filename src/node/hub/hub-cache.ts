// Owns: the Hugging Face cache folder on disk (Node, Deno, Bun), read and written exactly as
// Python's huggingface_hub does, so either side finds what the other fetched:
//   {cache}/models--{org}--{name}/refs/{revision}            the commit hash, no newline
//   {cache}/models--{org}--{name}/blobs/{etag}               content, named by git blob id or LFS sha256
//   {cache}/models--{org}--{name}/snapshots/{commit}/{path}  relative symlink to ../../blobs/{etag}
//   {cache}/models--{org}--{name}/.no_exist/{commit}/{path}  empty: the commit lacks this file
// where {cache} is HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. Writes are atomic: a blob is written under a name of its own
// (`{etag}.{pid}-{random}.incomplete`), verified, then renamed to `blobs/{etag}`; links and refs are
// made under a temporary name and renamed over (current huggingface_hub also downloads into a
// process-unique `{etag}.{uuid}.incomplete` and renames it, and writes refs by tmp + rename). A broken
// transfer leaves `blobs/{etag}.incomplete` (the name older huggingface_hub resumed from); the next
// writer takes it over with an atomic rename, so two loaders never append to the same file: the
// second one starts its own and the last rename wins, with identical, verified bytes. Any number of
// processes may fill and read one cache at once: a best-effort lock per blob (blob-lock.ts) saves
// duplicate downloads, and correctness never depends on it. Every blob read is first checked
// against its name, cheaply by a stamp of size and times when it was stored (blob-stamp.ts).
// Every path is built from checked names (repo id, revision, commit, etag, listed path) and checked
// again to stay inside its folder of the cache, as huggingface_hub's _get_pointer_path does.
// Does not own requests or the load policy (../../hub/).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { BlobWriter, CachedFile, HubCache } from '../../hub/cache.js';
import { DownloadError } from '../../hub/download-error.js';
import { checkRepoId, checkRevision } from '../../hub/repo.js';
import { acquireBlobLock, type BlobLock } from './blob-lock.js';
import { blobOfSnapshotFile, isBlobName, stampBlob, verifyBlob } from './blob-stamp.js';
import { openFileWriter } from './resumable-download.js';

/** The Hugging Face hub cache folder, resolved from the environment as huggingface_hub does. */
export function defaultHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = (name: string) => (env[name] ? env[name] : undefined);
  const hubCache = set('HF_HUB_CACHE') ?? set('HUGGINGFACE_HUB_CACHE');
  if (hubCache) return expandHome(hubCache);
  const hfHome = set('HF_HOME') ?? join(set('XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'huggingface');
  return join(expandHome(hfHome), 'hub');
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/** `models--{org}--{name}`: the folder of one model repo in the cache. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** The folder of `repo`'s snapshot for `revision` (a commit, or a branch or tag via refs/), when
 *  it holds config.json and model.safetensors; undefined otherwise (an invalid repo id or revision
 *  included). Synchronous: the CLI resolves model folders before it loads anything. */
export function findCachedSnapshot(repo: string, revision = 'main', cacheDir = defaultHubCacheDir()): string | undefined {
  try {
    checkRepoId(repo);
    checkRevision(revision);
  } catch {
    return undefined;
  }
  const repoDir = join(cacheDir, repoFolderName(repo));
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    try {
      commit = readFileSync(inside(join(repoDir, 'refs'), ...revision.split('/')), 'utf8').trim();
    } catch {
      return undefined;
    }
    if (!/^[0-9a-f]{40}$/.test(commit)) return undefined;
  }
  const dir = join(repoDir, 'snapshots', commit);
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  return isFile(join(dir, 'config.json')) && isFile(join(dir, 'model.safetensors')) ? dir : undefined;
}

/**
 * `root` joined with `parts`, refused (DownloadError HUB_INVALID_NAME) unless it stays strictly
 * inside `root` — compared on absolute paths without following links, as huggingface_hub's
 * _get_pointer_path does. The names were checked before; this is the last line, at the file system.
 */
export function inside(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const path = resolve(base, ...parts);
  if (!path.startsWith(base + sep)) {
    throw new DownloadError('HUB_INVALID_NAME', `${JSON.stringify(parts.join('/'))} would lead outside ${root}; nothing was written there`);
  }
  return join(root, ...parts);
}

/** The repo name ('medical-biencoder-ko-bert-question') of a snapshot folder of the cache, or undefined. */
export function repoNameOfSnapshot(dir: string): string | undefined {
  const parts = resolve(dir).split(sep);
  const n = parts.length;
  if (n < 3 || parts[n - 2] !== 'snapshots' || !/^[0-9a-f]{40}$/.test(parts[n - 1])) return undefined;
  const m = /^models--[^-].*?--(.+)$/.exec(parts[n - 3]);
  return m ? m[1] : undefined;
}

export class HfFileCache implements HubCache {
  readonly dir: string;
  readonly description: string;

  constructor(dir: string = defaultHubCacheDir()) {
    this.dir = dir;
    this.description = `the Hugging Face cache ${dir}`;
  }

  repoDir(repo: string): string {
    checkRepoId(repo);
    return join(this.dir, repoFolderName(repo));
  }

  /** The snapshot folder of `commit` (it may not exist). */
  snapshotDir(repo: string, commit: string): string {
    checkCommit(commit);
    return inside(join(this.repoDir(repo), 'snapshots'), commit);
  }

  /** snapshots/{commit}/{path}, checked to stay inside the snapshot. */
  #snapshotFile(repo: string, commit: string, path: string): string {
    return inside(this.snapshotDir(repo, commit), ...path.split('/'));
  }

  #refFile(repo: string, revision: string): string {
    checkRevision(revision);
    return inside(join(this.repoDir(repo), 'refs'), ...revision.split('/'));
  }

  #absentMark(repo: string, commit: string, path: string): string {
    checkCommit(commit);
    return inside(join(this.repoDir(repo), '.no_exist', commit), ...path.split('/'));
  }

  #blob(repo: string, etag: string): string {
    if (!isBlobName(etag)) throw new DownloadError('HUB_BAD_LISTING', `${JSON.stringify(etag)} is not a blob name (a sha256 or git blob id)`);
    return inside(join(this.repoDir(repo), 'blobs'), etag);
  }

  async readRef(repo: string, revision: string): Promise<string | undefined> {
    try {
      const commit = (await readFile(this.#refFile(repo, revision), 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      return undefined;
    }
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    checkCommit(commit);
    // No trailing newline: Python reads the file whole and compares it to commit hashes.
    await this.#atomic(this.#refFile(repo, revision), (tmp) => writeFile(tmp, commit));
  }

  async getFile(repo: string, commit: string, path: string): Promise<CachedFile | undefined> {
    const file = this.#snapshotFile(repo, commit, path);
    let size: number;
    try {
      const info = await stat(file); // follows the symlink: a dangling one is not a file
      if (!info.isFile()) return undefined;
      size = info.size;
    } catch {
      return undefined;
    }
    // Trusted only once its content is known to be what its name says (cheap when stamped).
    const blob = blobOfSnapshotFile(file);
    if (blob !== undefined) await verifyBlob(blob);
    return diskFile(file, size);
  }

  async isAbsent(repo: string, commit: string, path: string): Promise<boolean> {
    return existsSync(this.#absentMark(repo, commit, path));
  }

  async markAbsent(repo: string, commit: string, path: string): Promise<void> {
    const file = this.#absentMark(repo, commit, path);
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, '');
    } catch (error) {
      throw writeError(error, file);
    }
  }

  async linkBlob(repo: string, commit: string, path: string, etag: string, size: number): Promise<CachedFile | undefined> {
    const blob = this.#blob(repo, etag);
    const info = await stat(blob).catch(() => undefined);
    if (!info?.isFile() || info.size !== size) return undefined;
    try {
      await verifyBlob(blob);
    } catch (error) {
      // Modified after download: not held; the download that follows replaces it.
      if (error instanceof DownloadError && error.code === 'HUB_CACHE_CORRUPT') return undefined;
      throw error;
    }
    await this.#link(repo, commit, path, blob);
    return diskFile(this.#snapshotFile(repo, commit, path), size);
  }

  async lockBlob(repo: string, etag: string, signal?: AbortSignal, deadline?: number): Promise<BlobLock> {
    const lock = inside(join(this.dir, '.locks', repoFolderName(repo)), `${basename(this.#blob(repo, etag))}.kmed.lock`);
    return acquireBlobLock(lock, signal, deadline);
  }

  async openBlob(repo: string, etag: string, _size: number): Promise<BlobWriter> {
    const blob = this.#blob(repo, etag);
    const blobs = dirname(blob);
    const shared = `${blob}.incomplete`;
    const own = `${blob}.${process.pid}-${randomBytes(4).toString('hex')}.incomplete`;
    try {
      await mkdir(blobs, { recursive: true });
    } catch (error) {
      throw writeError(error, blobs);
    }
    // Take over a broken transfer's bytes: rename is atomic, so of two loaders one gets them and
    // the other (ENOENT) starts from 0 in a file of its own.
    await rename(shared, own).catch(() => {});
    const file = await openFileWriter(own);
    const cache = this;
    return {
      get offset() {
        return file.offset;
      },
      readHeld: () => file.readHeld(),
      write: (chunk) => file.write(chunk),
      restart: () => file.restart(),
      async publish(commit, path) {
        await file.finish();
        let ino: bigint;
        try {
          ino = (await stat(own, { bigint: true })).ino;
          await rename(own, blob);
        } catch (error) {
          throw writeError(error, blob);
        }
        // Verified while it streamed: stamp it (unless another writer's file has replaced it
        // already), so the next load trusts it without a read.
        await stampBlob(blob, ino);
        await cache.#link(repo, commit, path, blob);
        return diskFile(cache.#snapshotFile(repo, commit, path), file.offset);
      },
      async close(keep) {
        await file.release();
        if (keep && file.offset > 0) await rename(own, shared).catch(() => rm(own, { force: true }));
        else await rm(own, { force: true });
      },
    };
  }

  /** snapshots/{commit}/{path} -> relative symlink to `blob`, replacing what was there atomically. */
  async #link(repo: string, commit: string, path: string, blob: string): Promise<void> {
    const target = this.#snapshotFile(repo, commit, path);
    await this.#atomic(target, async (tmp) => {
      try {
        await symlink(relative(dirname(target), blob), tmp);
      } catch (error) {
        // Where symlinks are not allowed (Windows without developer mode), Python copies too.
        if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
        await copyFile(blob, tmp);
      }
    });
  }

  /** Creates `path` by writing a temporary sibling and renaming it over. */
  async #atomic(path: string, make: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await make(tmp);
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true }).catch(() => {});
      throw writeError(error, path);
    }
  }
}

function checkCommit(commit: string): void {
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new DownloadError('HUB_BAD_LISTING', `${JSON.stringify(commit)} is not a 40-hex commit`);
}

function diskFile(path: string, size: number): CachedFile {
  return { size, path, bytes: async () => new Uint8Array(await readFile(path)) };
}

function writeError(error: unknown, path: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DownloadError('DEST_WRITE_FAILED', `cannot write ${path} (${message})`, { cause: error });
}
