// Owns: talking to a Hugging Face hub (or a mirror) about *what* to download: checking the repo id,
// listing a model repo's files through `@huggingface/hub`'s `listFiles` (GET
// {endpoint}/api/models/{repo}/tree/{revision}?recursive=true, following `Link: rel="next"` pages),
// validating that listing, and building the documented file URL {endpoint}/{repo}/resolve/{rev}/{path}.
// Does not own the byte transfer (resumable-download.ts) nor where files land (hub-download.ts).
// Lives in src/node/ because `@huggingface/hub` is a dependency of the CLI, not of the core library.

import { HubApiError, listFiles } from '@huggingface/hub';
import { DownloadError } from './download-error.js';

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

// Hub repo ids: 'namespace/name', letters, digits, '-', '_', '.'; no '..' (see huggingface_hub's
// validate_repo_id). Checked here so a typo gives our message rather than a URL error.
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SHA1_HEX = /^[0-9a-f]{40}$/;

/** Throws unless `repo` looks like 'namespace/name'. */
export function checkRepoId(repo: string): void {
  if (!REPO_ID.test(repo) || repo.includes('..') || repo.length > 96) {
    throw new DownloadError(
      'HUB_REPO_NOT_FOUND',
      `'${repo}' is not a Hugging Face model id (expected namespace/name, e.g. snumin44/medical-biencoder-ko-bert-question)`,
    );
  }
}

/** Trims trailing slashes and checks the endpoint is an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new DownloadError('HUB_UNREACHABLE', `hub endpoint '${endpoint}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DownloadError('HUB_UNREACHABLE', `hub endpoint '${endpoint}' is not an http(s) URL`);
  }
  return trimmed;
}

/** The hub's documented download URL for one file; the hub answers it directly or with a redirect. */
export function resolveUrl(endpoint: string, repo: string, revision: string, path: string): string {
  // Revisions such as 'refs/pr/1' are one path segment on the hub, hence the full encoding.
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
}

/** Request headers every hub request carries (a token for private or gated repos). */
export function hubHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Lists every file of a model repo at a revision, validated (see RepoFile). */
export async function listRepoFiles(repo: string, options: HubRequestOptions): Promise<RepoFile[]> {
  checkRepoId(repo);
  const listingUrl = `${options.endpoint}/api/models/${repo}/tree/${options.revision}`;
  // Our own fetch so every page gets the timeout and the token without listFiles' 'hf_' prefix check
  // (mirrors may use other token formats).
  const timedFetch: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string> | undefined), ...hubHeaders(options.token) },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  const files: RepoFile[] = [];
  try {
    for await (const entry of listFiles({
      repo: { type: 'model', name: repo },
      revision: options.revision,
      recursive: true,
      hubUrl: options.endpoint,
      fetch: timedFetch,
    })) {
      const file = checkEntry(entry as unknown, listingUrl);
      if (file) files.push(file);
    }
  } catch (error) {
    throw hubRequestError(error, listingUrl, `listing the files of ${repo} at revision ${options.revision}`, options);
  }
  if (files.length === 0) {
    throw new DownloadError('HUB_BAD_LISTING', `the hub lists no files for ${repo} at revision ${options.revision} (${listingUrl})`, {
      url: listingUrl,
    });
  }
  return files;
}

/** Turns whatever a hub request threw into a DownloadError naming the URL and the cause. */
export function hubRequestError(error: unknown, url: string, doing: string, options: { endpoint: string; timeoutMs: number }): DownloadError {
  if (error instanceof DownloadError) return error;
  if (error instanceof HubApiError) {
    // The hub answers 401 rather than 404 for a repo that does not exist when no token is sent.
    if (error.statusCode === 404 || error.statusCode === 401) {
      return new DownloadError(
        'HUB_REPO_NOT_FOUND',
        `${doing}: repository or revision not found at ${options.endpoint} (HTTP ${error.statusCode} from ${error.url}); ` +
          'check the name, or set HF_TOKEN if the repo is private',
        { url: error.url, status: error.statusCode, cause: error },
      );
    }
    return new DownloadError('HUB_HTTP_ERROR', `${doing}: HTTP ${error.statusCode} from ${error.url}`, {
      url: error.url,
      status: error.statusCode,
      cause: error,
    });
  }
  const network = describeNetworkError(error, options.timeoutMs);
  if (network) {
    return new DownloadError('HUB_UNREACHABLE', `cannot reach ${options.endpoint} (${network}) while ${doing}: ${url}`, {
      url,
      cause: error,
    });
  }
  // A body that is not the JSON array the hub returns (a captive portal page, a broken mirror).
  const what = error instanceof Error ? error.message : String(error);
  return new DownloadError('HUB_BAD_LISTING', `${doing}: unexpected answer from ${url} (${what})`, { url, cause: error });
}

/**
 * A one-phrase description of a network-level failure (DNS, refused, reset, timeout), or undefined
 * when `error` is not one. Node's fetch wraps the socket error as `TypeError('fetch failed', {cause})`.
 */
export function describeNetworkError(error: unknown, timeoutMs: number): string | undefined {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') return undefined;
  let cause = (error as { cause?: unknown }).cause;
  // Happy-eyeballs connects (IPv4 and IPv6) fail with an AggregateError of both attempts.
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : undefined;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `DNS lookup failed: ${message ?? code}`;
    case 'ECONNREFUSED':
      return `connection refused: ${message ?? code}`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connection timed out: ${message ?? code}`;
    default:
      return message ? `${typeof code === 'string' ? code + ': ' : ''}${message}` : 'network error';
  }
}

/** Checks one listing entry; returns undefined for directories (recursive listings name them too). */
function checkEntry(entry: unknown, listingUrl: string): RepoFile | undefined {
  const bad = (why: string): never => {
    throw new DownloadError('HUB_BAD_LISTING', `file listing ${listingUrl} has a bad entry (${why}): ${JSON.stringify(entry)?.slice(0, 200)}`, {
      url: listingUrl,
    });
  };
  if (typeof entry !== 'object' || entry === null) return bad('not an object');
  const { type, path, size, oid, lfs } = entry as Record<string, unknown>;
  if (type === 'directory') return undefined;
  if (type !== 'file') return bad(`type ${String(type)}`);
  if (typeof path !== 'string') return bad('path is not a string');
  checkRelativePath(path, bad);
  const lfsInfo = lfs as Record<string, unknown> | undefined | null;
  const realSize = lfsInfo ? lfsInfo.size : size;
  if (typeof realSize !== 'number' || !Number.isSafeInteger(realSize) || realSize < 0) return bad('size is not a byte count');
  const file: RepoFile = { path, size: realSize };
  if (lfsInfo) {
    if (typeof lfsInfo.oid !== 'string' || !SHA256_HEX.test(lfsInfo.oid)) return bad('lfs.oid is not a sha256');
    file.sha256 = lfsInfo.oid;
  } else if (typeof oid === 'string' && SHA1_HEX.test(oid)) {
    file.gitBlobId = oid;
  }
  return file;
}

/** A listed path must stay inside the model folder: no absolute paths, '..', '\\' or empty segments. */
function checkRelativePath(path: string, bad: (why: string) => never): void {
  if (path.length === 0 || path.length > 1024) bad('empty or overlong path');
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0')) bad('path is not relative');
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') bad(`path segment '${segment}'`);
    if (/^[A-Za-z]:$/.test(segment)) bad('path names a drive');
  }
}
