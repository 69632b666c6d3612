// Owns: moving one file's bytes from a URL to disk safely. Bytes go to `<dest>.part`; a partial
// `.part` (left by a broken transfer, in this run or an earlier one) is resumed with an HTTP Range
// request; the result is checked against the size and hash the hub stated and only then renamed
// into place, so `<dest>` never holds a truncated or corrupt file.
// Does not own listing or URL building (hub-client.ts) nor progress display (callers get callbacks).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { DownloadError } from './download-error.js';
import { describeNetworkError } from './hub-client.js';

export interface FileTransfer {
  url: string;
  /** Final path; the transfer writes `${dest}.part` first. */
  dest: string;
  /** What error messages call the file, e.g. 'snumin44/x/model.safetensors'. */
  label: string;
  size: number;
  sha256?: string;
  gitBlobId?: string;
  headers: Record<string, string>;
  /** Give up on a request that has sent no response headers within this many ms. */
  timeoutMs: number;
  /** Give up on a response body that sends nothing for this many ms. */
  stallTimeoutMs: number;
  /** Further attempts after a broken or stalled transfer that made no progress (each resumes from the `.part`). */
  retries: number;
  /** Base of the exponential pause between attempts. */
  retryDelayMs: number;
  /**
   * Called as bytes land: `position` is the bytes of this file now on disk, `networkBytes` the
   * bytes that just arrived (0 when the position moves for another reason: resume, restart).
   */
  onProgress?: (position: number, networkBytes: number) => void;
}

export interface TransferResult {
  /** Bytes of an earlier `.part` that were kept (0 for a fresh download, or when it had to start over). */
  resumedFrom: number;
  /** Requests made; more than 1 means a broken transfer was resumed (or restarted). */
  requests: number;
}

/** Downloads `t.url` into `t.dest` (see file header). Throws DownloadError. */
export async function downloadFile(t: FileTransfer): Promise<TransferResult> {
  const part = `${t.dest}.part`;
  let position = Math.max(0, await sizeOf(part));
  if (position > t.size) {
    // Longer than the file can be: not a prefix of it; start over.
    await removeQuietly(part);
    position = 0;
  }
  let resumedFrom = position;
  t.onProgress?.(position, 0);
  if (t.size === 0) await writeEmpty(part);
  let requests = 0;
  let lastFailure: unknown;
  let failedUrl = t.url;
  // A `.part` that is already complete (an earlier run died before the rename) is only verified.
  // `failures` counts attempts in a row that made no progress, so a long download over a flaky
  // link keeps going as long as each attempt adds bytes.
  let failures = 0;
  while (position < t.size) {
    if (failures > t.retries) {
      throw new DownloadError(
        'HUB_INTERRUPTED',
        `downloading ${t.label} failed after ${requests} requests at byte ${position} of ${t.size} ` +
          `(${describeFailure(lastFailure, t)}; ${failedUrl}); run the command again to resume`,
        { url: failedUrl, cause: lastFailure },
      );
    }
    if (failures > 0) await sleep(t.retryDelayMs * 2 ** (failures - 1));
    requests++;
    const before = position;
    const outcome = await oneRequest(t, part, position);
    position = outcome.position;
    if (outcome.restarted) resumedFrom = 0;
    if (outcome.failure !== undefined) {
      lastFailure = outcome.failure;
      failedUrl = outcome.url;
      failures = position > before ? 1 : failures + 1;
    }
  }
  await verify(t, part);
  try {
    await rename(part, t.dest);
  } catch (error) {
    throw writeError(error, t.dest);
  }
  return { resumedFrom, requests };
}

/** True when `path` exists with the stated size and hash (so it need not be downloaded again). */
export async function isComplete(path: string, file: { size: number; sha256?: string; gitBlobId?: string }): Promise<boolean> {
  if ((await sizeOf(path)) !== file.size) return false;
  if (file.sha256) return (await sha256Of(path)) === file.sha256;
  if (file.gitBlobId) return (await gitBlobIdOf(path, file.size)) === file.gitBlobId;
  return true;
}

interface RequestOutcome {
  /** Bytes of the file in `.part` after this request. */
  position: number;
  /** Why the request ended early (network error, retryable status), if it did. */
  failure?: unknown;
  /** The bytes kept so far were dropped and the file starts again from byte 0. */
  restarted?: boolean;
  url: string;
}

