// Owns: every bound the HTTP side of `kmed serve` puts on a client — body size, inputs and
// characters per request, JSON nesting, the header / body / keep-alive-idle timeouts, the
// connection cap and the shutdown drain deadline — with their defaults, in one record (as
// text-embeddings-inference keeps its limits in one Args struct), so the CLI flags, GET /info and
// the docs read the same names. Also checks a set of limits before a server is built from it.
// Does not own enforcing them (app.ts hands each to Fastify / node:http or checks it per request)
// or the batcher's bounds (batcher.ts: tokens per forward pass, wait, queue).
import { KmedError } from '../../errors/errors.js';

export interface ServerLimits {
  /** Largest request body in bytes (413 past it; default 4 MiB). */
  bodyLimit: number;
  /** Most texts in one request (default 256). */
  maxInputs: number;
  /** Most characters (UTF-16 code units) in one text (default 20000; the model reads 512 tokens). */
  maxChars: number;
  /** Deepest nesting of arrays and objects in a JSON body (default 16; the API needs 2). Checked
   *  by a byte scan before the body is parsed, so a body nested a million deep costs one pass. */
  maxJsonDepth: number;
  /** Time a connection has to send a request's headers, counted from the connection's first byte
   *  or from the end of the previous request (408 past it; default 10 s). */
  headerTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body (408 past it; default 30 s).
   *  At least `headerTimeoutMs`. A body sent a byte at a time cannot outlast it. */
  bodyTimeoutMs: number;
  /** Time a kept-alive connection may sit idle between two requests (default 72 s, as Fastify's:
   *  longer than the idle timeout of common load balancers (60 s) and HTTP clients (4-5 s), so the
   *  other side closes first and never reuses a connection the server has just closed). */
  idleTimeoutMs: number;
  /** Most open connections; a connection past it is closed at once and counted (default 512).
   *  Keep it below the process's open-file limit (`ulimit -n`). */
  maxConnections: number;
  /** On SIGTERM / SIGINT, how long requests in flight may take to finish before every remaining
   *  connection is cut and the process exits (default 10 s). */
  shutdownTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyLimit: 4 << 20,
  maxInputs: 256,
  maxChars: 20_000,
  maxJsonDepth: 16,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 72_000,
  maxConnections: 512,
  shutdownTimeoutMs: 10_000,
};

export class ServerOptionError extends KmedError {}

/** The defaults with `given` over them, each checked to be a positive safe integer, and the body
 *  timeout no shorter than the header timeout (it bounds the headers too). */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(given) as Array<[keyof ServerLimits, number | undefined]>) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_LIMITS)) throw new ServerOptionError('SERVER_BAD_OPTION', `unknown server limit '${name}'`);
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ServerOptionError('SERVER_BAD_OPTION', `server limit ${name} must be a positive integer, got ${String(value)}`);
    }
    limits[name] = value;
  }
  if (limits.bodyTimeoutMs < limits.headerTimeoutMs) {
    throw new ServerOptionError(
      'SERVER_BAD_OPTION',
      `the body timeout (${limits.bodyTimeoutMs} ms) is shorter than the header timeout (${limits.headerTimeoutMs} ms): it bounds the whole request, headers included`,
    );
  }
  return limits;
}

/** How often node:http looks for connections past the header or body timeout: a quarter of the
 *  shorter one, between 10 ms and 1 s (node's own default, 30 s, would let a 1 s timeout run 31 s). */
export function timeoutCheckInterval(limits: ServerLimits): number {
  return Math.min(1000, Math.max(10, Math.floor(Math.min(limits.headerTimeoutMs, limits.bodyTimeoutMs) / 4)));
}
