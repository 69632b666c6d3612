// Owns: the bump allocator that hands out heap regions (byte offsets into one WebAssembly.Memory).
// Both backends use it so that a pointer means the same thing in each.
// Does not own: what lives in a region (the model decides) or argument checks (guard.ts).
//
// Why a bump allocator: every tensor of a forward pass has a lifetime that nests (weights for the
// life of the model, activations for one batch), so mark/release in LIFO order is all we need, costs
// nothing and never fragments.
import { KernelError } from './kernel-error.js';

/** Every region starts on 16 bytes so v128 loads of a row start are aligned. */
export const ARENA_ALIGN = 16;
/** WebAssembly page size in bytes. */
export const WASM_PAGE = 65536;
/** wasm32 addresses 2^32 bytes at most (65536 pages); the arena never goes past it. */
export const MAX_HEAP_BYTES = 2 ** 32;

export class Arena {
  /** First usable byte (the module's heap_base, rounded up to ARENA_ALIGN). */
  readonly base: number;
  private topByte: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    heapBase: number,
  ) {
    if (!Number.isInteger(heapBase) || heapBase < 0 || heapBase >= MAX_HEAP_BYTES) {
      throw new KernelError('KERNEL_BAD_POINTER', `arena: heap_base ${heapBase} is not a byte offset below 4 GiB`);
    }
    // Never hand out offset 0: it stays free to mean "no buffer" (e.g. softmaxRows without a mask).
    this.base = Math.max(ARENA_ALIGN, alignUp(heapBase));
    this.topByte = this.base;
  }

  /** Current top: the end of the last live region. */
  get top(): number {
    return this.topByte;
  }

  /** Reserve `bytes` (rounded up to 16) and return its offset; grows the memory when needed. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new KernelError('KERNEL_BAD_SIZE', `arena: alloc(${bytes}): size must be a non-negative integer of bytes`);
    }
    const ptr = this.topByte;
    const end = ptr + alignUp(bytes);
    if (end > MAX_HEAP_BYTES) {
      throw new KernelError(
        'KERNEL_OUT_OF_MEMORY',
        `arena: alloc(${bytes}) at offset ${ptr} would end at byte ${end}, past the 4 GiB wasm32 limit`,
      );
    }
    this.ensure(end);
    this.topByte = end;
    return ptr;
  }

  mark(): number {
    return this.topByte;
  }

  /** Give back everything allocated since `mark` (LIFO). */
  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < this.base || mark > this.topByte || mark % ARENA_ALIGN !== 0) {
      throw new KernelError(
        'KERNEL_BAD_RELEASE',
        `arena: release(${mark}) is not a live mark (heap base ${this.base}, top ${this.topByte})`,
      );
    }
    this.topByte = mark;
  }

  /** Grow the memory so that bytes [0, end) exist. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / WASM_PAGE);
    try {
      this.memory.grow(pages);
    } catch (cause) {
      throw new KernelError(
        'KERNEL_OUT_OF_MEMORY',
        `arena: growing the heap from ${have} to ${have + pages * WASM_PAGE} bytes failed (${String(cause)})`,
        { cause },
      );
    }
  }
}

export function alignUp(bytes: number): number {
  return Math.ceil(bytes / ARENA_ALIGN) * ARENA_ALIGN;
}
