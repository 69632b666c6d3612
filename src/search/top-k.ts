// Owns: TopKSelector, the k best of scores that arrive in runs (a window of rows, a chunk of a
// matrix) — a min-heap in two typed arrays (scores and row numbers), so selecting from n scores
// costs no object and no copy per row: a run is read where it lies (a view of the kernel heap) and
// most rows cost one comparison with the worst kept score. Objects are made for the k results only.
// Does not own: scoring (the kernels) or what a row is (index-search.ts, similarity.ts).
//
// Order: higher score first; equal scores keep row order (lower row first), so rankings are
// deterministic; NaN ranks after every number (a verified index with a finite query gives none).

/** A row and its score. */
export interface Scored {
  /** Row of the scored matrix (passage number in an index). */
  index: number;
  score: number;
}

export class TopKSelector {
  readonly k: number;
  private readonly scores: Float64Array;
  private readonly rows: Float64Array;
  private size = 0;

  constructor(k: number) {
    this.k = k;
    this.scores = new Float64Array(k);
    this.rows = new Float64Array(k);
  }

  /** `a` ranks after `b`. */
  private static after(sa: number, ra: number, sb: number, rb: number): boolean {
    const a = Number.isNaN(sa) ? -Infinity : sa;
    const b = Number.isNaN(sb) ? -Infinity : sb;
    return a < b || (a === b && ra > rb);
  }

  /** Offer scores[from..to) as rows base + i (rows must arrive in increasing order across calls
   *  for the tie rule to hold without comparing row numbers on the fast path). */
  offer(scores: ArrayLike<number>, base = 0, from = 0, to = scores.length): void {
    const k = this.k;
    if (k === 0) return;
    let i = from;
    // Fill the heap first.
    for (; i < to && this.size < k; i++) this.push(scores[i], base + i);
    if (i >= to) return;
    // Full: a later row with a score not above the worst kept can never rank before it (ties go to
    // the earlier row), so one comparison settles most rows.
    let worst = this.scores[0];
    if (Number.isNaN(worst)) worst = -Infinity;
    for (; i < to; i++) {
      const s = scores[i];
      if (s > worst) {
        this.replaceRoot(s, base + i);
        worst = this.scores[0];
        if (Number.isNaN(worst)) worst = -Infinity;
      }
    }
  }

  /** Offer one score of row `row` (any order). */
  push(score: number, row: number): void {
    if (this.k === 0) return;
    if (this.size < this.k) {
      let i = this.size++;
      // Sift up: a parent ranks after (is worse than) its children.
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopKSelector.after(score, row, this.scores[p], this.rows[p])) break;
        this.scores[i] = this.scores[p];
        this.rows[i] = this.rows[p];
        i = p;
      }
      this.scores[i] = score;
      this.rows[i] = row;
    } else if (TopKSelector.after(this.scores[0], this.rows[0], score, row)) {
      this.replaceRoot(score, row);
    }
  }

  private replaceRoot(score: number, row: number): void {
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let worst = l;
      if (r < n && TopKSelector.after(this.scores[r], this.rows[r], this.scores[l], this.rows[l])) worst = r;
      if (!TopKSelector.after(this.scores[worst], this.rows[worst], score, row)) break;
      this.scores[i] = this.scores[worst];
      this.rows[i] = this.rows[worst];
      i = worst;
    }
    this.scores[i] = score;
    this.rows[i] = row;
  }

  /** Rows kept so far. */
  get length(): number {
    return this.size;
  }

  /** The kept rows, best first. */
  result(): Scored[] {
    const out: Scored[] = [];
    for (let i = 0; i < this.size; i++) out.push({ index: this.rows[i], score: this.scores[i] });
    return out.sort((a, b) => (TopKSelector.after(a.score, a.index, b.score, b.index) ? 1 : TopKSelector.after(b.score, b.index, a.score, a.index) ? -1 : 0));
  }
}
