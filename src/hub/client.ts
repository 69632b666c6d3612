// Owns: asking a hub (or a mirror) what a revision holds — one GET {endpoint}/api/models/{repo}/
// revision/{rev}?blobs=true, which names the commit the revision points at (`sha`) and every file
// with its size, git blob id and, for LFS files, sha256 — and validating that answer. Also the
// request plumbing every hub request shares (token header, time limit and deadline tied to the
// caller's AbortSignal, network failures told apart from HTTP ones, listing bodies read with a cap). Runtime-neutral: plain `fetch`.
// Does not own byte transfers (transfer.ts) or storage (cache.ts).
import { AbortError } from '../errors/abort-error.js';
import { DownloadError, RESUME_NOTE } from './download-error.js';
import type { ResolvedHubLimits } from './limits.js';
import { revisionUrl } from './repo.js';
import { SHA256_HEX } from '../formats/sha256.js';

/** One file of a model repo as the hub states it; sizes and hashes are what a download is checked against. */
export interface RepoFile {
  /** Path inside the repo, '/'-separated, checked to stay inside the snapshot. */
  path: string;
  /** Size in bytes of the real content (the LFS object's size for LFS files, not the pointer's). */
  size: number;
  /** sha256 (hex) of the content, for LFS (and Xet-backed) files. */
  sha256?: string;
  /** Git blob id (sha1 hex) of the content, for files stored in git itself. */
  gitBlobId?: string;
  /** The name the blob has in the cache: the sha256 for LFS files, else the git blob id (what the
   *  hub sends as X-Linked-Etag / ETag, and what huggingface_hub names blobs by). */
  etag: string;
}

export interface RevisionInfo {
  /** The commit the revision points at (40 hex digits). */
  commit: string;
  files: RepoFile[];
}

/** What every hub request needs. */
export interface RequestContext {
  endpoint: string;
  token?: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Times, rates, attempts and sizes the exchange is bounded by (limits.ts). */
  limits: ResolvedHubLimits;
}

const SHA1_HEX = /^[0-9a-f]{40}$/;
/** setTimeout fires at once for delays beyond this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Request headers every hub request carries (a token for private or gated repos). */
export function hubHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * A controller that aborts when the caller's signal does, when `timeoutMs` pass (its reason is then
 * a TimeoutError), or at `deadline` (a Date.now() value; the reason is then a DeadlineError).
 * `restart` starts the time limit again, `abort` cuts the request with a reason of the caller's;
 * `done()` releases the timers and the listener.
 */
