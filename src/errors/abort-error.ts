// Owns: AbortError, the one error every cancellable operation (a hub download, a streaming or
// batched embed) rejects with when its AbortSignal fires, and the two helpers that check a signal.
// Its `name` is 'AbortError', as the platform's DOMException uses, so code that tests
// `error.name === 'AbortError'` works unchanged; `instanceof AbortError` / KmedError also works.
// Does not own when to check (the callers check between batches or chunks).
import { KmedError } from './errors.js';

export class AbortError extends KmedError {
  /** The signal's reason (whatever was passed to `controller.abort(reason)`). */
  readonly reason: unknown;

  constructor(what: string, reason?: unknown) {
    const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
    super('ABORTED', `${what} was aborted${why}`, { cause: reason });
    this.reason = reason;
  }
}

/** Throws AbortError when `signal` has fired; `what` names the operation in the message. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(what, signal.reason);
}

/** True for our AbortError and for the platform's (a DOMException fetch rejects with). */
export function isAbortError(error: unknown): boolean {
  return error instanceof AbortError || (error instanceof Error && error.name === 'AbortError');
}