/** One HTTP request continuing `.part` from `position`; throws only for errors a retry cannot fix. */
async function oneRequest(t: FileTransfer, part: string, position: number): Promise<RequestOutcome> {
  // identity: Content-Length and Range must count the file's own bytes, not a gzip stream's.
  const headers: Record<string, string> = { ...t.headers, 'accept-encoding': 'identity' };
  if (position > 0) headers.range = `bytes=${position}-`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutErrorLike()), t.timeoutMs);
  let response: Response;
  try {
    response = await fetch(t.url, { headers, signal: controller.signal, redirect: 'follow' });
  } catch (error) {
    clearTimeout(timer);
    if (describeNetworkError(error, t.timeoutMs) === undefined) throw error;
    return { position, failure: error, url: t.url };
  }
  const url = response.url || t.url;
  let append = false;
  if (response.status === 206 && position > 0) {
    const start = contentRangeStart(response.headers.get('content-range'));
    if (start === position) append = true;
    else {
      // A range we did not ask for: drop it and start over with a plain request.
      clearTimeout(timer);
      await response.body?.cancel();
      await removeQuietly(part);
      t.onProgress?.(0, 0);
      return {
        position: 0,
        failure: new Error(`server sent Content-Range ${response.headers.get('content-range')}`),
        url,
        restarted: true,
      };
    }
  } else if (response.status === 416) {
    // The `.part` does not fit what the server holds (the file changed): start over.
    clearTimeout(timer);
    await response.body?.cancel();
    await removeQuietly(part);
    t.onProgress?.(0, 0);
    return { position: 0, failure: new Error('HTTP 416 for the resume range'), url, restarted: true };
  } else if (response.status !== 200) {
    clearTimeout(timer);
    await response.body?.cancel();
    if (response.status >= 500 || response.status === 429) {
      return { position, failure: new Error(`HTTP ${response.status}`), url };
    }
    throw new DownloadError('HUB_HTTP_ERROR', `downloading ${t.label}: HTTP ${response.status} from ${url}`, {
      url,
      status: response.status,
    });
  }
  // From here on: 200 (a fresh start, also when the server ignored our Range) or a matching 206.
  const start = append ? position : 0;
  const length = Number(response.headers.get('content-length') ?? NaN);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  if (!encoded && Number.isFinite(length) && start + length !== t.size) {
    clearTimeout(timer);
    await response.body?.cancel();
    throw new DownloadError(
      'SIZE_MISMATCH',
      `downloading ${t.label}: ${url} sends ${length} bytes from byte ${start}, but the hub lists the file as ${t.size} bytes`,
      { url, status: response.status },
    );
  }
  if (!append) t.onProgress?.(0, 0);
  const outcome = await receiveBody(t, response, part, start, url, controller, timer);
  // A 200 to a Range request: the server ignored it and we started over.
  return position > 0 && !append ? { ...outcome, restarted: true } : outcome;
}

/** Streams the body into `.part` (appending at `start`), resetting the stall timer per chunk. */
async function receiveBody(
  t: FileTransfer,
  response: Response,
  part: string,
  start: number,
  url: string,
  controller: AbortController,
  timer: NodeJS.Timeout,
): Promise<RequestOutcome> {
  let file;
  try {
    file = await open(part, start > 0 ? 'a' : 'w');
  } catch (error) {
    clearTimeout(timer);
    await response.body?.cancel();
    throw writeError(error, part);
  }
  let position = start;
  // Headers arrived: from now on a timer measures silence between chunks, not time to answer.
  clearTimeout(timer);
  const stall = setTimeout(() => controller.abort(new TimeoutErrorLike()), t.stallTimeoutMs);
  try {
    if (!response.body) return { position, failure: new Error('empty response body'), url };
    const reader = response.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // Socket reset / closed early / stalled: keep what arrived; the next attempt resumes.
        return { position, failure: error, url };
      }
      if (chunk.done) break;
      stall.refresh();
      const bytes = chunk.value;
      if (position + bytes.byteLength > t.size) {
        await reader.cancel();
        throw new DownloadError(
          'SIZE_MISMATCH',
          `downloading ${t.label}: ${url} sends more than the ${t.size} bytes the hub lists`,
          { url, status: response.status },
        );
      }
      try {
        await file.write(bytes);
      } catch (error) {
        await reader.cancel();
        throw writeError(error, part);
      }
      position += bytes.byteLength;
      t.onProgress?.(position, bytes.byteLength);
    }
    if (position < t.size) return { position, failure: new Error(`body ended at byte ${position}`), url };
    return { position, url };
  } finally {
    clearTimeout(stall);
    await file.close();
  }
}

/** Checks size and hash of the finished `.part`; a bad one is deleted so no retry resumes it. */
async function verify(t: FileTransfer, part: string): Promise<void> {
  const size = await sizeOf(part);
  if (size !== t.size) {
    await removeQuietly(part);
    throw new DownloadError('SIZE_MISMATCH', `downloaded ${t.label} has ${size} bytes, the hub lists ${t.size} (${t.url})`, {
      url: t.url,
    });
  }
  let expected: string | undefined;
  let actual: string | undefined;
  let kind = '';
  if (t.sha256) {
    [expected, actual, kind] = [t.sha256, await sha256Of(part), 'sha256'];
  } else if (t.gitBlobId) {
    [expected, actual, kind] = [t.gitBlobId, await gitBlobIdOf(part, size), 'git blob id'];
  }
  if (expected !== actual) {
    await removeQuietly(part);
    throw new DownloadError(
      'CHECKSUM_MISMATCH',
      `downloaded ${t.label} has ${kind} ${actual}, the hub states ${expected} (${t.url}); the file was deleted`,
      { url: t.url },
    );
  }
}

/** `bytes START-END/TOTAL` -> START, or undefined when absent or malformed. */
function contentRangeStart(header: string | null): number | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

function describeFailure(error: unknown, t: FileTransfer): string {
  const network = describeNetworkError(error, Math.max(t.timeoutMs, t.stallTimeoutMs));
  if (network) return network;
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** An abort reason that describeNetworkError reads as a timeout. */
class TimeoutErrorLike extends Error {
  constructor() {
    super('timed out');
    this.name = 'TimeoutError';
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Git's object id of a blob: sha1 over 'blob <size>\0' and the content. */
async function gitBlobIdOf(path: string, size: number): Promise<string> {
  const hash = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : -1;
  } catch {
    return -1;
  }
}

async function writeEmpty(path: string): Promise<void> {
  try {
    await (await open(path, 'w')).close();
  } catch (error) {
    throw writeError(error, path);
  }
}

async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true });
}

function writeError(error: unknown, path: string): DownloadError {
  const message = error instanceof Error ? error.message : String(error);
  return new DownloadError('DEST_WRITE_FAILED', `cannot write ${path} (${message})`, { cause: error });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
