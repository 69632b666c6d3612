// A Web Worker face over node:worker_threads, so the worker client (src/worker/client.ts) and its
// worker script (dist/worker/worker-main.js) run their real protocol in Node tests without a
// browser — the Endpoint seam comlink uses for the same purpose. The worker thread gets a
// web-style global scope (postMessage / onmessage) before the script is imported. Structured
// clone and transfer are node's, which refuse the same things a browser refuses (functions,
// AbortSignal), so a DataCloneError here is the one a page would see.
// `sent` counts the messages posted to the worker (to prove a call sent nothing); `received`
// keeps every message the worker posted, including those the client ignores (to count the forward
// passes a worker ran after an abort).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker as NodeWorker } from 'node:worker_threads';

const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
globalThis.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
parentPort.on('message', (data) => globalThis.onmessage && globalThis.onmessage({ data }));
import(workerData.script);
`;

export interface NodeWebWorker extends Worker {
  /** Messages posted to the worker so far. */
  readonly sent: number;
  /** Every message the worker posted, in order. */
  readonly received: unknown[];
}

export function nodeWebWorker(script = 'dist/worker/worker-main.js'): NodeWebWorker {
  const thread = new NodeWorker(BOOTSTRAP, { eval: true, workerData: { script: pathToFileURL(resolve(script)).href } });
  let sent = 0;
  const received: unknown[] = [];
  const face = {
    received,
    onmessage: null as ((event: { data: unknown }) => void) | null,
    onerror: null as ((event: { message: string; preventDefault(): void }) => void) | null,
    onmessageerror: null,
    get sent() {
      return sent;
    },
    postMessage(message: unknown, transfer?: Transferable[]) {
      thread.postMessage(message, transfer as never);
      sent++;
    },
    terminate() {
      void thread.terminate();
    },
  };
  thread.on('message', (data) => {
    received.push(data);
    face.onmessage?.({ data });
  });
  thread.on('error', (error) => face.onerror?.({ message: error.message, preventDefault() {} }));
  return face as unknown as NodeWebWorker;
}
