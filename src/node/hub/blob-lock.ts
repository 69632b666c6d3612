// Owns: a best-effort lock per blob, so that several processes filling one Hugging Face cache fetch
// a 440 MB blob once rather than once each (huggingface_hub takes a lock per blob for the same
// reason). Correctness never depends on it: every writer still writes a file of its own, verifies
// it and renames it into place, so two holders at once (a lock taken over too early, a cache on a
// file system where the lock cannot be made) only cost a second download.
// The lock is the file {cache}/.locks/{repo folder}/{etag}.kmed.lock — huggingface_hub's folder for
// its locks; its own `{etag}.lock` files are held with flock(), which Node cannot take, and stay
// behind after use, so kmed's have a name of their own. It holds the holder's pid, host and a random
// token; the holder touches it every HEARTBEAT_MS. A lock whose holder is gone (same host, no such
// pid) or that nobody touched for STALE_MS is taken over. A waiter polls every POLL_MS and stops
// waiting when its signal aborts or its deadline passes.
// Does not own what is done under the lock (../../hub/snapshot.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { AbortError } from '../../errors/abort-error.js';
import { sleep } from '../../hub/client.js';

/** How often the holder renews the lock. */
const HEARTBEAT_MS = 2_000;
/** A lock not renewed for this long is taken over: several heartbeats, so a busy holder keeps it. */
const STALE_MS = 15_000;
/** How often a waiter looks again. */
const POLL_MS = 100;

export interface BlobLock {
  /** Gives the lock up (only if it is still this holder's). Safe to call twice. */
  release(): Promise<void>;
}

const NO_LOCK: BlobLock = { release: async () => {} };

/** Waits for, then takes, the lock file `path` (see the file header). Throws AbortError only. */
export async function acquireBlobLock(path: string, signal?: AbortSignal, deadline?: number): Promise<BlobLock> {
  const token = `${process.pid}@${hostname()} ${randomBytes(8).toString('hex')}`;
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch {
    return NO_LOCK; // a cache we cannot lock in is still usable
  }
  for (;;) {
    if (signal?.aborted) throw new AbortError(`waiting for ${path}`, signal.reason);
    if (deadline !== undefined && Date.now() >= deadline) return NO_LOCK; // the caller's deadline ends the load
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return heldLock(path, token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return NO_LOCK;
    }
    if (await isStale(path)) {
      await rm(path, { force: true }).catch(() => {});
      continue;
    }
    await sleep(POLL_MS, signal);
  }
}

function heldLock(path: string, token: string): BlobLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  heartbeat.unref?.();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only our own: a holder too slow to renew may have been taken over meanwhile.
      const held = await readFile(path, 'utf8').catch(() => undefined);
      if (held === token) await rm(path, { force: true }).catch(() => {});
    },
  };
}

/** A lock whose holder process is gone (same host) or that was not renewed for STALE_MS. */
async function isStale(path: string): Promise<boolean> {
  let content: string;
  let modified: number;
  try {
    [content, modified] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
  } catch {
    return false; // released meanwhile: the next try takes it
  }
  if (Date.now() - modified > STALE_MS) return true;
  const match = /^(\d+)@(\S+) /.exec(content);
  if (!match || match[2] !== hostname()) return false;
  try {
    process.kill(Number(match[1]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
