// Owns: the WGSL math functions several kernels share: GELU (exact erf form) and tanh, ported from
// assembly/activations.ts so both backends make the same approximation choices.
// Does not own any kernel entry point.

/**
 * gelu(x) = max(x, 0) - |x|·Φ(-|x|), Φ(-|x|) = erfc(|x|/√2)/2 by Numerical Recipes' erfcc (fractional
 * error < 1.2e-7 for every z ≥ 0): x minus a small, accurate correction, so there is no 1 + erf
 * cancellation for x < 0. The |x| clamp at 20 keeps ±∞ at their limits (∞·0 would be NaN).
 * tanh(x) = sign(x)·(1 - e)/(1 + e), e = exp(-2|x|), with the Taylor series below |x| = 0.25 where
 * (1 - e) would lose relative accuracy. WGSL's own tanh has no accuracy bound we could rely on.
 */
export const MATH_WGSL = /* wgsl */ `
fn gelu(x: f32) -> f32 {
  let a = abs(x);
  let z = a * 0.70710678118654752;
  let t = 1.0 / (1.0 + z * 0.5);
  var p = 0.17087277 * t - 0.82215223;
  p = p * t + 1.48851587;
  p = p * t - 1.13520398;
  p = p * t + 0.27886807;
  p = p * t - 0.18628806;
  p = p * t + 0.09678418;
  p = p * t + 0.37409196;
  p = p * t + 1.00002368;
  p = p * t - 1.26551223;
  let phi = t * 0.5 * exp(p - z * z);
  return max(x, 0.0) - min(a, 20.0) * phi;
}

fn tanh_accurate(x: f32) -> f32 {
  let a = abs(x);
  var m: f32;
  if (a < 0.25) {
    let a2 = a * a;
    var p = 0.021869488536155203 * a2 - 0.053968253968253968;
    p = p * a2 + 0.13333333333333333;
    p = p * a2 - 0.33333333333333333;
    m = a + a * (p * a2);
  } else {
    let e = exp(-2.0 * a);
    m = (1.0 - e) / (1.0 + e);
  }
  return select(m, -m, x < 0.0);
}
`;
