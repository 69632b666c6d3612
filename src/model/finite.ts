// Owns: finding the first non-finite value (NaN, ±Infinity) in a run of floats, cheaply enough to
// run over every weight as it is loaded. A NaN anywhere in a BERT's weights turns every output
// into NaN, and cosine ranking over NaN silently falls back to input order: refusing the weights
// at load is the only place the fault can still be named (tensor and element).
// Does not own where values come from (weights.ts, weights-lowp.ts, word-embedding-source.ts call
// it as they convert) or the Encoder's check of its own outputs (encoder.ts).
import { formatShape, quote } from '../errors/quote.js';
import { SafetensorsError } from '../formats/safetensors.js';

/**
 * Index (into `values`) of the first NaN or ±Infinity, or -1 when all are finite. The common case
 * (all finite) costs one multiply-add per element: x·0 is 0 for every finite x and NaN otherwise,
 * so one sum tells whether a slower search is needed.
 */
export function firstNonFinite(values: Float32Array | Float64Array | readonly number[]): number {
  let acc = 0;
  const n = values.length;
  for (let i = 0; i < n; i++) acc += values[i] * 0;
  if (acc === 0) return -1;
  for (let i = 0; i < n; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/**
 * Throw SAFETENSORS_NON_FINITE if `values` — elements [first, first + values.length) of tensor
 * `tensor` (shape `shape`) of `file` — hold a NaN or ±Infinity, naming the element by flat index and
 * by coordinates. Callers skip this when the user allowed non-finite weights (`allowNonFinite`).
 */
export function checkFinite(values: Float32Array, file: string, tensor: string, shape: readonly number[], first: number): void {
  const k = firstNonFinite(values);
  if (k < 0) return;
  const index = first + k;
  const coords: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    coords.unshift(shape[d] > 0 ? rest % shape[d] : 0);
    rest = shape[d] > 0 ? Math.floor(rest / shape[d]) : 0;
  }
  throw new SafetensorsError(
    'SAFETENSORS_NON_FINITE',
    `${file}: tensor ${quote(tensor)} holds ${values[k]} at element ${index} (index [${coords.join(', ')}] of shape ${formatShape(shape)}): the weights are damaged (to load them anyway, on purpose, pass the allowNonFinite option)`,
  );
}

/** A check run on each run of values as it is loaded: elements [first, ...) of tensor `name`. */
export type FiniteCheck = (name: string, shape: readonly number[], values: Float32Array, first: number) => void;
