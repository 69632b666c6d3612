// Owns: deciding whether the int8 Linear runs on relaxed SIMD — kernels-relaxed.wasm is used only
// when (1) WebAssembly.validate accepts a tiny module with the very instruction it needs
// (i32x4.relaxed_dot_i8x16_i7x16_add_s) and (2) a self-test gives bit-identical int8 results to the
// baseline kernels on a problem that hits every tile shape and the extreme products. Otherwise the
// baseline module (fixed-width SIMD only) runs; it is always the reference point, never optional.
// Does not own: loading bytes (wasm.ts passes a loader), the bindings (wasm-lowp.ts), the kernels.
//
// Why a self-test and not just validate: relaxed SIMD lets engines differ (e.g. how an i8 × i7
// product pair is summed); our operands are kept where every allowed behaviour agrees (weights
// stored in [1, 127], activations in [-127, 127]), and the self-test checks that this engine agrees.
import type { LowPrecisionExports } from './wasm-lowp.js';
import { paddedIn } from './reference-lowp.js';

/** (func (result v128) i32.const 1 i8x16.splat i32.const 2 i8x16.splat i32.const 3 i8x16.splat
 *  i32x4.relaxed_dot_i8x16_i7x16_add_s): valid only where the engine has relaxed SIMD. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0,
  65, 1, 253, 15, 65, 2, 253, 15, 65, 3, 253, 15, 253, 147, 2, 11,
]);

export function hasRelaxedSimd(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** An instance on its own small memory, for the self-test only. */
interface Subject {
  ex: LowPrecisionExports & { heap_base(): number };
  memory: WebAssembly.Memory;
}

async function instantiateAlone(module: WebAssembly.Module): Promise<Subject> {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const imports: WebAssembly.Imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind === 'memory') ns[imp.name] = memory;
    else if (imp.kind === 'function') {
      ns[imp.name] = () => {
        throw new Error(`import ${imp.module}.${imp.name} called`);
      };
    }
  }
  const instance = await WebAssembly.instantiate(module, imports);
  return { ex: instance.exports as unknown as Subject['ex'], memory };
}

/** Self-test sizes: 5 rows (a 4- and a 2-row tile, then tails), 7 outputs (2- and 4-column tiles, a
 *  last odd column), 40 inputs (padded to 48). */
const T = 5;
const IN = 40;
const OUT = 7;

/** The int8 outputs of `s` on the self-test problem (same inputs every time), as raw f32 bits. */
function selfTestOutputs(s: Subject): Uint32Array {
  const { ex, memory } = s;
  let top = Math.ceil(Math.max(16, ex.heap_base()) / 16) * 16;
  const alloc = (bytes: number) => {
    const p = top;
    top += Math.ceil(bytes / 16) * 16;
    return p;
  };
  const x = alloc(T * IN * 4);
  const w = alloc(OUT * IN * 4);
  const bias = alloc(OUT * 4);
  const inp = paddedIn(IN);
  const wq = alloc(OUT * inp + OUT * 4);
  const q = alloc(T * ex.q_row_bytes_i8(IN));
  const out = alloc(T * OUT * 4);
  if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
  const h = new Float32Array(memory.buffer);
  let z = 0x9e3779b9;
  const rnd = () => {
    z = (Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) + 0x6b43a9b5) >>> 0;
    return z / 2 ** 32 - 0.5;
  };
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < IN; k++) {
      // Row 0: every |x| equal, so every value quantizes to ±127 (the largest products);
      // row 2: all zero (scale 0); the others random with different magnitudes.
      h[x / 4 + t * IN + k] = t === 0 ? (k % 3 === 0 ? -1 : 1) : t === 2 ? 0 : rnd() * (t + 1);
    }
  }
  for (let n = 0; n < OUT; n++) {
    for (let k = 0; k < IN; k++) {
      // Row 0 all +max (stored 127), row 1 all -max (stored 1): with row 0 of x, pairs of products
      // reach ±2·127·127, the most a 16-bit intermediate sum can be asked to hold.
      h[w / 4 + n * IN + k] = n === 0 ? 0.5 : n === 1 ? -0.5 : rnd();
    }
    h[bias / 4 + n] = rnd();
  }
  ex.pack_linear_i8(wq, wq + OUT * inp, w, OUT, IN);
  ex.quantize_rows_i8(q, x, T, IN);
  ex.linear_q8(out, q, wq, bias, T, IN, OUT);
  return new Uint32Array(memory.buffer, out, T * OUT).slice();
}

/** True when `candidate` (a relaxed build) gives bit-identical int8 results to `baseline`. */
export async function int8SelfTest(candidate: WebAssembly.Module, baseline: WebAssembly.Module): Promise<boolean> {
  try {
    const a = selfTestOutputs(await instantiateAlone(candidate));
    const b = selfTestOutputs(await instantiateAlone(baseline));
    return a.length === b.length && a.every((v, i) => v === b[i]);
  } catch {
    return false;
  }
}

export interface KernelChoice {
  module: WebAssembly.Module;
  /** True when `module` is the relaxed build. */
  relaxed: boolean;
  /** Why the relaxed build is not used (undefined when it is). */
  reason?: string;
}

/**
 * The module the backend should run: `loadRelaxed()`'s when relaxed SIMD validates, the module
 * loads and the self-test passes; `baseline` otherwise (with the reason).
 */
export async function chooseKernelModule(
  baseline: WebAssembly.Module,
  loadRelaxed: (() => Promise<WebAssembly.Module>) | undefined,
  selfTest: (candidate: WebAssembly.Module, baseline: WebAssembly.Module) => Promise<boolean> = int8SelfTest,
): Promise<KernelChoice> {
  if (!loadRelaxed) return { module: baseline, relaxed: false, reason: 'relaxed SIMD not requested' };
  if (!hasRelaxedSimd()) return { module: baseline, relaxed: false, reason: 'this engine does not validate relaxed SIMD' };
  let candidate: WebAssembly.Module;
  try {
    candidate = await loadRelaxed();
  } catch (error) {
    return { module: baseline, relaxed: false, reason: `kernels-relaxed.wasm unavailable (${(error as Error)?.message ?? String(error)})` };
  }
  if (!(await selfTest(candidate, baseline))) {
    return { module: baseline, relaxed: false, reason: 'the relaxed int8 kernel disagrees with the baseline on the self-test' };
  }
  return { module: candidate, relaxed: true };
}
