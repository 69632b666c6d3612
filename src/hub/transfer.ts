// Owns: moving one blob's bytes from a hub URL into a BlobWriter safely and in bounded time,
// runtime-neutral. The writer may already hold a prefix (a broken transfer): the transfer resumes it
// with an HTTP Range request. Redirects (the hub sends LFS files to its CDN) are followed. What the
// hub states is checked as it arrives — Content-Length, Content-Range, X-Linked-Size, X-Linked-Etag /
// ETag where visible — and the whole blob against its sha256 (LFS, hashed while streaming) or git
// blob id before it is published, so the cache never holds a truncated or corrupt file.
// Bounds (limits.ts): a body must keep a minimum rate over each window (a drip is cut like a
// silence); failures in a row are retried with a pause that doubles (capped, Retry-After honoured),
// and a request that moved the transfer forward starts that count again unless it was cut for being
// too slow; no file takes more than `maxAttempts` requests in all; a resume answered with 416 or a
// range not asked for starts over from byte 0 once, and a second such answer ends the transfer; the
// load's deadline cuts whatever is in flight.
// Does not own listing (client.ts) or where bytes land (the BlobWriter, cache.ts).
import { AbortError } from '../errors/abort-error.js';
import { Sha256, type Hasher } from '../formats/sha256.js';
import type { BlobWriter } from './cache.js';
import { deadlineError, describeNetworkError, formatSeconds, isDeadline, linkedController, namedError, sleep, type RequestContext } from './client.js';
import { DownloadError, RESUME_NOTE } from './download-error.js';
import { MAX_RETRY_AFTER_MS, MAX_RETRY_DELAY_MS } from './limits.js';
import type { RepoFile } from './client.js';

export interface TransferOptions extends RequestContext {
  /** A faster SHA-256 where the runtime has one (node:crypto); default: ../sha256.ts. */
  createSha256?: () => Hasher;
  /** The commit the URL is pinned to: a hub answer naming another (X-Repo-Commit) is refused. */
  commit?: string;
  /** Called as bytes land: `position` = bytes of this blob held, `networkBytes` = bytes that just arrived. */
  onBytes?: (position: number, networkBytes: number) => void;
}

export interface TransferResult {
  /** Bytes kept from an earlier, broken transfer (0 for a fresh one or a restart). */
  resumedFrom: number;
  /** Requests made (more than 1 after a break). */
  requests: number;
}

/** Downloads `file` from `url` into `writer` (see file header). Throws DownloadError or AbortError. */
export async function transferBlob(url: string, label: string, file: RepoFile, writer: BlobWriter, t: TransferOptions): Promise<TransferResult> {
  const limits = t.limits;
  const check = new ContentCheck(file, t.createSha256);
  let position = writer.offset;
  if (position > file.size) {
    // Longer than the blob can be: not a prefix of it.
    await writer.restart();
    position = 0;
  }
  for await (const chunk of writer.readHeld()) check.update(chunk);
  let resumedFrom = position;
  t.onBytes?.(position, 0);
  const state: AttemptState = { restartedFromZero: false };
  let requests = 0;
  let failuresInARow = 0;
  let last: Outcome | undefined;
  const where = () => `at byte ${position} of ${file.size} (${describeFailure(last?.failure, t)}; ${last?.url ?? url})`;
  while (position < file.size) {
    if (t.signal?.aborted) throw new AbortError(`downloading ${label}`, t.signal.reason);
    if (limits.deadline !== undefined && Date.now() >= limits.deadline) {
      throw deadlineError(`downloading ${label} (at byte ${position} of ${file.size})`, limits, last?.url ?? url);
    }
    if (requests >= limits.maxAttempts) {
      throw new DownloadError(
        'HUB_INTERRUPTED',
        `downloading ${label}: gave up after ${requests} requests (maxAttempts ${limits.maxAttempts}) ${where()}; ${RESUME_NOTE}`,
        { url: last?.url ?? url, cause: last?.failure },
      );
    }
    if (failuresInARow > limits.retries) {
      throw new DownloadError(
        'HUB_INTERRUPTED',
        `downloading ${label} failed ${failuresInARow} times in a row (retries ${limits.retries}) ${where()}; ${RESUME_NOTE}`,
        { url: last?.url ?? url, cause: last?.failure },
      );
    }
    if (failuresInARow > 0) await pause(retryPause(failuresInARow, last?.retryAfterMs, t), t.signal, limits.deadline);
    if (limits.deadline !== undefined && Date.now() >= limits.deadline) continue; // ends above, naming the deadline
    requests++;
    const before = position;
    const outcome = await oneRequest(url, label, file, writer, check, position, state, t);
    position = outcome.position;
    if (outcome.restarted) resumedFrom = 0;
    if (outcome.failure === undefined) continue;
    last = outcome;
    // Progress starts the count of failures in a row again, but not progress at a rate too slow
    // to keep: a drip would otherwise be retried for ever.
    failuresInARow = position > before && !outcome.tooSlow ? 1 : failuresInARow + 1;
  }
  await check.verify(label, url);
  return { resumedFrom, requests };
}

