// Owns: WebGpuError, the error family of the WebGPU backend (src/webgpu/).
// Does not own when each is thrown (webgpu/device.ts, webgpu/model.ts) or the wasm fallback
// (encoder.ts decides, for backend 'auto').
import { KmedError } from './errors.js';

/**
 * A WebGPU failure. `code` is one of: WEBGPU_UNAVAILABLE (no navigator.gpu in this runtime),
 * WEBGPU_NO_ADAPTER (requestAdapter() gave none), WEBGPU_ADAPTER_REFUSED (requestAdapter() threw),
 * WEBGPU_DEVICE_REFUSED (requestDevice() threw), WEBGPU_LIMIT (a device limit the model cannot
 * fit, named in the message), WEBGPU_OUT_OF_MEMORY, WEBGPU_DEVICE_LOST (destroyed, reset or
 * crashed: the results of the pass in flight are discarded), WEBGPU_TIMEOUT (an adapter, device or
 * read-back that did not answer in time; the device is then destroyed), WEBGPU_INTERNAL (a
 * validation error: a bug in this library's kernels or dispatch).
 */
export class WebGpuError extends KmedError {}
