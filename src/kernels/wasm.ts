// Owns: createWasmBackend, the KernelBackend over build/kernels.wasm (AssemblyScript, f32x4 SIMD):
// finding and instantiating the module, detecting SIMD, and mapping the contract onto the exports.
// Does not own: argument checks (guard.ts: every call is checked before it crosses into wasm, so a
// bad pointer is a KernelError, never a trap) or the kernels themselves (assembly/).
//
// Runtime-neutral: the module comes as bytes or a compiled WebAssembly.Module from the caller, or is
// found next to this file as `new URL('./kernels.wasm', import.meta.url)` — the literal form Vite,
// webpack 5 and Rollup recognise and emit as an asset (the build copies build/*.wasm into
// dist/kernels/). It is read with node:fs/promises for file: URLs (imported only then, through
// node-builtin.ts, so bundlers and browsers never see it) and with fetch otherwise.
import type { KernelBackend } from './backend.js';
import { Arena, WASM_PAGE } from './arena.js';
import { guardBackend, type RawKernels } from './guard.js';
import { KernelError } from './kernel-error.js';
import { importNodeBuiltin } from './node-builtin.js';
import { LOW_PRECISION_EXPORTS, lowPrecisionKernels, type LowPrecisionExports } from './wasm-lowp.js';
import type { KernelWorkerFactory } from './thread-pool.js';
import { createThreadedWasmBackend } from './wasm-threaded.js';

export interface WasmBackendOptions {
  /** kernels.wasm as bytes or compiled; default: build/kernels.wasm next to the package. */
  wasmBytes?: BufferSource | WebAssembly.Module;
  /** Initial heap size in bytes (default 16 MiB); the arena grows it on demand. */
  initialBytes?: number;
  /** Threads the kernels run on, the calling one included (default 1). More than 1 needs shared
   *  memory (SharedArrayBuffer; in a browser, a cross-origin isolated page) and workers; without
   *  them the backend runs on 1 thread and says why once (console.warn). */
  threads?: number;
  /** kernels-mt.wasm (the same kernels over a shared memory) as bytes or compiled, for threads > 1;
   *  default: build/kernels-mt.wasm next to the package. */
  wasmThreadsBytes?: BufferSource | WebAssembly.Module;
  /** Where worker threads come from (default: the Node entry's, else node:worker_threads where the
   *  runtime has it, else Web Workers; see thread-pool.ts pickWorkerFactory). */
  workerFactory?: KernelWorkerFactory;
  /** Bench knob: the least estimated work (ns) worth a chunk for another thread (0: split every call). */
  minShareNs?: number;
  /** Bench knob: chunks per thread a call is cut into (default parallel-kernels.ts CHUNKS_PER_THREAD). */
  chunksPerThread?: number;
}

/** The exports of assembly/index.ts (the ABI). */
export interface KernelExports extends LowPrecisionExports {
  heap_base(): number;
  linear_panel_f32(): number;
  pack_linear_f32(dst: number, src: number, OUT: number, IN: number): void;
  linear_f32(out: number, x: number, w: number, bias: number, T: number, IN: number, OUT: number): void;
  matmul_nt_f32(out: number, a: number, b: number, M: number, N: number, K: number, lda: number, ldb: number, ldc: number): void;
  matmul_nn_f32(out: number, a: number, b: number, M: number, N: number, K: number, lda: number, ldb: number, ldc: number): void;
  attention_f32(ctx: number, q: number, k: number, v: number, scratch: number, NH: number, L: number, HS: number, ld: number, scale: number, M: number): void;
  attention_head_scratch_bytes(L: number, HS: number): number;
  softmax_rows_f32(x: number, mask: number, rows: number, cols: number, scale: number): void;
  layernorm_f32(out: number, x: number, gamma: number, beta: number, rows: number, C: number, eps: number): void;
  add_f32(out: number, x: number, n: number): void;
  gelu_f32(x: number, n: number): void;
  tanh_f32(x: number, n: number): void;
  dot_rows_f32(out: number, matrix: number, vec: number, rows: number, dim: number): void;
  peak_fma_f32(iterations: number, m: number, a: number): number;
  peak_fma_flops_per_iteration(): number;
  peak_dot_i16(iterations: number, m: number, a: number): number;
  peak_dot_i16_ops_per_iteration(): number;
}

