// Owns: KernelThreadPool — worker threads that run kernel exports over the one shared heap — plus
// what deciding on threads needs: whether this runtime can share memory (and why not), the default
// thread count, the one-time fallback warning, and the worker factories (Web Workers for browsers,
// node:worker_threads for Node, Deno and Bun: see pickWorkerFactory).
// Runtime-neutral: the Node entry registers its worker_threads factory and core count through
// `registerThreadPlatform` (src/node/worker-threads.ts); nothing here imports node: modules
// statically (the fallback goes through node-builtin.ts, which bundlers leave alone).
// Does not own: how a kernel call is cut into chunks (parallel-kernels.ts), what a
// worker does (kernel-worker.ts) or the heap (arena.ts).
//
// A job: the calling thread writes the export, its arguments and the chunking into the control
// block, resets DONE and the claim counter, bumps GEN and notifies; claims chunks itself like any
// worker; then waits until DONE counts every chunk — with Atomics.wait where the thread may block
// (Node, Deno, Bun, any worker), by polling Atomics.load in a browser's main thread (Atomics.wait
// throws there). It never waits for a worker that claimed nothing (see kernel-worker.ts), so a
// descheduled worker costs nothing on a busy machine. Kernel calls stay synchronous.
import {
  CONTROL_LAYOUT as L,
  controlBytes,
  kernelWorkerSource,
  type KernelWorkerInit,
  type KernelWorkerMessage,
} from './kernel-worker.js';
import { KernelError } from './kernel-error.js';
import { importNodeBuiltin } from './node-builtin.js';

/** A started worker, as the pool needs it (a thin face over Web Worker or worker_threads). */
export interface KernelWorkerHandle {
  postMessage(message: KernelWorkerInit): void;
  /** Each message the worker posts, and an Error if it fails to load or dies. */
  listen(onMessage: (message: KernelWorkerMessage) => void, onError: (error: Error) => void): void;
  /** Let the process exit while the worker lives (where the runtime has the notion). */
  unref(): void;
  terminate(): void;
}

/** Starts one worker running kernelWorkerMain (kernel-worker.ts's kernelWorkerSource gives the script
 *  text, given the host's way to post and receive messages). */
export type KernelWorkerFactory = () => KernelWorkerHandle;

/** Default thread counts above this are capped: past it, the synchronisation per kernel call and the
 *  memory bandwidth shared by the cores eat the gain for BERT-base-sized calls. */
export const DEFAULT_MAX_THREADS = 8;
/** Explicit thread counts above this are refused (a typo, not a plan). */
export const MAX_THREADS = 64;

interface ThreadPlatform {
  workerFactory?: KernelWorkerFactory;
  hardwareConcurrency?: () => number;
}

let platform: ThreadPlatform = {};

/** For runtime adapters: where workers come from and how many cores there are (Node has no
 *  navigator.hardwareConcurrency before v21). A registered factory wins over the defaults. */
export function registerThreadPlatform(p: ThreadPlatform): void {
  platform = { ...platform, ...p };
}

/** Cores of this machine as the runtime reports them (1 when it does not say). */
export function hardwareConcurrency(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const n = platform.hardwareConcurrency?.() ?? nav?.hardwareConcurrency;
  return Number.isInteger(n) && (n as number) > 0 ? (n as number) : 1;
}

/** The `threads` default: the core count, capped at DEFAULT_MAX_THREADS. */
export function defaultThreadCount(): number {
  return Math.min(hardwareConcurrency(), DEFAULT_MAX_THREADS);
}

/** Validate a `threads` option (undefined = the default). */
export function resolveThreadCount(threads: number | undefined): number {
  if (threads === undefined) return defaultThreadCount();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new KernelError('KERNEL_BAD_OPTION', `threads = ${threads} must be an integer from 1 to ${MAX_THREADS}`);
  }
  return threads;
}

