// Owns: the browser's store for hub downloads, over the Cache API (CacheStorage), laid out like
// huggingface_hub's folder so the same rules apply: entries are keyed by synthetic URLs
//   {base}/models--{org}--{name}/refs/{revision}          -> the commit hash (text)
//   {base}/models--{org}--{name}/snapshots/{commit}/{path} -> {"etag","size"} of the file's blob
//   {base}/models--{org}--{name}/blobs/{etag}             -> the bytes
//   {base}/models--{org}--{name}/no_exist/{commit}/{path} -> marks an optional file the commit lacks
// so a second load by commit hash, or offline, makes no request, and two repos or commits sharing
// a blob store it once. A blob is put only after it was verified (transfer.ts) and before the
// snapshot entry that points at it, so a reader never follows a pointer to a missing or partial blob.
// The Cache API takes whole responses only: a transfer runs in memory and resumes there within a
// load; a load that is aborted or cut off puts what it holds under blobs/{etag}.incomplete, which
// the next load takes over and resumes with a Range request.
// The cache is an optimisation, never a reason to fail: when the browser refuses it (caches.open
// throws in an opaque origin; put rejects over quota, in private mode or in a throwaway profile;
// a read fails), the store says so through `onFailure` and goes on from memory — a refused read
// is a miss, a refused write is skipped, and after one refused write nothing more is written
// through this store (no pointer to a blob that was refused), so the next load downloads again.
// Does not own requests (transfer.ts) or the load policy (snapshot.ts).
import { lfsSha256OfEtag, memoryFile, MemoryBlobWriter, type BlobWriter, type CachedFile, type HubCache } from './cache.js';
import type { CacheFailure } from './progress.js';

export type { CacheFailure } from './progress.js';

/** The CacheStorage cache name used when none is given. */
export const DEFAULT_BROWSER_CACHE_NAME = 'kmed-dpr-hub';
// Keys need an http(s) URL; this host is never contacted (cache.match/put never fetch).
const BASE = 'https://kmed-dpr.cache.invalid';

export interface CacheApiStoreOptions {
  /** Told of every refused operation (the load itself goes on from memory). The store
   *  fromPretrained makes by default reports the first one of a load as its `cache-failed`
   *  progress event. */
  onFailure?: (failure: CacheFailure) => void;
}

export class CacheApiStore implements HubCache {
  readonly description: string;
  readonly #name: string;
  readonly #storage: CacheStorage;
  readonly #onFailure: ((failure: CacheFailure) => void) | undefined;
  /** The opened cache; resolves to undefined once open failed (memory only from then on). */
  #cache: Promise<Cache | undefined> | undefined;
  /** False after a refused put: a store over quota is not asked again, and no pointer is written
   *  after the blob it would point at was refused. */
  #writable = true;

  constructor(name = DEFAULT_BROWSER_CACHE_NAME, storage: CacheStorage = (globalThis as { caches: CacheStorage }).caches, options: CacheApiStoreOptions = {}) {
    this.#name = name;
    this.#storage = storage;
    this.#onFailure = options.onFailure;
    this.description = `the browser cache '${name}' (Cache API)`;
  }

  #open(repo: string): Promise<Cache | undefined> {
    // A synchronous throw (no storage at all) is the same refusal as a rejection.
    return (this.#cache ??= Promise.resolve()
      .then(() => this.#storage.open(this.#name))
      .catch((error: unknown) => {
        this.#writable = false;
        this.#failed({ repo, operation: 'open', reason: reasonOf(error) });
        return undefined;
      }));
  }

