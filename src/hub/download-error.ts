// Owns: DownloadError, the error family of fetching a model from a Hugging Face hub (listing a
// repo, transferring and checking files, the cache), and its stable codes. Runtime-neutral, so
// both entries export the same class and `instanceof` works whichever one a program imports.
// Does not own the wording of per-case messages (the thrower knows the URL or file at fault); a
// thrower may add one `hint` sentence saying what to do (library options, or CLI flags in the CLI).
import { KmedError } from '../errors/errors.js';

/** Stable codes a download can fail with. */
export type DownloadErrorCode =
  /** DNS, connect, TLS or a timeout before the server answered: nothing to retry here. */
  | 'HUB_UNREACHABLE'
  /** The connection dropped, stalled or ran below the minimum rate mid-transfer, and the retries
   *  (or the attempt budget) ran out; the bytes received are kept for a resume. */
  | 'HUB_INTERRUPTED'
  /** The load ran past its total deadline (`deadlineMs`); the bytes received are kept for a resume. */
  | 'HUB_DEADLINE'
  /** The server answered a resume (Range request) with 416 or a range not asked for, again after
   *  the transfer had started over from byte 0. */
  | 'HUB_BAD_RANGE'
  /** A listing (model info) body was longer than `maxListingBytes`. */
  | 'HUB_LISTING_TOO_LARGE'
  /** A repo id or revision does not follow the hub's and git's naming rules. */
  | 'HUB_INVALID_NAME'
  /** A hub option (a limit, a time) has a value that cannot be used. */
  | 'HUB_BAD_OPTION'
  /** A blob in the cache no longer has the content its name (sha256 or git blob id) states: it was
   *  modified after it was downloaded. */
  | 'HUB_CACHE_CORRUPT'
  /** The server answered with a status we cannot use (5xx, 403, unexpected 2xx/416 ...). */
  | 'HUB_HTTP_ERROR'
  /** The repository (or revision) does not exist, or is private and no token was given. */
  | 'HUB_REPO_NOT_FOUND'
  /** The file listing is malformed or names a path outside the destination folder. */
  | 'HUB_BAD_LISTING'
  /** The repository has weights only in formats kmed cannot read (no model.safetensors). */
  | 'HUB_NO_SAFETENSORS'
  /** `offline` was asked for (or the hub was unreachable) and the cache lacks what is needed. */
  | 'HUB_NOT_CACHED'
  /** The bytes received do not have the size the hub stated. */
  | 'SIZE_MISMATCH'
  /** The bytes received do not have the sha256 (LFS) or git blob id the hub stated. */
  | 'CHECKSUM_MISMATCH'
  /** Writing into the destination folder or cache failed (permissions, disk full, quota ...). */
  | 'DEST_WRITE_FAILED';

export class DownloadError extends KmedError {
  override readonly code: DownloadErrorCode;
  /** The URL at fault, when there is one. */
  readonly url: string | undefined;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(
    code: DownloadErrorCode,
    message: string,
    details: { url?: string; status?: number; cause?: unknown; hint?: string } = {},
  ) {
    super(code, details.hint ? `${message}. ${details.hint}` : message, { cause: details.cause });
    this.code = code;
    this.url = details.url;
    this.status = details.status;
  }
}

/** How a message of a transfer cut short (HUB_INTERRUPTED, HUB_DEADLINE) ends: the bytes received
 *  are kept, and the CLI replaces this with its own words (rerun the command). */
export const RESUME_NOTE = 'trying again resumes it';

/** The hint library errors carry: what a caller without network access can do, in option names. */
export const OFFLINE_HINT =
  'Without network access, load from a filled cache with `offline: true`, or set `endpoint` (or HF_ENDPOINT) to a mirror';
