// Owns: refusing an options object a public call does not understand — a key the call does not
// declare (OPTION_KEYS, option-keys.ts), or options that are not an object — and the compile-time
// link between each options interface and its declared keys (SameKeys). One function called first
// by every public call that takes options, so no call forgets a check and all say it the same way.
// Does not own the values of options (each call checks its own: pooling, batchSize, dtype ...).
import { OptionError } from '../errors/option-error.js';
import { OPTION_KEYS, type OptionCall } from './option-keys.js';

export { OptionError } from '../errors/option-error.js';

/**
 * `options` as given (`{}` when left out) if every own key is one `call` declares; otherwise an
 * OptionError OPTION_UNKNOWN naming the key, the nearest known key when one is a likely typo, and
 * every key the call knows. Options that are not a plain object (null, a string, an array) are
 * OPTION_BAD_VALUE.
 */
export function checkOptions<T extends object>(call: OptionCall, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const what = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new OptionError('OPTION_BAD_VALUE', `${call}: options must be an object (or left out), not ${what}`);
  }
  const known: readonly string[] = OPTION_KEYS[call];
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new OptionError(
      'OPTION_UNKNOWN',
      `${call}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; ` +
        `the options it takes are ${known.join(', ')}`,
    );
  }
  return options;
}

/** The keys of `options` that `call` declares, and nothing else: what a loader forwards to a call
 *  that takes a part of its options (it was checked against the union first). */
export function pickOptions<T extends object>(call: OptionCall, options: object): T {
  const known: readonly string[] = OPTION_KEYS[call];
  return Object.fromEntries(Object.entries(options).filter(([key]) => known.includes(key))) as T;
}

/** `value` if it is one of `accepted`; otherwise OPTION_BAD_VALUE naming the option and the
 *  accepted values. */
export function checkOptionValue<V extends string>(call: string, option: string, value: unknown, accepted: readonly V[]): V {
  if ((accepted as readonly unknown[]).includes(value)) return value as V;
  throw new OptionError('OPTION_BAD_VALUE', `${call}: ${option} ${JSON.stringify(value) ?? String(value)} is not accepted; use one of ${accepted.map((v) => `'${v}'`).join(', ')}`);
}

/** `value` if it is a boolean (or undefined); otherwise OPTION_BAD_VALUE naming the option. */
export function checkBooleanOption(call: string, option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new OptionError('OPTION_BAD_VALUE', `${call}: ${option} ${JSON.stringify(value) ?? String(value)} is not accepted; use true or false`);
}

/**
 * `true` when the string list K holds exactly the keys of T; otherwise a type naming the keys
 * missing from the list and those extra in it. The module declaring an options interface asserts
 * `type _ = AssertTrue<SameKeys<Interface, typeof OPTION_GROUPS.x>>`, so the list cannot drift.
 */
export type SameKeys<T, K extends readonly string[]> = [Exclude<keyof T, K[number]>, Exclude<K[number], keyof T>] extends [never, never]
  ? true
  : { missing: Exclude<keyof T, K[number]>; extra: Exclude<K[number], keyof T> };

/** Fails to compile unless T is `true`: the error shows T (see SameKeys). */
export type AssertTrue<T extends true> = T;

/** A known key within two edits of `key` (case-insensitive), the closest first; undefined if none. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions), one row at a time. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
