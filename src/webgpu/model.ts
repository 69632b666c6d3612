// Owns: WebGpuBertModel — a BERT living on one WebGPU device: the device (device.ts), the compiled
// kernels (pipelines.ts) and the weights (params.ts), and one forward pass at a time (forward.ts)
// with every fault made a WebGpuError: the device lost (destroyed, reset, crashed) before or during
// a pass, out-of-memory and validation errors (error scopes around each pass), and a read-back that
// does not finish in time (the device is then destroyed, so nothing half-finished is ever read).
// A pass whose device is lost before its read-back completes returns nothing: never a stale or
// partial vector.
// Does not own: choosing WebGPU or wasm, or falling back (encoder.ts); the BertOutput's pooling.
import type { BertConfig } from '../model/config.js';
import { validateBertInput, type BertInput, type BertOutput } from '../model/bert.js';
import type { TensorSource } from '../formats/tensor-source.js';
import { WebGpuError } from '../errors/webgpu-error.js';
import { acquireDevice, DEFAULT_WEBGPU_TIMEOUT_MS, errorText, withTimeout, type AcquireOptions, type WebGpuAdapterDescription } from './device.js';
import { encodeForward } from './forward.js';
import { uploadBertParams, type GpuBertParams } from './params.js';
import { createPipelines, type WebGpuPipelines } from './pipelines.js';
import { MAP_MODE_READ } from './usage.js';

export interface WebGpuModelOptions extends AcquireOptions {
  allowNonFinite?: boolean;
  /** 'f32' (default) or 'f16': Linear weights and word embeddings stored as f16 (params.ts). */
  dtype?: 'f32' | 'f16';
}

/** What `encoder.webgpu` reports. */
export interface WebGpuModelInfo {
  adapter: WebGpuAdapterDescription;
  /** Bytes of weights on the device. */
  weightBytes: number;
  /** How Linear weights and word embeddings are stored on the device (arithmetic is f32 either way). */
  dtype: 'f32' | 'f16';
  /** Bindings the word-embedding table was split into (1 when it fits one). */
  wordEmbeddingChunks: number;
  maxStorageBufferBindingSize: number;
}

