// The WebAssembly ABI of kmed-dpr: the export list of every kernel. Kernels live one family per file.

/** First byte the JavaScript arena may use (everything below belongs to AssemblyScript's static data). */
export function heap_base(): usize {
  return __heap_base;
}