/** The Web Worker factory (browsers; Deno and Bun have it too): the worker runs from a Blob URL. */
export function webWorkerFactory(): KernelWorkerFactory | undefined {
  const g = globalThis as {
    Worker?: new (url: string | URL, options?: { type?: 'module' | 'classic'; name?: string }) => Worker;
    Blob?: typeof Blob;
    URL?: typeof URL;
  };
  if (typeof g.Worker !== 'function' || typeof g.Blob !== 'function' || typeof g.URL?.createObjectURL !== 'function') {
    return undefined;
  }
  const WorkerCtor = g.Worker;
  return () => {
    const script = kernelWorkerSource(
      '{ post: (m) => self.postMessage(m), listen: (cb) => { self.onmessage = (e) => cb(e.data); }, close: () => self.close() }',
    );
    const url = URL.createObjectURL(new Blob([script], { type: 'text/javascript' }));
    // Module type: Deno runs only module workers; browsers and Bun take both.
    const worker = new WorkerCtor(url, { type: 'module', name: 'kmed-dpr kernels' });
    return {
      postMessage: (m) => worker.postMessage(m),
      listen(onMessage, onError) {
        worker.onmessage = (e: MessageEvent) => onMessage(e.data as KernelWorkerMessage);
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault?.();
          onError(new Error(e.message || 'the worker script failed to load'));
        };
        worker.onmessageerror = () => onError(new Error('a message to the worker could not be cloned'));
      },
      unref: () => (worker as unknown as { unref?: () => void }).unref?.(),
      terminate() {
        worker.terminate();
        URL.revokeObjectURL(url);
      },
    };
  };
}

/** The constructor of node:worker_threads' Worker, as far as the factory needs it. */
export type WorkerThreadsWorker = new (code: string, options: { eval: true; name?: string }) => {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: KernelWorkerMessage) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  unref(): void;
  terminate(): Promise<number>;
};

/** A factory over node:worker_threads' Worker (Node): the body runs as an eval worker that reaches
 *  its parentPort through a dynamic import. Takes the class so this file never imports node:. */
export function workerThreadsFactory(Worker: WorkerThreadsWorker): KernelWorkerFactory {
  const host = "import('node:worker_threads')";
  // Deno's parentPort has no close(); terminate() ends the worker there.
  const io = "{ post: (m) => host.parentPort.postMessage(m), listen: (cb) => host.parentPort.on('message', cb), close: () => host.parentPort.close?.() }";
  return () => {
    const worker = new Worker(kernelWorkerSource(io, host), { eval: true, name: 'kmed-dpr kernels' });
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
}

/**
 * Where this runtime's workers come from: the caller's; the registered factory (the Node entry's);
 * node:worker_threads wherever the runtime has it (Node, Deno, Bun; imported only then, as wasm.ts
 * imports node:fs only to read a file: URL); else Web Workers (browsers).
 * Why worker_threads first where both exist: its workers can be unref'd, so a program that forgets
 * dispose() still exits — Deno's Web Workers cannot, and keep it alive for ever.
 */
export async function pickWorkerFactory(explicit?: KernelWorkerFactory): Promise<KernelWorkerFactory | undefined> {
  const chosen = explicit ?? platform.workerFactory;
  if (chosen) return chosen;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    try {
      const { Worker } = await importNodeBuiltin<{ Worker: WorkerThreadsWorker }>('worker_threads');
      if (typeof Worker === 'function') return workerThreadsFactory(Worker);
    } catch {
      // No usable worker_threads: Web Workers below.
    }
  }
  return webWorkerFactory();
}

/** Why this runtime cannot run the thread pool, or undefined when it can. */
export function sharedMemoryUnavailable(): string | undefined {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean; Atomics?: unknown };
  // Isolation first: a page that is not cross-origin isolated has no SharedArrayBuffer in Chromium,
  // and the useful hint is how to serve the page, not that the global is missing.
  if (g.crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (typeof g.SharedArrayBuffer !== 'function' || typeof g.Atomics !== 'object') {
    return 'SharedArrayBuffer is not available in this runtime';
  }
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this engine cannot create a shared WebAssembly.Memory';
  }
  return undefined;
}

