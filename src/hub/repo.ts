// Owns: the names of things on a Hugging Face hub, runtime-neutral — checking a repo id, a revision
// and an endpoint, telling a commit hash from a branch or tag, the documented URLs ({endpoint}/api/models/
// {repo}/revision/{rev} and {endpoint}/{repo}/resolve/{rev}/{path}), and the defaults read from the
// environment where there is one (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE), as huggingface_hub does.
// Does not own any request (client.ts) or any storage (cache.ts).
import { DownloadError } from './download-error.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

// Hub repo ids, as huggingface_hub's validate_repo_id checks them: 'namespace/name' (kmed always
// wants the namespace), each part 1 to 96 ASCII letters, digits, '-', '_' or '.', neither starting
// nor ending with '-' or '.'; no '--' or '..' anywhere (the cache folder is models--{ns}--{name},
// so 'a/b--c' and 'a--b/c' would share one), and no '.git' suffix.
const REPO_PART = /^[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?$/;
const COMMIT_HASH = /^[0-9a-f]{40}$/;
/** Longest revision accepted (git has no limit; a ref path longer than this is no branch anyone types). */
const MAX_REVISION_LENGTH = 255;

/** Throws DownloadError HUB_INVALID_NAME unless `repo` is a valid hub id 'namespace/name'. */
export function checkRepoId(repo: unknown): asserts repo is string {
  const why = repoIdProblem(repo);
  if (why !== undefined) {
    throw new DownloadError(
      'HUB_INVALID_NAME',
      `${quoteName(repo)} is not a Hugging Face model id: ${why} (expected namespace/name, e.g. snumin44/medical-biencoder-ko-bert-question)`,
    );
  }
}

function repoIdProblem(repo: unknown): string | undefined {
  if (typeof repo !== 'string') return 'not a string';
  const parts = repo.split('/');
  if (parts.length !== 2) return parts.length === 1 ? 'no namespace' : "more than one '/'";
  for (const part of parts) {
    if (!REPO_PART.test(part)) return `'${part}' must be 1 to 96 of A-Z a-z 0-9 - _ . and may not start or end with '-' or '.'`;
  }
  if (repo.includes('--') || repo.includes('..')) return "'--' and '..' are not allowed";
  if (repo.endsWith('.git')) return "a '.git' suffix is not allowed";
  return undefined;
}

/**
 * Throws DownloadError HUB_INVALID_NAME unless `revision` is a 40-hex commit or a name git accepts
 * for a branch or tag (git check-ref-format): '/'-separated parts, none empty, none starting with
 * '.' or ending with '.lock'; no '..', '@{', control characters, space, ~ ^ : ? * [ or '\\'; not
 * ending with '.' or '/'; not '@'. The hub's pull-request refs ('refs/pr/1') pass these rules. The
 * revision becomes a path under refs/ in the cache, which these rules keep inside it.
 */
export function checkRevision(revision: unknown): asserts revision is string {
  const why = revisionProblem(revision);
  if (why !== undefined) {
    throw new DownloadError('HUB_INVALID_NAME', `revision ${quoteName(revision)} is not a branch, tag or commit: ${why}`);
  }
}

function revisionProblem(revision: unknown): string | undefined {
  if (typeof revision !== 'string') return 'not a string';
  if (revision === '') return 'empty';
  if (revision.length > MAX_REVISION_LENGTH) return `longer than ${MAX_REVISION_LENGTH} characters`;
  if (revision === '@') return "'@' alone is not a ref name";
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0020\u007f~^:?*[\\]/.exec(revision);
  if (bad) return `it contains ${JSON.stringify(bad[0])}`;
  if (revision.includes('..')) return "it contains '..'";
  if (revision.includes('@{')) return "it contains '@{'";
  if (revision.endsWith('.')) return "it ends with '.'";
  for (const part of revision.split('/')) {
    if (part === '') return "it has an empty '/'-separated part";
    if (part.startsWith('.')) return `its part '${part}' starts with '.'`;
    if (part.endsWith('.lock')) return `its part '${part}' ends with '.lock'`;
  }
  return undefined;
}

/** A name for an error message: quoted, control characters escaped, at most 200 characters. */
function quoteName(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
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
