// Owns: AnnError, the error family of approximate (graph) indexes: a graph file that is damaged,
// truncated, of another version or built for another index; bad build or search options.
// Does not own the codes' list (errors/error-codes.ts).
import { KmedError } from '../../errors/errors.js';

/** A graph index that cannot be built, read or searched as asked; `code` says why (ANN_*). */
export class AnnError extends KmedError {}
