// The Linear's two 4x8 tile forms (load immediates, or a pointer per row; assembly/matmul.ts) give
// the same bits on every shape, so the load-time probe (src/kernels/tile-probe.ts) may pick either;
// and the probe itself: a decision per build, remembered, its scratch memory zeroed again.
// Runs on both SIMD builds; the relaxed one registers as skipped where the engine does not validate it (Node 20).
// Needs build/kernels*.wasm: `npm run build:wasm` (npm test runs it via pretest).
import { describe, expect, it } from 'vitest';
import { instantiateKernels, loadKernelModule, type KernelExports } from '../src/kernels/kernel-module.js';
import { probeTiles, tileChoices } from '../src/kernels/tile-probe.js';
import { pickWorkerFactory, type KernelWorkerFactory } from '../src/kernels/thread-pool.js';
import type { KernelWorkerInit } from '../src/kernels/kernel-worker.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { relaxedSimd, skipWithout } from './helpers/requirement.js';

/** Both builds, always registered: the relaxed one skips (with the reason printed) on engines
 *  without relaxed SIMD (Node 20). */
const BUILDS = ['baseline', 'relaxed'] as const;
const SKIP_RELAXED = skipWithout(relaxedSimd());

type TileKernels = KernelExports & { set_immediate_tiles(on: number): void; immediate_tiles(): number };

async function instance(simd: 'baseline' | 'relaxed', pages = 256): Promise<{ ex: TileKernels; memory: WebAssembly.Memory }> {
  const module = await loadKernelModule(undefined, { simd, shared: false });
  const memory = new WebAssembly.Memory({ initial: pages });
  const ex = (await instantiateKernels(module, memory, `kernels (${simd})`)) as TileKernels;
  return { ex, memory };
}

/** Deterministic floats in [-1, 1) (mulberry32). */
function fill(view: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < view.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    view[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
}

for (const simd of BUILDS) describe.skipIf(simd === 'relaxed' && SKIP_RELAXED)(`${simd} build`, () => {
  it('both tile forms give the same bits on the shapes that take the load-immediate tiles and on others', async () => {
    const { ex, memory } = await instance(simd);
    // IN = 768 and 3072 take the immediate-offset tiles when set; 37 and 769 never do (a control).
    for (const [T, IN, OUT] of [[9, 768, 24], [128, 768, 40], [7, 3072, 16], [13, 37, 8], [6, 769, 11]]) {
      const base = ex.heap_base() + 64;
      const x = base, w = x + T * IN * 4, packed = w + OUT * IN * 4;
      const bias = packed + Math.ceil(OUT / 8) * 8 * IN * 4, out = bias + OUT * 4;
      fill(new Float32Array(memory.buffer, x, T * IN), T + IN);
      fill(new Float32Array(memory.buffer, w, OUT * IN), OUT);
      fill(new Float32Array(memory.buffer, bias, OUT), 3);
      ex.pack_linear_f32(packed, w, OUT, IN);
      const bits: Uint32Array[] = [];
      for (const form of [1, 0]) {
        ex.set_immediate_tiles(form);
        expect(ex.immediate_tiles()).toBe(form);
        new Float32Array(memory.buffer, out, T * OUT).fill(Number.NaN);
        ex.linear_f32(out, x, packed, bias, T, IN, OUT);
        bits.push(new Uint32Array(memory.buffer, out, T * OUT).slice());
      }
      const f = new Float32Array(bits[0].buffer);
      expect(f.every(Number.isFinite), `${T}x${IN}→${OUT} finite`).toBe(true);
      expect(bits[1], `${T}x${IN}→${OUT}`).toEqual(bits[0]);
    }
  });

  it('the probe decides once per build, sets the instance, and leaves its scratch zeroed', async () => {
    const { ex, memory } = await instance(simd);
    const key = `test-${simd}`;
    const base = ex.heap_base();
    const form = probeTiles(ex, memory, base, key);
    expect([0, 1]).toContain(form);
    expect(ex.immediate_tiles()).toBe(form);
    expect(tileChoices()[key]).toBe(form === 1);
    expect(new Uint8Array(memory.buffer, base, 400_000).every((b) => b === 0)).toBe(true);
    // A second instance of the same build takes the remembered choice (whatever its own default).
    const second = await instance(simd, 1);
    second.ex.set_immediate_tiles(1 - form!);
    expect(probeTiles(second.ex, second.memory, second.ex.heap_base(), key)).toBe(form);
    expect(second.ex.immediate_tiles()).toBe(form);
  });

  it('the probe grows a memory too small for its scratch, and does nothing for a module without the switch', async () => {
    const { ex, memory } = await instance(simd, 1);
    const before = memory.buffer.byteLength;
    probeTiles(ex, memory, ex.heap_base(), `grow-${simd}`);
    expect(memory.buffer.byteLength).toBeGreaterThan(before);
    const old = { ...ex, set_immediate_tiles: undefined } as unknown as KernelExports;
    expect(probeTiles(old, memory, ex.heap_base(), `old-${simd}`)).toBeUndefined();
    expect(tileChoices()[`old-${simd}`]).toBeUndefined();
  });
});

describe('threads', () => {
  it('every worker of the pool is told the form the calling thread probed', async () => {
    const base = await pickWorkerFactory();
    expect(base, 'this runtime has worker threads').toBeDefined();
    const inits: KernelWorkerInit[] = [];
    const factory: KernelWorkerFactory = () => {
      const worker = base!();
      return { ...worker, postMessage: (m: KernelWorkerInit) => (inits.push(m), worker.postMessage(m)), listen: worker.listen.bind(worker), unref: worker.unref.bind(worker), terminate: worker.terminate.bind(worker) };
    };
    const backend = await createWasmBackend({ threads: 3, simd: 'baseline', workerFactory: factory });
    try {
      expect(backend.threads).toBe(3);
      expect(inits).toHaveLength(2);
      const chosen = tileChoices()['wasm-simd/shared'];
      expect(typeof chosen).toBe('boolean');
      for (const init of inits) expect(init.immediateTiles).toBe(chosen ? 1 : 0);
    } finally {
      backend.dispose?.();
    }
  });
});
