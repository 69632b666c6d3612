// Owns: the server's request errors — a KmedError with an HTTP status and the pieces of OpenAI's
// error body ({error: {message, type, param, code}}), so clients written for OpenAI read ours the
// same way — and the raw answer written to a socket for the errors node:http finds before there is
// a request (timeouts, malformed HTTP), so those are in the same shape. Messages name the field at
// fault and never echo request texts (they are patient notes).
// Does not own deciding when a request is wrong (app.ts, request-schema.ts).
import { STATUS_CODES } from 'node:http';
import { KmedError, type KmedErrorCode } from '../../errors/errors.js';

export type OpenAIErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'server_error' | 'not_found_error';

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

/** A client error node:http reports on the socket ('clientError': a header or body timeout,
 *  malformed HTTP such as Content-Length with Transfer-Encoding), as an HttpError. */
export function clientSocketError(code: string | undefined, timeouts: { headerTimeoutMs: number; bodyTimeoutMs: number }): HttpError {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpError(
        408,
        'SERVER_REQUEST_TIMEOUT',
        `the request was not received in time (headers within ${timeouts.headerTimeoutMs} ms, the whole request within ${timeouts.bodyTimeoutMs} ms)`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return new HttpError(431, 'SERVER_HEADERS_TOO_LARGE', 'the request headers are larger than the limit');
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // Both framings at once is how requests are smuggled past a proxy: refused, never guessed.
      return badRequest(null, 'the request has Content-Length and Transfer-Encoding together, or a Transfer-Encoding other than chunked: send one framing only', 'SERVER_BAD_REQUEST');
    default:
      return badRequest(null, `malformed HTTP request (${String(code ?? 'unknown').slice(0, 40)})`, 'SERVER_BAD_REQUEST');
  }
}

/** The whole HTTP/1.1 response for `error`, closing the connection (written to a raw socket). */
export function rawResponse(error: HttpError): string {
  const body = JSON.stringify(error.body());
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
