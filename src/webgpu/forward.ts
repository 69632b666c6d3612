// Owns: the BERT forward pass on WebGPU, module by module as model/bert.ts (and transformers'
// modeling_bert.py), for one padded batch: the real tokens packed into R = Σ L_b rows, every
// kernel dispatched into one command buffer, then the [CLS] rows (or every row) and the pooler
// output read back. A row's arithmetic never depends on the other rows (see each kernel's
// header), so a sequence's vector is bitwise the same whatever else is in its batch.
// rows 'first' reads back only the [CLS] rows; unlike model/bert.ts the last layer still computes
// every row (one more dispatch shape is not worth ~7 % of a pass on a GPU).
// Does not own: the kernels (kernels/), device faults, timeouts and error scopes (model.ts), the
// weights (params.ts) or batching and pooling (encoder.ts).
import type { BertDims, BertInput } from '../model/bert.js';
import { WebGpuError } from '../errors/webgpu-error.js';
import { ATTENTION_WORKGROUP, ELEMENTWISE_WORKGROUP, LINEAR_TILE_COLS, LINEAR_TILE_ROWS } from './kernels/index.js';
import type { GpuBertLayer, GpuBertParams, GpuLayerNorm, GpuLinear } from './params.js';
import type { WebGpuPipelines } from './pipelines.js';
import { BUFFER_USAGE } from './usage.js';
import { limitError } from './params.js';

const F32 = 4;
/** Uniform blocks are bound at offsets that are multiples of minUniformBufferOffsetAlignment (≤ 256). */
const UNIFORM_SLOT = 256;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** What one pass leaves to read back (buffer and float count), and the buffers to destroy. */
export interface EncodedForward {
  commands: GPUCommandBuffer;
  /** [B, C] first rows then [B, C] pooler output, then ([R, C]) every row when rows = 'all'. */
  readback: GPUBuffer;
  readbackFloats: number;
  R: number;
  offsets: number[];
  transient: GPUBuffer[];
}

/** Row layout of a batch: packed offsets, token triples (id, type, position), sequence of each row. */
function pack(input: BertInput): { R: number; offsets: number[]; tokens: Uint32Array; rowSeq: Uint32Array; firstRow: Uint32Array } {
  const offsets: number[] = [];
  let R = 0;
  for (let b = 0; b < input.B; b++) {
    offsets.push(R);
    R += input.lengths[b];
  }
  const tokens = new Uint32Array(R * 3);
  const rowSeq = new Uint32Array(R * 2);
  for (let b = 0; b < input.B; b++) {
    const L = input.lengths[b];
    for (let t = 0; t < L; t++) {
      const r = offsets[b] + t;
      tokens[3 * r] = input.inputIds[b * input.T + t];
      tokens[3 * r + 1] = input.tokenTypeIds[b * input.T + t];
      tokens[3 * r + 2] = t; // absolute positions restart at 0 for every sequence
      rowSeq[2 * r] = offsets[b];
      rowSeq[2 * r + 1] = L;
    }
  }
  return { R, offsets, tokens, rowSeq, firstRow: Uint32Array.from(offsets) };
}

