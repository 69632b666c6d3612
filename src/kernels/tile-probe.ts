// Owns: the load-time probe that picks which form of the Linear's 4x8 register tile an instance runs
// (export set_immediate_tiles, assembly/matmul.ts): the one with the row stride as a load immediate,
// or the one with a pointer per row. It times both on a small Linear in the instance itself,
// interleaved, and keeps the load immediates unless the other form is clearly (3 %) faster.
// Does not own: the tiles (assembly/matmul.ts) or the instance and its memory (wasm.ts,
// wasm-threaded.ts hand both in before the arena or any worker uses them).
//
// Why a timed probe and not a feature test or the runtime's name: the difference is in how each
// engine compiles the same bytes, which no WebAssembly.validate can see, and names age. Measured
// (issue 12, bench/tiles.mjs): V8 11.3 (Node 20) runs the load-immediate form 0–7 % faster (1 % in
// a quiet A/B); V8 13 (Node 24) the same; V8 15 in Deno, which must bounds-check every load
// explicitly (Deno sets no wasm trap handler), 3–9 % slower; JavaScriptCore (Bun) ~16 % slower, as
// it turns an offset splat load into a scalar load plus a GPR→XMM splat. Both forms do the same madds in the same order, so the
// results are bitwise the same whichever wins: a wrong pick on a noisy machine costs speed only.
//
// Cost: about 15–40 ms once per build (baseline/relaxed, plain/shared) and process; the choice is
// remembered and handed to later instances and to the thread pool's workers.
import { WASM_PAGE } from './arena.js';
import type { KernelExports } from './kernel-module.js';

/** The probe's exports: optional, so a module built before the probe existed still loads (it runs
 *  the load-immediate form, as it always did). */
interface TileExports {
  set_immediate_tiles?(on: number): void;
}

/** The small Linear timed: IN = 768 takes the tiles that differ; 32 rows × 64 outputs is 3 MFLOP. */
const T = 32;
const IN = 768;
const OUT = 64;
/** Paired samples (immediate, pointers) after the warm-up; the fastest of each decides. */
const PAIRS = 12;
/** A sample is this long at least, so a browser's coarse performance.now (100 µs) stays small. */
const SAMPLE_MS = 1;
/** The pointer form must win by this much: on a tie the long-standing form stays. */
const MARGIN = 0.97;

const chosen = new Map<string, boolean>();

/** What the probe chose so far in this process, per build ('wasm-simd/plain' → true: load
 *  immediates); for benches and tests. */
export function tileChoices(): Record<string, boolean> {
  return Object.fromEntries(chosen);
}

/** Bytes of memory the probe writes (from `base`; the memory is grown to fit where needed). */
function probeBytes(): number {
  return (T * IN + OUT * IN + OUT + T * OUT) * 4;
}

/**
 * Decide (once per `key`, i.e. per build) and set the tile form of `ex`. `memory` from `base` on
 * must be unused yet: probeBytes() of it are written, then zeroed again (it grows to fit).
 * Returns the choice (1: load immediates, 0: a pointer per row), or undefined when `ex` cannot switch.
 */
export function probeTiles(ex: KernelExports, memory: WebAssembly.Memory, base: number, key: string): number | undefined {
  const tiles = ex as unknown as TileExports;
  if (typeof tiles.set_immediate_tiles !== 'function') return undefined;
  let immediate = chosen.get(key);
  if (immediate === undefined) {
    const have = memory.buffer.byteLength;
    if (have < base + probeBytes()) memory.grow(Math.ceil((base + probeBytes() - have) / WASM_PAGE));
    immediate = timeBoth(ex, tiles, memory, base);
    chosen.set(key, immediate);
  }
  tiles.set_immediate_tiles(immediate ? 1 : 0);
  return immediate ? 1 : 0;
}

function timeBoth(ex: KernelExports, tiles: TileExports, memory: WebAssembly.Memory, base: number): boolean {
  const set = tiles.set_immediate_tiles!;
  const x = base;
  const w = x + T * IN * 4;
  const bias = w + OUT * IN * 4;
  const out = bias + OUT * 4;
  const floats = new Float32Array(memory.buffer, base, probeBytes() / 4);
  // Small, exactly representable values: no denormals, no overflow, the same work every call.
  for (let i = 0; i < floats.length; i++) floats[i] = ((i * 7) % 13) / 16 - 0.375;
  const run = (form: number, calls: number): number => {
    set(form);
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) ex.linear_f32(out, x, w, bias, T, IN, OUT);
    return performance.now() - t0;
  };
  try {
    // Warm-up: both forms live in one function, so the engine's tier-up (baseline compiler, then
    // optimizing) reaches both alike. Then size a sample to SAMPLE_MS on the code tiered up so far.
    let calls = 1;
    for (let i = 0; i < 6; i++) calls += run(i % 2, calls) < SAMPLE_MS ? calls : 0;
    calls = 1;
    while (calls < 256 && run(1, calls) < SAMPLE_MS) calls *= 2;
    // The fastest sample of each: a sample can only lose time (another program took the core, a
    // page fault), so the minimum is the best estimate on a busy machine; interleaved, so a tier-up
    // mid-way reaches both forms.
    let imm = Infinity;
    let ptr = Infinity;
    for (let i = 0; i < PAIRS; i++) {
      // Alternate which goes first, so a drift in machine load favours neither.
      const first = i % 2;
      const a = run(first, calls);
      const b = run(1 - first, calls);
      imm = Math.min(imm, first === 1 ? a : b);
      ptr = Math.min(ptr, first === 1 ? b : a);
    }
    return !(imm > 0 && ptr < MARGIN * imm);
  } finally {
    floats.fill(0);
  }
}
