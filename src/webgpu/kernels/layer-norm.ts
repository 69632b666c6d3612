// Owns: the WGSL LayerNorm (nn.LayerNorm over the last dimension, biased variance).
// Shape contract: out[R, C] = (x - mean) / sqrt(var + eps) · gamma + beta, per row; out may be x.
// One workgroup per row: each invocation sums its strided columns in order, then a fixed tree
// reduction in workgroup memory — the same order for every row whatever R, so rows are bitwise
// independent of their batch. Mean first, then the variance of (x - mean) (two passes: no
// E[x²] - mean² cancellation).
// Does not own: dispatch (../forward.ts).
export const LAYER_NORM_WORKGROUP = 64;

export const LAYER_NORM_WGSL = /* wgsl */ `
struct Dims { R: u32, C: u32, eps: f32, pad: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = ${LAYER_NORM_WORKGROUP}u;
var<workgroup> part: array<f32, ${LAYER_NORM_WORKGROUP}>;

fn reduce(lid: u32, value: f32) -> f32 {
  part[lid] = value;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { part[lid] = part[lid] + part[lid + s]; }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(${LAYER_NORM_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= dims.R) { return; }
  let lid = lid3.x;
  let base = row * dims.C;
  var s = 0.0;
  for (var c = lid; c < dims.C; c = c + WG) { s = s + x[base + c]; }
  let mean = reduce(lid, s) / f32(dims.C);
  var s2 = 0.0;
  for (var c = lid; c < dims.C; c = c + WG) { let d = x[base + c] - mean; s2 = s2 + d * d; }
  let variance = reduce(lid, s2) / f32(dims.C);
  let inv = 1.0 / sqrt(variance + dims.eps);
  for (var c = lid; c < dims.C; c = c + WG) {
    out[base + c] = (x[base + c] - mean) * inv * gamma[c] + beta[c];
  }
}
`;
