// Owns: createBackend, the one entry point that picks a KernelBackend implementation.
// Does not own: either implementation (wasm.ts, reference.ts) or the contract (backend.ts).
import type { KernelBackend } from './backend.js';
import { createReferenceBackend } from './reference.js';
import { KernelError } from './kernel-error.js';
import { createWasmBackend, type WasmBackendOptions } from './wasm.js';

export type BackendKind = 'wasm' | 'reference';

/** 'wasm' (default): the SIMD kernels; 'reference': the scalar TypeScript oracle (slow) — with
 *  `simd: 'relaxed'`, the oracle of the relaxed build's int8 numerics (7-bit activations). */
export async function createBackend(kind: BackendKind = 'wasm', options: WasmBackendOptions = {}): Promise<KernelBackend> {
  if (kind === 'reference') return createReferenceBackend({ int8Activations: options.simd === 'relaxed' ? 'u7' : 'i12' });
  if (kind === 'wasm') return createWasmBackend(options);
  throw new KernelError('KERNEL_BAD_OPTION', `unknown kernel backend '${String(kind)}' (expected 'wasm' or 'reference')`);
}

export type { KernelBackend, Ptr } from './backend.js';
export { KernelError } from './kernel-error.js';
export type { WasmBackendOptions } from './wasm.js';
export type { SimdChoice } from './kernel-module.js';
