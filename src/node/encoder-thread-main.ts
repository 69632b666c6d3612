// Owns: the encoder thread's body (started by encoder-thread.ts): load the model folder named in
// workerData with Node's Encoder.fromDirectory, say ready (or why not), then answer each
// { id, texts, options } with the vectors packed in one transferred buffer, or the error's name,
// code and message. Does not own the main thread's side or the encoder.
import { parentPort, workerData } from 'node:worker_threads';
import { KmedError } from '../errors/errors.js';
import { Encoder } from './encoder.js';
import type { ThreadEmbedOptions, ThreadError, ThreadMessage } from './encoder-thread.js';

const port = parentPort!;
const { dir, options } = workerData as { dir: string; options: Parameters<typeof Encoder.fromDirectory>[1] };
const post = (message: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function errorInfo(error: unknown): ThreadError {
  const e = error as { name?: unknown; message?: unknown };
  return { name: String(e?.name ?? 'Error'), code: error instanceof KmedError ? error.code : undefined, message: String(e?.message ?? error) };
}

let encoder: Encoder;
try {
  encoder = await Encoder.fromDirectory(dir, options);
  post({ ready: true, dimension: encoder.dimension, threads: encoder.threads });
  port.on('message', async ({ id, texts, options: embedOptions }: { id: number; texts: string[]; options: ThreadEmbedOptions }) => {
    try {
      const vectors = await encoder.embed(texts, embedOptions);
      const packed = new Float32Array(vectors.length * encoder.dimension);
      vectors.forEach((v, i) => packed.set(v, i * encoder.dimension));
      post({ id, vectors: packed, count: vectors.length }, [packed.buffer]);
    } catch (error) {
      post({ id, error: errorInfo(error) });
    }
  });
} catch (error) {
  post({ id: 'load', error: errorInfo(error) });
}
