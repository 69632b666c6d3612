// Owns: seeded clustered unit vectors, the data the graph tests and bench/search.ts search:
// `centroids` random unit directions, each row one of them plus Gaussian noise of norm ≈ `spread`,
// normalised. Few centroids with little spread are well separated; many with a large spread
// overlap (near neighbours come from several clusters: harder for a graph). With `rank`, the noise
// lies in a rank-dimensional subspace (one of 64 random ones, by centroid), as the variation of real
// embeddings does; isotropic noise over all 768 dimensions instead makes every distance alike (the
// neighbours of a point are then hardly nearer than any other point, for any index). Row i depends
// only on (seed, i), so a million rows can be made in pieces; queries are further rows of the same
// distribution, from another seed.
// Does not own: writing an index (bench/synthetic-index.ts) or scoring.
import { mulberry32 } from './random-text.js';

export interface ClusteredSpec {
  dimension: number;
  centroids: number;
  /** Norm of the noise added to a centroid before normalising (0.5: tight; 2: overlapping). */
  spread: number;
  /** Dimensions of the noise's subspace (default: all of them, isotropic). */
  rank?: number;
  seed: number;
}

/** Noise subspaces, assigned to centroids in turn. */
const SUBSPACES = 64;

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
  /** SUBSPACES × rank unit vectors of D (when spec.rank is set). */
  private readonly bases: Float32Array | undefined;

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
    if (spec.rank !== undefined) {
      const r = spec.rank;
      this.bases = new Float32Array(SUBSPACES * r * D);
      for (let b = 0; b < SUBSPACES * r; b++) {
        const v = this.bases.subarray(b * D, (b + 1) * D);
        let n = 0;
        for (let d = 0; d < D; d++) n += (v[d] = g()) ** 2;
        n = Math.sqrt(n);
        for (let d = 0; d < D; d++) v[d] /= n;
      }
    }
  }

  /** Rows [row0, row0 + rows) into dst (rows × D floats); `stream` 0 = corpus, 1 = queries. */
  fill(dst: Float32Array, row0: number, rows: number, stream = 0): void {
    const { dimension: D, centroids: C, spread, seed, rank } = this.spec;
    for (let r = 0; r < rows; r++) {
      const rand = mulberry32(mix(mix(seed, stream + 1), row0 + r));
      const c = Math.floor(rand() * C);
      const g = gaussian(rand);
      const v = dst.subarray(r * D, (r + 1) * D);
      v.set(this.centres.subarray(c * D, (c + 1) * D));
      if (this.bases && rank !== undefined) {
        const scale = spread / Math.sqrt(rank);
        const basis = (c % SUBSPACES) * rank;
        for (let j = 0; j < rank; j++) {
          const z = scale * g();
          const b = this.bases.subarray((basis + j) * D, (basis + j + 1) * D);
          for (let d = 0; d < D; d++) v[d] += z * b[d];
        }
      } else {
        const scale = spread / Math.sqrt(D);
        for (let d = 0; d < D; d++) v[d] += scale * g();
      }
      let n = 0;
      for (let d = 0; d < D; d++) n += v[d] * v[d];
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
