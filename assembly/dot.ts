// Owns: dot_rows_f32, exact (brute-force) search: the score of one query against many stored rows.
// Does not own: normalisation or top-k (src/ does those on the scores).

const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;
/** 4 independent v128 chains per row, 16 floats per step. */
const STEP: i32 = 16;

/**
 * out[r] = Σ_d matrix[r*dim + d] · vec[d] for r < rows (matrix row-major [rows, dim]).
 * Order per row: 4 v128 accumulators over 16-float steps, one more 4-float step into the first,
 * tree reduction ((a0 + a1) + (a2 + a3)), lanes as (l0 + l2) + (l1 + l3), then the tail in order.
 */
export function dotRows(out: usize, matrix: usize, vec: usize, rows: i32, dim: i32): void {
  const d16 = dim - dim % STEP;
  const d4 = dim & ~(LANES - 1);
  const rowBytes = <usize>dim * F32;
  for (let r = 0; r < rows; r++) {
    const row = matrix + <usize>r * rowBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let d = 0; d < d16; d += STEP) {
      const o = <usize>d * F32;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(row + o), v128.load(vec + o)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(row + o, V128), v128.load(vec + o, V128)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(row + o, 2 * V128), v128.load(vec + o, 2 * V128)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(row + o, 3 * V128), v128.load(vec + o, 3 * V128)));
    }
    for (let d = d16; d < d4; d += LANES) {
      const o = <usize>d * F32;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(row + o), v128.load(vec + o)));
    }
    const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 2)) + (f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 3));
    for (let d = d4; d < dim; d++) {
      const o = <usize>d * F32;
      s += load<f32>(row + o) * load<f32>(vec + o);
    }
    store<f32>(out + <usize>r * F32, s);
  }
}
