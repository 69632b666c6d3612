// Owns: the progress events a `fromPretrained` load reports, as one discriminated union on `type`,
// so a caller can switch on it and TypeScript knows each event's fields.
// Does not own when they are sent (snapshot.ts for the hub side, encoder.ts for 'loaded', load.ts
// for 'cache-failed').

/** A file of the snapshot being loaded. */
export interface SnapshotFileInfo {
  path: string;
  size: number;
  /** Already in the cache: no byte of it crosses the network. */
  cached: boolean;
}

/** A cache operation the browser refused (the Cache API store, browser-cache.ts); the load went on
 *  without it. */
export interface CacheFailure {
  repo: string;
  /** The repo file concerned ('model.safetensors', 'refs/main', ...); absent for 'open'. */
  file?: string;
  /** 'open': caches.open failed, nothing is read or written; 'read': a match or read failed and
   *  counted as a miss; 'write': a put failed, and nothing more is written during this load. */
  operation: 'open' | 'read' | 'write';
  /** The browser's error as "Name: message", e.g. "UnknownError: Failed to execute 'put' on
   *  'Cache': Unexpected internal error." or "QuotaExceededError: ...". */
  reason: string;
}

export type HubProgressEvent =
  /** The files the load needs are known (from the hub's listing, or from the cache alone). */
  | {
      type: 'files';
      repo: string;
      revision: string;
      commit: string;
      files: SnapshotFileInfo[];
      /** Bytes of all those files, and of those already cached. */
      totalBytes: number;
      cachedBytes: number;
      /** 'hub': the revision was resolved by a request; 'cache': no request was made;
       *  'cache-fallback': the hub could not be reached and the cached snapshot was used. */
      source: 'hub' | 'cache' | 'cache-fallback';
    }
  /** Bytes arrived for one file. */
  | {
      type: 'download';
      repo: string;
      file: string;
      /** Bytes of this file held so far (a resumed transfer starts above 0), and its size. */
      fileBytes: number;
      fileSize: number;
      /** Bytes of the whole snapshot in place so far (cached files count), and its total. */
      bytes: number;
      totalBytes: number;
    }
  /** A downloaded file matched its size and hash, and was stored. */
  | { type: 'verified'; repo: string; file: string; size: number; sha256?: string; gitBlobId?: string }
  /** The model is in the kernel heap, ready to embed. */
  | { type: 'loaded'; repo: string; commit: string; ms: number }
  /** The browser's cache refused an operation (over quota, private mode, a throwaway profile, an
   *  opaque origin): the load goes on from memory and nothing more is stored during it, so the
   *  next load downloads again what was not stored. Sent at most once per load. */
  | ({ type: 'cache-failed' } & CacheFailure);

export type HubProgressCallback = (event: HubProgressEvent) => void;
