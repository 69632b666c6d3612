// Owns: EncoderError, the one error family of the model side (bert.ts, pooling.ts, encoder.ts and
// its Node adapter). Kept in its own file so bert.ts can throw it without importing encoder.ts.
import { KmedError } from './errors.js';

/**
 * Thrown for bad model input (token id out of range, sequence too long or empty, unknown pooling),
 * a missing model file, or use after `dispose()`. `code` is one of:
 * ENCODER_BAD_IDS, ENCODER_SEQUENCE_TOO_LONG, ENCODER_EMPTY_SEQUENCE, ENCODER_BAD_OPTION,
 * ENCODER_BAD_INPUT, ENCODER_MISSING_FILE, ENCODER_DISPOSED, ENCODER_NON_FINITE_OUTPUT (an embedding
 * with NaN/±Infinity, refused rather than returned), ENCODER_ZERO_VECTOR (an all-zero embedding
 * asked for with normalize: true).
 */
export class EncoderError extends KmedError {}
