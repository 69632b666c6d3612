// Owns: what `kmed download` asks a Hugging Face hub (or a mirror) about *what* to download:
// the commit a revision resolves to and the files of a model repo there, through the runtime-neutral model-info request
// (../../hub/client.ts: GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true, one request with
// every file's size and hash), plus the names kmed download's own code uses (repo ids, endpoints,
// resolve URLs, network-error wording), re-exported from ../hub/.
// Does not own the byte transfer (resumable-download.ts) nor where files land (hub-download.ts).

import { DownloadError } from '../../hub/download-error.js';
import { describeNetworkError as describe, fetchRevisionInfo, hubHeaders } from '../../hub/client.js';
import type { ResolvedHubLimits } from '../../hub/limits.js';
import { checkRepoId as check, checkRevision, normalizeEndpoint, resolveUrl } from '../../hub/repo.js';

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
  /** Time, rate, attempt and size limits (../../hub/limits.ts). */
  limits: ResolvedHubLimits;
  signal?: AbortSignal;
}

/** Throws unless `repo` is a valid hub id 'namespace/name'. */
export function checkRepoId(repo: string): void {
  check(repo);
}

/** A one-phrase description of a network-level failure, or undefined when `error` is not one. */
export function describeNetworkError(error: unknown, timeoutMs: number): string | undefined {
  return describe(error, timeoutMs);
}

/** The commit a revision resolves to and every file of the repo there, validated (see RepoFile):
 *  one request, so every file can then be fetched at that commit even if the branch moves. */
export async function listRepoFiles(repo: string, options: HubRequestOptions): Promise<{ commit: string; files: RepoFile[] }> {
  checkRepoId(repo);
  checkRevision(options.revision);
  const info = await fetchRevisionInfo(repo, options.revision, {
    endpoint: options.endpoint,
    token: options.token,
    fetch: globalThis.fetch.bind(globalThis),
    signal: options.signal,
    limits: options.limits,
  });
  if (info.files.length === 0) {
    throw new DownloadError('HUB_BAD_LISTING', `the hub lists no files for ${repo} at revision ${options.revision}`);
  }
  return { commit: info.commit, files: info.files.map(({ path, size, sha256, gitBlobId }) => ({ path, size, sha256, gitBlobId })) };
}
