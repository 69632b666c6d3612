// Owns: element-by-element comparison helpers shared by the model parity tests — max |a - b|, the
// worst index and the first few pairs, so a failure message says where and by how much.

export interface Diff {
  maxAbs: number;
  worst: number;
  /** 'i: ours vs ref' for the first few elements and the worst one. */
  detail: string;
}

export function diff(ours: ArrayLike<number>, ref: ArrayLike<number>): Diff {
  if (ours.length !== ref.length) {
    return { maxAbs: Infinity, worst: -1, detail: `length ${ours.length} vs ${ref.length}` };
  }
  let maxAbs = 0;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(ours[i] - ref[i]);
    // NaN must fail, not vanish in a max.
    if (!(e <= maxAbs)) {
      maxAbs = Number.isNaN(e) ? Infinity : e;
      worst = i;
    }
  }
  const pair = (i: number) => `[${i}] ${ours[i]} vs ${ref[i]}`;
  const first = Array.from({ length: Math.min(3, ref.length) }, (_, i) => pair(i)).join(', ');
  return { maxAbs, worst, detail: `max |diff| ${maxAbs.toExponential(2)} at ${pair(worst)}; first: ${first}` };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Indices of the k largest values, best first (ties by index). */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  return Array.from(scores, (s, i) => [s, i] as const)
    .sort((x, y) => y[0] - x[0] || x[1] - y[1])
    .slice(0, k)
    .map((x) => x[1]);
}

/** Running maximum per (row, column) key, printed as a markdown table. */
export class ErrorTable {
  readonly #rows = new Map<string, Map<string, number>>();
  readonly #cols: string[] = [];

  note(row: string, col: string, value: number): void {
    if (!this.#cols.includes(col)) this.#cols.push(col);
    let r = this.#rows.get(row);
    if (!r) this.#rows.set(row, (r = new Map()));
    r.set(col, Math.max(r.get(col) ?? 0, value));
  }

  toMarkdown(title: string): string {
    const lines = [`| ${title} | ${this.#cols.join(' | ')} |`, `|---|${this.#cols.map(() => '---:').join('|')}|`];
    for (const [name, r] of this.#rows) {
      lines.push(`| ${name} | ${this.#cols.map((c) => (r.has(c) ? r.get(c)!.toExponential(2) : '–')).join(' | ')} |`);
    }
    return lines.join('\n');
  }
}
