// Owns: seeded clustered unit vectors, the data the graph tests and bench/search.ts search:
// `centroids` random unit directions, each row one of them plus Gaussian noise of norm ≈ `spread`,
// normalised. Few centroids with little spread are well separated; many with a large spread
// overlap (near neighbours come from several clusters: harder for a graph). Row i depends only on
// (seed, i), so a million rows can be made in pieces; queries are further rows of the same
// distribution, from another seed.
// Does not own: writing an index (bench/synthetic-index.ts) or scoring.
import { mulberry32 } from './random-text.js';

export interface ClusteredSpec {
  dimension: number;
  centroids: number;
  /** Norm of the noise added to a centroid before normalising (0.5: tight; 2: overlapping). */
  spread: number;
  seed: number;
}

/** Standard normal pairs from a uniform stream (Box–Muller). */
function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

const mix = (a: number, b: number) => (Math.imul(a ^ (b + 0x9e3779b9), 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35)) >>> 0;

export class ClusteredVectors {
  private readonly centres: Float32Array;

  constructor(readonly spec: ClusteredSpec) {
    const { dimension: D, centroids: C, seed } = spec;
    this.centres = new Float32Array(C * D);
    const g = gaussian(mulberry32(mix(seed, 0x51ed)));
    for (let c = 0; c < C; c++) {
      const v = this.centres.subarray(c * D, (c + 1) * D);
      let n = 0;
      for (let d = 0; d < D; d++) n += (v[d] = g()) ** 2;
      n = Math.sqrt(n);
      for (let d = 0; d < D; d++) v[d] /= n;
    }
  }

  /** Rows [row0, row0 + rows) into dst (rows × D floats); `stream` 0 = corpus, 1 = queries. */
  fill(dst: Float32Array, row0: number, rows: number, stream = 0): void {
    const { dimension: D, centroids: C, spread, seed } = this.spec;
    const scale = spread / Math.sqrt(D);
    for (let r = 0; r < rows; r++) {
      const rand = mulberry32(mix(mix(seed, stream + 1), row0 + r));
      const c = Math.floor(rand() * C);
      const g = gaussian(rand);
      const v = dst.subarray(r * D, (r + 1) * D);
      let n = 0;
      for (let d = 0; d < D; d++) n += (v[d] = this.centres[c * D + d] + scale * g()) ** 2;
      n = Math.sqrt(n);
      for (let d = 0; d < D; d++) v[d] /= n;
    }
  }

  rows(row0: number, rows: number, stream = 0): Float32Array {
    const out = new Float32Array(rows * this.spec.dimension);
    this.fill(out, row0, rows, stream);
    return out;
  }
}
