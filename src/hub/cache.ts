// Owns: the storage contract a hub download writes into and a load reads from — modelled on the
// layout Python's huggingface_hub shares (refs/{revision} -> commit; snapshots/{commit}/{path} ->
// a blob named by its etag, the git blob id or the LFS sha256; blobs written under a temporary name
// and published only once verified; `.no_exist` marks for files a commit does not have) — plus the
// store used when caching is off (`cache: false`), which only holds one transfer in memory.
// Implementations: Cache API in browsers (browser-cache.ts), the Hugging Face folder on disk in
// Node/Deno/Bun (../node/hub-cache.ts). Does not own any request (client.ts, transfer.ts).
import { SHA256_HEX } from '../formats/sha256.js';

/** A file of a cached snapshot. */
export interface CachedFile {
  /** Size in bytes. */
  readonly size: number;
  /** Its whole content. */
  bytes(): Promise<Uint8Array>;
  /** Where it lives on disk, for stores that have a disk. */
  readonly path?: string;
  /** The LFS sha256 its bytes were verified against before they were stored, where the store knows
   *  it (a blob kept under its LFS etag): fingerprints use it instead of hashing the bytes again. */
  readonly sha256?: string;
}

/** The sha256 an etag names: the hub gives an LFS file its sha256 (64 hex digits) as etag, a plain
 *  git file its 40-digit blob id, which is no sha256. */
export function lfsSha256OfEtag(etag: string): string | undefined {
  return SHA256_HEX.test(etag) ? etag : undefined;
}

/** One blob being written. Bytes a broken transfer left behind are kept for a resume. */
export interface BlobWriter {
  /** Bytes already held (from an earlier, broken transfer): the transfer resumes from here. */
  readonly offset: number;
  /** The held bytes, in order (so the transfer can hash them before it resumes). */
  readHeld(): AsyncIterable<Uint8Array>;
  /** Appends `chunk` at `offset` and advances it. */
  write(chunk: Uint8Array): Promise<void>;
  /** Drops the held bytes: the next write starts the blob at byte 0. */
  restart(): Promise<void>;
  /** The blob is complete and verified: publish it atomically and link it as `path` of `commit`. */
  publish(commit: string, path: string): Promise<CachedFile>;
  /** Stops writing without publishing. `keep`: leave the bytes for a later resume where the store can. */
  close(keep: boolean): Promise<void>;
}

/** Where fetched model files live between loads. Every method may be called concurrently by two loads. */
export interface HubCache {
  /** What error messages call this store, e.g. 'the Hugging Face cache /home/me/.cache/huggingface/hub'. */
  readonly description: string;
  /** The commit a branch or tag pointed at when it was last resolved, if known. */
  readRef(repo: string, revision: string): Promise<string | undefined>;
  writeRef(repo: string, revision: string, commit: string): Promise<void>;
  /** `path` of `commit`, when the snapshot has it. A store that can tell its content no longer
   *  matches what was verified throws DownloadError HUB_CACHE_CORRUPT. */
  getFile(repo: string, commit: string, path: string): Promise<CachedFile | undefined>;
  /** True when `path` is recorded as absent from `commit` (an optional file the repo lacks). */
  isAbsent(repo: string, commit: string, path: string): Promise<boolean>;
  markAbsent(repo: string, commit: string, path: string): Promise<void>;
  /** Links `path` of `commit` to an already held blob (same content under another commit);
   *  undefined when the blob is not held (or no longer holds what its name states). */
  linkBlob(repo: string, commit: string, path: string, etag: string, size: number): Promise<CachedFile | undefined>;
  /** Starts (or resumes) writing the blob `etag` of `size` bytes. */
  openBlob(repo: string, etag: string, size: number): Promise<BlobWriter>;
  /** Optional, for stores shared by processes: waits while another one is fetching blob `etag`
   *  (until it is done, `signal` aborts or `deadline` — a Date.now() value — passes), then marks it
   *  as fetched by this one until `release`. Best effort: correctness must not depend on it. */
  lockBlob?(repo: string, etag: string, signal?: AbortSignal, deadline?: number): Promise<{ release(): Promise<void> }>;
}

/** A blob writer into memory: used by `cache: false` and by the Cache API store (which can only
 *  put a whole response). A broken transfer resumes within the same load; `held` starts it from
 *  bytes a store kept from an earlier load. */
export class MemoryBlobWriter implements BlobWriter {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(size: number, held?: Uint8Array) {
    this.#bytes = new Uint8Array(size);
    if (held && held.byteLength <= size) {
      this.#bytes.set(held);
      this.#offset = held.byteLength;
    }
  }

  get offset(): number {
    return this.#offset;
  }

  async *readHeld(): AsyncIterable<Uint8Array> {
    if (this.#offset > 0) yield this.#bytes.subarray(0, this.#offset);
  }

  async write(chunk: Uint8Array): Promise<void> {
    // The transfer never writes past the stated size (it checks first); this guards the store.
    if (this.#offset + chunk.byteLength > this.#bytes.byteLength) throw new RangeError('blob longer than its stated size');
    this.#bytes.set(chunk, this.#offset);
    this.#offset += chunk.byteLength;
  }

  async restart(): Promise<void> {
    this.#offset = 0;
  }

  /** The complete content (valid once offset === size). */
  get content(): Uint8Array {
    return this.#bytes;
  }

  /** The bytes held so far. */
  get held(): Uint8Array {
    return this.#bytes.subarray(0, this.#offset);
  }

  async publish(_commit: string, _path: string): Promise<CachedFile> {
    return memoryFile(this.#bytes);
  }

  async close(_keep: boolean): Promise<void> {}
}

/** A CachedFile over bytes in memory. */
export function memoryFile(bytes: Uint8Array): CachedFile {
  return { size: bytes.byteLength, bytes: async () => bytes };
}

/** `cache: false`: nothing is kept between loads; every load downloads. */
export class NoCache implements HubCache {
  readonly description = 'no cache (cache: false)';
  async readRef(): Promise<string | undefined> {
    return undefined;
  }
  async writeRef(): Promise<void> {}
  async getFile(): Promise<CachedFile | undefined> {
    return undefined;
  }
  async isAbsent(): Promise<boolean> {
    return false;
  }
  async markAbsent(): Promise<void> {}
  async linkBlob(): Promise<CachedFile | undefined> {
    return undefined;
  }
  async openBlob(_repo: string, _etag: string, size: number): Promise<BlobWriter> {
    return new MemoryBlobWriter(size);
  }
}

/** The `cache: false` store. */
export function noCache(): HubCache {
  return new NoCache();
}
