// Owns: the WGSL of BertEmbeddings before its LayerNorm.
// gather_words: out[r, :] = table[ids[r] - lo, :] for the rows whose id falls in this chunk of the
//   word-embedding table [lo, lo + rows) — the table may be split into several bindings when it is
//   larger than the device's maxStorageBufferBindingSize (one dispatch per chunk; each row is
//   written by exactly one of them, so chunking never changes a value).
// add_type_position: out[r, c] = (out[r, c] + type[tt[r], c]) + position[pos[r], c] — Hugging Face's
//   order ((inputs_embeds + token_type_embeddings) + position_embeddings) so f32 rounding matches.
// Does not own: the LayerNorm (layer-norm.ts) or dispatch (../forward.ts).
export const ELEMENTWISE_WORKGROUP = 256;

/** The embeddings kernels; `halfTable`: the word-embedding chunks hold f16 values packed two per
 *  u32 (as linear.ts's halfWeights), widened exactly by unpack2x16float. */
export function embeddingsWgsl(halfTable: boolean): string {
  return /* wgsl */ `
struct Dims { R: u32, C: u32, lo: u32, rows: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
/** [R, 3]: word id, token type id, position id of each packed row. */
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<${halfTable ? 'u32' : 'f32'}>;
/** The type-embedding table of add_type_position is f32 whatever the word table is. */
@group(0) @binding(5) var<storage, read> typeTable: array<f32>;
fn word(e: u32) -> f32 { ${halfTable ? 'return unpack2x16float(table[e >> 1u])[e & 1u];' : 'return table[e];'} }
@group(0) @binding(3) var<storage, read> position: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * ${ELEMENTWISE_WORKGROUP}u; }

@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn gather_words(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= dims.R * dims.C) { return; }
  let r = i / dims.C;
  let c = i % dims.C;
  let id = tokens[3u * r];
  if (id >= dims.lo && id < dims.lo + dims.rows) { out[i] = word((id - dims.lo) * dims.C + c); }
}

@compute @workgroup_size(${ELEMENTWISE_WORKGROUP})
fn add_type_position(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= dims.R * dims.C) { return; }
  let r = i / dims.C;
  let c = i % dims.C;
  let tt = tokens[3u * r + 1u];
  let pos = tokens[3u * r + 2u];
  out[i] = (out[i] + typeTable[tt * dims.C + c]) + position[pos * dims.C + c];
}
`;
}
