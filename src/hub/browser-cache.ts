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
// Does not own requests (transfer.ts) or the load policy (snapshot.ts).
import { DownloadError } from './download-error.js';
import { lfsSha256OfEtag, MemoryBlobWriter, type BlobWriter, type CachedFile, type HubCache } from './cache.js';

/** The CacheStorage cache name used when none is given. */
export const DEFAULT_BROWSER_CACHE_NAME = 'kmed-dpr-hub';
// Keys need an http(s) URL; this host is never contacted (cache.match/put never fetch).
const BASE = 'https://kmed-dpr.cache.invalid';

export class CacheApiStore implements HubCache {
  readonly description: string;
  readonly #name: string;
  readonly #storage: CacheStorage;
  #cache: Promise<Cache> | undefined;

  constructor(name = DEFAULT_BROWSER_CACHE_NAME, storage: CacheStorage = (globalThis as { caches: CacheStorage }).caches) {
    this.#name = name;
    this.#storage = storage;
    this.description = `the browser cache '${name}' (Cache API)`;
  }

  #open(): Promise<Cache> {
    return (this.#cache ??= this.#storage.open(this.#name));
  }

  async readRef(repo: string, revision: string): Promise<string | undefined> {
    const text = await this.#text(key(repo, 'refs', revision));
    return text !== undefined && /^[0-9a-f]{40}$/.test(text.trim()) ? text.trim() : undefined;
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    await (await this.#open()).put(key(repo, 'refs', revision), textResponse(commit));
  }

  async getFile(repo: string, commit: string, path: string): Promise<CachedFile | undefined> {
    const pointer = await this.#text(key(repo, 'snapshots', commit, path));
    if (pointer === undefined) return undefined;
    let etag: unknown, size: unknown;
    try {
      ({ etag, size } = JSON.parse(pointer) as { etag?: unknown; size?: unknown });
    } catch {
      return undefined;
    }
    if (typeof etag !== 'string' || typeof size !== 'number') return undefined;
    return this.#blob(repo, etag, size);
  }

  async isAbsent(repo: string, commit: string, path: string): Promise<boolean> {
    return (await (await this.#open()).match(key(repo, 'no_exist', commit, path))) !== undefined;
  }

  async markAbsent(repo: string, commit: string, path: string): Promise<void> {
    await (await this.#open()).put(key(repo, 'no_exist', commit, path), textResponse(''));
  }

  async linkBlob(repo: string, commit: string, path: string, etag: string, size: number): Promise<CachedFile | undefined> {
    const blob = await this.#blob(repo, etag, size);
    if (blob) await this.#link(repo, commit, path, etag, size);
    return blob;
  }

  async openBlob(repo: string, etag: string, size: number): Promise<BlobWriter> {
    const store = this;
    // Bytes an earlier load kept (aborted, or cut off): taken over, so two tabs never share them.
    const cache = await this.#open();
    const partKey = key(repo, 'blobs', `${etag}.incomplete`);
    const part = await cache.match(partKey);
    const held = part ? new Uint8Array(await part.arrayBuffer()) : undefined;
    if (part) await cache.delete(partKey);
    return new (class extends MemoryBlobWriter {
      override async close(keep: boolean): Promise<void> {
        // Verified-bad bytes are not kept (keep=false); a partial transfer is, for the next load.
        if (keep && this.offset > 0 && this.offset < size) await cache.put(partKey, new Response(this.held.slice()));
      }

      override async publish(commit: string, path: string): Promise<CachedFile> {
        const bytes = this.content;
        const cache = await store.#open();
        await cache.put(key(repo, 'blobs', etag), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.byteLength) } }));
        await store.#link(repo, commit, path, etag, size);
        return { size: bytes.byteLength, sha256: lfsSha256OfEtag(etag), bytes: async () => bytes };
      }
    })(size, held);
  }

  async #link(repo: string, commit: string, path: string, etag: string, size: number): Promise<void> {
    await (await this.#open()).put(key(repo, 'snapshots', commit, path), textResponse(JSON.stringify({ etag, size })));
  }

  async #blob(repo: string, etag: string, size: number): Promise<CachedFile | undefined> {
    const cache = await this.#open();
    const blobKey = key(repo, 'blobs', etag);
    const head = await cache.match(blobKey);
    if (!head) return undefined;
    // The stored length is checked before the bytes are trusted (a quota-evicted or foreign entry).
    if (Number(head.headers.get('content-length')) !== size) return undefined;
    await head.body?.cancel();
    return {
      size,
      sha256: lfsSha256OfEtag(etag),
      async bytes() {
        const response = await cache.match(blobKey);
        const bytes = response ? new Uint8Array(await response.arrayBuffer()) : undefined;
        if (!bytes || bytes.byteLength !== size) {
          throw new DownloadError('HUB_NOT_CACHED', `the browser cache lost ${repo} blob ${etag} (${bytes?.byteLength ?? 'no'} bytes of ${size}); load again to fetch it`);
        }
        return bytes;
      },
    };
  }

  async #text(k: string): Promise<string | undefined> {
    const response = await (await this.#open()).match(k);
    return response ? response.text() : undefined;
  }
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
