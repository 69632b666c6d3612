// Owns: add_f32, the residual add. Memory-bound, so one v128 per step is enough.

const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;

/** out[i] += x[i] for i < n. out may equal x; partial overlap is not allowed. */
export function add(out: usize, x: usize, n: i32): void {
  const n4 = n & ~(LANES - 1);
  for (let i: usize = 0; i < <usize>n4 * F32; i += V128) {
    v128.store(out + i, f32x4.add(v128.load(out + i), v128.load(x + i)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i * F32;
    store<f32>(out + o, load<f32>(out + o) + load<f32>(x + o));
  }
}
