// Owns: the WGSL around BertPooler's dense: gather_first (first[b, :] = hidden[firstRow[b], :], the
// [CLS] row of each packed sequence) and tanh_rows (in place, after the dense).
// Does not own: the dense itself (linear.ts) or dispatch (../forward.ts).
import { ELEMENTWISE_WORKGROUP } from './embeddings.js';
import { MATH_WGSL } from './math.js';

export const POOLER_WGSL = /* wgsl */ `
${MATH_WGSL}
struct Dims { B: u32, C: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> firstRow: array<u32>;
@group(0) @binding(2) var<storage, read> hidden: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn gather_first(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= dims.B * dims.C) { return; }
  let b = i / dims.C;
  out[i] = hidden[firstRow[b] * dims.C + i % dims.C];
}

@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn tanh_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= dims.B * dims.C) { return; }
  out[i] = tanh_accurate(out[i]);
}
`;
