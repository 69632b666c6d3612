// Owns: ArgumentChecks, the checks every guarded kernel call is made of — sizes are integers in
// [0, 2^31), a pointer names an aligned region inside the live arena, strided spans, and outputs
// that must not overlap their inputs — each failing with a KernelError that names the call, the
// argument and the numbers. guard.ts (f32 kernels) and guard-lowp.ts (int8, f16) compose them.
// Does not own: which checks a kernel needs (the guards) or the arena itself (arena.ts).
import type { Arena } from './arena.js';
import { KernelError } from './kernel-error.js';

const F32 = 4;

/** A byte range [start, end) of the heap, named for error messages. */
export interface Region {
  name: string;
  start: number;
  end: number;
}

export class ArgumentChecks {
  constructor(private readonly arena: Arena) {}

  size(op: string, label: string, v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: ${label} = ${v} must be an integer in [0, 2^31)`);
    }
  }

  sizes(op: string, values: Record<string, number>): void {
    for (const [label, v] of Object.entries(values)) this.size(op, label, v);
  }

  /** A region of `floats` f32 at `ptr`, inside the live arena [base, top). */
  floats(op: string, label: string, ptr: number, floats: number): Region {
    return this.#region(op, label, ptr, floats * F32, F32, `${floats} floats`);
  }

  /** `bytes` at `ptr`, aligned to `align`, inside the live arena [base, top). */
  bytes(op: string, label: string, ptr: number, bytes: number, align: number): Region {
    return this.#region(op, label, ptr, bytes, align, `${bytes} bytes`);
  }

  #region(op: string, label: string, ptr: number, bytes: number, align: number, what: string): Region {
    if (!Number.isInteger(ptr) || ptr % align !== 0) {
      throw new KernelError('KERNEL_BAD_POINTER', `${op}: ${label} pointer ${ptr} is not a ${align}-byte aligned byte offset`);
    }
    const end = ptr + bytes;
    const { base, top } = this.arena;
    if (ptr < base || end > top) {
      throw new KernelError('KERNEL_BAD_POINTER', `${op}: ${label} [${ptr}, ${end}) (${what}) is outside the heap's live arena [${base}, ${top})`);
    }
    return { name: label, start: ptr, end };
  }

  /** Floats spanned by `rows` rows of `cols` with a row stride of `ld` floats. */
  strided(op: string, label: string, rows: number, cols: number, ld: number): number {
    this.size(op, `ld${label}`, ld);
    if (rows > 1 && ld < cols) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: ld${label} = ${ld} is smaller than the row length ${cols}`);
    }
    return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  }

  /** A finite-or-infinite number that is not NaN (a softmax or attention scale). */
  scale(op: string, scale: number): void {
    if (typeof scale !== 'number' || Number.isNaN(scale)) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: scale = ${scale} must be a number`);
    }
  }

  disjoint(op: string, out: Region, ...inputs: Region[]): void {
    if (out.end === out.start) return;
    for (const r of inputs) {
      if (r.end > r.start && out.start < r.end && r.start < out.end) {
        throw new KernelError('KERNEL_OVERLAP', `${op}: output ${out.name} [${out.start}, ${out.end}) overlaps input ${r.name} [${r.start}, ${r.end})`);
      }
    }
  }

  /** Same region or no overlap at all: kernels that run element by element may work in place. */
  sameOrDisjoint(op: string, out: Region, x: Region): void {
    if (out.start === x.start) return;
    this.disjoint(op, out, x);
  }
}
