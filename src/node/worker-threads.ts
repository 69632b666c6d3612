// Owns: Node's defaults for the runtime-neutral thread pool (src/kernels/thread-pool.ts): workers
// from node:worker_threads and os.availableParallelism() as the core count (Node has neither a Web
// Worker global nor navigator.hardwareConcurrency). The core never imports node: modules; this
// adapter hands it the Worker class.
// Does not own: the factory itself (workerThreadsFactory), the pool or the worker body.
//
// Deno and Bun get this entry too (package.json "exports") and use it as well: their worker_threads
// workers can be unref'd (Deno's Web Workers cannot), so a program that forgets dispose() exits.
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { registerThreadPlatform, workerThreadsFactory, type KernelWorkerFactory, type WorkerThreadsWorker } from '../kernels/thread-pool.js';

export const nodeWorkerFactory: KernelWorkerFactory = workerThreadsFactory(Worker as unknown as WorkerThreadsWorker);

let registered = false;

/** Make Node's workers and core count the thread pool's defaults (idempotent). */
export function useNodeThreads(): void {
  if (registered) return;
  registered = true;
  registerThreadPlatform({
    workerFactory: nodeWorkerFactory,
    hardwareConcurrency: () => (typeof availableParallelism === 'function' ? availableParallelism() : cpus().length),
  });
}
