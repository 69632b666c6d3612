// Owns: the server's request errors — a KmedError with an HTTP status and the pieces of OpenAI's
// error body ({error: {message, type, param, code}}), so clients written for OpenAI read ours the
// same way. Messages name the field at fault and never echo request texts (they are patient notes).
// Does not own deciding when a request is wrong (app.ts, request-schema.ts).
import { KmedError, type KmedErrorCode } from '../../errors/errors.js';

export type OpenAIErrorType = 'invalid_request_error' | 'authentication_error' | 'server_error' | 'not_found_error';

export class HttpError extends KmedError {
  constructor(
    readonly status: number,
    code: KmedErrorCode,
    message: string,
    readonly type: OpenAIErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    /** Seconds for a Retry-After header (503), when there is one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message);
  }

  /** OpenAI's error body. */
  body(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code.toLowerCase() } };
  }
}

/** 400 naming `param`. */
export function badRequest(param: string | null, message: string, code: KmedErrorCode = 'SERVER_INVALID_REQUEST'): HttpError {
  return new HttpError(400, code, message, 'invalid_request_error', param);
}