let warned = false;

/** Say once per program that threads were asked for and one is used, and why. */
export function warnSingleThread(requested: number, reason: string): void {
  if (warned) return;
  warned = true;
  console.warn(`kmed-dpr: running on 1 thread instead of ${requested}: ${reason}`);
}

/** Test hook: forget that the fallback warning was given. */
export function resetThreadWarning(): void {
  warned = false;
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** How a call is cut into chunks of rows (parallel-kernels.ts makes these). Chunk c covers rows
 *  [c*chunkRows, min(rows, (c+1)*chunkRows)): argument `rowsArg` becomes its row count and each
 *  `advance` pointer moves by r0 * bytesPerRow. */
export interface ChunkPlan {
  rowsArg: number;
  rows: number;
  chunkRows: number;
  advance: ReadonlyArray<readonly [arg: number, bytesPerRow: number]>;
}

export interface ThreadPoolOptions {
  /** kernels-mt.wasm, compiled. */
  module: WebAssembly.Module;
  /** The shared heap. */
  memory: WebAssembly.Memory;
  /** The calling thread's instance of `module` over `memory` (it runs share 0). */
  exports: WebAssembly.Exports;
  /** Byte offset of the control block (controlBytes() bytes, 8-aligned, outside the arena). */
  control: number;
  /** Participants, the calling thread included (>= 2). */
  threads: number;
  factory: KernelWorkerFactory;
  /** The tile form every worker's instance runs (set_immediate_tiles; tile-probe.ts), if probed. */
  immediateTiles?: number;
  /** How long workers may take to start (default 30 s). */
  startTimeoutMs?: number;
}

/** Polls of the counter before sleeping (see KernelWorkerInit.spin). */
const SPIN = 4000;
/** Chunks not finished this long after the calling thread finished its own (or 60 s, if more) mean
 *  a worker died: fail instead of hanging. */
const STALL_FACTOR = 50;
const STALL_MIN_MS = 60_000;

export class KernelThreadPool {
  readonly threads: number;
  readonly #exports: Record<string, (...args: number[]) => void>;
  readonly #ops: Map<string, number>;
  readonly #ctl: Int32Array;
  readonly #f64 = new Float64Array(1);
  readonly #halves = new Int32Array(this.#f64.buffer);
  readonly #args: number[] = [];
  readonly #workers: KernelWorkerHandle[];
  readonly #blocking: boolean;
  #state: 'running' | 'disposed' | 'failed' = 'running';

  private constructor(o: ThreadPoolOptions, workers: KernelWorkerHandle[], ops: string[]) {
    this.threads = o.threads;
    this.#exports = o.exports as unknown as Record<string, (...args: number[]) => void>;
    this.#ops = new Map(ops.map((name, i) => [name, i]));
    this.#ctl = new Int32Array(o.memory.buffer, o.control, controlBytes() / 4);
    this.#workers = workers;
    this.#blocking = canBlock();
  }

  /** Start threads-1 workers over `memory` and wait until each has instantiated the module. */
  static async create(o: ThreadPoolOptions): Promise<KernelThreadPool> {
    if (!Number.isInteger(o.threads) || o.threads < 2) throw new KernelError('KERNEL_BAD_OPTION', `a thread pool needs >= 2 threads, got ${o.threads}`);
    if (o.control % 8 !== 0 || o.control + controlBytes() > o.memory.buffer.byteLength) {
      throw new KernelError('KERNEL_BAD_POINTER', `thread pool control block at ${o.control} does not fit the heap`);
    }
    const ops = WebAssembly.Module.exports(o.module).filter((e) => e.kind === 'function').map((e) => e.name);
    new Int32Array(o.memory.buffer, o.control, controlBytes() / 4).fill(0);
    const workers: KernelWorkerHandle[] = [];
    const timeoutMs = o.startTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const ready = [];
      for (let index = 1; index < o.threads; index++) {
        const worker = o.factory();
        workers.push(worker);
        ready.push(
          new Promise<void>((resolve, reject) => {
            worker.listen(
              (m) => {
                if ('ready' in m) resolve();
                else reject(new Error(m.error));
              },
              reject,
            );
          }),
        );
        worker.postMessage({ module: o.module, memory: o.memory, control: o.control, index, ops, layout: L, spin: SPIN, immediateTiles: o.immediateTiles });
      }
      await Promise.race([
        Promise.all(ready),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`workers did not start within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (cause) {
      for (const w of workers) w.terminate();
      throw new KernelError('KERNEL_THREAD_FAILED', `cannot start ${o.threads - 1} kernel worker(s): ${String((cause as Error)?.message ?? cause)}`, { cause });
    } finally {
      clearTimeout(timer);
    }
    // Started: from now on they must not keep a program alive (dispose() ends them; a program that
    // forgets to call it still exits).
    for (const w of workers) w.unref();
    return new KernelThreadPool(o, workers, ops);
  }

  /**
   * Run export `name` over `args` cut into the chunks of `plan`, on this thread and up to
   * `participants` - 1 workers at once (each claims chunks until none is left); returns when all
   * are done. Chunks must write disjoint memory. Without a plan, after dispose() or with one chunk,
   * everything runs here, chunk after chunk.
   */
  run(name: string, args: ReadonlyArray<number>, plan?: ChunkPlan, participants = this.threads): void {
    const fn = this.#exports[name];
    const op = this.#ops.get(name);
    if (typeof fn !== 'function' || op === undefined) throw new KernelError('KERNEL_LOAD_FAILED', `kernels-mt.wasm has no export ${name}`);
    if (this.#state === 'failed') throw new KernelError('KERNEL_THREAD_FAILED', 'the kernel thread pool failed earlier; create a new backend');
    if (args.length > L.MAX_ARGS || (plan && plan.advance.length > L.MAX_ADV)) {
      throw new KernelError('KERNEL_BAD_SIZE', `${name}: ${args.length} arguments / ${plan?.advance.length} moving pointers is more than a job holds`);
    }
    if (!plan) {
      fn(...args);
      return;
    }
    const chunks = Math.ceil(plan.rows / plan.chunkRows);
    if (!(chunks >= 1 && chunks < 256)) throw new KernelError('KERNEL_BAD_SIZE', `${name}: ${chunks} chunks (at most 255)`);
    const helpers = Math.min(participants, this.threads, chunks) - 1;
    if (this.#state === 'disposed' || helpers < 1) {
      for (let c = 0; c < chunks; c++) this.#chunk(fn, args, plan, c);
      return;
    }
    const ctl = this.#ctl;
    const gen = (Atomics.load(ctl, L.GEN) + 1) | 0;
    const tag = (gen & 0xffffff) << 8;
    // Close the counter first: a worker still on the last job that reads a field written below can
    // then no longer claim anything (kernel-worker.ts).
    Atomics.store(ctl, L.NEXT, tag | 0xff);
    this.#slot(L.NARGS, args.length);
    for (let i = 0; i < args.length; i++) this.#slot(L.ARGS + i, args[i]);
    this.#slot(L.ROWS_ARG, plan.rowsArg);
    this.#slot(L.ROWS, plan.rows);
    this.#slot(L.CHUNK_ROWS, plan.chunkRows);
    this.#slot(L.CHUNKS, chunks);
    this.#slot(L.NADV, plan.advance.length);
    plan.advance.forEach(([arg, perRow], a) => {
      this.#slot(L.ADV + 2 * a, arg);
      this.#slot(L.ADV + 2 * a + 1, perRow);
    });
    Atomics.store(ctl, L.OP, op);
    Atomics.store(ctl, L.FAILED, 0);
    Atomics.store(ctl, L.PARTICIPANTS, helpers + 1);
    Atomics.store(ctl, L.DONE, 0);
    Atomics.store(ctl, L.NEXT, tag);
    Atomics.store(ctl, L.GEN, gen);
    Atomics.notify(ctl, L.GEN);
    const started = performance.now();
    let ownError: unknown;
    for (;;) {
      const v = Atomics.load(ctl, L.NEXT);
      const c = v & 0xff;
      if (c >= chunks) break;
      if (Atomics.compareExchange(ctl, L.NEXT, v, v + 1) !== v) continue;
      try {
        this.#chunk(fn, args, plan, c);
      } catch (error) {
        // Keep counting: workers may still be writing the heap, so wait for them before throwing.
        ownError ??= error;
      }
      Atomics.add(ctl, L.DONE, 1);
    }
    this.#join(name, chunks, performance.now() - started);
    if (ownError !== undefined) throw ownError;
    const failed = Atomics.load(ctl, L.FAILED);
    if (failed !== 0) {
      throw new KernelError('KERNEL_THREAD_FAILED', `${name}: kernel worker ${failed - 1} threw (see the console); its output rows are not valid`);
    }
  }

  /** Write job slot i (a float64, as two Int32 halves, atomically: see kernel-worker.ts). */
  #slot(i: number, value: number): void {
    this.#f64[0] = value;
    Atomics.store(this.#ctl, L.JOB + 2 * i, this.#halves[0]);
    Atomics.store(this.#ctl, L.JOB + 2 * i + 1, this.#halves[1]);
  }

  /** Chunk c of a call, on this thread (the same arguments a worker would compute). */
  #chunk(fn: (...args: number[]) => void, args: ReadonlyArray<number>, plan: ChunkPlan, c: number): void {
    const a = this.#args;
    a.length = args.length;
    for (let i = 0; i < args.length; i++) a[i] = args[i];
    const r0 = c * plan.chunkRows;
    a[plan.rowsArg] = Math.min(plan.rows - r0, plan.chunkRows);
    for (const [arg, perRow] of plan.advance) a[arg] = args[arg] + r0 * perRow;
    fn(...a);
  }

  /** Wait until every chunk of the job is done (only chunks a worker claimed can be outstanding). */
  #join(name: string, chunks: number, ownMs: number): void {
    const ctl = this.#ctl;
    for (let i = SPIN; i > 0; i--) if (Atomics.load(ctl, L.DONE) === chunks) return;
    const limitMs = Math.max(STALL_MIN_MS, ownMs * STALL_FACTOR);
    const deadline = performance.now() + limitMs;
    for (;;) {
      const done = Atomics.load(ctl, L.DONE);
      if (done === chunks) return;
      if (this.#blocking) Atomics.wait(ctl, L.DONE, done, 100);
      else for (let i = 0; i < 1000 && Atomics.load(ctl, L.DONE) === done; i++);
      if (performance.now() > deadline) {
        this.#state = 'failed';
        throw new KernelError(
          'KERNEL_THREAD_FAILED',
          `${name}: ${chunks - Atomics.load(ctl, L.DONE)} chunk(s) claimed by kernel workers did not finish within ${Math.round(limitMs)} ms (a worker died or was terminated)`,
        );
      }
    }
  }

  /** Stop the workers (idempotent). Later run() calls execute every share on this thread. */
  dispose(): void {
    if (this.#state === 'disposed') return;
    this.#state = 'disposed';
    Atomics.store(this.#ctl, L.OP, L.QUIT);
    Atomics.add(this.#ctl, L.GEN, 1);
    Atomics.notify(this.#ctl, L.GEN);
    for (const w of this.#workers) w.terminate();
  }
}
