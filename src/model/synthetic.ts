// Owns: the synthetic weight rule (test/fixtures/README.md) — every value of a full-size BERT is a
// pure function of (seed, tensor name, flat index), so the 440 MB klue/bert-base-shaped model is
// regenerated bit for bit instead of shipped — plus the model's sha256 as the README defines it
// (tensor names in sorted order, each name's UTF-8 bytes then its float32 little-endian bytes), a
// TensorSource to load it straight into the heap, and the tensors for a streamed safetensors file.
// Does not own: the file format (safetensors.ts) or loading (weights.ts).
import { bertTensorSpecs, type BertTensorSpec } from './bert-tensors.js';
import type { BertConfig } from './config.js';
import { f32LeBytes, numel, type TensorToWrite } from '../formats/safetensors.js';
import { Sha256, type Hasher } from '../formats/sha256.js';
import type { TensorSource } from '../formats/tensor-source.js';

export { bertTensorSpecs };

/** klue/bert-base's config.json (= test/fixtures/synthetic-base-config.json), the synthetic model's shape. */
export const SYNTHETIC_BASE_CONFIG = Object.freeze({
  add_cross_attention: false,
  attention_probs_dropout_prob: 0.1,
  bos_token_id: null,
  classifier_dropout: null,
  eos_token_id: null,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  is_decoder: false,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: 'bert',
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  tie_word_embeddings: true,
  transformers_version: '5.17.0',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 32000,
});

/** Elements generated per step when streaming (4 MiB of f32). */
const CHUNK_ELEMENTS = 1 << 20;

export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** scale/offset of the rule by name suffix (first match wins, in this order). */
export function syntheticScaleOffset(name: string): { scale: number; offset: number } {
  if (name.endsWith('LayerNorm.weight')) return { scale: 0.1, offset: 1 };
  if (name.endsWith('LayerNorm.bias')) return { scale: 0.05, offset: 0 };
  if (name.endsWith('.bias')) return { scale: 0.05, offset: 0 };
  if (name.endsWith('_embeddings.weight')) return { scale: 0.08, offset: 0 };
  return { scale: 0.06, offset: 0 };
}

/**
 * Fill dst with elements [start, start + dst.length) of tensor `name` under `seed`.
 * Arithmetic as the rule says: 32-bit integer mixing, then float64, rounded once to float32 by
 * the store into the Float32Array (round to nearest even, like numpy's astype(float32)).
 */
export function fillSynthetic(seed: string, name: string, dst: Float32Array, start = 0): void {
  const h = fnv1a32(new TextEncoder().encode(`${seed}/${name}`));
  const { scale, offset } = syntheticScaleOffset(name);
  // (h + i·0x9E3779B9) mod 2^32, advanced by one golden-ratio step per element.
  let base = (h + Math.imul(start, 0x9e3779b9)) >>> 0;
  const n = dst.length;
  for (let k = 0; k < n; k++) {
    let z = base;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    // z / 2^32 and 2u - 1 are exact in float64; only the product and the sum round, as in the rule.
    dst[k] = (2 * (z / 4294967296) - 1) * scale + offset;
    base = (base + 0x9e3779b9) >>> 0;
  }
}

/** The whole tensor `name` of shape `shape` under `seed`. */
export function syntheticTensor(seed: string, name: string, shape: readonly number[]): Float32Array {
  const dst = new Float32Array(numel(shape));
  fillSynthetic(seed, name, dst);
  return dst;
}

/** BertModel tensors of `config`, sorted by name (the order of the hash and of `kmed synth`'s file). */
export function sortedSpecs(config: BertConfig): BertTensorSpec[] {
  return bertTensorSpecs(config).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Yield tensor `name` in chunks of at most `chunk` elements. The same buffer is reused: each chunk is
 * valid only until the next one is requested.
 */
export function* syntheticChunks(seed: string, name: string, shape: readonly number[], chunk = CHUNK_ELEMENTS): Generator<Float32Array> {
  const n = numel(shape);
  const buf = new Float32Array(Math.min(n, chunk));
  for (let start = 0; start < n; start += buf.length) {
    const view = n - start >= buf.length ? buf : buf.subarray(0, n - start);
    fillSynthetic(seed, name, view, start);
    yield view;
  }
}

/**
 * sha256 of the synthetic model as the README defines it. `hasher` defaults to the portable
 * TypeScript SHA-256; Node callers may pass node:crypto's for speed.
 */
export function syntheticModelSha256(seed: string, config: BertConfig, hasher: Hasher = new Sha256()): string {
  const enc = new TextEncoder();
  for (const spec of sortedSpecs(config)) {
    hasher.update(enc.encode(spec.name));
    for (const chunk of syntheticChunks(seed, spec.name, spec.shape)) hasher.update(f32LeBytes(chunk));
  }
  return hasher.digestHex();
}

/**
 * The synthetic model as tensors for writeSafetensors, sorted by name and generated chunk by chunk
 * while written. With `hasher`, the same pass feeds it the README's hash input (the file order is
 * the hash order), so `hasher.digestHex()` after writing is the model's sha256.
 */
export function syntheticSafetensorsTensors(seed: string, config: BertConfig, hasher?: Hasher): TensorToWrite[] {
  const enc = new TextEncoder();
  return sortedSpecs(config).map((spec) => ({
    name: spec.name,
    dtype: 'F32' as const,
    shape: spec.shape,
    data: function* () {
      hasher?.update(enc.encode(spec.name));
      for (const chunk of syntheticChunks(seed, spec.name, spec.shape)) {
        hasher?.update(f32LeBytes(chunk));
        yield chunk;
      }
    },
  }));
}

/** A TensorSource generating the synthetic model on demand (load it with loadBertParamsFromTensors). */
export function syntheticTensorSource(seed: string, config: BertConfig): TensorSource {
  const specs = new Map(bertTensorSpecs(config).map((s) => [s.name, s]));
  return {
    name: `synthetic:${seed}`,
    names: () => [...specs.keys()],
    info(name) {
      const s = specs.get(name);
      return s && { dtype: 'F32', shape: s.shape, readable: true };
    },
    read(name, dst) {
      fillSynthetic(seed, name, dst);
    },
    readRange(name, start, dst) {
      fillSynthetic(seed, name, dst, start);
    },
  };
}
