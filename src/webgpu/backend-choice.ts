// Owns: the `backend` choice of the Encoder (and everything that forwards EncoderOptions: BiEncoder,
// the worker), the `webgpu` settings object and the event backend 'auto' reports when it runs on
// wasm instead — their types and their checks (OptionError naming the option).
// Does not own: acting on the choice (encoder.ts) or the device (device.ts).
import type { KmedErrorCode } from '../errors/error-codes.js';
import { OptionError } from '../errors/option-error.js';
import { checkOptionValue } from '../options/check-options.js';

export const BACKEND_CHOICES = ['wasm', 'reference', 'webgpu', 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface WebGpuOptions {
  /** Time allowed to requestAdapter, requestDevice, the weight upload and each read-back (ms,
   *  default 30000); past it: WebGpuError WEBGPU_TIMEOUT (the device is destroyed). */
  timeoutMs?: number;
  /** Lay the model out for at most this binding size (bytes), below the device's own limit. */
  maxStorageBufferBindingSize?: number;
}

/** Backend 'auto' runs on wasm instead of WebGPU (reported once per encoder). */
export interface BackendFallbackEvent {
  type: 'backend-fallback';
  from: 'webgpu';
  to: 'wasm';
  /** 'load': WebGPU was never used; 'embed': a pass failed on WebGPU and was run again on wasm. */
  when: 'load' | 'embed';
  /** The WebGpuError's code (WEBGPU_UNAVAILABLE, WEBGPU_NO_ADAPTER, WEBGPU_DEVICE_LOST, ...). */
  code: KmedErrorCode;
  reason: string;
}

export function checkBackendOption(call: string, value: unknown): BackendChoice {
  return checkOptionValue(call, 'backend', value ?? 'wasm', BACKEND_CHOICES);
}

const WEBGPU_KEYS = ['timeoutMs', 'maxStorageBufferBindingSize'];

export function checkWebGpuOptions(call: string, value: unknown): WebGpuOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError('OPTION_BAD_VALUE', `${call}: webgpu must be an object ({ timeoutMs, maxStorageBufferBindingSize })`);
  }
  for (const key of Object.keys(value)) {
    if (!WEBGPU_KEYS.includes(key)) throw new OptionError('OPTION_UNKNOWN', `${call}: webgpu.${key} is not an option; known: ${WEBGPU_KEYS.join(', ')}`);
  }
  const v = value as WebGpuOptions;
  for (const key of ['timeoutMs', 'maxStorageBufferBindingSize'] as const) {
    const x = v[key];
    if (x !== undefined && !(Number.isInteger(x) && x > 0)) {
      throw new OptionError('OPTION_BAD_VALUE', `${call}: webgpu.${key} ${JSON.stringify(x) ?? String(x)} is not accepted; use a positive integer`);
    }
  }
  return { timeoutMs: v.timeoutMs, maxStorageBufferBindingSize: v.maxStorageBufferBindingSize };
}
