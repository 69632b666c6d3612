// Owns: kernel worker threads for Node — a KernelWorkerFactory over node:worker_threads — and
// registering it, with os.availableParallelism() as the core count, for the runtime-neutral thread
// pool (src/kernels/thread-pool.ts), which never imports node: modules itself.
// Does not own: the pool or the worker body (src/kernels/kernel-worker.ts).
//
// Node has no Web Worker global, so it needs this. Deno and Bun get this entry too (package.json
// "exports"), but they have Web Workers, which the pool prefers: Deno's worker_threads cannot close
// a worker's port, and each runtime's native Worker is the one it tests best.
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { kernelWorkerSource } from '../kernels/kernel-worker.js';
import { registerThreadPlatform, type KernelWorkerFactory } from '../kernels/thread-pool.js';

/** Node's bootstrap: `require` works in an eval worker (it runs as CommonJS). */
const PRELUDE = "const { parentPort } = require('node:worker_threads');";
const IO = "{ post: (m) => parentPort.postMessage(m), listen: (cb) => parentPort.on('message', cb), close: () => parentPort.close() }";

export const nodeWorkerFactory: KernelWorkerFactory = () => {
  const worker = new Worker(kernelWorkerSource(PRELUDE, IO), { eval: true, name: 'kmed-dpr kernels' });
  return {
    postMessage: (m) => worker.postMessage(m),
    listen(onMessage, onError) {
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', (code) => onError(new Error(`the kernel worker exited with code ${code}`)));
    },
    unref: () => worker.unref(),
    terminate: () => void worker.terminate(),
  };
};

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
