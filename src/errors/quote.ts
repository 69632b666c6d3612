// Owns: quoting untrusted input inside error messages, bounded, so that a 75 MB config value or a
// 100 MB tensor name becomes one short line that still shows where the problem starts.
// Does not own the messages themselves (each module words its own).

/** At most this many characters of any one input are quoted in a message. */
export const MAX_QUOTED_CHARS = 200;

/**
 * `value` as JSON (a string in quotes, with escapes), cut to `max` characters plus a note of how much
 * was left out. Values JSON cannot show (undefined, functions, bigint, cycles) get a plain String.
 */
export function quote(value: unknown, max = MAX_QUOTED_CHARS): string {
  let text: string;
  try {
    // A long array or object is cut before it is stringified whole (it may be huge).
    text = JSON.stringify(clip(value, max)) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A copy of `value` small enough to stringify: long strings and arrays cut to about `max` items. */
function clip(value: unknown, max: number): unknown {
  if (typeof value === 'string') return value.length > max + 1 ? value.slice(0, max + 1) + '…' : value;
  if (Array.isArray(value)) return value.length > max ? [...value.slice(0, max).map((v) => clip(v, max)), '…'] : value.map((v) => clip(v, max));
  if (typeof value === 'bigint') return value.toString();
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    let k = 0;
    for (const key of Object.keys(value)) {
      if (k++ >= max) {
        out['…'] = '…';
        break;
      }
      out[key.length > max ? key.slice(0, max) + '…' : key] = clip((value as Record<string, unknown>)[key], max);
    }
    return out;
  }
  return value;
}

/** A shape as `[2, 3]`, at most `max` characters. */
export function formatShape(shape: readonly (number | bigint | string)[], max = MAX_QUOTED_CHARS): string {
  const text = `[${shape.slice(0, max).join(', ')}${shape.length > max ? ', …' : ''}]`;
  return text.length <= max ? text : `${text.slice(0, max)}…]`;
}
