// Owns: the A/B of the Linear's two 4x8 tile forms (assembly/matmul.ts: row stride as a load
// immediate, or a pointer per row) on one kernel instance, interleaved in one process, in whichever
// runtime runs it — the measurement behind the load-time probe (src/kernels/tile-probe.ts). Prints
// one line per shape: best and median ms of each form, the median of the pair ratios, and whether
// both gave the same bits (they must).
// Does not own: the probe's decision (the library makes it at load) or the whole-model bench
// (bench/runtimes.ts).
//
//   node bench/tiles.mjs [build/kernels.wasm] [pairs 20]
//   deno run --allow-read bench/tiles.mjs build/kernels-relaxed.wasm
//   bun bench/tiles.mjs build/kernels-relaxed.wasm
// Plain ESM with no imports, so Node, Deno and Bun run exactly this file. Needs `npm run build:wasm`.
const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const argv = runtime === 'deno' ? Deno.args : process.argv.slice(2);
const file = argv[0] ?? 'build/kernels.wasm';
const pairs = Number(argv[1] ?? 20);
const version = runtime === 'deno' ? Deno.version.deno : runtime === 'bun' ? Bun.version : process.versions.node;

const bytes = runtime === 'deno' ? await Deno.readFile(file) : (await import('node:fs')).readFileSync(file);
const memory = new WebAssembly.Memory({ initial: 1024 });
const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
const ex = instance.exports;
if (typeof ex.set_immediate_tiles !== 'function') throw new Error(`${file} has no set_immediate_tiles: rebuild (npm run build:wasm)`);

/** Deterministic values in [-0.5, 0.5) (LCG), the same in every runtime. */
let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed / 4294967296 - 0.5);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const hash = (p, n) => {
  const u = new Uint32Array(memory.buffer, p, n);
  let h = 0;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + u[i]) >>> 0;
  return h;
};

const lines = [];
let allSame = true;
for (const [T, IN, OUT] of [[128, 768, 768], [128, 768, 3072], [128, 3072, 768]]) {
  const f32 = new Float32Array(memory.buffer);
  const x = 1 << 20, w = x + T * IN * 4, packed = w + OUT * IN * 4, bias = packed + OUT * IN * 4, out = bias + OUT * 4;
  for (let i = 0; i < T * IN; i++) f32[x / 4 + i] = rnd();
  for (let i = 0; i < OUT * IN; i++) f32[w / 4 + i] = rnd() * 0.1;
  for (let i = 0; i < OUT; i++) f32[bias / 4 + i] = rnd();
  ex.pack_linear_f32(packed, w, OUT, IN);
  const time = (form) => {
    ex.set_immediate_tiles(form);
    const t0 = performance.now();
    ex.linear_f32(out, x, packed, bias, T, IN, OUT);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) time(i % 2); // warm-up (tier-up reaches both: one function)
  const imm = [], ptr = [], ratios = [];
  for (let i = 0; i < pairs; i++) {
    const first = i % 2; // alternate the order so drifting load favours neither
    const a = time(first), b = time(1 - first);
    const [ti, tp] = first === 1 ? [a, b] : [b, a];
    imm.push(ti);
    ptr.push(tp);
    ratios.push(tp / ti);
  }
  time(1);
  const hImm = hash(out, T * OUT);
  time(0);
  const same = hash(out, T * OUT) === hImm;
  const f = (xs) => `${Math.min(...xs).toFixed(2)}/${median(xs).toFixed(2)}`;
  lines.push(`${T}x${IN}->${OUT}: immediate ${f(imm)} ms, pointers ${f(ptr)} ms (best/median), pointers/immediate ${median(ratios).toFixed(3)} (median of ${pairs} pairs), bits ${same ? 'same' : 'DIFFERENT'}`);
  allSame &&= same;
}
console.log(`${runtime} ${version}, ${file.split('/').pop()}:`);
for (const l of lines) console.log(`  ${l}`);
if (!allSame) throw new Error('the two tile forms gave different bits: the probe may not choose between them');
