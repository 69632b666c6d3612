// Owns: dot_rows_f32, exact (brute-force) search: the score of one query against many stored rows,
// and dotF32, the one dot product of two f32 vectors every search kernel uses (graph search,
// assembly/hnsw.ts, scores with it, so its scores are bit for bit those of dot_rows_f32).
// Does not own: normalisation or top-k (src/ does those on the scores).

const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;
/** 4 independent v128 chains per row, 16 floats per step. */
const STEP: i32 = 16;

/**
 * Σ_d a[d] · b[d] over `dim` floats. Order: 4 v128 accumulators over 16-float steps, one more
 * 4-float step into the first, tree reduction ((a0 + a1) + (a2 + a3)), lanes as (l0 + l2) + (l1 + l3),
 * then the tail in order. Plain mul then add (never a fused or relaxed madd), so the baseline and
 * relaxed builds give the same bits and src/kernels/reference-graph.ts can repeat them.
 */
// @ts-ignore: decorator
@inline
export function dotF32(a: usize, b: usize, dim: i32): f32 {
  const d16 = dim - dim % STEP;
  const d4 = dim & ~(LANES - 1);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let d = 0; d < d16; d += STEP) {
    const o = <usize>d * F32;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(a + o, V128), v128.load(b + o, V128)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(a + o, 2 * V128), v128.load(b + o, 2 * V128)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(a + o, 3 * V128), v128.load(b + o, 3 * V128)));
  }
  for (let d = d16; d < d4; d += LANES) {
    const o = <usize>d * F32;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  const s4 = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s = (f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 2)) + (f32x4.extract_lane(s4, 1) + f32x4.extract_lane(s4, 3));
  for (let d = d4; d < dim; d++) {
    const o = <usize>d * F32;
    s += load<f32>(a + o) * load<f32>(b + o);
  }
  return s;
}

/** out[r] = Σ_d matrix[r*dim + d] · vec[d] for r < rows (matrix row-major [rows, dim]), each by dotF32. */
export function dotRows(out: usize, matrix: usize, vec: usize, rows: i32, dim: i32): void {
  const rowBytes = <usize>dim * F32;
  for (let r = 0; r < rows; r++) {
    store<f32>(out + <usize>r * F32, dotF32(matrix + <usize>r * rowBytes, vec, dim));
  }
}
