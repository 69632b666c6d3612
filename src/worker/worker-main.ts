// Owns: the encoder worker's script — the module `new Worker(new URL('./worker-main.js', …))`
// runs (client.ts). It holds real Encoders and BiEncoders (the runtime-neutral ones, whose kernel
// thread pool then lives inside this worker: its Web Workers are this worker's children) and
// answers each request of protocol.ts once, vectors packed into one transferred buffer. A call
// whose caller holds a signal gets one here, fired by the caller's `abort` message (an embed then
// stops between two forward passes); a caller's onBatch is served by posting each pass back.
// Does not own: the models (encoder.ts, bi-encoder.ts) or the main-thread API (client.ts).
import { BiEncoder } from '../bi-encoder.js';
import { Encoder } from '../encoder.js';
import { KmedError } from '../errors/errors.js';
import { VectorIndex } from '../search/vector-index.js';
import type { EmbedBatch } from '../encoder.js';
import type { BackendFallbackEvent } from '../webgpu/backend-choice.js';
import type { CallControl, ClientMessage, PackedVectors, WorkerAnswer, WorkerMessage, WorkerRequest } from './protocol.js';

interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ClientMessage>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

const models = new Map<number, Encoder | BiEncoder>();
const indexes = new Map<number, VectorIndex>();
let nextHandle = 1;
/** Requests that can be aborted (loads, and embeds whose caller holds a signal), by request id. */
const running = new Map<number, AbortController>();

function pack(vectors: Float32Array[], dimension: number): PackedVectors {
  const data = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => data.set(v, i * dimension));
  return { data, count: vectors.length, dimension };
}

function unpack(v: string[] | PackedVectors): string[] | Float32Array[] {
  if (Array.isArray(v)) return v;
  return Array.from({ length: v.count }, (_, i) => v.data.subarray(i * v.dimension, (i + 1) * v.dimension));
}

function model<T extends Encoder | BiEncoder>(handle: number, kind: new (...args: never[]) => T): T {
  const m = models.get(handle);
  if (!(m instanceof kind)) throw new KmedError('WORKER_BAD_HANDLE', `no ${kind.name} ${handle} in this worker (disposed?)`);
  return m as T;
}

/** The signal and onBatch an embed of call `id` runs with, standing for the caller's own. */
function embedControl(id: number, control: CallControl): { signal?: AbortSignal; onBatch?: (batch: EmbedBatch) => void } {
  const signal = control.abortable ? running.get(id)?.signal : undefined;
  if (!control.batches) return { signal };
  return {
    signal,
    onBatch: ({ indices, vectors, done, total }) => {
      const packed = pack(vectors, vectors[0]?.length ?? 0);
      scope.postMessage({ id, batch: { indices, vectors: packed, done, total } }, [packed.data.buffer]);
    },
  };
}

/** Backend 'auto' moved to wasm: the caller's onBackendFallback runs on its side. */
function onBackendFallback(event: BackendFallbackEvent): void {
  scope.postMessage({ fallback: event } satisfies WorkerMessage);
}

async function answer(id: number, request: WorkerRequest, control: CallControl): Promise<WorkerAnswer> {
  switch (request.op) {
    case 'loadEncoder': {
      const encoder = await Encoder.fromFiles(request.files, { ...request.options, onBackendFallback });
      models.set(nextHandle, encoder);
      return { handle: nextHandle++, dimension: encoder.dimension, threads: encoder.threads, backendKind: encoder.backendKind };
    }
    case 'loadBiEncoder': {
      const bi = await BiEncoder.fromFiles(request.files, { ...request.options, onBackendFallback });
      models.set(nextHandle, bi);
      const threads = (bi.question as Encoder).threads;
      return { handle: nextHandle++, dimension: bi.dimension, threads, identity: bi.identity, batchSize: bi.batchSize, backendKind: (bi.question as Encoder).backendKind };
    }
    case 'loadPretrained': {
      const controller = new AbortController();
      running.set(id, controller);
      try {
        const bi = await BiEncoder.fromPretrained(request.ids, {
          ...request.options,
          signal: controller.signal,
          onProgress: (progress) => scope.postMessage({ id, progress }),
          onBackendFallback,
        });
        models.set(nextHandle, bi);
        return { handle: nextHandle++, dimension: bi.dimension, threads: (bi.question as Encoder).threads, identity: bi.identity, batchSize: bi.batchSize, backendKind: (bi.question as Encoder).backendKind };
      } finally {
        running.delete(id);
      }
    }
    case 'embed': {
      const encoder = model(request.handle, Encoder);
      return pack(await encoder.embed(request.texts, { ...request.options, ...embedControl(id, control) }), encoder.dimension);
    }
    case 'embedIds': {
      const encoder = model(request.handle, Encoder);
      return pack(await encoder.embedIds(request.ids, { ...request.options, ...embedControl(id, control) }), encoder.dimension);
    }
    case 'encode': {
      const bi = model(request.handle, BiEncoder);
      const each = { ...request.options, ...embedControl(id, control) };
      const vectors = request.tower === 'question' ? await bi.encodeQueries(request.texts, each) : await bi.encodePassages(request.texts, each);
      return pack(vectors, bi.dimension);
    }
    case 'score':
      return model(request.handle, BiEncoder).score(unpack(request.queries), unpack(request.passages), { metric: request.metric });
    case 'openIndex': {
      const bi = model(request.handle, BiEncoder);
      const index = VectorIndex.fromBytes(request.bytes);
      if (request.graph) bi.useGraph(index, request.graph, { ef: request.ef });
      await bi.openIndex(index);
      indexes.set(nextHandle, index);
      return nextHandle++;
    }
    case 'search': {
      const index = indexes.get(request.index);
      if (!index) throw new KmedError('WORKER_BAD_HANDLE', `no index ${request.index} in this worker (closed?)`);
      return model(request.handle, BiEncoder).search(request.query, index, request.k, { metric: request.metric, ef: request.ef, exact: request.exact });
    }
    case 'indexMeta':
      return model(request.handle, BiEncoder).indexMeta();
  }
}

scope.onmessage = async (event) => {
  if ('abort' in event.data) return running.get(event.data.abort)?.abort();
  const { id, request, control = {} } = event.data;
  // A load registers its own controller; an embed gets one when its caller holds a signal.
  if (control.abortable && request.op !== 'loadPretrained') running.set(id, new AbortController());
  try {
    const value = await answer(id, request, control);
    const transfer = value && typeof value === 'object' && 'data' in value && value.data instanceof Float32Array ? [value.data.buffer] : [];
    scope.postMessage({ id, ok: true, value }, transfer);
  } catch (error) {
    const e = error as { name?: string; code?: unknown; message?: string };
    scope.postMessage({
      id,
      ok: false,
      // Only a KmedError's code crosses: the page rebuilds the same class with it.
      error: { name: String(e?.name ?? 'Error'), code: error instanceof KmedError ? error.code : undefined, message: String(e?.message ?? error) },
    });
  } finally {
    if (request.op !== 'loadPretrained') running.delete(id);
  }
};
scope.postMessage({ ready: true });
