// Owns: the wasm bindings of the search kernels — the exports of assembly/dot.ts and
// assembly/checksum.ts that exact search and index verification call — and their mapping onto the
// contract's methods (one line each).
// Does not own: argument checks (guard-search.ts) or the kernels (assembly/dot.ts, assembly/checksum.ts).
import type { RawSearchKernels } from './reference-search.js';

/** The search exports (the ABI, as in assembly/index.ts). */
export interface SearchExports {
  dot_rows_f32(out: number, matrix: number, vec: number, rows: number, dim: number): void;
  dot_rows_many_f32(out: number, matrix: number, queries: number, rows: number, nq: number, dim: number, ldo: number): void;
  dot_rows_f16(out: number, rows16: number, vec: number, rows: number, dim: number): void;
  dot_rows_i8(out: number, rows8: number, scales: number, q16: number, rows: number, dim: number, qScale: number): void;
  dot_rows_many_i8(out: number, rows8: number, scales: number, q16s: number, qScales: number, rows: number, nq: number, dim: number, ldo: number): void;
  sum_rows_f32(out: number, matrix: number, rows: number, dim: number): void;
  hash_blocks_xxh32(out: number, data: number, blocks: number, blockSize: number, kind: number): void;
}

export const SEARCH_EXPORTS: ReadonlyArray<keyof SearchExports> = [
  'dot_rows_f32', 'dot_rows_many_f32', 'dot_rows_f16', 'dot_rows_i8', 'dot_rows_many_i8', 'sum_rows_f32', 'hash_blocks_xxh32',
];

export function searchKernels(ex: SearchExports): RawSearchKernels {
  return {
    dotRows: (out, matrix, vec, rows, dim) => ex.dot_rows_f32(out, matrix, vec, rows, dim),
    dotRowsMany: (out, matrix, queries, rows, nq, dim, ldo) => ex.dot_rows_many_f32(out, matrix, queries, rows, nq, dim, ldo),
    dotRowsF16: (out, rows16, vec, rows, dim) => ex.dot_rows_f16(out, rows16, vec, rows, dim),
    dotRowsI8: (out, rows8, scales, q16, rows, dim, qScale) => ex.dot_rows_i8(out, rows8, scales, q16, rows, dim, qScale),
    dotRowsManyI8: (out, rows8, scales, q16s, qScales, rows, nq, dim, ldo) => ex.dot_rows_many_i8(out, rows8, scales, q16s, qScales, rows, nq, dim, ldo),
    sumRows: (out, matrix, rows, dim) => ex.sum_rows_f32(out, matrix, rows, dim),
    hashBlocks: (out, data, blocks, blockSize, kind) => ex.hash_blocks_xxh32(out, data, blocks, blockSize, kind),
  };
}