const REQUIRED_EXPORTS: ReadonlyArray<keyof KernelExports> = [
  'heap_base', 'linear_panel_f32', 'pack_linear_f32', 'linear_f32', 'matmul_nt_f32', 'matmul_nn_f32', 'attention_f32', 'attention_head_scratch_bytes',
  'softmax_rows_f32', 'layernorm_f32', 'add_f32', 'gelu_f32', 'tanh_f32', 'dot_rows_f32',
  ...LOW_PRECISION_EXPORTS,
];

/** (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)): a tiny module using SIMD
 *  opcodes (wasm-feature-detect's probe), valid only where the engine has fixed-width SIMD. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

// Keep this a literal `new URL('./<file>.wasm', import.meta.url)`: bundlers only emit the file for
// exactly this form.
const DEFAULT_WASM_URL = new URL('./kernels.wasm', import.meta.url);

type NodeFs = { readFile(path: URL): Promise<Uint8Array> };

/** Read a file: URL with node:fs. Run from the sources (src/kernels/, under tsx or vitest) the
 *  kernels are not beside this file but in the repository's build/: look there second. The base is
 *  a variable, not import.meta.url, so bundlers do not try to emit this one. */
async function readWasmFile(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const fs = await importNodeBuiltin<NodeFs>('fs/promises');
  try {
    return new Uint8Array(await fs.readFile(url));
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT' || !url.pathname.includes('/src/kernels/')) throw error;
    const name = url.pathname.split('/').pop()!;
    return new Uint8Array(await fs.readFile(new URL('../../build/' + name, url)));
  }
}

async function readDefaultWasm(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
    // Node, Bun and Deno all provide node:fs; Node's fetch does not read file: URLs.
    if (url.protocol === 'file:' && proc?.versions?.node) return await readWasmFile(url);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  } catch (cause) {
    throw new KernelError(
      'KERNEL_LOAD_FAILED',
      `cannot read the kernels at ${url.href} (${String((cause as Error)?.message ?? cause)}); run \`npm run build:wasm\` or pass wasmBytes`,
      { cause },
    );
  }
}

