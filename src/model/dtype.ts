// Owns: the names the `dtype` option accepts — kmed's own 'f32' | 'f16' | 'int8' (WeightDtype) and,
// as aliases, the names transformers.js users type ('fp32', 'fp16', 'q8') — and turning one into
// the WeightDtype the loader stores. Any other value is an option error naming the accepted ones
// (never a file error: the model file is not at fault).
// Does not own what each dtype does to the weights (weights.ts, weights-lowp.ts).
import { checkOptionValue } from '../options/check-options.js';
import type { WeightDtype } from './bert-params.js';

/** transformers.js's dtype names and the kmed dtype each means here. 'q8' is int8 weights per
 *  output channel with activations quantized per row at run time (kmed's 'int8'). */
export const DTYPE_ALIASES = { fp32: 'f32', fp16: 'f16', q8: 'int8' } as const satisfies Record<string, WeightDtype>;

/** What the `dtype` option takes: a WeightDtype or one of its aliases. */
export type DtypeOption = WeightDtype | keyof typeof DTYPE_ALIASES;

const ACCEPTED: readonly DtypeOption[] = ['f32', 'f16', 'int8', ...(Object.keys(DTYPE_ALIASES) as (keyof typeof DTYPE_ALIASES)[])];

/** The WeightDtype `value` names (undefined stays undefined: the caller's default applies);
 *  OptionError OPTION_BAD_VALUE for anything else, naming `call` and the accepted values. */
export function resolveDtype(call: string, value: unknown): WeightDtype | undefined {
  if (value === undefined) return undefined;
  const name = checkOptionValue(call, 'dtype', value, ACCEPTED);
  return name in DTYPE_ALIASES ? DTYPE_ALIASES[name as keyof typeof DTYPE_ALIASES] : (name as WeightDtype);
}
