// Owns: running kmed-dpr/worker's real worker script (dist/worker/worker-main.js) in a Node
// worker_threads thread behind the Web Worker shape the client expects (postMessage, onmessage,
// onerror, terminate), so the worker client's API can be tested without a browser: the same
// protocol, structured cloning and buffer transfer cross a real thread boundary.
// Does not own the protocol or either side of it (src/worker/); Chromium tests cover the real Worker.
import { Worker as NodeWorker } from 'node:worker_threads';

const WORKER_MAIN = new URL('../../dist/worker/worker-main.js', import.meta.url).href;

// In the thread: the Web Worker globals worker-main.js uses, over parentPort.
const BOOTSTRAP = `
const { parentPort } = require('node:worker_threads');
globalThis.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
parentPort.on('message', (data) => globalThis.onmessage?.({ data }));
import(${JSON.stringify(WORKER_MAIN)});
`;

/** A `createWorker` for WorkerEncoder / WorkerBiEncoder that starts a Node thread. */
export function nodeWorker(): Worker {
  const thread = new NodeWorker(BOOTSTRAP, { eval: true });
  const worker = {
    onmessage: null as ((event: { data: unknown }) => void) | null,
    onerror: null as ((event: { message: string; preventDefault(): void }) => void) | null,
    postMessage(message: unknown, transfer?: Transferable[]) {
      thread.postMessage(message, transfer as never);
    },
    terminate() {
      void thread.terminate();
    },
  };
  thread.on('message', (data) => worker.onmessage?.({ data }));
  thread.on('error', (error) => worker.onerror?.({ message: error.message, preventDefault() {} }));
  return worker as unknown as Worker;
}
