// Owns: the hint `kmed download` (the weights/ downloader, hub-download.ts) adds to its failures:
// the model folders are plain files that can be copied by hand. The error class itself is the
// runtime-neutral one (../../hub/download-error.ts), re-exported so `instanceof` works from either entry.
// Does not own the wording of per-case messages (the thrower knows the URL / file at fault).

import { DownloadError } from '../../hub/download-error.js';

export { DownloadError, type DownloadErrorCode } from '../../hub/download-error.js';

/** Why a user without network access is not stuck: the folders are plain files. */
export function manualCopyHint(): string {
  // One line on purpose: the CLI prints `kmed: <message>` and a user offline should need no more.
  return (
    'Without network access, copy the model folders by hand into weights/ ' +
    '(e.g. weights/medical-biencoder-ko-bert-question/), or point the endpoint (option or HF_ENDPOINT) at a mirror'
  );
}

/** `error` with the manual-copy hint added (once); other errors pass through unchanged. */
export function withManualCopyHint(error: unknown): unknown {
  if (!(error instanceof DownloadError) || error.message.endsWith(manualCopyHint())) return error;
  return new DownloadError(error.code, error.message, { url: error.url, status: error.status, cause: error.cause, hint: manualCopyHint() });
}
