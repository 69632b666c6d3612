// Owns: `npx tsx bench/threads.ts` — what the thread pool buys per kernel call at the BERT-base shapes
// (C=768, NH=12, I=3072, T tokens), and where splitting a call starts to pay. For each call: the
// median time on 1 thread (the peer, same run), on N threads with every call split (minShareNs = 0),
// and on N threads with the default threshold (parallel-kernels.ts MIN_SHARE_NS); plus the cost of
// one empty job (a 16-float add split in two): the floor a share must beat.
// Does not own: the end-to-end numbers (bench/e2e.ts) or kernel GFLOP/s (bench/kernels.ts).
//
//   npx tsx bench/threads.ts [--threads 2] [--reps 15] [--T 128]
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import { MIN_SHARE_NS } from '../src/kernels/parallel-kernels.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const THREADS = Number(option('--threads', '2'));
const REPS = Number(option('--reps', '15'));
const TS = option('--T', '16,128,512').split(',').map(Number);
const C = 768, NH = 12, HS = 64, I = 3072;
const F32 = 4;

interface Case {
  name: string;
  floats: Record<string, number>;
  run: (be: KernelBackend, p: Record<string, number>) => void;
}

function cases(T: number): Case[] {
  return [
    { name: `linear ${T}×768→768`, floats: { x: T * C, w: C * C, b: C, o: T * C }, run: (be, p) => be.linear(p.o, p.x, p.w, p.b, T, C, C) },
    { name: `linear ${T}×768→3072`, floats: { x: T * C, w: I * C, b: I, o: T * I }, run: (be, p) => be.linear(p.o, p.x, p.w, p.b, T, C, I) },
    { name: `linear ${T}×3072→768`, floats: { x: T * I, w: I * C, b: C, o: T * C }, run: (be, p) => be.linear(p.o, p.x, p.w, p.b, T, I, C) },
    {
      name: `attention 12 heads, L=${T}`,
      floats: { q: T * C, k: T * C, v: T * C, s: NH * T * T },
      run: (be, p) => be.attention(p.q, p.q, p.k, p.v, p.s, NH, T, HS, C, 0.125),
    },
    { name: `layerNorm ${T}×768`, floats: { x: T * C, g: C, b: C, o: T * C }, run: (be, p) => be.layerNorm(p.o, p.x, p.g, p.b, T, C, 1e-12) },
    { name: `add ${T}×768`, floats: { o: T * C, x: T * C }, run: (be, p) => be.addInPlace(p.o, p.x, T * C) },
    { name: `gelu ${T}×3072`, floats: { x: T * I }, run: (be, p) => be.gelu(p.x, T * I) },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(be: KernelBackend, c: Case): number {
  const mark = be.mark();
  try {
    const p: Record<string, number> = {};
    for (const [k, n] of Object.entries(c.floats)) {
      p[k] = be.alloc(n * F32);
      const v = be.f32(p[k], n);
      for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.37) * 0.5;
    }
    c.run(be, p); // warm-up
    const ms: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      c.run(be, p);
      ms.push(performance.now() - t0);
    }
    return median(ms);
  } finally {
    be.release(mark);
  }
}

const one = await createBackend('wasm', { threads: 1 });
const all = await createBackend('wasm', { threads: THREADS, minShareNs: 0 });
const tuned = await createBackend('wasm', { threads: THREADS });
if (all.threads !== THREADS) throw new Error(`asked for ${THREADS} threads, got ${all.threads}`);

// The floor: an add of 16 floats split into 2 shares is pure job overhead.
const empty: Case = { name: 'empty job (add of 16 floats, 2 shares)', floats: { o: 16, x: 16 }, run: (be, p) => be.addInPlace(p.o, p.x, 16) };
const emptyOne = time(one, empty);
const emptyAll = time(all, empty);

console.log(`\nThread pool per kernel call: median of ${REPS}, ms; ${THREADS} threads vs 1 in the same run; default split threshold ${MIN_SHARE_NS / 1000} µs of estimated work per share.\n`);
console.log(`| call | 1 thread | ${THREADS} threads, every call split | speed-up | ${THREADS} threads, default threshold | speed-up |`);
console.log('|---|---:|---:|---:|---:|---:|');
console.log(`| ${empty.name} | ${emptyOne.toFixed(4)} | ${emptyAll.toFixed(4)} | – | – | – |`);
for (const T of TS) {
  for (const c of cases(T)) {
    const a = time(one, c);
    const b = time(all, c);
    const d = time(tuned, c);
    console.log(`| ${c.name} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(a / b).toFixed(2)}× | ${d.toFixed(3)} | ${(a / d).toFixed(2)}× |`);
  }
}
for (const be of [one, all, tuned]) be.dispose();