interface AttemptState {
  /** A bad answer to a resume already made the transfer start over from byte 0. */
  restartedFromZero: boolean;
}

interface Outcome {
  position: number;
  failure?: unknown;
  /** The attempt was cut for receiving less than the minimum rate. */
  tooSlow?: boolean;
  /** The server asked for this pause (Retry-After on 429 / 503). */
  retryAfterMs?: number;
  restarted?: boolean;
  url: string;
}

/** One HTTP request continuing the blob from `position`; throws only for errors a retry cannot fix. */
async function oneRequest(
  url: string,
  label: string,
  file: RepoFile,
  writer: BlobWriter,
  check: ContentCheck,
  position: number,
  state: AttemptState,
  t: TransferOptions,
): Promise<Outcome> {
  // identity: Content-Length and Range must count the file's own bytes, not a gzip stream's.
  const headers: Record<string, string> = { ...(t.token ? { authorization: `Bearer ${t.token}` } : {}), 'accept-encoding': 'identity' };
  if (position > 0) headers.range = `bytes=${position}-`;
  const link = linkedController(t.signal, t.limits.timeoutMs, t.limits.deadline);
  let response: Response;
  try {
    response = await t.fetch(url, { headers, signal: link.signal, redirect: 'follow' });
  } catch (error) {
    link.done();
    if (t.signal?.aborted) throw new AbortError(`downloading ${label}`, t.signal.reason);
    if (isDeadline(link.signal.reason)) throw deadlineError(`downloading ${label} (at byte ${position} of ${file.size})`, t.limits, url, error);
    if (describeNetworkError(error, t.limits.timeoutMs) === undefined) throw error;
    return { position, failure: error, url };
  }
  const at = response.url || url;
  const fail = async (outcome: Outcome) => {
    link.done();
    await response.body?.cancel().catch(() => {});
    return outcome;
  };
  let append = false;
  if (position > 0 && (response.status === 206 || response.status === 416)) {
    const range = response.headers.get('content-range');
    if (response.status === 206 && rangeFits(range, position, file.size)) append = true;
    else {
      // An answer that does not continue what we hold: start over from byte 0, once. A server that
      // answers the resume that way again would make every attempt start over (and a short body
      // then keeps it going for ever): name its answer instead.
      const answer = `HTTP ${response.status} (${range === null ? 'no Content-Range' : `Content-Range: ${range}`})`;
      if (state.restartedFromZero) {
        await fail({ position, url: at });
        throw new DownloadError(
          'HUB_BAD_RANGE',
          `downloading ${label}: ${at} answered the resume from byte ${position} (Range: bytes=${position}-) with ${answer}, ` +
            `again after the transfer had started over from byte 0; the server does not serve byte ranges correctly`,
          { url: at, status: response.status },
        );
      }
      state.restartedFromZero = true;
      await writer.restart();
      check.reset();
      t.onBytes?.(0, 0);
      // Not a failure of the network: the next attempt (a plain GET) follows at once.
      await fail({ position: 0, url: at });
      return { position: 0, url: at, restarted: true };
    }
  } else if (response.status !== 200) {
    if (response.status >= 500 || response.status === 429) {
      return fail({ position, failure: new Error(`HTTP ${response.status}`), url: at, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) });
    }
    await fail({ position, url: at });
    throw new DownloadError('HUB_HTTP_ERROR', `downloading ${label}: HTTP ${response.status} from ${at}`, { url: at, status: response.status });
  }
  try {
    checkStatedHeaders(response, file, label, at, t.commit);
  } catch (error) {
    await fail({ position, url: at });
    throw error;
  }
  // From here on: 200 (a fresh start, also when the server ignored our Range) or a matching 206.
  const start = append ? position : 0;
  const length = Number(response.headers.get('content-length') ?? NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  if (!encoded && Number.isFinite(length) && start + length !== file.size) {
    await fail({ position, url: at });
    throw new DownloadError(
      'SIZE_MISMATCH',
      `downloading ${label}: ${at} sends ${length} bytes from byte ${start}, but the hub lists the file as ${file.size} bytes`,
      { url: at, status: response.status },
    );
  }
  if (!append && position > 0) {
    await writer.restart();
    check.reset();
    t.onBytes?.(0, 0);
  }
  const outcome = await receiveBody(response, label, file, writer, check, start, at, link, t);
  return position > 0 && !append ? { ...outcome, restarted: true } : outcome;
}

