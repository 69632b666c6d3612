// Owns: layernorm_f32 (Hugging Face BertLayerNorm / torch.nn.LayerNorm over the last dimension).
// Does not own: eps (the caller passes config.layer_norm_eps).

const LANES: i32 = 4;
const F32: usize = 4;
const V128: usize = 16;
/** v128 accumulators per reduction: 4 independent chains hide the 3-cycle add latency. */
const ACCS: i32 = 4;
const STEP: i32 = LANES * ACCS;

/** Σ of C floats at p: 4 v128 accumulators over 16-float steps, tree reduction, scalar tail. */
// @ts-ignore: decorator
@inline
function rowSum(p: usize, C: i32): f32 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const c16 = C - C % STEP;
  for (let c = 0; c < c16; c += STEP) {
    const q = p + <usize>c * F32;
    a0 = f32x4.add(a0, v128.load(q));
    a1 = f32x4.add(a1, v128.load(q, V128));
    a2 = f32x4.add(a2, v128.load(q, 2 * V128));
    a3 = f32x4.add(a3, v128.load(q, 3 * V128));
  }
  const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 2)) + (f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 3));
  for (let c = c16; c < C; c++) s += load<f32>(p + <usize>c * F32);
  return s;
}

/** Σ (x - mean)² of C floats at p, same blocking as rowSum. */
// @ts-ignore: decorator
@inline
function rowSumSq(p: usize, C: i32, mean: f32): f32 {
  const vm = f32x4.splat(mean);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const c16 = C - C % STEP;
  for (let c = 0; c < c16; c += STEP) {
    const q = p + <usize>c * F32;
    let d = f32x4.sub(v128.load(q), vm);
    a0 = f32x4.add(a0, f32x4.mul(d, d));
    d = f32x4.sub(v128.load(q, V128), vm);
    a1 = f32x4.add(a1, f32x4.mul(d, d));
    d = f32x4.sub(v128.load(q, 2 * V128), vm);
    a2 = f32x4.add(a2, f32x4.mul(d, d));
    d = f32x4.sub(v128.load(q, 3 * V128), vm);
    a3 = f32x4.add(a3, f32x4.mul(d, d));
  }
  const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 2)) + (f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 3));
  for (let c = c16; c < C; c++) {
    const d = load<f32>(p + <usize>c * F32) - mean;
    s += d * d;
  }
  return s;
}

/**
 * out[r, c] = (x[r, c] - mean_r) / sqrt(var_r + eps) · gamma[c] + beta[c], for `rows` rows of C.
 * var is the biased variance (÷C), as torch.nn.LayerNorm. out may equal x (each row is read in full
 * before it is written) but must not partly overlap it.
 * Two passes (mean, then Σ(x - mean)²) instead of Σx² - mean²: the one-pass form cancels
 * catastrophically when |mean| ≫ std, which residual streams do reach. The 1/sqrt is taken in
 * float64 (once per row, free) so rstd is correctly rounded.
 */
export function layerNorm(out: usize, x: usize, gamma: usize, beta: usize, rows: i32, C: i32, eps: f32): void {
  const rowBytes = <usize>C * F32;
  const c4 = C & ~(LANES - 1);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const or = out + <usize>r * rowBytes;
    const mean = rowSum(xr, C) / <f32>C;
    const variance = rowSumSq(xr, C, mean) / <f32>C;
    const rstd = <f32>(1.0 / Math.sqrt(<f64>variance + <f64>eps));
    const vm = f32x4.splat(mean);
    const vr = f32x4.splat(rstd);
    for (let c: usize = 0; c < <usize>c4 * F32; c += V128) {
      const n = f32x4.mul(f32x4.sub(v128.load(xr + c), vm), vr);
      v128.store(or + c, f32x4.add(f32x4.mul(n, v128.load(gamma + c)), v128.load(beta + c)));
    }
    for (let c = c4; c < C; c++) {
      const o = <usize>c * F32;
      store<f32>(or + o, (load<f32>(xr + o) - mean) * rstd * load<f32>(gamma + o) + load<f32>(beta + o));
    }
  }
}
