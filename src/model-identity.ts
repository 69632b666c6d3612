// Owns: a model's identity as an index file records it — a display name and a fingerprint: sha256
// over config.json, the weights file's size and the sha256 of the whole weights file — so that an
// index built with one context encoder is never searched with another, nor with a copy damaged
// anywhere (v1 hashed 64 KiB of samples, and a flipped byte elsewhere kept the fingerprint).
// Hashing 440 MB costs a second or so natively, so callers reuse a digest already known: the LFS
// sha256 from download metadata, a Hugging Face cache blob's name, or a cache file kept next to the
// model (node/model-fingerprint.ts); `weightsSha256` below is the one way to compute it here.
// Does not own loading or validating the weights (safetensors.ts / weights.ts), or caching.
import type { ByteSource } from './formats/byte-source.js';
import { KmedError } from './errors/errors.js';
import { SHA256_HEX, Sha256, type Hasher } from './formats/sha256.js';

export interface ModelIdentity {
  /** Human-readable name, e.g. the model folder's name 'medical-biencoder-ko-bert-context'. */
  name: string;
  /** 'sha256:' + 64 hex digits. */
  fingerprint: string;
}

export interface FingerprintOptions {
  /** sha256 (64 hex digits) of the whole weights file, when the caller already knows it (the
   *  download's LFS oid, a Hugging Face cache blob name, a cached digest): the file is then not read.
   *  It must be the digest of exactly these bytes: a wrong one gives a wrong identity. */
  weightsSha256?: string;
  /** A streaming hasher for reading a ByteSource (default: sha256.ts; Node passes node:crypto's). */
  hasher?: () => Hasher;
}

export class ModelIdentityError extends KmedError {}

// Versioned so a change of what is hashed can never collide with older fingerprints (v1: sampled).
const DOMAIN = 'kmed-dpr model fingerprint v2\0';
/** Bytes read per step when hashing a ByteSource. */
const CHUNK_BYTES = 4 << 20;

function toBytes(data: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * sha256 (hex) of every byte of `weights`. Bytes in memory go to WebCrypto in one native call;
 * a ByteSource is streamed in 4 MiB chunks through `hasher` (sha256.ts by default: portable but
 * ~25 MB/s, so Node passes node:crypto).
 */
export async function weightsSha256(weights: ByteSource | Uint8Array | ArrayBuffer, hasher?: () => Hasher): Promise<string> {
  if (weights instanceof Uint8Array || weights instanceof ArrayBuffer) {
    const bytes = toBytes(weights);
    // WebCrypto takes no SharedArrayBuffer views; those go through sha256.ts.
    if (globalThis.crypto?.subtle && bytes.buffer instanceof ArrayBuffer) {
      return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
    }
    const h = new Sha256();
    h.update(bytes);
    return h.digestHex();
  }
  const h = hasher?.() ?? new Sha256();
  const buf = new Uint8Array(Math.min(CHUNK_BYTES, weights.size));
  for (let at = 0; at < weights.size; at += buf.length) {
    const part = weights.size - at >= buf.length ? buf : buf.subarray(0, weights.size - at);
    weights.readInto(at, part);
    h.update(part);
  }
  return h.digestHex();
}

/** sha256 of (domain, config.json bytes, weights size, sha256 of the whole weights file), as
 *  'sha256:<hex>'. The question and context encoders differ in their weights, so in this. */
export async function modelFingerprint(
  config: string | Uint8Array | ArrayBuffer,
  weights: ByteSource | Uint8Array | ArrayBuffer,
  options: FingerprintOptions = {},
): Promise<string> {
  const size = weights instanceof Uint8Array || weights instanceof ArrayBuffer ? weights.byteLength : weights.size;
  const known = options.weightsSha256;
  if (known !== undefined && !SHA256_HEX.test(known)) {
    throw new ModelIdentityError('MODEL_BAD_SHA256', `weightsSha256 must be 64 lower-case hex digits, got ${JSON.stringify(String(known).slice(0, 80))}`);
  }
  const digest = known ?? (await weightsSha256(weights, options.hasher));
  const configBytes = toBytes(config);
  const domain = new TextEncoder().encode(DOMAIN);
  const buf = new Uint8Array(domain.length + 8 + configBytes.length + 8 + 32);
  const view = new DataView(buf.buffer);
  let o = 0;
  buf.set(domain, o);
  o += domain.length;
  // Lengths before each part so (config, weights) pairs can never be re-split into the same bytes.
  view.setBigUint64(o, BigInt(configBytes.length), true);
  o += 8;
  buf.set(configBytes, o);
  o += configBytes.length;
  view.setBigUint64(o, BigInt(size), true);
  o += 8;
  for (let k = 0; k < 32; k++) buf[o + k] = parseInt(digest.slice(2 * k, 2 * k + 2), 16);
  const out = new Sha256();
  out.update(buf);
  return 'sha256:' + out.digestHex();
}

/** Short form for messages: the first 12 hex digits. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.replace(/^sha256:/, '').slice(0, 12);
}
