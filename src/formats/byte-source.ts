// Owns: random access to a file's bytes without assuming where they live. A checkpoint can be a
// Uint8Array already in memory (browser, fromFiles) or a file read piece by piece (Node adapter in
// src/node/), so the loader never needs the whole file in memory at once.

export interface ByteSource {
  /** Name used in error messages (a path, or e.g. 'model.safetensors (bytes)'). */
  readonly name: string;
  /** Total length in bytes. */
  readonly size: number;
  /** Copy bytes [offset, offset + dst.length) into dst. Callers check bounds against `size` first. */
  readInto(offset: number, dst: Uint8Array): void;
  /** Optional: throw if the bytes changed since the source was opened (a file rewritten in place).
   *  Sources read after loading (word embeddings left in the file) call it once per forward pass. */
  checkUnchanged?(): void;
}

/** A ByteSource over bytes already in memory. */
export function bytesSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    readInto(offset, dst) {
      dst.set(bytes.subarray(offset, offset + dst.length));
    },
  };
}
