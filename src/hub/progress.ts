// Owns: the progress events a `fromPretrained` load reports, as one discriminated union on `type`,
// so a caller can switch on it and TypeScript knows each event's fields.
// Does not own when they are sent (snapshot.ts for the hub side, encoder.ts for 'loaded').

/** A file of the snapshot being loaded. */
export interface SnapshotFileInfo {
  path: string;
  size: number;
  /** Already in the cache: no byte of it crosses the network. */
  cached: boolean;
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
  | { type: 'loaded'; repo: string; commit: string; ms: number };

export type HubProgressCallback = (event: HubProgressEvent) => void;
