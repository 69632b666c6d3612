// Owns: the level of each node of an HNSW graph, drawn from (seed, row) alone — never from a
// shared random stream — so a row's level does not depend on the build's order, its threads or
// the engine: integer hashing and integer thresholds only (no Math.log, whose last bit may differ
// between JavaScript engines).
// Does not own: what levels mean to the graph (assembly/hnsw.ts) or where they are stored (heap-graph.ts).
import { LEVEL_CAP } from '../../kernels/graph-layout.js';

/** lowbias32 (Chris Wellons' 32-bit integer hash): a bijection with full avalanche. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Thresholds t[l] = ⌊2^32 / M^l⌋: a uniform 32-bit h has P(h < t[l]) ≈ M^-l, HNSW's level law
 *  (level = ⌊-ln(u) · mL⌋ with mL = 1 / ln M). Exact: M^l and the division are exact in float64
 *  up to 2^53, and t[l] is 0 past it. */
function thresholds(M: number): number[] {
  const t: number[] = [2 ** 32];
  for (let l = 1; l < LEVEL_CAP; l++) t.push(Math.floor(2 ** 32 / M ** l));
  return t;
}

/** The level of every row 0..rows-1 for links-per-node M and `seed`, capped at LEVEL_CAP - 1. */
export function drawLevels(rows: number, M: number, seed: number): Uint8Array {
  const t = thresholds(M);
  const out = new Uint8Array(rows);
  const salt = mix32((seed ^ 0x9e3779b9) >>> 0);
  for (let row = 0; row < rows; row++) {
    const h = mix32((salt ^ row) >>> 0);
    let level = 0;
    while (level + 1 < LEVEL_CAP && h < t[level + 1]) level++;
    out[row] = level;
  }
  return out;
}
