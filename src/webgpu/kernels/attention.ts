// Owns: the WGSL self-attention of packed sequences (BertSelfAttention's eager path).
// Shape contract: q, k, v [R, C] packed rows (sequence b holds rows start_b .. start_b + L_b), head h
// the column block [h*HS, (h+1)*HS); ctx [R, C] out. One invocation per (row r, head h):
//   s_j = (q_r,h · k_j,h) · scale         for the L_b keys of r's own sequence only (the mask: padding
//                                        and the other sequences are simply not visited)
//   m = max_j s_j;  e_j = exp(s_j - m);  ctx_r,h = (Σ_j e_j · v_j,h) / Σ_j e_j
// Two passes over the keys (max first, so exp never overflows), j in order from 0: the result of a
// row depends only on its own sequence, never on what else is in the batch.
// Does not own: the Q, K, V projections (linear.ts) or dispatch (../forward.ts).
export const ATTENTION_WORKGROUP = 64;

export const ATTENTION_WGSL = /* wgsl */ `
struct Dims { R: u32, C: u32, NH: u32, HS: u32, scale: f32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
/** [R, 2]: the first row and the length of the sequence each row belongs to. */
@group(0) @binding(4) var<storage, read> rowSeq: array<u32>;
@group(0) @binding(5) var<storage, read_write> ctx: array<f32>;

fn score(qo: u32, ko: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < dims.HS; d = d + 1u) { s = s + q[qo + d] * k[ko + d]; }
  return s * dims.scale;
}

@compute @workgroup_size(${ATTENTION_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * ${ATTENTION_WORKGROUP}u;
  if (id >= dims.R * dims.NH) { return; }
  let r = id / dims.NH;
  let h = id % dims.NH;
  let start = rowSeq[2u * r];
  let L = rowSeq[2u * r + 1u];
  let col = h * dims.HS;
  let qo = r * dims.C + col;
  let co = qo;
  var m = -3.4028234663852886e38;
  for (var j = 0u; j < L; j = j + 1u) { m = max(m, score(qo, (start + j) * dims.C + col)); }
  for (var d = 0u; d < dims.HS; d = d + 1u) { ctx[co + d] = 0.0; }
  var sum = 0.0;
  for (var j = 0u; j < L; j = j + 1u) {
    let ko = (start + j) * dims.C + col;
    let e = exp(score(qo, ko) - m);
    sum = sum + e;
    for (var d = 0u; d < dims.HS; d = d + 1u) { ctx[co + d] = ctx[co + d] + e * v[ko + d]; }
  }
  let inv = 1.0 / sum;
  for (var d = 0u; d < dims.HS; d = d + 1u) { ctx[co + d] = ctx[co + d] * inv; }
}
`;
