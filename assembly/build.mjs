// Builds the AssemblyScript kernels (SIMD on, memory imported from JS so the TypeScript side owns the
// heap layout), one .wasm per variant in VARIANTS. Run by `npm run build:wasm`.
// - kernels.wasm: single thread, plain imported memory.
// - kernels-mt.wasm: the same sources over an imported *shared* memory (the thread pool's workers
//   instantiate it over one heap); the code is identical, only the memory type differs, so results
//   are bitwise the same as kernels.wasm's.
// - kernels-relaxed.wasm, kernels-relaxed-mt.wasm: the same two with relaxed SIMD enabled.
// A new variant is one more entry: its name and the flags it adds.
// Each .wasm is also copied to dist/kernels/, beside the compiled src/kernels/wasm.js that names it
// as `new URL('./<name>.wasm', import.meta.url)`: the relative, static form bundlers emit.
import asc from 'assemblyscript/asc';
import { copyFileSync, mkdirSync } from 'node:fs';

/** Flags every variant shares. */
const COMMON = [
  '--runtime', 'stub',
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--noAssert',
  '--enable', 'simd',
  '--importMemory',
  '--initialMemory', '1',
];

/** Every build variant: output name (build/<name>.wasm) and the flags it adds to COMMON. */
const VARIANTS = [
  { name: 'kernels', flags: [] },
  // 65536 pages = 4 GiB, the wasm32 limit the arena allows; a shared memory must declare a maximum.
  { name: 'kernels-mt', flags: ['--sharedMemory', '--maximumMemory', '65536', '--enable', 'threads'] },
  // The same two with relaxed SIMD (assembly/madd.ts: f32x4.relaxed_madd in every matmul); loaded
  // only where WebAssembly.validate accepts relaxed SIMD (src/kernels/, option `simd`).
  { name: 'kernels-relaxed', flags: ['--enable', 'relaxed-simd'] },
  { name: 'kernels-relaxed-mt', flags: ['--enable', 'relaxed-simd', '--sharedMemory', '--maximumMemory', '65536', '--enable', 'threads'] },
];

mkdirSync('build', { recursive: true });
mkdirSync('dist/kernels', { recursive: true });
const only = process.argv.slice(2);
for (const variant of VARIANTS) {
  if (only.length && !only.includes(variant.name)) continue;
  const { error, stderr } = await asc.main([
    'assembly/index.ts',
    '--outFile', `build/${variant.name}.wasm`,
    '--textFile', `build/${variant.name}.wat`,
    ...COMMON,
    ...variant.flags,
  ]);
  if (error) {
    console.error(`build/${variant.name}.wasm:`);
    console.error(stderr.toString());
    console.error(error.message);
    process.exit(1);
  }
  copyFileSync(`build/${variant.name}.wasm`, `dist/kernels/${variant.name}.wasm`);
}
