// Owns: what `kmed download` asks a Hugging Face hub (or a mirror) about *what* to download:
// the files of a model repo at a revision, through the runtime-neutral model-info request
// (../../hub/client.ts: GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true, one request with
// every file's size and hash), plus the names kmed download's own code uses (repo ids, endpoints,
// resolve URLs, network-error wording), re-exported from ../hub/.
// Does not own the byte transfer (resumable-download.ts) nor where files land (hub-download.ts).

import { DownloadError } from '../../hub/download-error.js';
import { describeNetworkError as describe, fetchRevisionInfo, hubHeaders } from '../../hub/client.js';
import { checkRepoId as check, normalizeEndpoint, resolveUrl } from '../../hub/repo.js';

export { hubHeaders, normalizeEndpoint, resolveUrl };

/** One file of a model repo as the hub states it; sizes and hashes are what the download is checked against. */
export interface RepoFile {
  /** Path inside the repo, '/'-separated, already checked to stay inside the destination folder. */
  path: string;
  /** Size in bytes of the real content (the LFS object's size for LFS files, not the pointer's). */
  size: number;
  /** sha256 (hex) of the content, for LFS (and Xet-backed) files. */
  sha256?: string;
  /** Git blob id (sha1 hex) of the content, for files stored in git itself. */
  gitBlobId?: string;
}

export interface HubRequestOptions {
  /** Hub base URL without trailing slash, e.g. 'https://huggingface.co'. */
  endpoint: string;
  revision: string;
  token?: string;
  /** Abort a request that has not completed within this many milliseconds. */
  timeoutMs: number;
}

/** Throws unless `repo` looks like 'namespace/name'. */
export function checkRepoId(repo: string): void {
  check(repo);
}

/** A one-phrase description of a network-level failure, or undefined when `error` is not one. */
export function describeNetworkError(error: unknown, timeoutMs: number): string | undefined {
  return describe(error, timeoutMs);
}

/** Lists every file of a model repo at a revision, validated (see RepoFile). */
export async function listRepoFiles(repo: string, options: HubRequestOptions): Promise<RepoFile[]> {
  checkRepoId(repo);
  const info = await fetchRevisionInfo(repo, options.revision, {
    endpoint: options.endpoint,
    token: options.token,
    fetch: globalThis.fetch.bind(globalThis),
    timeoutMs: options.timeoutMs,
  });
  if (info.files.length === 0) {
    throw new DownloadError('HUB_BAD_LISTING', `the hub lists no files for ${repo} at revision ${options.revision}`);
  }
  return info.files.map(({ path, size, sha256, gitBlobId }) => ({ path, size, sha256, gitBlobId }));
}