/**
 * Streams the body into the writer (hashing as it goes). Time is measured in windows of
 * `stallTimeoutMs`: a window that brings fewer than `minBytesPerSecond` × window bytes (at least 1)
 * cuts the request, so a silent connection and a drip of a byte now and then end alike.
 */
async function receiveBody(
  response: Response,
  label: string,
  file: RepoFile,
  writer: BlobWriter,
  check: ContentCheck,
  start: number,
  url: string,
  link: ReturnType<typeof linkedController>,
  t: TransferOptions,
): Promise<Outcome> {
  let position = start;
  const windowMs = t.limits.stallTimeoutMs;
  const minBytes = Math.max(1, Math.ceil((t.limits.minBytesPerSecond * windowMs) / 1000));
  let windowBytes = 0;
  let tooSlow: string | undefined;
  // Headers arrived: from now on the windows bound the body, not the time to answer.
  link.clearTimeout();
  const endWindow = () => {
    if (windowBytes < minBytes) {
      tooSlow =
        `too slow: ${windowBytes} bytes in ${formatSeconds(windowMs)}, under the minimum of ${minBytes} ` +
        `(minBytesPerSecond ${t.limits.minBytesPerSecond} over stallTimeoutMs ${windowMs})`;
      link.abort(namedError('StallError', tooSlow));
      return;
    }
    windowBytes = 0;
    windowTimer = setTimeout(endWindow, windowMs);
  };
  let windowTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(endWindow, windowMs);
  try {
    if (!response.body) return { position, failure: new Error('empty response body'), url };
    const reader = response.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (t.signal?.aborted) throw new AbortError(`downloading ${label}`, t.signal.reason);
        if (isDeadline(link.signal.reason)) throw deadlineError(`downloading ${label} (at byte ${position} of ${file.size})`, t.limits, url, error);
        if (tooSlow !== undefined) return { position, failure: namedError('StallError', tooSlow), tooSlow: true, url };
        // Socket reset / closed early: keep what arrived; the next attempt resumes.
        return { position, failure: error, url };
      }
      if (chunk.done) break;
      const bytes = chunk.value;
      windowBytes += bytes.byteLength;
      if (position + bytes.byteLength > file.size) {
        await reader.cancel().catch(() => {});
        throw new DownloadError('SIZE_MISMATCH', `downloading ${label}: ${url} sends more than the ${file.size} bytes the hub lists`, {
          url,
          status: response.status,
        });
      }
      try {
        await writer.write(bytes);
      } catch (error) {
        await reader.cancel().catch(() => {});
        const message = error instanceof Error ? error.message : String(error);
        throw new DownloadError('DEST_WRITE_FAILED', `cannot store ${label} (${message})`, { cause: error });
      }
      check.update(bytes);
      position += bytes.byteLength;
      t.onBytes?.(position, bytes.byteLength);
    }
    if (position < file.size) return { position, failure: new Error(`body ended at byte ${position} of ${file.size}`), url };
    return { position, url };
  } finally {
    if (windowTimer !== undefined) clearTimeout(windowTimer);
    windowTimer = undefined;
    link.done();
  }
}

/**
 * The hub states a file's size and etag in X-Linked-Size / X-Linked-Etag (LFS) or ETag (git files).
 * After a redirect a browser shows only the CDN's headers, so each is checked where it is visible;
 * likewise X-Repo-Commit, the commit the hub served.
 */
