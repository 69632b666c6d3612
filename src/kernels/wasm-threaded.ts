// Owns: the multi-threaded wasm backend — a shared-memory build (kernels-mt.wasm, or
// kernels-relaxed-mt.wasm) over one shared WebAssembly.Memory, the
// calling thread's instance plus a KernelThreadPool of workers, each split export run as shares
// (parallel-kernels.ts) — and the decision to fall back to one thread when the runtime cannot.
// Does not own: module loading (kernel-module.ts), the kernel mapping (wasm-kernels.ts), the pool (thread-pool.ts), the
// argument checks (guard.ts: the same guard, so a bad call never reaches a worker).
//
// Heap layout: [AssemblyScript static data | pool control block | arena ...]. The control block sits
// below the arena's base, so no kernel call can name it and no release() can free it.
import type { KernelBackend } from './backend.js';
import { Arena, MAX_HEAP_BYTES, WASM_PAGE } from './arena.js';
import { guardBackend } from './guard.js';
import { controlBytes } from './kernel-worker.js';
import { KernelError } from './kernel-error.js';
import { parallelExports } from './parallel-kernels.js';
import {
  KernelThreadPool,
  pickWorkerFactory,
  resolveThreadCount,
  sharedMemoryUnavailable,
  warnSingleThread,
} from './thread-pool.js';
import { backendName, initialPages, instantiateKernels, loadKernelModule, variantFile, type WasmBackendOptions } from './kernel-module.js';
import { rawKernels } from './wasm-kernels.js';
import { probeTiles } from './tile-probe.js';

/** A shared memory must declare its maximum up front (it can never move); the engine reserves that
 *  much address space. 4 GiB first (the arena's limit), smaller where an engine refuses it. */
const MAXIMUM_PAGES = [MAX_HEAP_BYTES / WASM_PAGE, 16384, 4096];

/**
 * The threaded backend, or undefined when this runtime cannot run one (after warning why, once).
 * Invalid options and a missing SIMD still throw, as for one thread.
 */
export async function createThreadedWasmBackend(options: WasmBackendOptions, simd: 'baseline' | 'relaxed'): Promise<KernelBackend | undefined> {
  const threads = resolveThreadCount(options.threads);
  if (threads === 1) return undefined;
  const unavailable = sharedMemoryUnavailable();
  if (unavailable) return fallBack(threads, unavailable);
  const factory = await pickWorkerFactory(options.workerFactory);
  if (!factory) return fallBack(threads, 'this runtime has no Worker API (and no worker factory was registered)');

  const variant = { simd, shared: true };
  let module: WebAssembly.Module;
  try {
    module = await loadKernelModule(options.wasmThreadsBytes, variant);
  } catch (error) {
    if ((error as KernelError).code === 'KERNEL_NO_SIMD') throw error;
    return fallBack(threads, (error as Error).message);
  }
  const memory = sharedMemory(initialPages(options));
  if (!memory) return fallBack(threads, 'no shared WebAssembly.Memory could be reserved');
  const ex = await instantiateKernels(module, memory, variantFile(variant));
  // 64-byte aligned: the control block's counters each own a cache line.
  const control = Math.ceil(Math.max(16, ex.heap_base()) / 64) * 64;
  // The tile form, timed on this thread in the arena's space before anything uses it; every worker
  // runs the same form (tile-probe.ts; the results would be the same bits either way).
  const immediateTiles = options.tileProbe === false ? undefined : probeTiles(ex, memory, control + controlBytes(), `${backendName(ex)}/shared`);
  const arena = new Arena(memory, control + controlBytes());
  let pool: KernelThreadPool;
  try {
    pool = await KernelThreadPool.create({ module, memory, exports: ex as unknown as WebAssembly.Exports, control, threads, factory, immediateTiles });
  } catch (error) {
    return fallBack(threads, (error as Error).message);
  }
  return guardBackend(backendName(ex), arena, rawKernels(parallelExports(ex, pool, undefined, options.minShareNs, options.chunksPerThread), memory), {
    threads,
    dispose: () => pool.dispose(),
  });
}

function sharedMemory(initial: number): WebAssembly.Memory | undefined {
  for (const maximum of MAXIMUM_PAGES) {
    try {
      return new WebAssembly.Memory({ initial: Math.min(initial, maximum), maximum, shared: true });
    } catch {
      // Address space refused: try a smaller reservation.
    }
  }
  return undefined;
}

function fallBack(threads: number, reason: string): undefined {
  warnSingleThread(threads, reason);
  return undefined;
}
