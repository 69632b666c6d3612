// Owns: what a kernel worker thread does, and the layout of the control block it shares with the
// pool (thread-pool.ts). A worker instantiates kernels-mt.wasm over the pool's shared heap, then
// loops: sleep on the control block's generation counter (Atomics.wait), claim chunks of the job —
// one export, its arguments, a row range per chunk — from a shared counter until none is left,
// counting each finished chunk (Atomics.add + Atomics.notify when it was the last).
// Does not own: starting workers (a KernelWorkerFactory, thread-pool.ts), how a call is cut into
// chunks (parallel-kernels.ts) or any arithmetic.
//
// Why chunks claimed from a counter rather than one fixed share per thread: a thread that starts
// late (descheduled on a busy machine, or a slow core of a big.LITTLE phone) simply takes fewer
// chunks — or none, and then nobody waits for it: the pool waits for finished chunks, not for
// workers. Chunk c always covers the same rows, whoever runs it, so results stay bitwise the same.
// The claim counter carries the job's generation (NEXT = gen << 8 | next chunk), so a worker that
// wakes after its job is over cannot claim a chunk of the next one with the old job's arguments: its
// compare-exchange fails and it goes back to sleep. For that proof to hold on every CPU (not only
// x86's strong ordering), the job's fields are written and read with Atomics too (float64 values as
// two Int32 halves), and the pool closes the counter (next = 255) before it rewrites them: a worker
// that read any field of the next job then finds the counter closed.
//
// Why a function and not a module file: `kernelWorkerMain` is sent to the worker as source text
// (`String(kernelWorkerMain)`), so a worker needs no URL of ours — that works from a CDN (cross-origin
// worker scripts are refused), under bundlers, and from src/ under a TypeScript test runner. Hence
// its body is self-contained: no imports, no outer constants (the layout arrives in the init message).

/** Control block layout: Int32 indices of the header; the job's float64 fields are numbered as
 *  slots, slot i held at Int32 indices JOB + 2i (low half) and JOB + 2i + 1 (high half). The
 *  counters each own a cache line: workers poll GEN while others hammer NEXT and DONE. */
export const CONTROL_LAYOUT = {
  /** Int32: job generation; the pool bumps it to post a job (workers wait on it). */
  GEN: 0,
  /** Int32: export id of the current job, or QUIT. */
  OP: 1,
  /** Int32: 0, or 1 + the index of a worker whose kernel threw. */
  FAILED: 2,
  /** Int32: workers 1..PARTICIPANTS-1 take part in the current job; the others sleep on. */
  PARTICIPANTS: 3,
  /** Int32: chunks of the current job finished (the pool waits for it to reach CHUNKS). */
  DONE: 16,
  /** Int32: (generation & 0xffffff) << 8 | next chunk to claim (chunks < 256; 255 = closed). */
  NEXT: 32,
  /** Int32 index where the job's slots start. */
  JOB: 64,
  /** Job slots (float64): argument count, the arguments, the chunking. */
  NARGS: 0,
  ARGS: 1,
  MAX_ARGS: 16,
  /** Which argument is the row count, rows in all, rows per chunk, chunks. */
  ROWS_ARG: 17,
  ROWS: 18,
  CHUNK_ROWS: 19,
  CHUNKS: 20,
  /** Pointer arguments moved to a chunk's first row: count, then (argument index, bytes per row). */
  NADV: 21,
  ADV: 22,
  MAX_ADV: 8,
  JOB_SLOTS: 38,
  /** OP value that tells workers to leave their loop. */
  QUIT: -1,
} as const;

export type ControlLayout = typeof CONTROL_LAYOUT;

/** Bytes of the control block (the same for any thread count). */
export function controlBytes(): number {
  return (CONTROL_LAYOUT.JOB + 2 * CONTROL_LAYOUT.JOB_SLOTS) * 4;
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
  /** The Linear tile form the calling thread's probe chose (set_immediate_tiles), if any. */
  immediateTiles?: number;
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
    const { memory, layout: L } = init;
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
        if (init.immediateTiles !== undefined) (exported.set_immediate_tiles as (on: number) => void)(init.immediateTiles);
        const fns = init.ops.map((name) => exported[name] as (...args: number[]) => void);
        const ctl = new Int32Array(memory.buffer, init.control, L.JOB + 2 * L.JOB_SLOTS);
        // A float64 slot read atomically, half by half (see the header).
        const f64 = new Float64Array(1);
        const halves = new Int32Array(f64.buffer);
        const slot = (i: number): number => {
          halves[0] = Atomics.load(ctl, L.JOB + 2 * i);
          halves[1] = Atomics.load(ctl, L.JOB + 2 * i + 1);
          return f64[0];
        };
        const base: number[] = [];
        const args: number[] = [];
        const adv: number[] = [];
        // Read before saying ready: the pool posts no job until every worker is ready, so this is the
        // generation to wait past (reading it later could miss the first job).
        let seen = Atomics.load(ctl, L.GEN);
        io.post({ ready: true });
        for (;;) {
          for (let i = init.spin; i > 0 && Atomics.load(ctl, L.GEN) === seen; i--);
          while (Atomics.load(ctl, L.GEN) === seen) Atomics.wait(ctl, L.GEN, seen);
          seen = Atomics.load(ctl, L.GEN);
          const op = Atomics.load(ctl, L.OP);
          if (op === L.QUIT) break;
          if (init.index >= Atomics.load(ctl, L.PARTICIPANTS)) continue;
          // Read before claiming: a successful claim below proves these were the job's fields (the
          // pool closes the counter before it rewrites them).
          const n = Math.min(slot(L.NARGS), L.MAX_ARGS);
          base.length = args.length = n;
          for (let i = 0; i < n; i++) base[i] = slot(L.ARGS + i);
          const rowsArg = slot(L.ROWS_ARG), rows = slot(L.ROWS), chunkRows = slot(L.CHUNK_ROWS);
          const chunks = slot(L.CHUNKS), nadv = Math.min(slot(L.NADV), L.MAX_ADV);
          adv.length = 2 * nadv;
          for (let a = 0; a < 2 * nadv; a++) adv[a] = slot(L.ADV + a);
          const tag = (seen & 0xffffff) << 8;
          for (;;) {
            const v = Atomics.load(ctl, L.NEXT);
            if ((v & ~0xff) !== tag || (v & 0xff) >= chunks) break; // another job, or none left
            if (Atomics.compareExchange(ctl, L.NEXT, v, v + 1) !== v) continue;
            const r0 = (v & 0xff) * chunkRows;
            for (let i = 0; i < n; i++) args[i] = base[i];
            args[rowsArg] = Math.min(rows - r0, chunkRows);
            for (let a = 0; a < nadv; a++) args[adv[2 * a]] += r0 * adv[2 * a + 1];
            try {
              fns[op](...args);
            } catch (error) {
              Atomics.compareExchange(ctl, L.FAILED, 0, 1 + init.index);
              console.error(`kmed-dpr kernel worker ${init.index}: ${init.ops[op]} failed:`, error);
            }
            if (Atomics.add(ctl, L.DONE, 1) + 1 === chunks) Atomics.notify(ctl, L.DONE);
          }
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
