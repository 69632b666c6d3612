// Owns: the lower-precision benchmark (issue 5, items 4-5): what dtype 'int8' and 'f16' cost and
// save against f32, as two markdown tables.
// 1. Kernels (this process, wasm backend, one thread): the Linear at BERT's shapes for T = 16, 128,
//    512 — f32 `linear`; int8 = quantizeRows + linearInt8 (what bert.ts runs); f16 = f16ToF32 of
//    the weight + `linear` (the widening every forward pass pays); and linearInt8 alone over rows
//    from geluQuantizeRows (the FFN-out input: 7-bit rows and the relaxed dot in the relaxed build,
//    so its last column is relaxed-dot speed-up of the Linear alone; ~1.0× in the baseline build). Runs interleaved, median; each
//    rate also as a fraction of its register-resident peak (bench/peaks.ts's loops, sampled first).
// 2. Memory (one fresh Node process per dtype, loading from dist/ as users do): peak RSS (VmHWM)
//    after Encoder.fromDirectory and after one 128-token forward pass, against the f32 file size.
// Whole-model ms/sequence beside onnxruntime is bench/e2e.ts (`--dtypes f32,int8,f16`).
//
//   npm run build && node dist/cli/main.js synth --seed context --out /tmp/synth-context \
//     --vocab test/fixtures/tokenizer/vocab.txt
//   npx tsx bench/int8.ts [/tmp/synth-context] [--runs 15] [--skip-memory]
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import { createPeakProbe } from '../src/kernels/wasm.js';
import { middleRun } from './median.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.indexOf(name);
const runs = flag('--runs') >= 0 ? Number(args[flag('--runs') + 1]) : 15;
const modelDir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ?? '/tmp/synth-context';


/**
 * The register-resident peaks (bench/peaks.ts's loops) in G ops/s: median of 9 samples of ~30 ms,
 * so each kernel's rate can be read as a fraction of what its instruction mix allows here.
 */
async function peaks(): Promise<{ f32: number; dot: number; dot8: number }> {
  const probe = await createPeakProbe();
  const rate = (run: (n: number) => number, per: number): number => {
    const xs: number[] = [];
    // Wasm has no on-stack replacement: a loop's first calls run in the baseline tier, so warm up
    // with many short calls until TurboFan's code is in (fewer gave ~15-20 % low peaks).
    for (let i = 0; i < 300; i++) run(5_000);
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      run(200_000);
      xs.push((200_000 * per) / ((performance.now() - t0) / 1000) / 1e9);
    }
    return middleRun(xs);
  };
  // The relaxed i8·i7 dot's peak (NaN in the baseline build, which has none).
  const dot8 = probe.dotI8OpsPerIteration > 0 ? rate(probe.runDotI8, probe.dotI8OpsPerIteration) : NaN;
  return { f32: rate(probe.run, probe.flopsPerIteration), dot: rate(probe.runDotI16, probe.dotOpsPerIteration), dot8 };
}

