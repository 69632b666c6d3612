// Owns: `npx tsx bench/threads.ts` — what the thread pool buys per kernel call at the BERT-base shapes
// (C=768, NH=12, I=3072, T tokens), and where splitting a call starts to pay. For each call: the
// median time on 1 thread (the peer, same run), on N threads with every call split (minShareNs = 0),
// and on N threads with the default threshold (parallel-kernels.ts MIN_SHARE_NS); plus the cost of
// one empty job (a 16-float add split in two): the floor a share must beat. Then the whole forward
// pass of the full-size synthetic model (batch 1) on 1 thread and on N threads with 1 or 2 chunks
// per thread and with the default chunking, runs interleaved so a busy machine slows each alike.
// Does not own: the end-to-end numbers against peers (bench/e2e.ts) or kernel GFLOP/s (bench/kernels.ts).
//
//   npx tsx bench/threads.ts [--threads 2] [--reps 15] [--T 16,128,512] [--model-reps 7] [--no-kernels]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { bertForward } from '../src/model/bert.js';
import { parseBertConfig } from '../src/model/config.js';
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import { CHUNKS_PER_THREAD, MIN_SHARE_NS } from '../src/kernels/parallel-kernels.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { loadBertParamsFromTensors } from '../src/model/weights.js';
import { middleRun } from './median.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const THREADS = Number(option('--threads', '2'));
const MODEL_REPS = Number(option('--model-reps', '7'));
const KERNELS = !process.argv.includes('--no-kernels');
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
      floats: { q: T * C, k: T * C, v: T * C, s: NH * T * (T + 2 * HS + 16) }, // ≥ attentionScratchBytes
      run: (be, p) => be.attention(p.q, p.q, p.k, p.v, p.s, NH, T, HS, C, 0.125),
    },
    { name: `layerNorm ${T}×768`, floats: { x: T * C, g: C, b: C, o: T * C }, run: (be, p) => be.layerNorm(p.o, p.x, p.g, p.b, T, C, 1e-12) },
    { name: `add ${T}×768`, floats: { o: T * C, x: T * C }, run: (be, p) => be.addInPlace(p.o, p.x, T * C) },
    { name: `gelu ${T}×3072`, floats: { x: T * I }, run: (be, p) => be.gelu(p.x, T * I) },
  ];
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
    return middleRun(ms);
  } finally {
    be.release(mark);
  }
}

if (KERNELS) await kernelTable();
await modelTable();

async function kernelTable(): Promise<void> {
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
}

/** Forward passes of the synthetic model, batch 1, per configuration, interleaved. */
async function modelTable(): Promise<void> {
  const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
  const setups: { label: string; options: Parameters<typeof createBackend>[1] }[] = [
    { label: '1 thread', options: { threads: 1 } },
    ...[1, 2, CHUNKS_PER_THREAD].map((c) => ({
      label: `${THREADS} threads, ${c === CHUNKS_PER_THREAD ? `default (≤ ${c}` : `${c}`} chunk(s)/thread${c === CHUNKS_PER_THREAD ? ', Linear chunks ≥ 64 rows)' : ''}`,
      options: { threads: THREADS, chunksPerThread: c },
    })),
  ];
  const runs = [];
  for (const s of setups) {
    const be = await createBackend('wasm', s.options);
    const params = loadBertParamsFromTensors(syntheticTensorSource('context', config), config, be);
    runs.push({ ...s, be, params });
  }
  const before = loadavg()[0];
  console.log(`\nForward pass of the synthetic model (klue/bert-base shape), batch 1: median (min) ms of ${MODEL_REPS} runs, interleaved; 1-min load ${before.toFixed(2)} before.\n`);
  console.log(`| T | ${runs.map((r) => r.label).join(' | ')} |`);
  console.log(`|---:|${runs.map(() => '---:').join('|')}|`);
  for (const T of TS) {
    const inputIds = new Int32Array(T);
    for (let t = 0; t < T; t++) inputIds[t] = (t * 7919 + 11) % config.vocab_size;
    const input = { B: 1, T, inputIds, tokenTypeIds: new Int32Array(T), lengths: [T] };
    const ms = runs.map(() => [] as number[]);
    for (const r of runs) bertForward(r.be, r.params, config, input); // warm-up
    for (let rep = 0; rep < MODEL_REPS; rep++) {
      runs.forEach((r, i) => {
        const t0 = performance.now();
        bertForward(r.be, r.params, config, input);
        ms[i].push(performance.now() - t0);
      });
    }
    const base = middleRun(ms[0]);
    console.log(`| ${T} | ${ms.map((m, i) => `${middleRun(m).toFixed(0)} (${Math.min(...m).toFixed(0)})${i ? ` ${(base / middleRun(m)).toFixed(2)}×` : ''}`).join(' | ')} |`);
  }
  console.log(`\n1-min load ${loadavg()[0].toFixed(2)} after.`);
  for (const r of runs) r.be.dispose();
}
