// Owns: the WGSL tiled matmul of nn.Linear with its fused epilogues.
// Shape contract: out[R, OUT] = x[R, IN] · Wᵀ + bias[OUT]  (W as Hugging Face stores it: [OUT, IN],
// row-major), then, by the pipeline's EPILOGUE override: 0 nothing more, 1 GELU (BertIntermediate),
// 2 + residual[R, OUT] (BertSelfOutput / BertOutput before their LayerNorm).
// Does not own: buffers or dispatch (../forward.ts).
//
// Tiling: a 16×16 workgroup computes a 16-row × 64-column output tile, each invocation 1 row × 4
// columns; x and W are staged through workgroup memory 16 k-values at a time (both are read along
// k, contiguously). Determinism: every output is acc = Σ_k x[r,k]·W[n,k] summed in k order from 0,
// one scalar accumulator, whatever the tile or the number of rows R — so a row's result never
// depends on the other rows of the batch (bitwise batch invariance). Rows past R skip the
// multiply-adds (they only help load tiles): a short batch does not pay for a full 16-row tile.
import { MATH_WGSL } from './math.js';

export const LINEAR_TILE_ROWS = 16;
export const LINEAR_TILE_COLS = 64;
const TK = 16;

/** The EPILOGUE override values. */
export const LinearEpilogue = { Bias: 0, BiasGelu: 1, BiasResidual: 2 } as const;
export type LinearEpilogue = (typeof LinearEpilogue)[keyof typeof LinearEpilogue];

/** The linear kernel; `halfWeights`: W holds f16 values packed two per u32 (element e in word
 *  e >> 1, low half first), widened exactly to f32 by unpack2x16float before each multiply — f16
 *  storage, f32 arithmetic, as the wasm kernels' dtype 'f16'. unpack2x16float is core WGSL: no
 *  shader-f16 feature is needed for it. */
export function linearWgsl(halfWeights: boolean): string {
  return /* wgsl */ `
${MATH_WGSL}
override EPILOGUE: u32 = 0u;

struct Dims { R: u32, IN: u32, OUT: u32, pad: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<${halfWeights ? 'u32' : 'f32'}>;
fn weight(e: u32) -> f32 { ${halfWeights ? 'return unpack2x16float(w[e >> 1u])[e & 1u];' : 'return w[e];'} }
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const TM: u32 = ${LINEAR_TILE_ROWS}u;
const TN: u32 = ${LINEAR_TILE_COLS}u;
const TK: u32 = ${TK}u;
var<workgroup> xs: array<f32, ${LINEAR_TILE_ROWS * TK}>;
var<workgroup> ws: array<f32, ${LINEAR_TILE_COLS * TK}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  let tr = lid.y;          // this invocation's row in the tile
  let tc = lid.x;          // its first column: tc, tc + 16, tc + 32, tc + 48
  let li = lid.y * 16u + lid.x;
  let row = row0 + tr;
  var acc0 = 0.0; var acc1 = 0.0; var acc2 = 0.0; var acc3 = 0.0;
  for (var k0 = 0u; k0 < dims.IN; k0 = k0 + TK) {
    // x tile: 16 rows × 16 k, one value per invocation; zeros past R or IN.
    let xr = row0 + li / TK;
    let xk = k0 + li % TK;
    xs[li] = select(0.0, x[xr * dims.IN + xk], xr < dims.R && xk < dims.IN);
    // W tile: 64 columns × 16 k, four values per invocation.
    for (var i = 0u; i < 4u; i = i + 1u) {
      let e = li + i * 256u;
      let wn = col0 + e / TK;
      let wk = k0 + e % TK;
      ws[e] = select(0.0, weight(wn * dims.IN + wk), wn < dims.OUT && wk < dims.IN);
    }
    workgroupBarrier();
    if (row < dims.R) {
      let kn = min(TK, dims.IN - k0);
      for (var k = 0u; k < kn; k = k + 1u) {
        let a = xs[tr * TK + k];
        acc0 = acc0 + a * ws[tc * TK + k];
        acc1 = acc1 + a * ws[(tc + 16u) * TK + k];
        acc2 = acc2 + a * ws[(tc + 32u) * TK + k];
        acc3 = acc3 + a * ws[(tc + 48u) * TK + k];
      }
    }
    workgroupBarrier();
  }
  if (row >= dims.R) { return; }
  let accs = array<f32, 4>(acc0, acc1, acc2, acc3);
  for (var j = 0u; j < 4u; j = j + 1u) {
    let n = col0 + tc + j * 16u;
    if (n < dims.OUT) {
      var v = accs[j] + bias[n];
      if (EPILOGUE == 1u) { v = gelu(v); }
      if (EPILOGUE == 2u) { v = v + residual[row * dims.OUT + n]; }
      out[row * dims.OUT + n] = v;
    }
  }
}
`;
}
