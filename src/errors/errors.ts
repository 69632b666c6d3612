// Owns: the root of every error kmed-dpr throws on purpose.
//
// Each module derives its own class (TokenizerError, SafetensorsError, ...) so callers can
// `instanceof`-check a family, and sets `code` to a stable machine-readable string. Messages
// name the thing that is wrong (file, tensor, byte offset, token) so one line is enough to act on.

import type { KmedErrorCode } from './error-codes.js';

export type { KmedErrorCode };

export class KmedError extends Error {
  /** Stable identifier of the failure, e.g. 'SAFETENSORS_OFFSET_OUT_OF_RANGE' (error-codes.ts lists them all). */
  readonly code: KmedErrorCode;

  constructor(code: KmedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
