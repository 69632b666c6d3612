// Owns: float64 erf/erfc for the reference backend (JavaScript has no Math.erf), written for
// obviousness and accuracy rather than speed: it is the oracle the SIMD GELU is measured against.
// Does not own: the f32 approximations the kernels use (assembly/activations.ts).
//
// Method (checked against CPython's math.erf/erfc on a 0.001 grid over [-10, 10]: erf within
// 1e-15 absolute, erfc within 1.3e-12 relative — the 1 - erf step near 2.5; test/kernels.test.ts
// checks tabulated values):
// - |x| < 2.5: erf(x) = 2/√π · e^(-x²) · Σ_n x·(2x²)^n / (1·3·…·(2n+1)). Every term is positive,
//   so the series has no cancellation; erfc = 1 - erf then loses at most log10(1/erfc(2.5)) ≈ 3.4
//   digits, leaving ~1e-13 relative.
// - |x| ≥ 2.5: erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), the Laplace
//   continued fraction, evaluated bottom-up with 80 levels (converged to double precision for
//   x ≥ 2.5).

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const SERIES_LIMIT = 2.5;
const CF_DEPTH = 80;

/** erfc(x) for x ≥ SERIES_LIMIT by the continued fraction. */
function erfcTail(x: number): number {
  let f = x;
  for (let n = CF_DEPTH; n >= 1; n--) f = x + n / 2 / f;
  return (Math.exp(-x * x) * ONE_OVER_SQRT_PI) / f;
}

/** erf(x) for |x| < SERIES_LIMIT by the all-positive series. */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < SERIES_LIMIT) return erfSeries(x);
  const r = 1 - erfcTail(a);
  return x < 0 ? -r : r;
}

export function erfc64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 0;
  if (x === -Infinity) return 2;
  const a = Math.abs(x);
  const c = a < SERIES_LIMIT ? 1 - erfSeries(a) : erfcTail(a);
  return x < 0 ? 2 - c : c;
}

/** Exact GELU in float64: x · Φ(x) = x/2 · erfc(-x/√2); the limit 0 at -∞ instead of -∞·0 = NaN. */
export function gelu64(x: number): number {
  if (x === -Infinity) return 0;
  if (x === Infinity) return Infinity;
  return 0.5 * x * erfc64(-x * Math.SQRT1_2);
}
