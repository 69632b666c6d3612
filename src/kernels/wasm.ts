// Owns: createWasmBackend, the entry point of the SIMD kernels: it picks the build (`simd` option,
// kernel-module.ts), runs it on a thread pool when asked for more than one thread (wasm-threaded.ts)
// and otherwise on one instance over a plain memory, whose Linear tile form the load-time probe sets
// (tile-probe.ts); and createPeakProbe (benches only).
// Does not own: module loading (kernel-module.ts), the contract's mapping onto the exports
// (wasm-kernels.ts), argument checks (guard.ts: every call is checked before it crosses into wasm,
// so a bad pointer is a KernelError, never a trap) or the kernels themselves (assembly/).
import type { KernelBackend } from './backend.js';
import { Arena } from './arena.js';
import { guardBackend } from './guard.js';
import { backendName, initialPages, instantiateKernels, loadKernelModule, resolveSimd, variantFile, type KernelExports, type SimdChoice, type WasmBackendOptions } from './kernel-module.js';
import { rawKernels } from './wasm-kernels.js';
import { createThreadedWasmBackend } from './wasm-threaded.js';
import { probeTiles } from './tile-probe.js';

export type { WasmBackendOptions } from './kernel-module.js';

export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<KernelBackend> {
  const simd = resolveSimd(options.simd);
  if (options.threads !== undefined && options.threads !== 1) {
    // Undefined means it could not (it warned why): the single-thread backend below stands in.
    const threaded = await createThreadedWasmBackend(options, simd);
    if (threaded) return threaded;
  }
  const variant = { simd, shared: false };
  const module = await loadKernelModule(options.wasmBytes, variant);
  const memory = new WebAssembly.Memory({ initial: initialPages(options) });
  const ex = await instantiateKernels(module, memory, variantFile(variant));
  // The tile form this engine runs fastest, timed in the arena's space before the arena owns it.
  if (options.tileProbe !== false) probeTiles(ex, memory, ex.heap_base(), `${backendName(ex)}/plain`);
  return guardBackend(backendName(ex), new Arena(memory, ex.heap_base()), rawKernels(ex, memory));
}

/** Bench only: the peak multiply-add loop of a build (f32x4 mul+add, or relaxed_madd in the relaxed
 *  build) and the int16 dot loop the int8 Linear is made of, on their own instance. */
export async function createPeakProbe(options: { wasmBytes?: BufferSource | WebAssembly.Module; simd?: SimdChoice } = {}): Promise<{
  run(iterations: number): number;
  flopsPerIteration: number;
  runDotI16(iterations: number): number;
  dotOpsPerIteration: number;
  /** The relaxed build's i8·i7 dot loop; dotI8OpsPerIteration is 0 in the baseline build. */
  runDotI8(iterations: number): number;
  dotI8OpsPerIteration: number;
  name: string;
}> {
  const module = await loadKernelModule(options.wasmBytes, { simd: resolveSimd(options.simd), shared: false });
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ex = instance.exports as unknown as KernelExports;
  return {
    run: (iterations) => ex.peak_fma_f32(iterations, 0.999, 0.001),
    flopsPerIteration: ex.peak_fma_flops_per_iteration(),
    runDotI16: (iterations) => ex.peak_dot_i16(iterations, 3, 1),
    dotOpsPerIteration: ex.peak_dot_i16_ops_per_iteration(),
    runDotI8: (iterations) => ex.peak_dot_i8(iterations, 3, 1),
    dotI8OpsPerIteration: ex.peak_dot_i8_ops_per_iteration(),
    name: backendName(ex),
  };
}
