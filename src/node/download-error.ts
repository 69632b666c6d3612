// Owns: the error family of `kmed download` (listing the hub, transferring and checking files).
// Does not own the wording of per-case messages (the thrower knows the URL / file at fault); it
// only appends the one hint every download failure shares: the folders can be copied by hand.

import { KmedError } from '../errors.js';

/** Stable codes a download can fail with. */
export type DownloadErrorCode =
  /** DNS, connect, TLS or a timeout before the server answered: nothing to retry here. */
  | 'HUB_UNREACHABLE'
  /** The connection dropped or stalled mid-transfer and the retries ran out. */
  | 'HUB_INTERRUPTED'
  /** The server answered with a status we cannot use (5xx, 403, unexpected 2xx/416 ...). */
  | 'HUB_HTTP_ERROR'
  /** The repository (or revision) does not exist, or is private and no token was given. */
  | 'HUB_REPO_NOT_FOUND'
  /** The file listing is malformed or names a path outside the destination folder. */
  | 'HUB_BAD_LISTING'
  /** The repository has weights only in formats kmed cannot read (no model.safetensors). */
  | 'HUB_NO_SAFETENSORS'
  /** The bytes received do not have the size the hub stated. */
  | 'SIZE_MISMATCH'
  /** The bytes received do not have the sha256 (LFS) or git blob id the hub stated. */
  | 'CHECKSUM_MISMATCH'
  /** Writing into the destination folder failed (permissions, disk full ...). */
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
    details: { url?: string; status?: number; cause?: unknown } = {},
  ) {
    super(code, `${message}. ${manualCopyHint()}`, { cause: details.cause });
    this.code = code;
    this.url = details.url;
    this.status = details.status;
  }
}

/** Why a user without network access is not stuck: the folders are plain files. */
export function manualCopyHint(): string {
  // One line on purpose: the CLI prints `kmed: <message>` and a user offline should need no more.
  return (
    'Without network access, copy the model folders by hand into weights/ ' +
    '(e.g. weights/medical-biencoder-ko-bert-question/), or point the endpoint (option or HF_ENDPOINT) at a mirror'
  );
}
