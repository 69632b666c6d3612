// A config that disagrees with the weights is an error naming the tensors that show it (layers past
// num_hidden_layers, another hidden or intermediate size, modules the config does not describe,
// missing tensors), found before anything is allocated — a num_hidden_layers of 100000 or 2^26
// fails at once with a short message. What Hugging Face's BertModel ignores too (position_ids,
// cls.* pre-training heads, task heads) is accepted and listed in summary.ignoredTensors. Every
// message quotes at most a few hundred characters of any input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { ConfigError, parseBertConfig, type BertConfig } from '../src/model/config.js';
import { Encoder } from '../src/encoder.js';
import { KmedError } from '../src/errors/errors.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { quote } from '../src/errors/quote.js';
import { serializeSafetensors, type TensorToWrite } from '../src/formats/safetensors.js';
import { loadBertParams } from '../src/model/weights.js';

const MAX_MESSAGE = 1200;
const fixture = (model: string, file: string) => readFileSync(`test/fixtures/${model}/${file}`);
const configText = fixture('tiny-question', 'config.json').toString('utf8');
const baseConfig = (): BertConfig => parseBertConfig(configText);

/** tiny-question's tensors, optionally renamed/dropped, plus extra tensors, as a new file. */
function rewrite(edit: (name: string) => string | null, extra: TensorToWrite[] = []): Uint8Array {
  const raw = fixture('tiny-question', 'model.safetensors');
  const n = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: TensorToWrite[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const to = edit(name);
    if (to === null) continue;
    out.push({ name: to, dtype: e.dtype, shape: e.shape, bytes: raw.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]) });
  }
  return serializeSafetensors([...out, ...extra]);
}

function loadError(bytes: Uint8Array, config: BertConfig): KmedError {
  try {
    loadBertParams(bytesSource(bytes, 'model.safetensors'), config, createReferenceBackend());
  } catch (error) {
    expect(error).toBeInstanceOf(KmedError);
    expect((error as Error).message.length).toBeLessThan(MAX_MESSAGE);
    return error as KmedError;
  }
  throw new Error('expected the load to be refused');
}