export function linkedController(signal: AbortSignal | undefined, timeoutMs: number, deadline?: number) {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const timeout = () => controller.abort(namedError('TimeoutError', 'timed out'));
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(timeout, Math.min(timeoutMs, MAX_TIMER_MS));
  const untilDeadline = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined =
    untilDeadline !== undefined && untilDeadline <= MAX_TIMER_MS
      ? setTimeout(() => controller.abort(namedError('DeadlineError', 'deadline passed')), untilDeadline)
      : undefined;
  return {
    signal: controller.signal,
    restart(ms: number) {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(timeout, Math.min(ms, MAX_TIMER_MS));
    },
    /** Stops the time limit (a transfer's body is bounded by its rate window instead). */
    clearTimeout() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    abort(reason: Error) {
      controller.abort(reason);
    },
    done() {
      if (timer !== undefined) clearTimeout(timer);
      if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
      timer = deadlineTimer = undefined;
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** An Error told apart by its name (TimeoutError, DeadlineError, StallError), as DOMException's are. */
export function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** True when `error` (or the reason a request was aborted with) is the load's deadline passing. */
export function isDeadline(error: unknown): boolean {
  return error instanceof Error && error.name === 'DeadlineError';
}

/** The error a load that ran past its deadline ends with. */
export function deadlineError(doing: string, limits: ResolvedHubLimits, url: string | undefined, cause?: unknown): DownloadError {
  return new DownloadError(
    'HUB_DEADLINE',
    `${doing}: gave up when the deadline of ${formatSeconds(limits.deadlineMs ?? 0)} (deadlineMs) passed` +
      `${url ? ` (${url})` : ''}; ${RESUME_NOTE}`,
    { url, cause },
  );
}

/** Waits `ms`, or less when `signal` aborts first (it never rejects: the caller checks the signal). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** 1500 -> '1.5 s', 20000 -> '20 s'. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 1 : 0)} s`;
}

/**
 * A one-phrase description of a network-level failure (DNS, refused, reset, timeout), or undefined
 * when `error` is not one. Fetch rejects with a TypeError for these in every runtime (Node wraps the
 * socket error as `TypeError('fetch failed', { cause })`).
 */
export function describeNetworkError(error: unknown, timeoutMs: number): string | undefined {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${formatSeconds(timeoutMs)}`;
  if (!(error instanceof TypeError)) return undefined;
  let cause = (error as { cause?: unknown }).cause;
  // Happy-eyeballs connects (IPv4 and IPv6) fail with an AggregateError of both attempts.
  if (typeof AggregateError !== 'undefined' && cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
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
      return message ? `${typeof code === 'string' ? code + ': ' : ''}${message}` : error.message || 'network error';
  }
}

/** The commit and files of `repo` at `revision` (one request). Throws DownloadError or AbortError. */
export async function fetchRevisionInfo(repo: string, revision: string, ctx: RequestContext): Promise<RevisionInfo> {
  const url = revisionUrl(ctx.endpoint, repo, revision);
  const doing = `resolving revision ${revision} of ${repo}`;
  if (ctx.limits.deadline !== undefined && Date.now() >= ctx.limits.deadline) throw deadlineError(doing, ctx.limits, url);
  const link = linkedController(ctx.signal, ctx.limits.timeoutMs, ctx.limits.deadline);
  let body: unknown;
  try {
    const response = await ctx.fetch(url, { headers: hubHeaders(ctx.token), signal: link.signal });
    if (!response.ok) {
      await response.body?.cancel();
      // The hub answers 401 rather than 404 for a repo that does not exist when no token is sent.
      if (response.status === 404 || response.status === 401) {
        throw new DownloadError(
          'HUB_REPO_NOT_FOUND',
          `${doing}: repository or revision not found at ${ctx.endpoint} (HTTP ${response.status} from ${url}); ` +
            'check the name, or pass `token` (HF_TOKEN) if the repo is private',
          { url, status: response.status },
        );
      }
      throw new DownloadError('HUB_HTTP_ERROR', `${doing}: HTTP ${response.status} from ${url}`, { url, status: response.status });
    }
    body = await readListingJson(response, url, doing, ctx);
  } catch (error) {
    throw requestError(error, url, doing, ctx);
  } finally {
    link.done();
  }
  return checkRevisionInfo(body, url);
}

/**
 * The JSON body of a listing, read with a cap: a body longer than `maxListingBytes` (stated in
 * Content-Length, or counted as it arrives) is cut there and refused, so an endless or huge answer
 * costs at most that much memory. Throws DownloadError HUB_LISTING_TOO_LARGE or HUB_BAD_LISTING.
 */
export async function readListingJson(response: Response, url: string, doing: string, ctx: RequestContext): Promise<unknown> {
  const cap = ctx.limits.maxListingBytes;
  const tooLarge = () =>
    new DownloadError('HUB_LISTING_TOO_LARGE', `${doing}: the listing from ${url} exceeded ${cap} bytes (maxListingBytes); it was not read further`, { url, status: response.status });
  const stated = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(stated) && stated > cap) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(all));
  } catch (cause) {
    throw new DownloadError('HUB_BAD_LISTING', `${doing}: ${url} did not answer JSON`, { url, cause });
  }
}

/** Turns whatever a request threw into a DownloadError (or AbortError) naming the URL and the cause. */
export function requestError(error: unknown, url: string, doing: string, ctx: { endpoint: string; limits: ResolvedHubLimits; signal?: AbortSignal }): Error {
  if (error instanceof DownloadError || error instanceof AbortError) return error;
  if (ctx.signal?.aborted) return new AbortError(doing, ctx.signal.reason);
  if (isDeadline(error)) return deadlineError(doing, ctx.limits, url, error);
  const network = describeNetworkError(error, ctx.limits.timeoutMs);
  if (network) {
    return new DownloadError('HUB_UNREACHABLE', `cannot reach ${ctx.endpoint} (${network}) while ${doing}: ${url}`, { url, cause: error });
  }
  const what = error instanceof Error ? error.message : String(error);
  return new DownloadError('HUB_BAD_LISTING', `${doing}: unexpected answer from ${url} (${what})`, { url, cause: error });
}

/** Validates the model-info JSON: a commit sha and a siblings list with sizes and hashes. */
function checkRevisionInfo(body: unknown, url: string): RevisionInfo {
  const bad = (why: string): never => {
    throw new DownloadError('HUB_BAD_LISTING', `the model info at ${url} is not usable (${why})`, { url });
  };
  if (typeof body !== 'object' || body === null) return bad('not a JSON object');
  const { sha, siblings } = body as Record<string, unknown>;
  if (typeof sha !== 'string' || !SHA1_HEX.test(sha)) return bad('no 40-hex commit "sha"');
  if (!Array.isArray(siblings)) return bad('no "siblings" list');
  const files = siblings.map((entry) => checkSibling(entry, bad));
  return { commit: sha, files };
}

function checkSibling(entry: unknown, bad: (why: string) => never): RepoFile {
  const where = () => JSON.stringify(entry)?.slice(0, 200);
  if (typeof entry !== 'object' || entry === null) return bad(`a sibling is not an object: ${where()}`);
  const { rfilename, size, blobId, lfs } = entry as Record<string, unknown>;
  if (typeof rfilename !== 'string') return bad(`a sibling has no rfilename: ${where()}`);
  checkRelativePath(rfilename, (why) => bad(`${why}: ${where()}`));
  const lfsInfo = lfs as Record<string, unknown> | undefined | null;
  const realSize = lfsInfo ? lfsInfo.size : size;
  if (typeof realSize !== 'number' || !Number.isSafeInteger(realSize) || realSize < 0) {
    return bad(`no byte size for ${rfilename} (a hub answers sizes with ?blobs=true): ${where()}`);
  }
  if (lfsInfo) {
    if (typeof lfsInfo.sha256 !== 'string' || !SHA256_HEX.test(lfsInfo.sha256)) return bad(`lfs.sha256 of ${rfilename} is not a sha256`);
    return { path: rfilename, size: realSize, sha256: lfsInfo.sha256, etag: lfsInfo.sha256 };
  }
  if (typeof blobId !== 'string' || !SHA1_HEX.test(blobId)) return bad(`blobId of ${rfilename} is not a git blob id`);
  return { path: rfilename, size: realSize, gitBlobId: blobId, etag: blobId };
}

/** A listed path must stay inside the snapshot folder: no absolute paths, '..', '\\' or empty segments. */
export function checkRelativePath(path: string, bad: (why: string) => never): void {
  if (path.length === 0 || path.length > 1024) bad('empty or overlong path');
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0')) bad(`path '${path}' is not relative`);
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') bad(`path '${path}' has segment '${segment}'`);
    if (/^[A-Za-z]:$/.test(segment)) bad(`path '${path}' names a drive`);
  }
}
