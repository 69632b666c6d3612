// Owns: `npx tsx bench/peaks.ts` — what this CPU lets WebAssembly SIMD issue, as the ceiling for the
// f32 and int8 Linear: the register-resident f32x4 mul+add loop (assembly/peak.ts peakFma, what the
// f32 Linear's tiles are made of) beside the i32x4.dot_i16x8_s + add loop (peakDotI16, what
// linear_q8 is made of) and, where the engine has relaxed SIMD (Node ≥ 22), the
// i32x4.relaxed_dot_i8x16_i7x16_add_s loop (peakDotI8, linear_q8 over 7-bit rows), each on one
// thread and on two threads at once (two processes, so nothing is shared but the CPU). Prints the int8/f32 ratio of the peaks — the most an int8 Linear can gain
// over the f32 one here — and what a second thread adds. The peer of each number is the other loop
// measured in the same run.
// Does not own: the kernels' own rates (bench/kernels.ts, bench/int8.ts).
//
//   npx tsx bench/peaks.ts [--runs 5] [--ms 800]
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPeakProbe } from '../src/kernels/wasm.js';
import { middleRun } from './median.js';

type Loop = 'f32' | 'i16dot' | 'i8dot';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

/** Child: run `loop` for `ms` milliseconds after a warm-up; print its rate in G ops/s. */
async function child(loop: Loop, ms: number): Promise<void> {
  const probe = await createPeakProbe();
  const run = loop === 'f32' ? probe.run : loop === 'i16dot' ? probe.runDotI16 : probe.runDotI8;
  const perIteration = loop === 'f32' ? probe.flopsPerIteration : loop === 'i16dot' ? probe.dotOpsPerIteration : probe.dotI8OpsPerIteration;
  if (perIteration === 0) {
    process.stdout.write(JSON.stringify({ rate: NaN }) + '\n');
    return;
  }
  const step = 200_000;
  run(step);
  let iterations = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    run(step);
    iterations += step;
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ rate: (iterations * perIteration) / seconds / 1e9 }) + '\n');
}

function spawnChild(loop: Loop, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', loop, '--ms', String(ms)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out).rate as number) : reject(new Error(`child ${loop} exited ${code}`))));
  });
}


async function main(): Promise<void> {
  const runs = option('--runs', 5);
  const ms = option('--ms', 800);
  const before = loadavg()[0];
  // Interleaved: each round measures both loops alone, then both loops on two threads at once.
  const alone: Record<Loop, number[]> = { f32: [], i16dot: [], i8dot: [] };
  const pair: Record<Loop, number[]> = { f32: [], i16dot: [], i8dot: [] };
  for (let r = 0; r < runs; r++) {
    for (const loop of ['f32', 'i16dot', 'i8dot'] as const) {
      alone[loop].push(await spawnChild(loop, ms));
      const [a, b] = await Promise.all([spawnChild(loop, ms), spawnChild(loop, ms)]);
      pair[loop].push(a + b);
    }
  }
  const f32 = { one: middleRun(alone.f32), two: middleRun(pair.f32) };
  const dot = { one: middleRun(alone.i16dot), two: middleRun(pair.i16dot) };
  const dot8 = { one: middleRun(alone.i8dot), two: middleRun(pair.i8dot) };
  console.log(`## Register-resident SIMD peaks (${cpus()[0]?.model ?? 'CPU'}, ${cpus().length} cores, Node ${process.version}; median of ${runs} rounds of ${ms} ms; 1-min load ${before.toFixed(2)} → ${loadavg()[0].toFixed(2)})\n`);
  console.log('| loop | 1 thread | 2 threads at once (sum) | 2 threads / 1 |');
  console.log('|---|---:|---:|---:|');
  console.log(`| f32x4 mul + add (f32 Linear) | ${f32.one.toFixed(1)} GFLOP/s | ${f32.two.toFixed(1)} GFLOP/s | ${(f32.two / f32.one).toFixed(2)}× |`);
  console.log(`| i32x4.dot_i16x8_s + add (int8 Linear) | ${dot.one.toFixed(1)} GOP/s | ${dot.two.toFixed(1)} GOP/s | ${(dot.two / dot.one).toFixed(2)}× |`);
  if (Number.isFinite(dot8.one)) {
    console.log(`| i32x4.relaxed_dot_i8x16_i7x16_add_s (int8 Linear, 7-bit rows) | ${dot8.one.toFixed(1)} GOP/s | ${dot8.two.toFixed(1)} GOP/s | ${(dot8.two / dot8.one).toFixed(2)}× |`);
  } else {
    console.log('| i32x4.relaxed_dot_i8x16_i7x16_add_s | — (no relaxed SIMD in this engine) | — | |');
  }
  console.log(`| int8 (i16 dot) / f32 | ${(dot.one / f32.one).toFixed(2)}× | ${(dot.two / f32.two).toFixed(2)}× | |`);
  if (Number.isFinite(dot8.one)) console.log(`| relaxed dot / i16 dot | ${(dot8.one / dot.one).toFixed(2)}× | ${(dot8.two / dot.two).toFixed(2)}× | |`);
  console.log('\nA multiply-add counts 2 ops in both rows. The int8/f32 row bounds what an int8 Linear can gain over');
  console.log('the f32 one on this machine (both loops keep everything in registers; real kernels also load).');
}

if (args[0] === '--child') await child(args[1] as Loop, option('--ms', 800));
else await main();