const weights = fixture('tiny-question', 'model.safetensors');
const f32 = (name: string, shape: number[]): TensorToWrite => ({ name, dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

describe('config against weights', () => {
  it('layers past num_hidden_layers: named, with both counts', () => {
    const err = loadError(weights, { ...baseConfig(), num_hidden_layers: 1 });
    expect(err.code).toBe('SAFETENSORS_CONFIG_MISMATCH');
    expect(err.message).toContain('"encoder.layer.1.attention.self.query.weight"');
    expect(err.message).toContain('the weights hold 2 encoder layers but the config says num_hidden_layers 1');
  });

  it.each([100000, 67108864])('num_hidden_layers %i fails at once, with a short message, before any allocation', (layers) => {
    // Counted, not timed: not one byte of the heap is asked for before the refusal.
    const backend = createReferenceBackend();
    let allocs = 0;
    const alloc = backend.alloc.bind(backend);
    backend.alloc = (bytes: number) => (allocs++, alloc(bytes));
    let err: KmedError | undefined;
    try {
      loadBertParams(bytesSource(weights, 'model.safetensors'), { ...baseConfig(), num_hidden_layers: layers }, backend);
    } catch (error) {
      err = error as KmedError;
    }
    expect(allocs).toBe(0);
    expect(err).toBeInstanceOf(KmedError);
    expect(err!.message.length).toBeLessThan(MAX_MESSAGE);
    expect(err!.code).toBe('SAFETENSORS_CONFIG_MISMATCH');
    expect(err!.message).toContain(`num_hidden_layers ${layers}, but the weights hold 2 (encoder.layer.0 to 1)`);
  });

  it('the same through Encoder.fromFiles with a config.json text', async () => {
    const config = configText.replace(/"num_hidden_layers":\s*\d+/, '"num_hidden_layers": 67108864');
    // A generous bound tied to a baseline measured here, so load on the machine scales both: a
    // refusal must not cost more than 20 complete loads of the valid model (a loop or an allocation
    // per claimed layer, 2^26 of them, would).
    const files = { config: configText, vocab: fixture('tiny-question', 'vocab.txt'), weights };
    let t = performance.now();
    (await Encoder.fromFiles(files, { backend: 'reference' })).dispose();
    const baseline = performance.now() - t;
    t = performance.now();
    const error = await Encoder.fromFiles({ ...files, config }, { backend: 'reference' }).then(() => undefined, (e: unknown) => e);
    expect(performance.now() - t, `a valid load took ${baseline.toFixed(0)} ms`).toBeLessThan(Math.max(2000, 20 * baseline));
    expect((error as KmedError).code).toBe('SAFETENSORS_CONFIG_MISMATCH');
    expect((error as Error).message.length).toBeLessThan(400);
  });

  it('another hidden size, intermediate size or vocabulary: shape mismatch naming tensor and both shapes', () => {
    const hidden = loadError(weights, { ...baseConfig(), hidden_size: 32, num_attention_heads: 4 });
    expect(hidden.code).toBe('SAFETENSORS_SHAPE_MISMATCH');
    expect(hidden.message).toMatch(/"embeddings.word_embeddings.weight" has shape \[10336, 64\], config implies \[10336, 32\]/);
    expect(hidden.message).toContain('… and'); // most tensors differ: the list is cut, the count given
    const inter = loadError(weights, { ...baseConfig(), intermediate_size: 100 });
    expect(inter.code).toBe('SAFETENSORS_SHAPE_MISMATCH');
    expect(inter.message).toContain('"encoder.layer.0.intermediate.dense.weight" has shape [128, 64], config implies [100, 64]');
  });

  it('a module the config does not describe (relative-position distance embedding) is an error', () => {
    const err = loadError(rewrite((n) => n, [f32('encoder.layer.0.attention.self.distance_embedding.weight', [1023, 16])]), baseConfig());
    expect(err.code).toBe('SAFETENSORS_CONFIG_MISMATCH');
    expect(err.message).toContain('"encoder.layer.0.attention.self.distance_embedding.weight"');
  });

  it('missing tensors are named; a whole missing layer is a layer-count mismatch', () => {
    const some = loadError(rewrite((n) => (n.startsWith('encoder.layer.1.output.') ? null : n)), baseConfig());
    expect(some.code).toBe('SAFETENSORS_MISSING_TENSOR');
    expect(some.message).toContain('encoder.layer.1.output.dense.weight');
    const layer = loadError(rewrite((n) => (n.startsWith('encoder.layer.1.') ? null : n)), baseConfig());
    expect(layer.code).toBe('SAFETENSORS_CONFIG_MISMATCH');
  });

  it('what BertModel ignores is accepted and listed with its reason: position_ids, cls.*, task heads (plain and bert. names)', () => {
    const bytes = rewrite((n) => `bert.${n}`, [
      { name: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 512], bytes: new Uint8Array(8 * 512) },
      f32('cls.predictions.bias', [10336]),
      f32('cls.predictions.transform.dense.weight', [64, 64]),
      f32('cls.seq_relationship.weight', [2, 64]),
      f32('classifier.weight', [3, 64]),
      f32('qa_outputs.bias', [2]),
    ]);
    const params = loadBertParams(bytesSource(bytes, 'heads'), baseConfig(), createReferenceBackend());
    const reasons = Object.fromEntries(params.summary.ignoredTensors.map((t) => [t.name, t.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['bert.embeddings.position_ids', 'classifier.weight', 'cls.predictions.bias', 'cls.predictions.transform.dense.weight', 'cls.seq_relationship.weight', 'qa_outputs.bias']);
    expect(reasons['bert.embeddings.position_ids']).toMatch(/position_ids/);
    expect(reasons['cls.seq_relationship.weight']).toMatch(/pre-training head/);
    expect(reasons['classifier.weight']).toMatch(/not part of BertModel/);
    expect(params.summary.ignored).toEqual(params.summary.ignoredTensors.map((t) => t.name));
    // Unprefixed position_ids too, and the bert.-prefixed F16 fixture loads with nothing ignored.
    const plain = rewrite((n) => n, [{ name: 'embeddings.position_ids', dtype: 'I64', shape: [1, 512], bytes: new Uint8Array(8 * 512) }]);
    expect(loadBertParams(bytesSource(plain, 'plain'), baseConfig(), createReferenceBackend()).summary.ignored).toEqual(['embeddings.position_ids']);
    const odd = loadBertParams(bytesSource(fixture('tiny-odd-f16', 'model.safetensors'), 'odd'), parseBertConfig(fixture('tiny-odd-f16', 'config.json').toString('utf8')), createReferenceBackend());
    expect(odd.summary.ignored).toEqual([]);
  });
});

describe('messages quote at most a few hundred characters of any input', () => {
  it('config values', () => {
    for (const bad of [{ hidden_act: 'x'.repeat(1_000_000) }, { model_type: ['y'.repeat(1000)].concat(Array(100000).fill('z')) }, { hidden_size: { a: 'b'.repeat(100000) } }]) {
      let caught: unknown;
      try {
        parseBertConfig(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message.length).toBeLessThan(400);
    }
    let caught: unknown;
    try {
      parseBertConfig(`{"a": "${'q'.repeat(100000)}" x}`);
    } catch (error) {
      caught = error;
    }
    expect((caught as ConfigError).code).toBe('CONFIG_NOT_JSON');
    expect((caught as Error).message.length).toBeLessThan(400);
  });

  it('tensor names and shapes from a header', () => {
    const long = 'n'.repeat(200_000);
    const err = loadError(rewrite((n) => n, [f32(`encoder.${long}`, [1])]), baseConfig());
    expect(err.message).toContain('more characters');
    const shape = new Array(50_000).fill(1);
    const header = JSON.stringify({ [long]: { dtype: 'F32', shape, data_offsets: [0, 8] } });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const e2 = loadError(bytes, baseConfig());
    expect(e2.code).toBe('SAFETENSORS_BYTE_LENGTH_MISMATCH');
  });

  it('quote() cuts strings, arrays and objects and says how much was left out', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote('x'.repeat(1000)).length).toBeLessThan(260);
    expect(quote(new Array(1e6).fill(7)).length).toBeLessThan(260);
    expect(quote({ a: 'b'.repeat(1e5) })).toMatch(/more characters\)$/);
    expect(quote(undefined)).toBe('undefined');
    expect(quote(12n)).toBe('"12"');
  });
});
