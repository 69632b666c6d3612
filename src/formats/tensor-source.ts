// Owns: TensorSource, the interface every loader reads tensors through (a safetensors file in
// weights.ts, generated tensors in synthetic.ts). It sits below the placement code (weights.ts,
// weights-lowp.ts, word-embedding-source.ts) so they can all name it without importing each other.
// Does not own reading a file or placing tensors in the heap.

/** Tensors readable as f32 by name: a safetensors file, or generated ones (synthetic.ts). */
export interface TensorSource {
  /** For messages (a file name, or e.g. 'synthetic:context'). */
  readonly name: string;
  /** Every tensor name present, in the order reading is cheapest (file order). */
  names(): string[];
  /** dtype and shape of `name`; `readable` false if it cannot be read as f32 (e.g. I64). */
  info(name: string): { dtype: string; shape: readonly number[]; readable: boolean } | undefined;
  /** Fill dst (length = element count) with the tensor's values as f32. */
  read(name: string, dst: Float32Array): void;
  /** Optional: fill dst with elements [start, start + dst.length) of the tensor (flat index), so
   *  lower-precision loads never need a whole tensor in f32. */
  readRange?(name: string, start: number, dst: Float32Array): void;
  /** Optional: throw if the underlying bytes changed since loading (see ByteSource). */
  checkUnchanged?(): void;
}
