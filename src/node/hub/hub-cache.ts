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
// second one starts its own and the last rename wins, with identical, verified bytes.
// Does not own requests or the load policy (../../hub/).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { BlobWriter, CachedFile, HubCache } from '../../hub/cache.js';
import { DownloadError } from '../../hub/download-error.js';
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
 *  it holds config.json and model.safetensors; undefined otherwise. Synchronous: the CLI resolves
 *  model folders before it loads anything. */
export function findCachedSnapshot(repo: string, revision = 'main', cacheDir = defaultHubCacheDir()): string | undefined {
  const repoDir = join(cacheDir, repoFolderName(repo));
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    try {
      commit = readFileSync(join(repoDir, 'refs', ...revision.split('/')), 'utf8').trim();
    } catch {
      return undefined;
    }
    if (!/^[0-9a-f]{40}$/.test(commit)) return undefined;
  }
  const dir = join(repoDir, 'snapshots', commit);
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  return isFile(join(dir, 'config.json')) && isFile(join(dir, 'model.safetensors')) ? dir : undefined;
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
    return join(this.dir, repoFolderName(repo));
  }

  /** The snapshot folder of `commit` (it may not exist). */
  snapshotDir(repo: string, commit: string): string {
    return join(this.repoDir(repo), 'snapshots', commit);
  }

  async readRef(repo: string, revision: string): Promise<string | undefined> {
    try {
      const commit = (await readFile(join(this.repoDir(repo), 'refs', ...revision.split('/')), 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    const path = join(this.repoDir(repo), 'refs', ...revision.split('/'));
    // No trailing newline: Python reads the file whole and compares it to commit hashes.
    await this.#atomic(path, (tmp) => writeFile(tmp, commit));
  }

  async getFile(repo: string, commit: string, path: string): Promise<CachedFile | undefined> {
    const file = join(this.snapshotDir(repo, commit), ...path.split('/'));
    try {
      const info = await stat(file); // follows the symlink: a dangling one is not a file
      return info.isFile() ? diskFile(file, info.size) : undefined;
    } catch {
      return undefined;
    }
  }

  async isAbsent(repo: string, commit: string, path: string): Promise<boolean> {
    return existsSync(join(this.repoDir(repo), '.no_exist', commit, ...path.split('/')));
  }

  async markAbsent(repo: string, commit: string, path: string): Promise<void> {
    const file = join(this.repoDir(repo), '.no_exist', commit, ...path.split('/'));
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, '');
    } catch (error) {
      throw writeError(error, file);
    }
  }

  async linkBlob(repo: string, commit: string, path: string, etag: string, size: number): Promise<CachedFile | undefined> {
    const blob = join(this.repoDir(repo), 'blobs', etag);
    const info = await stat(blob).catch(() => undefined);
    if (!info?.isFile() || info.size !== size) return undefined;
    await this.#link(repo, commit, path, blob);
    return diskFile(join(this.snapshotDir(repo, commit), ...path.split('/')), size);
  }

  async openBlob(repo: string, etag: string, _size: number): Promise<BlobWriter> {
    const blobs = join(this.repoDir(repo), 'blobs');
    const shared = join(blobs, `${etag}.incomplete`);
    const own = join(blobs, `${etag}.${process.pid}-${randomBytes(4).toString('hex')}.incomplete`);
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
        const blob = join(blobs, etag);
        await file.finish();
        try {
          await rename(own, blob);
        } catch (error) {
          throw writeError(error, blob);
        }
        await cache.#link(repo, commit, path, blob);
        return diskFile(join(cache.snapshotDir(repo, commit), ...path.split('/')), file.offset);
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
    const target = join(this.snapshotDir(repo, commit), ...path.split('/'));
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

function diskFile(path: string, size: number): CachedFile {
  return { size, path, bytes: async () => new Uint8Array(await readFile(path)) };
}

function writeError(error: unknown, path: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DownloadError('DEST_WRITE_FAILED', `cannot write ${path} (${message})`, { cause: error });
}
