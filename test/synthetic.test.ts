// The synthetic weight rule: the README's four check values (float32 bit patterns), the full-size
// model's sha256 for both seeds against synthetic-base-golden.json (one through the portable
// TypeScript SHA-256, one through node:crypto), the portable SHA-256 itself against node:crypto,
// and the streamed safetensors of a small synthetic model reading back equal to the rule.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/byte-source.js';
import { parseBertConfig } from '../src/config.js';
import { parseSafetensorsHeader, readTensorF32, writeSafetensors } from '../src/safetensors.js';
import { Sha256, type Hasher } from '../src/sha256.js';
import {
  fillSynthetic,
  SYNTHETIC_BASE_CONFIG,
  syntheticChunks,
  syntheticModelSha256,
  syntheticSafetensorsTensors,
  syntheticTensor,
  bertTensorSpecs,
} from '../src/synthetic.js';

const golden = JSON.parse(readFileSync('test/fixtures/synthetic-base-golden.json', 'utf8')) as { sha256: Record<string, string> };
const baseConfig = parseBertConfig(JSON.parse(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8')));
const nodeHasher = (): Hasher => {
  const h = createHash('sha256');
  return { update: (b) => void h.update(b), digestHex: () => h.digest('hex') };
};
const bitsAt = (a: Float32Array, i: number) => new Uint32Array(a.buffer, a.byteOffset, a.length)[i];

describe('synthetic weight rule', () => {
  it('reproduces the README check values bit for bit', () => {
    const word = syntheticTensor('context', 'embeddings.word_embeddings.weight', [32000, 768]);
    expect(bitsAt(word, 0)).toBe(0x3d3bdcf3);
    expect(bitsAt(word, 24575999)).toBe(0xbd314891);
    expect(bitsAt(syntheticTensor('question', 'encoder.layer.11.output.LayerNorm.weight', [768]), 767)).toBe(0x3f8a3ba6);
    expect(bitsAt(syntheticTensor('context', 'pooler.dense.bias', [768]), 5)).toBe(0x3c07700a);
    // Generating from an offset gives the same values as the whole tensor.
    const tail = new Float32Array(10);
    fillSynthetic('context', 'embeddings.word_embeddings.weight', tail, 24575990);
    expect(Array.from(tail)).toEqual(Array.from(word.subarray(24575990)));
  });

  it('embedded klue/bert-base config equals the fixture', () => {
    expect(SYNTHETIC_BASE_CONFIG).toEqual(JSON.parse(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8')));
    expect(bertTensorSpecs(baseConfig).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0)).toBe(110617344);
  });

  it('portable SHA-256 equals node:crypto across lengths and chunkings', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 999, 1000]) {
      const ours = new Sha256();
      // Feed in uneven pieces so block carry-over is exercised.
      for (let at = 0, step = 1; at < n; at += step, step = (step * 3) % 70 + 1) ours.update(data.subarray(at, Math.min(n, at + step)));
      expect(ours.digestHex(), `length ${n}`).toBe(createHash('sha256').update(data.subarray(0, n)).digest('hex'));
    }
  });

  it('full-size model sha256 equals the golden for both seeds', () => {
    let t = performance.now();
    expect(syntheticModelSha256('context', baseConfig)).toBe(golden.sha256.context);
    const portableMs = performance.now() - t;
    t = performance.now();
    expect(syntheticModelSha256('question', baseConfig, nodeHasher())).toBe(golden.sha256.question);
    console.log(`synthetic sha256 (110.6M params): portable SHA-256 ${portableMs.toFixed(0)} ms, node:crypto ${(performance.now() - t).toFixed(0)} ms`);
  });

  it('a small synthetic model streamed to safetensors reads back equal to the rule, hash included', () => {
    const config = parseBertConfig({ vocab_size: 50, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12, max_position_embeddings: 16 });
    const chunks: Uint8Array[] = [];
    const hasher = nodeHasher();
    writeSafetensors((c) => chunks.push(c.slice()), syntheticSafetensorsTensors('question', config, hasher), { format: 'pt' });
    expect(hasher.digestHex()).toBe(syntheticModelSha256('question', config));
    const file = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    chunks.reduce((at, c) => (file.set(c, at), at + c.length), 0);
    const src = bytesSource(file, 'small');
    const header = parseSafetensorsHeader(src);
    const names = [...header.tensors.keys()];
    expect(names).toEqual([...names].sort());
    for (const spec of bertTensorSpecs(config)) {
      const got = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
      readTensorF32(src, header, spec.name, got);
      expect(Array.from(got), spec.name).toEqual(Array.from(syntheticTensor('question', spec.name, spec.shape)));
    }
    // Chunked generation (small chunks; each valid until the next) concatenates to the whole tensor.
    const parts: number[] = [];
    for (const c of syntheticChunks('question', 'embeddings.word_embeddings.weight', [50, 8], 7)) parts.push(...c);
    expect(parts).toEqual(Array.from(syntheticTensor('question', 'embeddings.word_embeddings.weight', [50, 8])));
  });
});
