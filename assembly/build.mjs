// Builds the AssemblyScript kernels into build/kernels.wasm (SIMD on, memory imported from JS so the
// TypeScript side owns the heap layout). Run by `npm run build:wasm`.
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';

mkdirSync('build', { recursive: true });
const { error, stderr } = await asc.main([
  'assembly/index.ts',
  '--outFile', 'build/kernels.wasm',
  '--textFile', 'build/kernels.wat',
  '--runtime', 'stub',
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--noAssert',
  '--enable', 'simd',
  '--importMemory',
  '--initialMemory', '1',
]);
if (error) {
  console.error(stderr.toString());
  console.error(error.message);
  process.exit(1);
}
