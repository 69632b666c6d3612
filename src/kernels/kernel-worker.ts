// Owns: what a kernel worker thread does, and the layout of the control block it shares with the
// pool (thread-pool.ts). A worker instantiates kernels-mt.wasm over the pool's shared heap, then
// loops: sleep on the control block's generation counter (Atomics.wait), run its share of the job
// (one export, its own arguments), count itself done (Atomics.sub + Atomics.notify).
// Does not own: starting workers (a KernelWorkerFactory does, in thread-pool.ts for Web Workers and
// src/node/worker-threads.ts for Node), how a job is split (parallel-kernels.ts) or any arithmetic.
//
// Why a function and not a module file: `kernelWorkerMain` is sent to the worker as source text
// (`String(kernelWorkerMain)`), so a worker needs no URL of ours — that works from a CDN (cross-origin
// worker scripts are refused), under bundlers, and from src/ under a TypeScript test runner. Hence
// its body is self-contained: no imports, no outer constants (the layout arrives in the init message).

/** Control block layout (Int32 indices and byte offsets from the block's start). The counters live
 *  on separate cache lines: workers poll GEN while finishing workers hammer PENDING. */
export const CONTROL_LAYOUT = {
  /** Int32 index: job generation; the pool bumps it to post a job (workers wait on it). */
  GEN: 0,
  /** Int32 index: export id of the current job, or QUIT. */
  OP: 1,
  /** Int32 index: 0, or 1 + the index of a worker whose kernel threw. */
  FAILED: 2,
  /** Int32 index: workers still running the current job (the pool waits on it). */
  PENDING: 16,
  /** Byte offset of the argument slots: one per participant, SLOT_F64 float64 each:
   *  [argument count (-1: no share of this job), arguments...]. */
  SLOTS_BYTE: 128,
  SLOT_F64: 16,
  /** OP value that tells workers to leave their loop. */
  QUIT: -1,
} as const;

export type ControlLayout = typeof CONTROL_LAYOUT;

/** Bytes of the control block for `threads` participants (slot 0, the calling thread, unused). */
export function controlBytes(threads: number): number {
  return CONTROL_LAYOUT.SLOTS_BYTE + threads * CONTROL_LAYOUT.SLOT_F64 * 8;
}

/** The first (and only) message a worker receives. */
export interface KernelWorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control block in `memory`. */
  control: number;
  /** This worker's participant index, 1..threads-1 (0 is the calling thread). */
  index: number;
  /** Export names by job id (OP). */
  ops: string[];
  layout: ControlLayout;
  /** Polls of GEN before sleeping in Atomics.wait (a wake-up costs tens of µs; a short poll
   *  catches the next job of a burst without it). */
  spin: number;
}

/** What a worker posts back: `ready` once instantiated, or `error` (with the reason) if it cannot. */
export type KernelWorkerMessage = { ready: true } | { error: string };

/** How the worker body talks to its host (Web Worker `self`, or Node's parentPort). */
export interface KernelWorkerIO {
  post(message: KernelWorkerMessage): void;
  listen(onMessage: (message: KernelWorkerInit) => void): void;
  close(): void;
}

/** The worker body (runs inside the worker; see the header for why it is self-contained). */
export function kernelWorkerMain(io: KernelWorkerIO): void {
  let started = false;
  io.listen((init) => {
    if (started) return;
    started = true;
    const { memory, layout } = init;
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
    for (const imp of WebAssembly.Module.imports(init.module)) {
      const ns = (imports[imp.module] ??= {});
      if (imp.kind === 'memory') ns[imp.name] = memory;
      else if (imp.kind === 'function') {
        ns[imp.name] = () => {
          throw new Error(`kernels-mt.wasm called its import ${imp.module}.${imp.name}`);
        };
      }
    }
    WebAssembly.instantiate(init.module, imports).then(
      (instance) => {
        const exported = instance.exports as Record<string, unknown>;
        const fns = init.ops.map((name) => exported[name] as (...args: number[]) => void);
        const ctl = new Int32Array(memory.buffer, init.control, layout.SLOTS_BYTE / 4);
        const slot = new Float64Array(memory.buffer, init.control + layout.SLOTS_BYTE + init.index * layout.SLOT_F64 * 8, layout.SLOT_F64);
        const args: number[] = [];
        // Read before saying ready: the pool posts no job until every worker is ready, so this is the
        // generation to wait past (reading it later could miss the first job).
        let seen = Atomics.load(ctl, layout.GEN);
        io.post({ ready: true });
        for (;;) {
          for (let i = init.spin; i > 0 && Atomics.load(ctl, layout.GEN) === seen; i--);
          while (Atomics.load(ctl, layout.GEN) === seen) Atomics.wait(ctl, layout.GEN, seen);
          seen = Atomics.load(ctl, layout.GEN);
          const op = Atomics.load(ctl, layout.OP);
          if (op === layout.QUIT) break;
          const n = slot[0];
          if (n < 0) continue; // no share of this job: not counted in PENDING
          args.length = n;
          for (let i = 0; i < n; i++) args[i] = slot[1 + i];
          try {
            fns[op](...args);
          } catch (error) {
            Atomics.compareExchange(ctl, layout.FAILED, 0, 1 + init.index);
            console.error(`kmed-dpr kernel worker ${init.index}: ${init.ops[op]} failed:`, error);
          }
          if (Atomics.sub(ctl, layout.PENDING, 1) === 1) Atomics.notify(ctl, layout.PENDING);
        }
        io.close();
      },
      (error: unknown) => io.post({ error: String((error as Error)?.message ?? error) }),
    );
  });
}

/**
 * Source text of a worker script: the body, started with `io` (a JavaScript expression for a
 * KernelWorkerIO). With `host`, an expression for a promise (e.g. a dynamic import of the host's
 * messaging module), the body starts once it resolves, and `io` may use its value as `host`.
 * Some TypeScript runners (esbuild with keepNames, e.g. tsx) compile functions to call a `__name`
 * helper that only exists in the module they came from; the stub keeps the text runnable alone.
 */
export function kernelWorkerSource(io: string, host?: string): string {
  const start = `(${String(kernelWorkerMain)})(${io})`;
  return `var __name = (f) => f;\n${host ? `${host}.then((host) => ${start});` : `${start};`}\n`;
}
