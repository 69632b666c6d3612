// Owns: the list of WGSL kernels the WebGPU forward pass compiles (one file per kernel family here),
// and the workgroup sizes the dispatching code must agree with.
// Why here and not in assembly/: assembly/ is the AssemblyScript compiler's input — build.mjs turns
// everything there into kernels.wasm at build time. WGSL is compiled by the browser's WebGPU
// implementation at run time, from strings shipped inside the JavaScript; keeping the sources as
// TypeScript string modules means every bundler carries them with no loader or extra fetch.
// Does not own: when or with what buffers a kernel runs (../forward.ts).
export { linearWgsl, LINEAR_TILE_ROWS, LINEAR_TILE_COLS, LinearEpilogue } from './linear.js';
export { ATTENTION_WGSL, ATTENTION_WORKGROUP } from './attention.js';
export { LAYER_NORM_WGSL, LAYER_NORM_WORKGROUP } from './layer-norm.js';
export { embeddingsWgsl, ELEMENTWISE_WORKGROUP } from './embeddings.js';
export { POOLER_WGSL } from './pooler.js';
