// Owns: the kernel modules — which of the four builds of assembly/ (baseline or relaxed SIMD, plain
// or shared memory) a backend runs, the feature probes that decide it (`simd` option), finding and
// reading the default .wasm files, compiling, and instantiating one over a given memory with its
// exports checked. Also the options every wasm backend takes (WasmBackendOptions).
// Does not own: what the exports mean (wasm-kernels.ts maps them onto the KernelBackend contract),
// the thread pool (thread-pool.ts, wasm-threaded.ts), or the kernels themselves (assembly/).
//
// Runtime-neutral: a module comes as bytes or a compiled WebAssembly.Module from the caller, or is
// found next to this file as a literal `new URL('./<file>.wasm', import.meta.url)` — the form Vite,
// webpack 5 and Rollup recognise and emit as an asset (the build copies build/*.wasm into
// dist/kernels/). It is read with node:fs/promises for file: URLs (imported only then, through
// node-builtin.ts, so bundlers and browsers never see it) and with fetch otherwise.
import { WASM_PAGE } from './arena.js';
import { KernelError } from './kernel-error.js';
import { importNodeBuiltin } from './node-builtin.js';
import type { KernelWorkerFactory } from './thread-pool.js';
import { LOW_PRECISION_EXPORTS, type LowPrecisionExports } from './wasm-lowp.js';
import { GRAPH_EXPORTS, type GraphExports } from './wasm-graph.js';
import { SEARCH_EXPORTS, type SearchExports } from './wasm-search.js';

/** Which SIMD build to run: 'auto' (default) relaxed where the engine validates relaxed SIMD, else
 *  baseline; 'baseline' always the fixed-width SIMD build; 'relaxed' the relaxed build or an error. */
export type SimdChoice = 'auto' | 'baseline' | 'relaxed';

export const SIMD_CHOICES: readonly SimdChoice[] = ['auto', 'baseline', 'relaxed'];

export interface WasmBackendOptions {
  /** kernels.wasm as bytes or compiled; default: the build `simd` picks, next to the package.
   *  Given, it is run as it is (its own build decides baseline or relaxed). */
  wasmBytes?: BufferSource | WebAssembly.Module;
  /** Initial heap size in bytes (default 16 MiB); the arena grows it on demand. */
  initialBytes?: number;
  /** Threads the kernels run on, the calling one included (default 1). More than 1 needs shared
   *  memory (SharedArrayBuffer; in a browser, a cross-origin isolated page) and workers; without
   *  them the backend runs on 1 thread and says why once (console.warn). */
  threads?: number;
  /** kernels-mt.wasm (the same kernels over a shared memory) as bytes or compiled, for threads > 1;
   *  default: the shared-memory build `simd` picks, next to the package. */
  wasmThreadsBytes?: BufferSource | WebAssembly.Module;
  /** Baseline or relaxed SIMD kernels (default 'auto': relaxed where WebAssembly.validate accepts
   *  relaxed SIMD — Node ≥ 22, Deno, Chromium — else baseline). The relaxed build fuses every
   *  matmul multiply-add (f32x4.relaxed_madd); its results may differ from the baseline's in the
   *  last bits, and are bitwise the same for any thread count on one machine. */
  simd?: SimdChoice;
  /** Where worker threads come from (default: the Node entry's, else node:worker_threads where the
   *  runtime has it, else Web Workers; see thread-pool.ts pickWorkerFactory). */
  workerFactory?: KernelWorkerFactory;
  /** Time the Linear's two tile forms at load and run the faster (default true; tile-probe.ts,
   *  15–40 ms once per build and process). A backend that never runs a Linear (exact search) skips
   *  it: the kernels then keep the load-immediate form, and give the same bits either way. */
  tileProbe?: boolean;
  /** Bench knob: the least estimated work (ns) worth a chunk for another thread (0: split every call). */
  minShareNs?: number;
  /** Bench knob: chunks per thread a call is cut into (default parallel-kernels.ts CHUNKS_PER_THREAD). */
  chunksPerThread?: number;
}

/** The exports of assembly/index.ts (the ABI). */
export interface KernelExports extends LowPrecisionExports, SearchExports, GraphExports {
  heap_base(): number;
  simd_relaxed(): number;
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
  peak_fma_f32(iterations: number, m: number, a: number): number;
  peak_fma_flops_per_iteration(): number;
  peak_dot_i16(iterations: number, m: number, a: number): number;
  peak_dot_i16_ops_per_iteration(): number;
  peak_dot_i8(iterations: number, m: number, a: number): number;
  peak_dot_i8_ops_per_iteration(): number;
}

