// Owns: a model's identity as an index file records it — a display name and a cheap fingerprint
// (sha256 over config.json, the weights file's size, its safetensors header and 64 KiB of tensor
// bytes sampled across the file), so that an index built with one context encoder is never searched
// with another. The header alone is not enough: two fine-tunes of one base model (the question and
// context encoders themselves) share config, header and size exactly, and differ only in values —
// which fine-tuning changes everywhere, so any sample of them tells the two apart. Reading 64 KiB
// instead of 440 MB keeps this instant.
// Does not own: loading or validating the weights (safetensors.ts / weights.ts do that).
import type { ByteSource } from './byte-source.js';

export interface ModelIdentity {
  /** Human-readable name, e.g. the model folder's name 'medical-biencoder-ko-bert-context'. */
  name: string;
  /** 'sha256:' + 64 hex digits. */
  fingerprint: string;
}

// Versioned so a future change of what is hashed can never collide with today's fingerprints.
const DOMAIN = 'kmed-dpr model fingerprint v1\0';
// A real safetensors header is kilobytes; anything beyond this is not a header worth trusting.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
// SAMPLES windows of SAMPLE_BYTES, evenly spaced over the bytes after the header (the last one
// ends at the end of the file).
const SAMPLES = 16;
const SAMPLE_BYTES = 4096;

function toBytes(data: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** The safetensors header bytes (8-byte length + JSON), or the first bytes when the file is not a
 *  well-formed safetensors — the loader reports that properly; here it only has to be hashed. */
function headerBytes(weights: ByteSource): Uint8Array {
  if (weights.size < 8) {
    const all = new Uint8Array(weights.size);
    weights.readInto(0, all);
    return all;
  }
  const prefix = new Uint8Array(8);
  weights.readInto(0, prefix);
  const n = Number(new DataView(prefix.buffer).getBigUint64(0, true));
  const length = n <= MAX_HEADER_BYTES && 8 + n <= weights.size ? 8 + n : Math.min(weights.size, 4096);
  const bytes = new Uint8Array(length);
  weights.readInto(0, bytes);
  return bytes;
}

/** Evenly spaced windows of the tensor data (everything after `headerLength`), concatenated. */
function sampledBytes(weights: ByteSource, headerLength: number): Uint8Array {
  const data = weights.size - headerLength;
  if (data <= SAMPLES * SAMPLE_BYTES) {
    const all = new Uint8Array(Math.max(data, 0));
    if (data > 0) weights.readInto(headerLength, all);
    return all;
  }
  const out = new Uint8Array(SAMPLES * SAMPLE_BYTES);
  const stride = (data - SAMPLE_BYTES) / (SAMPLES - 1);
  for (let i = 0; i < SAMPLES; i++) {
    weights.readInto(headerLength + Math.floor(i * stride), out.subarray(i * SAMPLE_BYTES, (i + 1) * SAMPLE_BYTES));
  }
  return out;
}

/** sha256 of (domain, config.json bytes, weights size, safetensors header, sampled tensor bytes),
 *  as 'sha256:<hex>'. */
export async function modelFingerprint(
  config: string | Uint8Array | ArrayBuffer,
  weights: ByteSource,
): Promise<string> {
  const configBytes = toBytes(config);
  const header = headerBytes(weights);
  const samples = sampledBytes(weights, header.length);
  const domain = new TextEncoder().encode(DOMAIN);
  const buf = new Uint8Array(domain.length + 8 + configBytes.length + 8 + header.length + samples.length);
  const view = new DataView(buf.buffer);
  let o = 0;
  buf.set(domain, o);
  o += domain.length;
  // Lengths before each part so (config, header) pairs can never be re-split into the same bytes.
  view.setBigUint64(o, BigInt(configBytes.length), true);
  o += 8;
  buf.set(configBytes, o);
  o += configBytes.length;
  view.setBigUint64(o, BigInt(weights.size), true);
  o += 8;
  buf.set(header, o);
  o += header.length;
  buf.set(samples, o);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return 'sha256:' + Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Short form for messages: the first 12 hex digits. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.replace(/^sha256:/, '').slice(0, 12);
}