  #failed(failure: CacheFailure): void {
    try {
      this.#onFailure?.(failure);
    } catch {
      // A throwing listener must not turn a degraded load into a failed one.
    }
  }

  /** The response under `k`; undefined when absent or when the read is refused. */
  async #match(repo: string, file: string, k: string): Promise<Response | undefined> {
    const cache = await this.#open(repo);
    if (!cache) return undefined;
    try {
      return await cache.match(k);
    } catch (error) {
      this.#failed({ repo, file, operation: 'read', reason: reasonOf(error) });
      return undefined;
    }
  }

  /** Puts `response()` under `k`; false when the store is not writable or refuses it. */
  async #put(repo: string, file: string, k: string, response: () => Response): Promise<boolean> {
    const cache = await this.#open(repo);
    if (!cache || !this.#writable) return false;
    try {
      await cache.put(k, response());
      return true;
    } catch (error) {
      this.#writable = false;
      this.#failed({ repo, file, operation: 'write', reason: reasonOf(error) });
      return false;
    }
  }

  /** A stored response's bytes; undefined (and reported) when reading them fails. */
  async #read(repo: string, file: string, response: Response): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      this.#failed({ repo, file, operation: 'read', reason: reasonOf(error) });
      return undefined;
    }
  }

  async #text(repo: string, file: string, k: string): Promise<string | undefined> {
    const response = await this.#match(repo, file, k);
    const bytes = response && (await this.#read(repo, file, response));
    return bytes && new TextDecoder().decode(bytes);
  }

  async readRef(repo: string, revision: string): Promise<string | undefined> {
    const text = await this.#text(repo, `refs/${revision}`, key(repo, 'refs', revision));
    return text !== undefined && /^[0-9a-f]{40}$/.test(text.trim()) ? text.trim() : undefined;
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    await this.#put(repo, `refs/${revision}`, key(repo, 'refs', revision), () => textResponse(commit));
  }

  async getFile(repo: string, commit: string, path: string): Promise<CachedFile | undefined> {
    const pointer = await this.#text(repo, path, key(repo, 'snapshots', commit, path));
    if (pointer === undefined) return undefined;
    let etag: unknown, size: unknown;
    try {
      ({ etag, size } = JSON.parse(pointer) as { etag?: unknown; size?: unknown });
    } catch {
      return undefined;
    }
    if (typeof etag !== 'string' || typeof size !== 'number') return undefined;
    return this.#blob(repo, path, etag, size);
  }

  async isAbsent(repo: string, commit: string, path: string): Promise<boolean> {
    return (await this.#match(repo, path, key(repo, 'no_exist', commit, path))) !== undefined;
  }

  async markAbsent(repo: string, commit: string, path: string): Promise<void> {
    await this.#put(repo, path, key(repo, 'no_exist', commit, path), () => textResponse(''));
  }

  async linkBlob(repo: string, commit: string, path: string, etag: string, size: number): Promise<CachedFile | undefined> {
    const blob = await this.#blob(repo, path, etag, size);
    if (blob) await this.#link(repo, commit, path, etag, size);
    return blob;
  }

  async openBlob(repo: string, etag: string, size: number): Promise<BlobWriter> {
    const store = this;
    // Bytes an earlier load kept (aborted, or cut off): taken over, so two tabs never share them.
    const partName = `blobs/${etag}.incomplete`;
    const partKey = key(repo, 'blobs', `${etag}.incomplete`);
    const part = await this.#match(repo, partName, partKey);
    const held = part && (await this.#read(repo, partName, part));
    if (part) await (await this.#open(repo))?.delete(partKey).catch(() => false);
    return new (class extends MemoryBlobWriter {
      override async close(keep: boolean): Promise<void> {
        // Verified-bad bytes are not kept (keep=false); a partial transfer is, for the next load.
        if (keep && this.offset > 0 && this.offset < size) await store.#put(repo, partName, partKey, () => new Response(this.held.slice()));
      }

      override async publish(commit: string, path: string): Promise<CachedFile> {
        const bytes = this.content;
        // The pointer only once its blob is stored: a reader never follows it to nothing.
        const blob = () => new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.byteLength) } });
        if (await store.#put(repo, path, key(repo, 'blobs', etag), blob)) await store.#link(repo, commit, path, etag, size);
        return { ...memoryFile(bytes), sha256: lfsSha256OfEtag(etag) };
      }
    })(size, held);
  }

  async #link(repo: string, commit: string, path: string, etag: string, size: number): Promise<void> {
    await this.#put(repo, path, key(repo, 'snapshots', commit, path), () => textResponse(JSON.stringify({ etag, size })));
  }

  /** The blob, read now, so that a read the browser refuses is a miss (the file is downloaded)
   *  rather than a failure later in the load. The stored length is checked before the bytes are
   *  read or trusted (a quota-evicted or foreign entry is a miss too). */
  async #blob(repo: string, path: string, etag: string, size: number): Promise<CachedFile | undefined> {
    const response = await this.#match(repo, path, key(repo, 'blobs', etag));
    if (!response) return undefined;
    if (Number(response.headers.get('content-length')) !== size) {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    const bytes = await this.#read(repo, path, response);
    if (!bytes || bytes.byteLength !== size) return undefined;
    return { ...memoryFile(bytes), sha256: lfsSha256OfEtag(etag) };
  }
}

/** "Name: message" of a refusal, as the browser worded it. */
function reasonOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const e = error as { name?: unknown; message?: unknown };
    return `${String(e.name ?? 'Error')}: ${String(e.message)}`;
  }
  return String(error);
}

/** The store a load in this runtime uses by default: the Cache API where it exists. */
export function hasCacheApi(): boolean {
  return typeof (globalThis as { caches?: unknown }).caches === 'object' && (globalThis as { caches?: unknown }).caches !== null;
}

function key(repo: string, ...parts: string[]): string {
  const folder = `models--${repo.replace('/', '--')}`;
  return `${BASE}/${[folder, ...parts].map((p) => p.split('/').map(encodeURIComponent).join('/')).join('/')}`;
}

function textResponse(text: string): Response {
  return new Response(text, { headers: { 'content-type': 'text/plain' } });
}