/** Compile (if needed) and return the kernel module (by default `url`'s); throws KernelError without SIMD. */
export async function loadKernelModule(source?: BufferSource | WebAssembly.Module, url: URL = DEFAULT_WASM_URL): Promise<WebAssembly.Module> {
  if (!hasWasmSimd()) {
    throw new KernelError('KERNEL_NO_SIMD', 'this JavaScript engine cannot run WebAssembly SIMD (fixed-width 128-bit); use the reference backend');
  }
  if (source instanceof WebAssembly.Module) return source;
  const bytes = source ?? (await readDefaultWasm(url));
  try {
    return await WebAssembly.compile(bytes);
  } catch (cause) {
    throw new KernelError('KERNEL_LOAD_FAILED', `${url.pathname.split('/').pop()} does not compile: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
}

export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<KernelBackend> {
  if (options.threads !== undefined && options.threads !== 1) {
    // Undefined means it could not (it warned why): the single-thread backend below stands in.
    const threaded = await createThreadedWasmBackend(options);
    if (threaded) return threaded;
  }
  const module = await loadKernelModule(options.wasmBytes);
  const memory = new WebAssembly.Memory({ initial: initialPages(options) });
  const ex = await instantiateKernels(module, memory, 'kernels.wasm');
  return guardBackend('wasm-simd', new Arena(memory, ex.heap_base()), rawKernels(ex));
}

export function initialPages(options: WasmBackendOptions): number {
  return Math.max(1, Math.ceil((options.initialBytes ?? 16 * 2 ** 20) / WASM_PAGE));
}

/** Instantiate the kernels over `memory` and check they are the ones this file maps. */
export async function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory, file: string): Promise<KernelExports> {
  const imports: WebAssembly.Imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind === 'memory') ns[imp.name] = memory;
    else if (imp.kind === 'function') {
      // --runtime stub with --noAssert imports nothing else today; anything that does get called
      // (abort) is a kernel bug, reported rather than trapping silently.
      ns[imp.name] = () => {
        throw new KernelError('KERNEL_LOAD_FAILED', `${file} called its import ${imp.module}.${imp.name}`);
      };
    } else {
      throw new KernelError('KERNEL_LOAD_FAILED', `${file} wants an unexpected ${imp.kind} import ${imp.module}.${imp.name}`);
    }
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (cause) {
    throw new KernelError('KERNEL_LOAD_FAILED', `${file} does not instantiate: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
  const ex = instance.exports as unknown as KernelExports;
  for (const name of REQUIRED_EXPORTS) {
    if (typeof ex[name] !== 'function') {
      throw new KernelError('KERNEL_LOAD_FAILED', `${file} has no export ${name}: built from another version of assembly/?`);
    }
  }
  return ex;
}

/** The contract's kernels over an instance's exports (which may run on a thread pool). */
export function rawKernels(ex: KernelExports): RawKernels {
  const panel = ex.linear_panel_f32();
  return {
    packedLinearBytes: (OUT, IN) => Math.ceil(OUT / panel) * panel * IN * 4,
    packLinear: (dst, src, OUT, IN) => ex.pack_linear_f32(dst, src, OUT, IN),
    linear: (out, x, w, bias, T, IN, OUT) => ex.linear_f32(out, x, w, bias, T, IN, OUT),
    matmulNT: (out, a, b, M, N, K, lda, ldb, ldc) => ex.matmul_nt_f32(out, a, b, M, N, K, lda, ldb, ldc),
    matmulNN: (out, a, b, M, N, K, lda, ldb, ldc) => ex.matmul_nn_f32(out, a, b, M, N, K, lda, ldb, ldc),
    attentionScratchBytes: (NH, L, HS) => NH * ex.attention_head_scratch_bytes(L, HS),
    attention: (ctx, q, k, v, scores, NH, L, HS, ld, scale, queries = L) => ex.attention_f32(ctx, q, k, v, scores, NH, L, HS, ld, scale, queries),
    softmaxRows: (x, mask, rows, cols, scale) => ex.softmax_rows_f32(x, mask, rows, cols, scale),
    layerNorm: (out, x, gamma, beta, rows, C, eps) => ex.layernorm_f32(out, x, gamma, beta, rows, C, eps),
    addInPlace: (out, x, n) => ex.add_f32(out, x, n),
    gelu: (x, n) => ex.gelu_f32(x, n),
    tanh: (x, n) => ex.tanh_f32(x, n),
    dotRows: (out, matrix, vec, rows, dim) => ex.dot_rows_f32(out, matrix, vec, rows, dim),
    ...lowPrecisionKernels(ex),
  };
}

/** Bench only: the peak f32x4 mul+add loop (and the int16 dot loop the int8 Linear is made of), on
 *  its own instance of the same module. */
export async function createPeakProbe(options: { wasmBytes?: BufferSource | WebAssembly.Module } = {}): Promise<{
  run(iterations: number): number;
  flopsPerIteration: number;
  runDotI16(iterations: number): number;
  dotOpsPerIteration: number;
}> {
  const module = await loadKernelModule(options.wasmBytes);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ex = instance.exports as unknown as KernelExports;
  return {
    run: (iterations) => ex.peak_fma_f32(iterations, 0.999, 0.001),
    flopsPerIteration: ex.peak_fma_flops_per_iteration(),
    runDotI16: (iterations) => ex.peak_dot_i16(iterations, 3, 1),
    dotOpsPerIteration: ex.peak_dot_i16_ops_per_iteration(),
  };
}