function checkStatedHeaders(response: Response, file: RepoFile, label: string, url: string, commit: string | undefined): void {
  const repoCommit = response.headers.get('x-repo-commit');
  if (commit !== undefined && repoCommit !== null && repoCommit !== commit) {
    throw new DownloadError('HUB_BAD_LISTING', `downloading ${label}: ${url} serves commit ${repoCommit}, not ${commit} it was asked for`, { url });
  }
  const linkedSize = response.headers.get('x-linked-size');
  if (linkedSize !== null && Number(linkedSize) !== file.size) {
    throw new DownloadError('SIZE_MISMATCH', `downloading ${label}: ${url} states X-Linked-Size ${linkedSize}, the listing ${file.size}`, { url });
  }
  // ETag names the blob only on the hub's own answer, not on a CDN's (where it is the CDN's tag).
  const stated = response.headers.get('x-linked-etag') ?? (response.redirected ? null : response.headers.get('etag'));
  const etag = stated === null ? undefined : normalizeEtag(stated);
  if (etag !== undefined && file.etag !== '' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag) && etag !== file.etag) {
    throw new DownloadError('CHECKSUM_MISMATCH', `downloading ${label}: ${url} states etag ${etag}, the listing ${file.etag}`, { url });
  }
}

/** `W/"abc"` -> `abc`, as huggingface_hub normalises etags. */
export function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Hashes the content as it arrives and compares at the end. */
class ContentCheck {
  #sha256: Hasher | undefined;
  #chunks: Uint8Array[] = [];
  #size = 0;

  constructor(
    private readonly file: RepoFile,
    private readonly createSha256: (() => Hasher) | undefined,
  ) {
    this.reset();
  }

  reset(): void {
    this.#sha256 = this.file.sha256 ? (this.createSha256?.() ?? new Sha256()) : undefined;
    this.#chunks = [];
    this.#size = 0;
  }

  update(bytes: Uint8Array): void {
    this.#size += bytes.byteLength;
    if (this.#sha256) this.#sha256.update(bytes);
    // Git files are small (LFS takes the large ones): keep them to hash with SHA-1 at the end.
    else if (this.file.gitBlobId) this.#chunks.push(bytes.slice());
  }

  async verify(label: string, url: string): Promise<void> {
    if (this.#size !== this.file.size) {
      throw new DownloadError('SIZE_MISMATCH', `downloaded ${label} has ${this.#size} bytes, the hub lists ${this.file.size} (${url})`, { url });
    }
    let kind = '';
    let expected: string | undefined;
    let actual: string | undefined;
    if (this.#sha256) [kind, expected, actual] = ['sha256', this.file.sha256, this.#sha256.digestHex()];
    else if (this.file.gitBlobId) [kind, expected, actual] = ['git blob id', this.file.gitBlobId, await gitBlobId(this.#chunks, this.#size)];
    if (actual !== undefined && actual !== expected) {
      throw new DownloadError('CHECKSUM_MISMATCH', `downloaded ${label} has ${kind} ${actual}, the hub states ${expected} (${url}); it was not stored`, { url });
    }
  }
}

/** Git's object id of a blob: SHA-1 over 'blob <size>\0' and the content (WebCrypto; undefined
 *  where there is none, e.g. an insecure browser context: the size was still checked). Exported
 *  for its known-answer test (test/known-answers.test.ts), not part of the package's API. */
export async function gitBlobId(chunks: Uint8Array[], size: number): Promise<string | undefined> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle) return undefined;
  const head = new TextEncoder().encode(`blob ${size}\0`);
  const all = new Uint8Array(head.byteLength + size);
  all.set(head, 0);
  let at = head.byteLength;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  const digest = new Uint8Array(await subtle.digest('SHA-1', all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** True when a 206's Content-Range (`bytes START-END/TOTAL`) continues the blob from `position`:
 *  it starts there, and the total, when stated, is the listed size. */
function rangeFits(header: string | null, position: number, size: number): boolean {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  return match !== null && Number(match[1]) === position && (match[3] === '*' || Number(match[3]) === size);
}

/** Retry-After in ms (seconds, or an HTTP date), or undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** The pause before the next attempt after `failures` in a row: doubling from retryDelayMs, capped;
 *  longer when the server asked for it (capped too). */
function retryPause(failures: number, serverAsked: number | undefined, t: TransferOptions): number {
  const backoff = Math.min(t.limits.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
  return serverAsked === undefined ? backoff : Math.max(backoff, Math.min(serverAsked, MAX_RETRY_AFTER_MS));
}

function describeFailure(error: unknown, t: TransferOptions): string {
  if (error === undefined) return 'no failure recorded';
  if (error instanceof Error && error.name === 'StallError') return error.message;
  const network = describeNetworkError(error, t.limits.timeoutMs);
  if (network) return network;
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** Waits `ms`, or less when the signal aborts or the deadline comes first. */
function pause(ms: number, signal: AbortSignal | undefined, deadline: number | undefined): Promise<void> {
  return sleep(deadline === undefined ? ms : Math.max(0, Math.min(ms, deadline - Date.now())), signal);
}
