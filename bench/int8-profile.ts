// Owns: the per-op profile of one int8 (or f32) forward pass (issue 12, item 4): every KernelBackend
// call of bertForward timed by a wrapper, summed per method over several passes, as a markdown table
// (ms per pass, share of the pass). The wrapper costs ~1 µs per call (~200 calls per pass at 12
// layers), small next to the kernels. Threads: the pooled backend, so a row shows the wall time of
// the split call on all threads.
//
//   npx tsx bench/int8-profile.ts [--dtype int8|f32] [--threads 1,2] [--tokens 128] [--runs 7] [--simd auto|baseline|relaxed]
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { bertForward } from '../src/model/bert.js';
import { parseBertConfig } from '../src/model/config.js';
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import type { SimdChoice } from '../src/kernels/kernel-module.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { loadBertParamsFromTensors } from '../src/model/weights.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const dtype = opt('--dtype', 'int8') as 'int8' | 'f32';
const threadList = opt('--threads', '1,2').split(',').map(Number);
const T = Number(opt('--tokens', '128'));
const runs = Number(opt('--runs', '7'));
const simd = opt('--simd', 'auto') as SimdChoice;

const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');

/** `be` with every method call timed into `acc` (method name -> ms). */
function timed(be: KernelBackend, acc: Map<string, number>): KernelBackend {
  return new Proxy(be, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...a: unknown[]) => {
        const t0 = performance.now();
        const r = (v as (...x: unknown[]) => unknown).apply(target, a);
        acc.set(prop, (acc.get(prop) ?? 0) + performance.now() - t0);
        return r;
      };
    },
  });
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${process.version}; dtype ${dtype}; ${T} tokens; ${runs} passes after 2 warm-ups`);
for (const threads of threadList) {
  const be = await createBackend('wasm', { threads, simd });
  const params = loadBertParamsFromTensors(syntheticTensorSource('context', config), config, be, { dtype });
  const ids = Int32Array.from({ length: T }, (_, i) => (i === 0 ? 2 : 1000 + ((i * 7919) % 20000)));
  const input = { B: 1, T, inputIds: ids, tokenTypeIds: new Int32Array(T), lengths: [T] };
  const acc = new Map<string, number>();
  const tb = timed(be, acc);
  for (let i = 0; i < 2; i++) bertForward(be, params, config, input, { rows: 'first' });
  let total = 0;
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    bertForward(tb, params, config, input, { rows: 'first' });
    totals.push(performance.now() - t0);
    total += totals[totals.length - 1];
  }
  totals.sort((a, b) => a - b);
  console.log(`\n${threads} thread(s), simd ${(be as { simd?: string }).simd ?? simd}: median pass ${totals[runs >> 1].toFixed(1)} ms (mean ${(total / runs).toFixed(1)})\n`);
  console.log('| op | ms / pass | share |');
  console.log('|---|---:|---:|');
  const rows = [...acc.entries()].filter(([, ms]) => ms / runs >= 0.05).sort((a, b) => b[1] - a[1]);
  let sum = 0;
  for (const [name, ms] of rows) {
    sum += ms;
    console.log(`| ${name} | ${(ms / runs).toFixed(2)} | ${((100 * ms) / total).toFixed(1)} % |`);
  }
  console.log(`| (outside kernels: JS, embeddings gather) | ${((total - sum) / runs).toFixed(2)} | ${((100 * (total - sum)) / total).toFixed(1)} % |`);
  be.dispose();
}
