// Owns: argument checks for the search kernels (dot products of stored rows with queries, the
// bandwidth-floor sum, block checksums), the counterpart of guard.ts for the contract's search
// methods: every pointer names a region inside the live arena, sizes are integers in [0, 2^31),
// outputs do not overlap inputs — so a bad call is a KernelError, never a trap.
// Does not own: the arithmetic (reference-search.ts, assembly/dot.ts, assembly/checksum.ts); the
// checks themselves are guard-checks.ts's.
import type { ArgumentChecks } from './guard-checks.js';
import { KernelError } from './kernel-error.js';
import { HASH_KIND, type RawSearchKernels } from './reference-search.js';

/** dotRowsI8's integer sum is exact while 127 · max|q16| · dim < 2^31; callers pick the query's
 *  levels from dim (int8QueryLevels), which keeps at least 8 bits up to this many dimensions. */
export const MAX_INT8_SEARCH_DIM = 65536;

export function guardSearch(c: ArgumentChecks, raw: RawSearchKernels): RawSearchKernels {
  return {
    dotRows(out, matrix, vec, rows, dim) {
      const op = 'dotRows';
      c.sizes(op, { rows, dim });
      const o = c.floats(op, 'out', out, rows);
      c.disjoint(op, o, c.floats(op, 'matrix', matrix, rows * dim), c.floats(op, 'vec', vec, dim));
      raw.dotRows(out, matrix, vec, rows, dim);
    },
    dotRowsMany(out, matrix, queries, rows, nq, dim, ldo) {
      const op = 'dotRowsMany';
      c.sizes(op, { rows, nq, dim });
      const o = c.floats(op, 'out', out, rows === 0 ? 0 : c.strided(op, 'o', nq, rows, ldo));
      c.disjoint(op, o, c.floats(op, 'matrix', matrix, nq === 0 ? 0 : rows * dim), c.floats(op, 'queries', queries, rows === 0 ? 0 : nq * dim));
      raw.dotRowsMany(out, matrix, queries, rows, nq, dim, ldo);
    },
    dotRowsF16(out, rows16, vec, rows, dim) {
      const op = 'dotRowsF16';
      c.sizes(op, { rows, dim });
      c.size(op, 'rows*dim*2', rows * dim * 2);
      const o = c.floats(op, 'out', out, rows);
      c.disjoint(op, o, c.bytes(op, 'rows16', rows16, rows * dim * 2, 2), c.floats(op, 'vec', vec, dim));
      raw.dotRowsF16(out, rows16, vec, rows, dim);
    },
    dotRowsI8(out, rows8, scales, q16, rows, dim, qScale) {
      const op = 'dotRowsI8';
      c.sizes(op, { rows, dim });
      if (dim > MAX_INT8_SEARCH_DIM) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: dim = ${dim} is more than the ${MAX_INT8_SEARCH_DIM} dimensions int8 search sums exactly`);
      }
      if (typeof qScale !== 'number' || !Number.isFinite(qScale)) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: qScale = ${qScale} must be a finite number`);
      }
      const o = c.floats(op, 'out', out, rows);
      c.disjoint(op, o, c.bytes(op, 'rows8', rows8, rows * dim, 1), c.floats(op, 'scales', scales, rows), c.bytes(op, 'q16', q16, dim * 2, 2));
      raw.dotRowsI8(out, rows8, scales, q16, rows, dim, qScale);
    },
    dotRowsManyI8(out, rows8, scales, q16s, qScales, rows, nq, dim, ldo) {
      const op = 'dotRowsManyI8';
      c.sizes(op, { rows, nq, dim });
      if (dim > MAX_INT8_SEARCH_DIM) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: dim = ${dim} is more than the ${MAX_INT8_SEARCH_DIM} dimensions int8 search sums exactly`);
      }
      const o = c.floats(op, 'out', out, rows === 0 ? 0 : c.strided(op, 'o', nq, rows, ldo));
      c.disjoint(
        op,
        o,
        c.bytes(op, 'rows8', rows8, nq === 0 ? 0 : rows * dim, 1),
        c.floats(op, 'scales', scales, nq === 0 ? 0 : rows),
        c.bytes(op, 'q16s', q16s, rows === 0 ? 0 : nq * dim * 2, 2),
        c.floats(op, 'qScales', qScales, rows === 0 ? 0 : nq),
      );
      raw.dotRowsManyI8(out, rows8, scales, q16s, qScales, rows, nq, dim, ldo);
    },
    sumRows(out, matrix, rows, dim) {
      const op = 'sumRows';
      c.sizes(op, { rows, dim });
      c.disjoint(op, c.floats(op, 'out', out, rows), c.floats(op, 'matrix', matrix, rows * dim));
      raw.sumRows(out, matrix, rows, dim);
    },
    hashBlocks(out, data, blocks, blockSize, kind) {
      const op = 'hashBlocks';
      c.sizes(op, { blocks, blockSize });
      c.size(op, 'blocks*blockSize', blocks * blockSize);
      const unit = kind === HASH_KIND.f32 ? 4 : kind === HASH_KIND.f16 ? 2 : kind === HASH_KIND.bytes ? 1 : 0;
      if (unit === 0) throw new KernelError('KERNEL_BAD_SIZE', `${op}: kind = ${kind} is not 0 (bytes), 1 (f32) or 2 (f16)`);
      if (blockSize % unit !== 0) {
        throw new KernelError('KERNEL_BAD_SIZE', `${op}: blockSize = ${blockSize} is not a whole number of ${unit}-byte values`);
      }
      c.disjoint(op, c.bytes(op, 'out', out, blocks * 8, 4), c.bytes(op, 'data', data, blocks * blockSize, 1));
      raw.hashBlocks(out, data, blocks, blockSize, kind);
    },
  };
}
