// Owns: the names of things on a Hugging Face hub, runtime-neutral — checking a repo id and an
// endpoint, telling a commit hash from a branch or tag, the documented URLs ({endpoint}/api/models/
// {repo}/revision/{rev} and {endpoint}/{repo}/resolve/{rev}/{path}), and the defaults read from the
// environment where there is one (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE), as huggingface_hub does.
// Does not own any request (client.ts) or any storage (cache.ts).
import { DownloadError } from './download-error.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

// Hub repo ids: 'namespace/name', letters, digits, '-', '_', '.'; no '..' (huggingface_hub's
// validate_repo_id). Checked here so a typo gives our message rather than a URL error.
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** Throws unless `repo` looks like 'namespace/name'. */
export function checkRepoId(repo: unknown): asserts repo is string {
  if (typeof repo !== 'string' || !REPO_ID.test(repo) || repo.includes('..') || repo.length > 96) {
    throw new DownloadError(
      'HUB_REPO_NOT_FOUND',
      `${JSON.stringify(repo)} is not a Hugging Face model id (expected namespace/name, e.g. snumin44/medical-biencoder-ko-bert-question)`,
    );
  }
}

/** True for a full 40-hex commit id: a revision that can never move, so a cache hit needs no request. */
export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
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

/** The model-info URL: the commit a revision points at and every file with its size and hashes. */
export function revisionUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

/** An environment variable where the runtime has an environment (Node, Bun, Deno with
 *  --allow-env); undefined in browsers, or where reading it is not permitted. */
export function envVar(name: string): string | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const value = env?.[name];
    return value === undefined || value === '' ? undefined : value;
  } catch {
    // Deno without --allow-env throws on access: behave as if unset.
    return undefined;
  }
}

/** The endpoint to use: the option, else HF_ENDPOINT, else https://huggingface.co. */
export function defaultEndpoint(option: string | undefined): string {
  return normalizeEndpoint(option ?? envVar('HF_ENDPOINT') ?? DEFAULT_ENDPOINT);
}

/** HF_HUB_OFFLINE=1 (or true/yes/on) makes every load offline, as in huggingface_hub. */
export function offlineFromEnv(): boolean {
  return /^(1|true|yes|on)$/i.test(envVar('HF_HUB_OFFLINE') ?? '');
}