async function kernels(be: KernelBackend): Promise<string> {
  const peak = await peaks();
  const rows: string[] = [
    `Peaks on this thread, sampled before the table: f32x4 mul+add ${peak.f32.toFixed(1)} GFLOP/s, i32x4.dot_i16x8_s+add ${peak.dot.toFixed(1)} GOP/s (int8/f32 ${(peak.dot / peak.f32).toFixed(2)}×)${Number.isFinite(peak.dot8) ? `, i32x4.relaxed_dot_i8x16_i7x16_add_s ${peak.dot8.toFixed(1)} GOP/s (${(peak.dot8 / peak.dot).toFixed(2)}× the i16 dot)` : ""}.`,
    '',
    '| T | IN→OUT | f32 ms | int8 ms (quantize) | f16 ms (widen) | f32 GFLOP/s | int8 GOP/s | f32 % of f32 peak | int8 % of int8 peak | int8 / f32 | f16 / f32 | int8 Linear on GELU rows ms | 12-bit / GELU-row Linear | GELU-row Linear GOP/s | % of relaxed-dot peak |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const T of [16, 128, 512]) {
    for (const [IN, OUT] of [[768, 768], [768, 3072], [3072, 768]]) {
      const m = be.mark();
      const x = be.alloc(T * IN * 4);
      const w = be.alloc(OUT * IN * 4);
      const bias = be.alloc(OUT * 4);
      const wf = be.alloc(be.packedLinearBytes(OUT, IN));
      const w16 = be.alloc(be.packedLinearBytes(OUT, IN) / 2);
      const wide = be.alloc(be.packedLinearBytes(OUT, IN));
      const wq = be.alloc(be.packedLinearInt8Bytes(OUT, IN));
      const q = be.alloc(be.quantizedRowsBytes(T, IN));
      const out = be.alloc(T * OUT * 4);
      let z = 1;
      const rnd = () => ((z = (Math.imul(z, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5);
      be.f32(x, T * IN).forEach((_, i, a) => (a[i] = rnd()));
      be.f32(w, OUT * IN).forEach((_, i, a) => (a[i] = rnd() * 0.1));
      be.f32(bias, OUT).forEach((_, i, a) => (a[i] = rnd()));
      be.packLinear(wf, w, OUT, IN);
      be.f32ToF16(w16, wf, be.packedLinearBytes(OUT, IN) / 4);
      be.packLinearInt8(wq, w, OUT, IN, 0, OUT);
      // Rows as geluQuantizeRows writes them (the FFN-out Linear's input): 7-bit rows in the relaxed
      // build, multiplied with the relaxed i8×i7 dot; the same 12-bit rows as quantizeRows otherwise.
      const xg = be.alloc(T * IN * 4);
      const qg = be.alloc(be.quantizedRowsBytes(T, IN));
      be.f32(xg, T * IN).set(be.f32(x, T * IN));
      be.geluQuantizeRows(qg, xg, T, IN);
      const tf: number[] = [], tq: number[] = [], tqq: number[] = [], th: number[] = [], thw: number[] = [], tg: number[] = [];
      for (let r = 0; r < runs + 2; r++) {
        let t0 = performance.now();
        be.linear(out, x, wf, bias, T, IN, OUT);
        const f = performance.now() - t0;
        t0 = performance.now();
        be.quantizeRows(q, x, T, IN);
        const t1 = performance.now();
        be.linearInt8(out, q, wq, bias, T, IN, OUT);
        const t2 = performance.now();
        be.f16ToF32(wide, w16, be.packedLinearBytes(OUT, IN) / 4);
        const t3 = performance.now();
        be.linear(out, x, wide, bias, T, IN, OUT);
        const t4 = performance.now();
        be.linearInt8(out, qg, wq, bias, T, IN, OUT);
        const t5 = performance.now();
        if (r < 2) continue; // warm-up (tier-up, caches)
        tg.push(t5 - t4);
        tf.push(f);
        tq.push(t2 - t0);
        tqq.push(t1 - t0);
        th.push(t4 - t2);
        thw.push(t3 - t2);
      }
      be.release(m);
      const flops = 2 * T * IN * OUT;
      const [f, i8, h] = [middleRun(tf), middleRun(tq), middleRun(th)];
      rows.push(
        `| ${T} | ${IN}→${OUT} | ${f.toFixed(2)} | ${i8.toFixed(2)} (${middleRun(tqq).toFixed(2)}) | ${h.toFixed(2)} (${middleRun(thw).toFixed(2)}) | ` +
          `${(flops / f / 1e6).toFixed(1)} | ${(flops / i8 / 1e6).toFixed(1)} | ` +
          `${((flops / f / 1e6 / peak.f32) * 100).toFixed(0)} % | ${((flops / i8 / 1e6 / peak.dot) * 100).toFixed(0)} % | ${(f / i8).toFixed(2)}× | ${(f / h).toFixed(2)}× | ` +
          `${middleRun(tg).toFixed(2)} | ${((i8 - middleRun(tqq)) / middleRun(tg)).toFixed(2)}× | ${(flops / middleRun(tg) / 1e6).toFixed(1)} | ` +
          `${Number.isFinite(peak.dot8) ? `${((flops / middleRun(tg) / 1e6 / peak.dot8) * 100).toFixed(0)} %` : '—'} |`,
      );
    }
  }
  return rows.join('\n');
}

/** The child: plain Node on dist/ (no TypeScript loader inflating RSS). Prints one JSON line. */
const CHILD = `
import { readFileSync } from 'node:fs';
const hwm = () => Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\\s+(\\d+)/)[1]) / 1024;
const [dir, dtype] = process.argv.slice(1);
const { Encoder } = await import(new URL('dist/node/index.js', 'file://' + process.cwd() + '/').href);
const before = hwm();
const t0 = performance.now();
const enc = await Encoder.fromDirectory(dir, { dtype, threads: 1 });
const loadMs = performance.now() - t0;
const afterLoad = hwm();
const ids = [2, ...Array.from({ length: 126 }, (_, i) => 5 + ((i * 7919) % 31000)), 3];
await enc.embedIds([ids]);
console.log(JSON.stringify({ before, loadMs, afterLoad, afterForward: hwm(), heap: enc.backend.memory.buffer.byteLength / 2 ** 20 }));
`;

function memory(dir: string): string {
  const fileMiB = statSync(join(dir, 'model.safetensors')).size / 2 ** 20;
  const rows = [
    `f32 weight file: ${fileMiB.toFixed(1)} MiB. Peak RSS = VmHWM of a fresh \`node\` importing dist/node/index.js, median of 3.`,
    '',
    '| dtype | load s | imports only MiB | peak RSS after load MiB | / file | after a 128-token forward MiB | / file | wasm heap MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const dtype of ['f32', 'f16', 'int8']) {
    const results: Record<string, number>[] = [];
    for (let r = 0; r < 3; r++) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, dir, dtype], { encoding: 'utf8', timeout: 300_000 });
      if (child.status !== 0) throw new Error(`child ${dtype} failed: ${child.stderr}`);
      results.push(JSON.parse(child.stdout.trim().split('\n').pop()!));
    }
    const med = (k: string) => middleRun(results.map((x) => x[k]));
    rows.push(
      `| ${dtype} | ${(med('loadMs') / 1000).toFixed(2)} | ${med('before').toFixed(1)} | ${med('afterLoad').toFixed(1)} | ${(med('afterLoad') / fileMiB).toFixed(3)} | ` +
        `${med('afterForward').toFixed(1)} | ${(med('afterForward') / fileMiB).toFixed(3)} | ${med('heap').toFixed(1)} |`,
    );
  }
  return rows.join('\n');
}

const be = await createBackend('wasm', { threads: 1 });
const load = loadavg()[0].toFixed(2);
console.log(`## Linear at BERT shapes, one thread (${runs} interleaved runs, median; load average ${load})\n`);
console.log(await kernels(be));
console.log('\nint8 = quantizeRows + linearInt8 (quantize alone in brackets); f16 = f16ToF32 of the packed weight + the f32 linear (widening alone in brackets). Ratios are speed-ups over f32 (higher is faster).\n');
if (flag('--skip-memory') < 0) {
  if (!existsSync(join(modelDir, 'model.safetensors')) || !existsSync('dist/node/index.js')) {
    console.log(`(memory table skipped: needs ${modelDir}/model.safetensors and dist/ — see the header for the commands)`);
  } else {
    console.log('## Peak RSS of loading the synthetic klue/bert-base (one thread)\n');
    console.log(memory(modelDir));
  }
}
