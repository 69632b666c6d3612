// Owns: OptionError, the error of an options object a public call refuses: a key the call does not
// know (OPTION_UNKNOWN, with the known keys listed), or a value outside the accepted set
// (OPTION_BAD_VALUE, with the accepted values listed). Kept apart so any module may throw it.
// Does not own which keys or values a call accepts (../options/).
import { KmedError } from './errors.js';

/** An options object a call refuses; `code` is OPTION_UNKNOWN or OPTION_BAD_VALUE and the message
 *  names the call, the option and what it accepts. */
export class OptionError extends KmedError {}
