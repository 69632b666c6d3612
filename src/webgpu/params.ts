// Owns: getting a BERT's weights onto a WebGPU device as GpuBertParams — the same tensors, names,
// shape checks and finiteness checks as the heap loader (model/weights.ts resolveBertTensors and
// finite.ts), read from the same TensorSource (safetensors bytes or synthetic weights) one tensor
// at a time into a temporary Float32Array and written with queue.writeBuffer, so the host never
// holds more than one tensor (the word-embedding table: one binding-sized chunk) besides the
// source. Weights stay in HF's layout ([OUT, IN] for Linear), which the matmul reads directly; f32,
// or (halfWeights, dtype 'f16') the Linear weights and the word-embedding table rounded to f16 as the
// wasm loader rounds them (round to nearest even) and packed two per u32 — half the device memory.
// The word-embedding table (bert-base: 32000 × 768 f32 = 98 MB) is split into row chunks when it is
// larger than maxStorageBufferBindingSize; any other tensor that does not fit one binding is a
// WEBGPU_LIMIT error naming the limit.
// Does not own: the forward pass (forward.ts) or the device (device.ts).
import type { BertConfig } from '../model/config.js';
import type { TensorSource } from '../formats/tensor-source.js';
import { checkFinite } from '../model/finite.js';
import { resolveBertTensors } from '../model/weights.js';
import { bertModuleTree } from '../model/bert-tensors.js';
import { WebGpuError } from '../errors/webgpu-error.js';
import { BUFFER_USAGE } from './usage.js';
import { f32BitsToF16Bits } from '../kernels/reference-lowp.js';

export interface GpuLinear {
  /** [OUT, IN] f32, Hugging Face's layout. */
  weight: GPUBuffer;
  bias: GPUBuffer;
  inFeatures: number;
  outFeatures: number;
}

export interface GpuLayerNorm {
  weight: GPUBuffer;
  bias: GPUBuffer;
}

export interface GpuBertLayer {
  query: GpuLinear;
  key: GpuLinear;
  value: GpuLinear;
  attentionOutput: GpuLinear;
  attentionLayerNorm: GpuLayerNorm;
  intermediate: GpuLinear;
  output: GpuLinear;
  outputLayerNorm: GpuLayerNorm;
}

/** One binding of the word-embedding table: rows [firstRow, firstRow + rows). */
export interface GpuTableChunk {
  buffer: GPUBuffer;
  firstRow: number;
  rows: number;
}

export interface GpuBertParams {
  wordEmbeddings: GpuTableChunk[];
  positionEmbeddings: GPUBuffer;
  tokenTypeEmbeddings: GPUBuffer;
  embeddingsLayerNorm: GpuLayerNorm;
  layers: GpuBertLayer[];
  pooler: GpuLinear;
  /** Bytes of every weight buffer together. */
  bytes: number;
  /** Linear weights and the word-embedding table are packed f16 (see the header). */
  halfWeights: boolean;
  /** Every buffer, for destroy(). */
  buffers: GPUBuffer[];
}

export interface UploadLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

const WORD_EMBEDDINGS = 'embeddings.word_embeddings.weight';

