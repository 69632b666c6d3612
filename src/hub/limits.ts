// Owns: the limits every hub exchange runs under — their option names, documented defaults and the
// check of the values a caller passes — so `fromPretrained` and `kmed download` bound time, bytes
// and attempts the same way. Every one is finite by default except the total deadline, which is
// off unless asked for: the other limits already end any load (a transfer either keeps the minimum
// rate or is cut, and no file takes more than `maxAttempts` requests). Runtime-neutral.
// Does not own applying them (client.ts for listings, transfer.ts for files).
import { DownloadError } from './download-error.js';

/** How long, how slow, how often and how much a hub exchange may be; every field has a default. */
export interface HubLimits {
  /** Time for the hub to send a response's headers, in ms (default 20 000). A listing's whole body
   *  must also arrive within it. */
  timeoutMs?: number;
  /** The window the minimum rate is measured over, in ms (default 30 000): a transfer that receives
   *  fewer than `minBytesPerSecond` × window bytes in one window (nothing at all, or a drip) is cut
   *  and retried from where it stopped. */
  stallTimeoutMs?: number;
  /** Minimum transfer rate in bytes per second, measured over each `stallTimeoutMs` window
   *  (default 1024). 0 cuts only a window in which nothing arrives. */
  minBytesPerSecond?: number;
  /** Retries after failed requests in a row (default 4). A request that moved the transfer forward
   *  starts the count again, unless it was cut for being too slow. */
  retries?: number;
  /** Most requests one file may take in all, whatever progress each made (default 20): a server
   *  that breaks every response off after a few bytes cannot keep a load going for ever. */
  maxAttempts?: number;
  /** First pause between retries in ms, doubled after each failure in a row, at most 30 s (default
   *  1000). A `Retry-After` from the server lengthens it, up to 60 s. */
  retryDelayMs?: number;
  /** Give up on the whole load — listing and every file — after this many ms (default: no total
   *  deadline). The bytes received are kept for a resume. */
  deadlineMs?: number;
  /** Largest listing (the model-info JSON) accepted, in bytes (default 16 MiB): a longer body is
   *  cut there and refused. */
  maxListingBytes?: number;
}

/** The defaults of HubLimits (deadlineMs: none). */
export const DEFAULT_HUB_LIMITS = Object.freeze({
  timeoutMs: 20_000,
  stallTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
  retries: 4,
  maxAttempts: 20,
  retryDelayMs: 1_000,
  maxListingBytes: 16 * 1024 * 1024,
});

/** Longest pause between two attempts, however many failures came before. */
export const MAX_RETRY_DELAY_MS = 30_000;
/** Longest pause a server's Retry-After can ask for. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** HubLimits with every default filled in, and the deadline as a point in time. */
export interface ResolvedHubLimits {
  timeoutMs: number;
  stallTimeoutMs: number;
  minBytesPerSecond: number;
  retries: number;
  maxAttempts: number;
  retryDelayMs: number;
  maxListingBytes: number;
  /** Date.now() value after which the load gives up; undefined: no total deadline. */
  deadline?: number;
  /** The deadlineMs it came from, for messages. */
  deadlineMs?: number;
}

type Rule = 'positive number' | 'non-negative number' | 'positive integer' | 'non-negative integer';

const RULES: Record<keyof HubLimits, Rule> = {
  timeoutMs: 'positive number',
  stallTimeoutMs: 'positive number',
  minBytesPerSecond: 'non-negative number',
  retries: 'non-negative integer',
  maxAttempts: 'positive integer',
  retryDelayMs: 'non-negative number',
  deadlineMs: 'positive number',
  maxListingBytes: 'positive integer',
};

/** `options`' limits with defaults filled in; throws DownloadError HUB_BAD_OPTION naming the option
 *  for a value that is not a finite number of the right kind. The deadline starts at `now`. */
export function resolveHubLimits(options: HubLimits, now = Date.now()): ResolvedHubLimits {
  for (const [name, rule] of Object.entries(RULES) as Array<[keyof HubLimits, Rule]>) {
    const value = options[name];
    if (value === undefined) continue;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (rule.startsWith('positive') ? value > 0 : value >= 0) &&
      (!rule.endsWith('integer') || Number.isSafeInteger(value));
    if (!ok) throw new DownloadError('HUB_BAD_OPTION', `option ${name} must be a ${rule}, got ${describe(value)}`);
  }
  const pick = <K extends keyof typeof DEFAULT_HUB_LIMITS>(name: K): number => options[name] ?? DEFAULT_HUB_LIMITS[name];
  return {
    timeoutMs: pick('timeoutMs'),
    stallTimeoutMs: pick('stallTimeoutMs'),
    minBytesPerSecond: pick('minBytesPerSecond'),
    retries: pick('retries'),
    maxAttempts: pick('maxAttempts'),
    retryDelayMs: pick('retryDelayMs'),
    maxListingBytes: pick('maxListingBytes'),
    deadline: options.deadlineMs === undefined ? undefined : now + options.deadlineMs,
    deadlineMs: options.deadlineMs,
  };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' && value !== null ? (Array.isArray(value) ? 'an array' : 'an object') : String(value);
}
