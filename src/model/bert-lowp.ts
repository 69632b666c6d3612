// Owns: the forward pass's side of lower-precision weights (bert-params.ts `dtype`) — the scratch they
// need per call (including the hidden state's quantized rows, which bert.ts fills where it
// normalizes), the int8 / f16 Linear (quantize the input rows then the int8 kernel, or take rows
// already quantized; a residual rides in the int8 kernel's epilogue; or widen the f16 weight into
// f32 scratch just before the f32 kernel), and reading one word-embedding row back as f32. bert.ts
// calls these where a layer is not f32; nothing here knows the model's structure.
// Does not own: the numerics (kernels/) or loading (weights-lowp.ts).
//
// f16 cost: every weight is widened once per forward pass (85M values for klue/bert-base), which
// bench/int8.ts reports next to the f32 and int8 timings; the widened copy is one Linear at most.
import type { BertParams, LinearParams } from './bert-params.js';
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import { f16Table } from '../kernels/reference-lowp.js';
import { embeddingScalesOffset } from './weights-lowp.js';

/** Scratch of one forward call for lower-precision layers (0 where no layer needs it). */
export interface LowPrecisionScratch {
  /** Quantized input rows of an int8 Linear (rows × the widest int8 input). */
  q: Ptr;
  /** The hidden state [R, C] quantized where it is normalized (layerNormQuantizeRows), read by the
   *  int8 Q, K, V and intermediate Linears instead of quantizing it four times; 0 for no int8 layer. */
  hiddenQ: Ptr;
  /** The widest f16 Linear weight widened to f32. */
  weight: Ptr;
}

function linears(params: BertParams): LinearParams[] {
  return [...params.layers.flatMap((l) => [l.query, l.key, l.value, l.attentionOutput, l.intermediate, l.output]), params.pooler];
}

/** Allocate (from the arena, freed with the caller's mark) what `params`' layers need, where
 *  `inputs` lists every [rows, IN] a Linear of the call will be given, the first the hidden state's. */
export function allocLowPrecisionScratch(be: KernelBackend, params: BertParams, inputs: ReadonlyArray<readonly [rows: number, IN: number]>): LowPrecisionScratch {
  let anyInt8 = false;
  let maxWeight = 0;
  for (const p of linears(params)) {
    if (p.dtype === 'int8') anyInt8 = true;
    if (p.dtype === 'f16') maxWeight = Math.max(maxWeight, be.packedLinearBytes(p.outFeatures, p.inFeatures));
  }
  const qBytes = anyInt8 ? Math.max(...inputs.map(([rows, IN]) => be.quantizedRowsBytes(rows, IN))) : 0;
  return {
    q: qBytes > 0 ? be.alloc(qBytes) : 0,
    hiddenQ: anyInt8 ? be.alloc(be.quantizedRowsBytes(inputs[0][0], inputs[0][1])) : 0,
    weight: maxWeight > 0 ? be.alloc(maxWeight) : 0,
  };
}

/** An int8 Linear over rows already quantized (rows [r0, r0 + rows) of `q`, quantized from rows of
 *  IN = p.inFeatures): out = dequant(q · Wqᵀ) + b, plus `residual` ([rows, OUT] f32) when not 0. */
export function quantizedLinear(be: KernelBackend, out: Ptr, q: Ptr, r0: number, p: LinearParams, rows: number, residual: Ptr = 0): void {
  const qr = q + be.quantizedRowsBytes(r0, p.inFeatures);
  if (residual) be.linearInt8Add(out, qr, p.weight, p.bias, residual, rows, p.inFeatures, p.outFeatures);
  else be.linearInt8(out, qr, p.weight, p.bias, rows, p.inFeatures, p.outFeatures);
}

/** nn.Linear over `rows` rows for an f16 or int8 layer: out[rows, OUT] = x[rows, IN] · Wᵀ + b, plus
 *  `residual` ([rows, OUT]) when not 0 — in the int8 kernel's epilogue, else a separate add (the
 *  same f32 additions in the same order either way). */
export function lowPrecisionLinear(be: KernelBackend, s: LowPrecisionScratch, out: Ptr, x: Ptr, p: LinearParams, rows: number, residual: Ptr = 0): void {
  const IN = p.inFeatures;
  const OUT = p.outFeatures;
  if (p.dtype === 'int8') {
    be.quantizeRows(s.q, x, rows, IN);
    quantizedLinear(be, out, s.q, 0, p, rows, residual);
  } else {
    be.f16ToF32(s.weight, p.weight, be.packedLinearBytes(OUT, IN) / 4);
    be.linear(out, x, s.weight, p.bias, rows, IN, OUT);
    if (residual) be.addInPlace(out, residual, rows * OUT);
  }
}

/**
 * A reader of word-embedding rows as f32: `row(id)` returns [array, offset] with the row at
 * array[offset .. offset + C). f32 tables are read in place (a view over the heap, valid until the
 * heap grows); f16 and int8 rows are dequantized into one reused buffer (valid until the next call),
 * as are rows read from a table left in its source (after checking, once, that it is unchanged).
 */
export function wordEmbeddingRows(be: KernelBackend, p: BertParams, vocab: number, C: number): (id: number) => [Float32Array, number] {
  const source = p.wordEmbeddingSource;
  if (source) {
    source.check();
    const row = new Float32Array(C);
    // Runs of one id (the padding of a batch's shorter sequences) cost one read, not one per token.
    let held = -1;
    return (id) => {
      if (id !== held) {
        source.readRow(id, row);
        held = id;
      }
      return [row, 0];
    };
  }
  const dtype = p.wordEmbeddingsDtype ?? 'f32';
  const buffer = be.memory.buffer;
  if (dtype === 'f32') {
    const heap = new Float32Array(buffer);
    const base = p.wordEmbeddings / 4;
    return (id) => [heap, base + id * C];
  }
  const row = new Float32Array(C);
  if (dtype === 'f16') {
    const table = f16Table();
    const half = new Uint16Array(buffer, p.wordEmbeddings, vocab * C);
    return (id) => {
      for (let c = 0; c < C; c++) row[c] = table[half[id * C + c]];
      return [row, 0];
    };
  }
  const q = new Int8Array(buffer, p.wordEmbeddings, vocab * C);
  const scales = new Float32Array(buffer, p.wordEmbeddings + embeddingScalesOffset(vocab, C), vocab);
  return (id) => {
    const scale = scales[id];
    for (let c = 0; c < C; c++) row[c] = q[id * C + c] * scale;
    return [row, 0];
  };
}