/** Encode BertModel.forward for `input` (already validated against `config`). */
export function encodeForward(
  device: GPUDevice,
  pipelines: WebGpuPipelines,
  params: GpuBertParams,
  config: BertDims,
  input: BertInput,
  rows: 'all' | 'first',
  bindingLimit: number,
): EncodedForward {
  const C = config.hidden_size;
  const NH = config.num_attention_heads;
  const HS = C / NH;
  const I = config.intermediate_size;
  const { R, offsets, tokens, rowSeq, firstRow } = pack(input);
  const B = input.B;
  if (R * I * F32 > bindingLimit) throw limitError(`a batch of ${R} tokens (its [${R}, ${I}] feed-forward activation, ${R * I * F32} bytes)`, bindingLimit);

  const transient: GPUBuffer[] = [];
  const storage = (label: string, floats: number, extra = 0): GPUBuffer => {
    const b = device.createBuffer({ label, size: Math.max(16, floats * F32), usage: BUFFER_USAGE.STORAGE | extra });
    transient.push(b);
    return b;
  };
  const fromArray = (label: string, data: Uint32Array): GPUBuffer => {
    const b = device.createBuffer({ label, size: Math.max(16, data.byteLength), usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST });
    transient.push(b);
    device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  };
  const tokensBuf = fromArray('tokens', tokens);
  const rowSeqBuf = fromArray('row-sequences', rowSeq);
  const firstRowBuf = fromArray('first-rows', firstRow);
  const hidden = storage('hidden', R * C, BUFFER_USAGE.COPY_SRC);
  const tmp = storage('tmp', R * C);
  const q = storage('q', R * C);
  const k = storage('k', R * C);
  const v = storage('v', R * C);
  const ctx = storage('context', R * C);
  const ffn = storage('intermediate', R * I);
  const first = storage('first-rows', B * C, BUFFER_USAGE.COPY_SRC);
  const pooled = storage('pooled', B * C, BUFFER_USAGE.COPY_SRC);

  // Every dispatch's uniform block in one buffer, one 256-byte slot each, written once.
  const blocks: ArrayBuffer[] = [];
  const uniform = (values: Array<['u' | 'f', number]>): number => {
    const block = new ArrayBuffer(32);
    const u = new Uint32Array(block);
    const f = new Float32Array(block);
    values.forEach(([type, value], i) => (type === 'u' ? (u[i] = value) : (f[i] = value)));
    blocks.push(block);
    return blocks.length - 1;
  };
  type Dispatch = { pipeline: GPUComputePipeline; slot: number; slotBytes: number; bindings: Array<[number, GPUBuffer]>; groups: [number, number] };
  const dispatches: Dispatch[] = [];
  const grid = (count: number): [number, number] => {
    const x = Math.min(count, MAX_WORKGROUPS_PER_DIMENSION);
    return [x, Math.ceil(count / x)];
  };
  const run = (pipeline: GPUComputePipeline, slot: number, slotBytes: number, bindings: Array<[number, GPUBuffer]>, groups: [number, number]): void => {
    dispatches.push({ pipeline, slot, slotBytes, bindings, groups });
  };

  /** nn.Linear over R' rows: out = x·Wᵀ + b, then GELU or + residual (linear.ts). */
  const linear = (out: GPUBuffer, x: GPUBuffer, p: GpuLinear, rowsCount: number, epilogue: 'none' | 'gelu' | GPUBuffer): void => {
    const pipeline = epilogue === 'none' ? pipelines.linear : epilogue === 'gelu' ? pipelines.linearGelu : pipelines.linearResidual;
    const residual = typeof epilogue === 'object' ? epilogue : p.bias; // bound but unread without the residual epilogue
    const slot = uniform([['u', rowsCount], ['u', p.inFeatures], ['u', p.outFeatures]]);
    // `residual` is referenced by the WGSL whatever the epilogue, so it is always bound.
    const bindings: Array<[number, GPUBuffer]> = [[1, x], [2, p.weight], [3, p.bias], [4, residual], [5, out]];
    run(pipeline, slot, 16, bindings, [Math.ceil(p.outFeatures / LINEAR_TILE_COLS), Math.ceil(rowsCount / LINEAR_TILE_ROWS)]);
  };
  /** nn.LayerNorm over `rowsCount` rows of C (layer-norm.ts: one workgroup per row). */
  const layerNorm = (out: GPUBuffer, x: GPUBuffer, p: GpuLayerNorm, rowsCount: number): void => {
    const slot = uniform([['u', rowsCount], ['u', C], ['f', config.layer_norm_eps]]);
    run(pipelines.layerNorm, slot, 16, [[1, x], [2, p.weight], [3, p.bias], [4, out]], grid(rowsCount));
  };
  const elementwise = (n: number): [number, number] => grid(Math.ceil(n / ELEMENTWISE_WORKGROUP));

  // BertEmbeddings: word rows (chunk by chunk), + token type + position, LayerNorm.
  for (const chunk of params.wordEmbeddings) {
    const slot = uniform([['u', R], ['u', C], ['u', chunk.firstRow], ['u', chunk.rows]]);
    run(pipelines.gatherWords, slot, 16, [[1, tokensBuf], [2, chunk.buffer], [4, tmp]], elementwise(R * C));
  }
  {
    const slot = uniform([['u', R], ['u', C], ['u', 0], ['u', 0]]);
    run(pipelines.addTypePosition, slot, 16, [[1, tokensBuf], [5, params.tokenTypeEmbeddings], [3, params.positionEmbeddings], [4, tmp]], elementwise(R * C));
  }
  layerNorm(hidden, tmp, params.embeddingsLayerNorm, R);

  // BertLayer × num_hidden_layers.
  const bertLayer = (layer: GpuBertLayer): void => {
    // BertSelfAttention: Q, K, V on every row, then attention per (row, head) within its sequence.
    linear(q, hidden, layer.query, R, 'none');
    linear(k, hidden, layer.key, R, 'none');
    linear(v, hidden, layer.value, R, 'none');
    const slot = uniform([['u', R], ['u', C], ['u', NH], ['u', HS], ['f', 1 / Math.sqrt(HS)]]);
    run(pipelines.attention, slot, 32, [[1, q], [2, k], [3, v], [4, rowSeqBuf], [5, ctx]], grid(Math.ceil((R * NH) / ATTENTION_WORKGROUP)));
    // BertSelfOutput: LayerNorm(dense(context) + hidden).
    linear(tmp, ctx, layer.attentionOutput, R, hidden);
    layerNorm(hidden, tmp, layer.attentionLayerNorm, R);
    // BertIntermediate (dense + GELU) then BertOutput: LayerNorm(dense(intermediate) + hidden).
    linear(ffn, hidden, layer.intermediate, R, 'gelu');
    linear(tmp, ffn, layer.output, R, hidden);
    layerNorm(hidden, tmp, layer.outputLayerNorm, R);
  };
  for (const layer of params.layers) bertLayer(layer);

  // BertPooler: tanh(dense(hidden[first row of each sequence])).
  {
    const slot = uniform([['u', B], ['u', C]]);
    run(pipelines.gatherFirst, slot, 16, [[1, firstRowBuf], [2, hidden], [3, first]], [Math.ceil((B * C) / ELEMENTWISE_WORKGROUP), 1]);
    linear(pooled, first, params.pooler, B, 'none');
    run(pipelines.tanh, slot, 16, [[3, pooled]], [Math.ceil((B * C) / ELEMENTWISE_WORKGROUP), 1]);
  }

  const uniforms = device.createBuffer({ label: 'uniforms', size: blocks.length * UNIFORM_SLOT, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST });
  transient.push(uniforms);
  const staged = new Uint8Array(blocks.length * UNIFORM_SLOT);
  blocks.forEach((block, i) => staged.set(new Uint8Array(block), i * UNIFORM_SLOT));
  device.queue.writeBuffer(uniforms, 0, staged);

  const encoder = device.createCommandEncoder({ label: 'bert-forward' });
  const pass = encoder.beginComputePass({ label: 'bert-forward' });
  for (const d of dispatches) {
    if (d.groups[0] > MAX_WORKGROUPS_PER_DIMENSION || d.groups[1] > MAX_WORKGROUPS_PER_DIMENSION) {
      throw new WebGpuError('WEBGPU_LIMIT', `a dispatch of ${d.groups[0]} × ${d.groups[1]} workgroups exceeds maxComputeWorkgroupsPerDimension (${MAX_WORKGROUPS_PER_DIMENSION}): the batch is too large`);
    }
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniforms, offset: d.slot * UNIFORM_SLOT, size: d.slotBytes } }];
    for (const [binding, buffer] of d.bindings) entries.push({ binding, resource: { buffer } });
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: d.pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(d.groups[0], d.groups[1]);
  }
  pass.end();
  const readbackFloats = 2 * B * C + (rows === 'all' ? R * C : 0);
  const readback = device.createBuffer({ label: 'readback', size: readbackFloats * F32, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
  transient.push(readback);
  encoder.copyBufferToBuffer(first, 0, readback, 0, B * C * F32);
  encoder.copyBufferToBuffer(pooled, 0, readback, B * C * F32, B * C * F32);
  if (rows === 'all') encoder.copyBufferToBuffer(hidden, 0, readback, 2 * B * C * F32, R * C * F32);
  return { commands: encoder.finish(), readback, readbackFloats, R, offsets, transient };
}