const REQUIRED_EXPORTS: ReadonlyArray<keyof KernelExports> = [
  'heap_base', 'simd_relaxed', 'linear_panel_f32', 'pack_linear_f32', 'linear_f32', 'matmul_nt_f32', 'matmul_nn_f32', 'attention_f32', 'attention_head_scratch_bytes',
  'softmax_rows_f32', 'layernorm_f32', 'add_f32', 'gelu_f32', 'tanh_f32',
  ...LOW_PRECISION_EXPORTS,
  ...GRAPH_EXPORTS,
  ...SEARCH_EXPORTS,
];

/** (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)): a tiny module using SIMD
 *  opcodes (wasm-feature-detect's probe), valid only where the engine has fixed-width SIMD. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd)): valid
 *  only where the engine has relaxed SIMD (opcode 0xfd 0x105). */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 133, 2, 11,
]);

export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

export function hasRelaxedSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
}

/** One build of the kernels: SIMD flavour and whether it imports a shared memory. */
export interface KernelVariant {
  simd: 'baseline' | 'relaxed';
  shared: boolean;
}

/** The build `choice` means on this engine; throws KernelError for an unknown choice, or for
 *  'relaxed' where the engine cannot run it. */
export function resolveSimd(choice: SimdChoice = 'auto'): 'baseline' | 'relaxed' {
  if (!SIMD_CHOICES.includes(choice)) {
    throw new KernelError('KERNEL_BAD_OPTION', `simd '${String(choice)}' is not one of ${SIMD_CHOICES.join(', ')}`);
  }
  if (choice === 'baseline') return 'baseline';
  if (hasRelaxedSimd()) return 'relaxed';
  if (choice === 'relaxed') {
    throw new KernelError('KERNEL_NO_SIMD', "simd: 'relaxed' asked for, but this JavaScript engine cannot run WebAssembly relaxed SIMD (Node >= 22, Deno and Chromium can); use 'auto' or 'baseline'");
  }
  return 'baseline';
}

/** File name of a build (build/<name>, dist/kernels/<name>). */
export function variantFile(v: KernelVariant): string {
  return `kernels${v.simd === 'relaxed' ? '-relaxed' : ''}${v.shared ? '-mt' : ''}.wasm`;
}

/** Where a build lies by default. Keep each a literal `new URL('./<file>.wasm', import.meta.url)`:
 *  bundlers only emit the file for exactly this form. */
function defaultUrl(v: KernelVariant): URL {
  if (v.simd === 'relaxed') {
    return v.shared ? new URL('./kernels-relaxed-mt.wasm', import.meta.url) : new URL('./kernels-relaxed.wasm', import.meta.url);
  }
  return v.shared ? new URL('./kernels-mt.wasm', import.meta.url) : new URL('./kernels.wasm', import.meta.url);
}

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

/** Compile (if needed) and return a kernel module: `source` as given, else the default file of
 *  `variant` (baseline, plain memory unless said). Throws KernelError without SIMD. */
export async function loadKernelModule(
  source?: BufferSource | WebAssembly.Module,
  variant: KernelVariant = { simd: 'baseline', shared: false },
): Promise<WebAssembly.Module> {
  if (!hasWasmSimd()) {
    throw new KernelError('KERNEL_NO_SIMD', 'this JavaScript engine cannot run WebAssembly SIMD (fixed-width 128-bit); use the reference backend');
  }
  if (source instanceof WebAssembly.Module) return source;
  const file = source ? 'the given kernels' : variantFile(variant);
  const bytes = source ?? (await readDefaultWasm(defaultUrl(variant)));
  try {
    return await WebAssembly.compile(bytes);
  } catch (cause) {
    throw new KernelError('KERNEL_LOAD_FAILED', `${file} does not compile: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
}

export function initialPages(options: WasmBackendOptions): number {
  return Math.max(1, Math.ceil((options.initialBytes ?? 16 * 2 ** 20) / WASM_PAGE));
}

/** Instantiate the kernels over `memory` and check they have every export wasm-kernels.ts maps. */
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

/** The backend name of an instance's build: 'wasm-simd' or 'wasm-relaxed-simd'. */
export function backendName(ex: KernelExports): string {
  return ex.simd_relaxed() === 1 ? 'wasm-relaxed-simd' : 'wasm-simd';
}