export class WebGpuBertModel {
  readonly info: WebGpuModelInfo;
  readonly #device: GPUDevice;
  readonly #pipelines: WebGpuPipelines;
  readonly #params: GpuBertParams;
  readonly #config: BertConfig;
  readonly #timeoutMs: number;
  readonly #bindingLimit: number;
  #lost: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(device: GPUDevice, pipelines: WebGpuPipelines, params: GpuBertParams, config: BertConfig, info: WebGpuModelInfo, timeoutMs: number) {
    this.#device = device;
    this.#pipelines = pipelines;
    this.#params = params;
    this.#config = config;
    this.info = info;
    this.#timeoutMs = timeoutMs;
    this.#bindingLimit = info.maxStorageBufferBindingSize;
    void device.lost.then((lost) => {
      this.#lost = `${lost.reason === 'destroyed' ? 'destroyed' : 'lost'}${lost.message ? `: ${lost.message}` : ''}`;
    });
  }

  /** Acquire a device, compile the kernels and upload the weights of `tensors`. */
  static async create(tensors: TensorSource, config: BertConfig, options: WebGpuModelOptions = {}): Promise<WebGpuBertModel> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WEBGPU_TIMEOUT_MS;
    const acquired = await acquireDevice(options);
    const { device } = acquired;
    try {
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      let pipelines: WebGpuPipelines | undefined;
      let params: GpuBertParams | undefined;
      let thrown: unknown;
      try {
        const halfWeights = options.dtype === 'f16';
        pipelines = createPipelines(device, halfWeights);
        params = uploadBertParams(device, tensors, config, acquired, { allowNonFinite: options.allowNonFinite, halfWeights });
      } catch (error) {
        thrown = error;
      }
      const validation = await withTimeout(device.popErrorScope(), timeoutMs, 'GPUDevice.popErrorScope()');
      const oom = await withTimeout(device.popErrorScope(), timeoutMs, 'GPUDevice.popErrorScope()');
      if (thrown) throw thrown;
      if (oom) throw new WebGpuError('WEBGPU_OUT_OF_MEMORY', `uploading the weights: the device is out of memory (${oom.message})`);
      if (validation) throw new WebGpuError('WEBGPU_INTERNAL', `compiling the kernels or uploading the weights: ${validation.message}`);
      // The uploads are queued: wait for them, so a device that cannot run anything fails here.
      await withTimeout(device.queue.onSubmittedWorkDone(), timeoutMs, 'uploading the weights (GPUQueue.onSubmittedWorkDone())');
      return new WebGpuBertModel(device, pipelines!, params!, config, {
        adapter: acquired.adapter,
        weightBytes: params!.bytes,
        dtype: params!.halfWeights ? 'f16' : 'f32',
        wordEmbeddingChunks: params!.wordEmbeddings.length,
        maxStorageBufferBindingSize: acquired.maxStorageBufferBindingSize,
      }, timeoutMs);
    } catch (error) {
      device.destroy();
      throw error;
    }
  }

  /** Why the device is gone, or undefined while it works. */
  get lostReason(): string | undefined {
    return this.#lost;
  }

  /**
   * BertModel.forward for one padded batch. rows 'first': last_hidden_state holds only row 0 of
   * each sequence (the rest zeros), as model/bert.ts's option of the same name. Passes run one at a
   * time, in call order.
   */
  forward(input: BertInput, rows: 'all' | 'first' = 'all'): Promise<BertOutput> {
    validateBertInput(this.#config, input);
    const run = this.#queue.then(() => this.#forward(input, rows));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #forward(input: BertInput, rows: 'all' | 'first'): Promise<BertOutput> {
    this.#checkAlive();
    const device = this.#device;
    const C = this.#config.hidden_size;
    const { B, T } = input;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let encoded: ReturnType<typeof encodeForward> | undefined;
    let thrown: unknown;
    try {
      encoded = encodeForward(device, this.#pipelines, this.#params, this.#config, input, rows, this.#bindingLimit);
      device.queue.submit([encoded.commands]);
    } catch (error) {
      thrown = error;
    }
    try {
      const validation = await this.#wait(device.popErrorScope(), 'GPUDevice.popErrorScope()');
      const oom = await this.#wait(device.popErrorScope(), 'GPUDevice.popErrorScope()');
      if (thrown) throw thrown;
      if (oom) throw new WebGpuError('WEBGPU_OUT_OF_MEMORY', `a batch of ${B} × ${T} tokens: the device is out of memory (${oom.message})`);
      if (validation) throw new WebGpuError('WEBGPU_INTERNAL', `a batch of ${B} × ${T} tokens: ${validation.message}`);
      const { readback } = encoded!;
      try {
        await this.#wait(readback.mapAsync(MAP_MODE_READ), 'reading the results back (GPUBuffer.mapAsync)');
      } catch (error) {
        this.#checkAlive(error);
        if (error instanceof WebGpuError) throw error;
        throw new WebGpuError('WEBGPU_INTERNAL', `reading the results back failed: ${errorText(error)}`, { cause: error });
      }
      // The map may resolve as the device goes: only a live device's results are taken.
      this.#checkAlive();
      const values = new Float32Array(readback.getMappedRange().slice(0));
      readback.unmap();
      return unpackOutput(values, input, encoded!.offsets, C, rows);
    } catch (error) {
      if (error instanceof WebGpuError && error.code === 'WEBGPU_TIMEOUT') {
        // Something on the device never finished: it cannot be trusted with another pass.
        this.#lost ??= `destroyed after a timeout (${error.message})`;
        device.destroy();
      }
      throw error;
    } finally {
      for (const b of encoded?.transient ?? []) b.destroy();
    }
  }

  /** `promise`, or WEBGPU_DEVICE_LOST when the device goes first, or WEBGPU_TIMEOUT. */
  #wait<T>(promise: Promise<T>, what: string): Promise<T> {
    const lost = this.#device.lost.then((info): never => {
      throw new WebGpuError('WEBGPU_DEVICE_LOST', `the WebGPU device was ${info.reason === 'destroyed' ? 'destroyed' : 'lost'} during ${what}${info.message ? `: ${info.message}` : ''}; this pass's results are discarded`);
    });
    lost.catch(() => undefined); // a loss after the race settled must not be an unhandled rejection
    return withTimeout(Promise.race([promise, lost]), this.#timeoutMs, what);
  }

  #checkAlive(cause?: unknown): void {
    if (this.#lost !== undefined) {
      throw new WebGpuError('WEBGPU_DEVICE_LOST', `the WebGPU device was ${this.#lost}; no result from it is used`, cause ? { cause } : undefined);
    }
  }

  /** Free the weights and the device. */
  dispose(): void {
    for (const b of this.#params.buffers) b.destroy();
    this.#device.destroy();
  }
}

/** The read-back floats ([B, C] first rows, [B, C] pooled, then [R, C] packed rows for 'all') as a
 *  BertOutput in the caller's padded [B, T, C] layout (padding rows zero). */
function unpackOutput(values: Float32Array, input: BertInput, offsets: number[], C: number, rows: 'all' | 'first'): BertOutput {
  const { B, T } = input;
  const lastHiddenState = new Float32Array(B * T * C);
  const poolerOutput = values.slice(B * C, 2 * B * C);
  for (let b = 0; b < B; b++) {
    if (rows === 'first') {
      lastHiddenState.set(values.subarray(b * C, (b + 1) * C), b * T * C);
    } else {
      const at = 2 * B * C + offsets[b] * C;
      lastHiddenState.set(values.subarray(at, at + input.lengths[b] * C), b * T * C);
    }
  }
  return { B, T, C, lastHiddenState, poolerOutput };
}
