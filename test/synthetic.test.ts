// The synthetic weight rule: the README's four check values (float32 bit patterns), the full-size
// model's sha256 for both seeds against synthetic-base-golden.json (one through the portable
// TypeScript SHA-256, one through node:crypto), the portable SHA-256 itself against node:crypto,
// and the streamed safetensors of a small synthetic model reading back equal to the rule.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SynthError, writeSyntheticFolder } from '../src/cli/synth.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { loadBertParams, loadBertParamsFromTensors } from '../src/model/weights.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig } from '../src/model/config.js';
import { parseSafetensorsHeader, readTensorF32, writeSafetensors } from '../src/formats/safetensors.js';
import { Sha256, type Hasher } from '../src/formats/sha256.js';
import {
  fillSynthetic,
  SYNTHETIC_BASE_CONFIG,
  syntheticChunks,
  syntheticModelSha256,
  syntheticSafetensorsTensors,
  syntheticTensor,
  syntheticTensorSource,
  bertTensorSpecs,
} from '../src/model/synthetic.js';

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

  it('full-size context model sha256 (portable SHA-256) equals the golden', () => {
    const t = performance.now();
    expect(syntheticModelSha256('context', baseConfig)).toBe(golden.sha256.context);
    console.log(`synthetic context sha256 (110.6M params, portable SHA-256): ${(performance.now() - t).toFixed(0)} ms`);
  });

  it('kmed synth folder (question): golden sha256, HF files, and it loads through fileSource', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kmed-synth-'));
    try {
      const dir = join(tmp, 'question');
      const vocabPath = 'test/fixtures/tokenizer/vocab.txt';
      let t = performance.now();
      const result = writeSyntheticFolder('question', dir, vocabPath);
      const writeMs = performance.now() - t;
      expect(result.sha256).toBe(golden.sha256.question);
      expect(result.vocabTokens).toBe(10336);
      expect(statSync(join(dir, 'model.safetensors')).size).toBe(result.safetensorsBytes);
      expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8')));
      expect(JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync('test/fixtures/tokenizer/tokenizer_config.json', 'utf8')));
      expect(readFileSync(join(dir, 'vocab.txt'))).toEqual(readFileSync(vocabPath));
      t = performance.now();
      const backend = createReferenceBackend();
      const src = fileSource(join(dir, 'model.safetensors'));
      const params = loadBertParams(src, baseConfig, backend);
      src.close();
      console.log(`kmed synth question: write ${writeMs.toFixed(0)} ms, load into the reference heap ${(performance.now() - t).toFixed(0)} ms`);
      expect(params.summary.tensorCount).toBe(199);
      const ln = backend.f32(params.layers[11].outputLayerNorm.weight, 768);
      expect(bitsAt(ln, 767)).toBe(0x3f8a3ba6);
      const word = backend.f32(params.wordEmbeddings, 32000 * 768);
      const want = syntheticTensor('question', 'embeddings.word_embeddings.weight', [32000, 768]);
      for (const i of [0, 1, 12345678, 24575999]) expect(word[i]).toBe(want[i]);
      // A vocabulary larger than vocab_size is refused before anything is written.
      const big = join(tmp, 'big-vocab.txt');
      writeFileSync(big, Array.from({ length: 32001 }, (_, i) => `t${i}`).join('\n'));
      expect(() => writeSyntheticFolder('question', join(tmp, 'nope'), big)).toThrow(SynthError);
      expect(() => statSync(join(tmp, 'nope'))).toThrow();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
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

  it('loads straight into the heap from the rule (no file), equal to the streamed file', () => {
    const config = parseBertConfig({ vocab_size: 40, hidden_size: 12, num_hidden_layers: 1, num_attention_heads: 3, intermediate_size: 20, max_position_embeddings: 8 });
    const direct = createReferenceBackend();
    const a = loadBertParamsFromTensors(syntheticTensorSource('context', config), config, direct);
    const chunks: Uint8Array[] = [];
    writeSafetensors((c) => chunks.push(c.slice()), syntheticSafetensorsTensors('context', config));
    const file = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    chunks.reduce((at, c) => (file.set(c, at), at + c.length), 0);
    const viaFile = createReferenceBackend();
    const b = loadBertParams(bytesSource(file, 'small'), config, viaFile);
    expect(a.summary.heapBytes).toBe(b.summary.heapBytes);
    expect(Array.from(direct.f32(a.wordEmbeddings, 40 * 12))).toEqual(Array.from(viaFile.f32(b.wordEmbeddings, 40 * 12)));
    expect(Array.from(direct.f32(a.layers[0].intermediate.weight, 20 * 12))).toEqual(Array.from(syntheticTensor('context', 'encoder.layer.0.intermediate.dense.weight', [20, 12])));
  });
});
