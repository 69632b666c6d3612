// Owns: KernelError, the one error family of the compute layer (arena, argument checks, backend
// loading). Kept in its own file so the arena, the guard and both backends can throw it without
// importing each other.
import { KmedError } from '../errors/errors.js';

/**
 * Thrown for a bad kernel call or a heap that cannot serve it. `code` is one of:
 * KERNEL_BAD_SIZE (negative, fractional or non-finite size/stride/eps),
 * KERNEL_BAD_POINTER (misaligned, below the heap or past the arena top),
 * KERNEL_OVERLAP (an output region overlaps an input it must not alias),
 * KERNEL_OUT_OF_MEMORY (the heap would pass 4 GiB, or memory.grow failed),
 * KERNEL_BAD_RELEASE (release() with a mark that is not a live arena position),
 * KERNEL_NO_SIMD (the engine cannot run WebAssembly SIMD),
 * KERNEL_LOAD_FAILED (kernels.wasm missing, unreadable or not the expected module),
 * KERNEL_BAD_OPTION (an unknown backend kind, or a thread count out of range),
 * KERNEL_THREAD_FAILED (a kernel worker could not start, threw, or stopped answering).
 */
export class KernelError extends KmedError {}