/** Upload the BertModel tensors of `tensors` (checked against `config` as loadBertParams does). */
export function uploadBertParams(
  device: GPUDevice,
  tensors: TensorSource,
  config: BertConfig,
  limits: UploadLimits,
  options: { allowNonFinite?: boolean; halfWeights?: boolean } = {},
): GpuBertParams {
  const half = options.halfWeights === true;
  const { specs, resolved } = resolveBertTensors(tensors, config);
  const bindingLimit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const C = config.hidden_size;
  // Every other tensor must fit one binding; say which one does not, before anything is uploaded.
  for (const spec of specs) {
    if (spec.name === WORD_EMBEDDINGS) {
      if (C * 4 + 4 > bindingLimit) throw limitError(`one row of ${WORD_EMBEDDINGS} (${C * 4} bytes)`, bindingLimit);
      continue;
    }
    const bytes = spec.shape.reduce((a, b) => a * b, 1) * (half && spec.kind === 'linear-weight' ? 2 : 4);
    if (bytes > bindingLimit) throw limitError(`tensor ${spec.name} (${bytes} bytes)`, bindingLimit);
  }
  const buffers: GPUBuffer[] = [];
  let bytes = 0;
  const check = (name: string, shape: readonly number[], values: Float32Array, first: number): void => {
    if (!options.allowNonFinite) checkFinite(values, tensors.name, name, shape, first);
  };
  const upload = (label: string, f32: Float32Array, asHalf = false): GPUBuffer => {
    const values = asHalf ? packHalves(f32) : f32;
    // Storage bindings are sized in multiples of 4 bytes; a 1-element tensor is still 4.
    const buffer = device.createBuffer({ label, size: Math.max(4, values.byteLength), usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST });
    buffers.push(buffer);
    device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    bytes += values.byteLength;
    return buffer;
  };
  const placed = new Map<string, GPUBuffer>();
  let words: GpuTableChunk[] = [];
  try {
    for (const spec of specs) {
      const source = resolved.get(spec.name)!;
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (spec.name === WORD_EMBEDDINGS) {
        words = uploadTable(spec.shape[0], C, half ? 2 : 4, bindingLimit, (firstRow, rows) => {
          const values = new Float32Array(rows * C);
          if (tensors.readRange) tensors.readRange(source, firstRow * C, values);
          else if (firstRow === 0 && rows === spec.shape[0]) tensors.read(source, values);
          else throw limitError(`${WORD_EMBEDDINGS} (${n * 4} bytes; this tensor source cannot be read in chunks)`, bindingLimit);
          check(source, spec.shape, values, firstRow * C);
          return upload(`${WORD_EMBEDDINGS}[${firstRow}..${firstRow + rows})`, values, half);
        });
        continue;
      }
      const values = new Float32Array(n);
      tensors.read(source, values);
      check(source, spec.shape, values, 0);
      placed.set(spec.name, upload(spec.name, values, half && spec.kind === 'linear-weight'));
    }
  } catch (error) {
    for (const b of buffers) b.destroy();
    throw error;
  }
  const p = (name: string): GPUBuffer => placed.get(name)!;
  const linear = (name: string, OUT: number, IN: number): GpuLinear => ({ weight: p(`${name}.weight`), bias: p(`${name}.bias`), inFeatures: IN, outFeatures: OUT });
  const layerNorm = (name: string): GpuLayerNorm => ({ weight: p(`${name}.weight`), bias: p(`${name}.bias`) });
  const modules = bertModuleTree(config, linear, layerNorm);
  return {
    wordEmbeddings: words,
    positionEmbeddings: p('embeddings.position_embeddings.weight'),
    tokenTypeEmbeddings: p('embeddings.token_type_embeddings.weight'),
    ...modules,
    bytes,
    buffers,
    halfWeights: half,
  };
}

/** f32 values rounded to f16 (nearest even, as the wasm loader) and packed two per u32, element e
 *  in word e >> 1, low half first — what WGSL's unpack2x16float reads back. */
function packHalves(values: Float32Array): Uint32Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint32Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1] |= f32BitsToF16Bits(bits[i]) << ((i & 1) * 16);
  return out;
}

/** The table's rows in chunks of at most `bindingLimit` bytes (`elementBytes` per value, a packed
 *  f16 chunk rounded up to whole words), each uploaded by `put`. */
function uploadTable(rows: number, C: number, elementBytes: number, bindingLimit: number, put: (firstRow: number, rows: number) => GPUBuffer): GpuTableChunk[] {
  const perChunk = Math.max(1, Math.floor((bindingLimit - 4) / (C * elementBytes)));
  const chunks: GpuTableChunk[] = [];
  for (let r = 0; r < rows; r += perChunk) {
    const n = Math.min(perChunk, rows - r);
    chunks.push({ buffer: put(r, n), firstRow: r, rows: n });
  }
  return chunks;
}

export function limitError(what: string, limit: number): WebGpuError {
  return new WebGpuError('WEBGPU_LIMIT', `${what} does not fit the device's maxStorageBufferBindingSize / maxBufferSize of ${limit} bytes`);
}
