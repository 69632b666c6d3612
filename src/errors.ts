// Owns: the root of every error kmed-dpr throws on purpose.
//
// Each module derives its own class (TokenizerError, SafetensorsError, ...) so callers can
// `instanceof`-check a family, and sets `code` to a stable machine-readable string. Messages
// name the thing that is wrong (file, tensor, byte offset, token) so one line is enough to act on.

export class KmedError extends Error {
  /** Stable identifier of the failure, e.g. 'SAFETENSORS_OFFSET_OUT_OF_RANGE'. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
