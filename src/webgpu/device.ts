// Owns: getting a WebGPU device — navigator.gpu, the adapter (and whether it is a fallback, i.e.
// software, adapter), the device with the adapter's own storage limits requested, all under a
// timeout so a runtime that never answers is a WebGpuError, not a hang — and describing it.
// Does not own: what runs on the device (model.ts) or the wasm fallback (encoder.ts).
import { WebGpuError } from '../errors/webgpu-error.js';

/** Default time allowed to requestAdapter, requestDevice and each read-back. */
export const DEFAULT_WEBGPU_TIMEOUT_MS = 30_000;

/** What the adapter says about itself, for reports (`encoder.webgpu`, the benchmark page). */
export interface WebGpuAdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software adapter (SwiftShader, WARP, ...): correct, but says nothing about GPU speed. */
  isFallbackAdapter: boolean;
  features: string[];
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: WebGpuAdapterDescription;
  /** The storage limits the model must fit (the device's, or lower where the caller capped them). */
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface AcquireOptions {
  timeoutMs?: number;
  /** Refuse a fallback adapter with WEBGPU_NO_ADAPTER ('auto' wants a real GPU or none). */
  refuseFallbackAdapter?: boolean;
  /** Cap on the binding size the model is laid out for, below the device's own (for tests of
   *  the chunked word-embedding table and of WEBGPU_LIMIT). */
  maxStorageBufferBindingSize?: number;
}

/** `promise`, or a WEBGPU_TIMEOUT after `ms` naming `what`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WebGpuError('WEBGPU_TIMEOUT', `${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(adapter: GPUAdapter): WebGpuAdapterDescription {
  // adapter.info is the current API; isFallbackAdapter moved there from the adapter (Chromium ≥ 136).
  const info = (adapter.info ?? {}) as Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean };
  const legacy = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: info.isFallbackAdapter ?? legacy ?? false,
    features: [...(adapter.features ?? [])].map(String).sort(),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** One line for reports: "google swiftshader (fallback adapter)". */
export function adapterLine(a: WebGpuAdapterDescription): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s !== '').join(' ') || 'unnamed adapter';
  return `${name}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}`;
}

/** navigator.gpu, read at call time (so a page or a test may replace it), or undefined. */
function navigatorGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? undefined;
}

/** Request an adapter and a device; every failure is a WebGpuError. */
export async function acquireDevice(options: AcquireOptions = {}): Promise<AcquiredDevice> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBGPU_TIMEOUT_MS;
  const gpu = navigatorGpu();
  if (!gpu || typeof gpu.requestAdapter !== 'function') {
    throw new WebGpuError('WEBGPU_UNAVAILABLE', 'this runtime has no WebGPU (navigator.gpu is missing): use a browser with WebGPU, Deno with a GPU, or backend \'wasm\'');
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), timeoutMs, 'navigator.gpu.requestAdapter()');
  } catch (cause) {
    if (cause instanceof WebGpuError) throw cause;
    throw new WebGpuError('WEBGPU_ADAPTER_REFUSED', `navigator.gpu.requestAdapter() failed: ${errorText(cause)}`, { cause });
  }
  if (!adapter) throw new WebGpuError('WEBGPU_NO_ADAPTER', 'navigator.gpu.requestAdapter() found no adapter (no usable GPU, or WebGPU is disabled)');
  const description = describe(adapter);
  if (options.refuseFallbackAdapter && description.isFallbackAdapter) {
    throw new WebGpuError('WEBGPU_NO_ADAPTER', `the only adapter is a fallback (software) adapter: ${adapterLine(description)}`);
  }
  let device: GPUDevice;
  try {
    // Ask for the adapter's own storage limits: the defaults (128 MiB bindings, 256 MiB buffers)
    // are below what most GPUs allow and would split the word-embedding table for nothing.
    device = await withTimeout(
      adapter.requestDevice({
        requiredLimits: {
          maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
        },
      }),
      timeoutMs,
      'GPUAdapter.requestDevice()',
    );
  } catch (cause) {
    if (cause instanceof WebGpuError) throw cause;
    throw new WebGpuError('WEBGPU_DEVICE_REFUSED', `GPUAdapter.requestDevice() failed on ${adapterLine(description)}: ${errorText(cause)}`, { cause });
  }
  const cap = options.maxStorageBufferBindingSize;
  const binding = Math.min(device.limits.maxStorageBufferBindingSize, cap ?? Infinity);
  return { device, adapter: description, maxStorageBufferBindingSize: binding, maxBufferSize: Math.min(device.limits.maxBufferSize, cap ?? Infinity) };
}

/** "Name: message" of a thrown value, for messages. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
