// Finite or refused: a NaN or ±Infinity anywhere in the weights is refused while loading, naming
// the tensor and the element, on every load path (f32 heap, packed Linear, f16/int8 chunks, word
// embeddings left in the file and read per row); `allowNonFinite` lets such a model load, and then
// the Encoder still refuses any non-finite embedding (ENCODER_NON_FINITE_OUTPUT), as it does when
// finite weights overflow inside the model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Encoder, EncoderError, type EncoderOptions } from '../src/encoder.js';
import { KmedError } from '../src/errors/errors.js';
import { firstNonFinite } from '../src/model/finite.js';

const DIR = 'test/fixtures/tiny-question';
const read = (n: string) => readFileSync(`${DIR}/${n}`);
const weights = read('model.safetensors');
const config = JSON.parse(read('config.json').toString('utf8')) as { vocab_size: number; hidden_size: number; num_hidden_layers: number };

/** The fixture's weights with element `index` of tensor `name` (F32) set to `value`. */
function damaged(name: string, index: number, value: number): Uint8Array {
  const n = Number(weights.readBigUInt64LE(0));
  const header = JSON.parse(weights.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const out = Buffer.from(weights);
  out.writeFloatLE(value, 8 + n + header[name].data_offsets[0] + 4 * index);
  return out;
}

function encoder(bytes: Uint8Array, options: EncoderOptions = {}): Promise<Encoder> {
  return Encoder.fromFiles({ config: read('config.json'), vocab: read('vocab.txt'), tokenizerConfig: read('tokenizer_config.json'), weights: bytes }, { backend: 'reference', ...options });
}

async function failure(p: Promise<unknown>): Promise<KmedError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error, 'expected a typed error').toBeInstanceOf(KmedError);
  return error as KmedError;
}

describe('non-finite weights', () => {
  const C = config.hidden_size;
  it.each([
    ['pooler.dense.bias', 5, NaN, 'f32', '[5]'],
    ['embeddings.LayerNorm.weight', C - 1, Infinity, 'f32', `[${C - 1}]`],
    ['encoder.layer.0.attention.self.query.weight', C + 3, -Infinity, 'f32', '[1, 3]'],
    ['encoder.layer.1.intermediate.dense.weight', 20 * C + 7, NaN, 'int8', '[20, 7]'],
    ['encoder.layer.1.output.dense.weight', 1000, NaN, 'f16', null],
    ['embeddings.word_embeddings.weight', 777 * C + 2, NaN, 'f32', '[777, 2]'],
    ['embeddings.word_embeddings.weight', 5000 * C, Infinity, 'int8', '[5000, 0]'],
  ] as const)('%s element %i = %s (%s, heap) is refused at load, naming tensor and element', async (name, index, value, dtype, coords) => {
    const err = await failure(encoder(damaged(name, index, value), { dtype, wordEmbeddings: 'heap' }));
    expect(err.code).toBe('SAFETENSORS_NON_FINITE');
    expect(err.message).toContain(`"${name}"`);
    expect(err.message).toContain(`element ${index}`);
    expect(err.message).toContain(String(value));
    if (coords) expect(err.message).toContain(`index ${coords}`);
  });

  it('word embeddings left in the file: a damaged row is refused when it is read', async () => {
    const bad = 1234;
    const enc = await encoder(damaged('embeddings.word_embeddings.weight', bad * C + 9, NaN), { wordEmbeddings: 'source' });
    // Rows that are fine still embed.
    const ok = await enc.embedIds([[2, 5, 3]]);
    expect(firstNonFinite(ok[0])).toBe(-1);
    const err = await failure(enc.embedIds([[2, 5, 3], [2, bad, 3]]));
    expect(err.code).toBe('SAFETENSORS_NON_FINITE');
    expect(err.message).toContain(`element ${bad * C + 9}`);
    expect(err.message).toContain(`[${bad}, 9]`);
    // The encoder stays usable after the refusal (scratch released).
    expect(firstNonFinite((await enc.embedIds([[2, 6, 3]]))[0])).toBe(-1);
    enc.dispose();
  });

  it('allowNonFinite loads the damaged model, and embed refuses the NaN embedding naming the input', async () => {
    const enc = await encoder(damaged('pooler.dense.bias', 5, NaN), { allowNonFinite: true });
    const err = await failure(enc.embedIds([[2, 5, 3], [2, 6, 7, 3]]));
    expect(err).toBeInstanceOf(EncoderError);
    expect(err.code).toBe('ENCODER_NON_FINITE_OUTPUT');
    expect(err.message).toMatch(/^input [01]: the pooler embedding holds NaN at dimension 5/);
    let raw: unknown;
    try {
      enc.forwardIds([[2, 5, 3]]);
    } catch (error) {
      raw = error;
    }
    expect((raw as EncoderError).code).toBe('ENCODER_NON_FINITE_OUTPUT');
    // cls pooling does not go through the pooler: those embeddings are finite and returned.
    const cls = await enc.embedIds([[2, 5, 3]], { pooling: 'cls' });
    expect(firstNonFinite(cls[0])).toBe(-1);
    enc.dispose();
  });

  it('finite weights that overflow inside the model: an error naming the input, never a NaN vector', async () => {
    // The last layer's output projection at ±3e38: its products overflow to ±Infinity, and the
    // LayerNorm after it turns those into NaN. Every weight is finite, so the load succeeds.
    const name = `encoder.layer.${config.num_hidden_layers - 1}.output.dense.weight`;
    let bytes = damaged(name, 0, 3e38);
    for (let k = 1; k < 64; k++) bytes = Buffer.from(damagedFrom(bytes, name, k, k % 2 ? -3e38 : 3e38));
    const enc = await encoder(bytes);
    const err = await failure(enc.embed(['안녕하세요', '두통이 심해요'], { pooling: 'mean' }));
    expect(err.code).toBe('ENCODER_NON_FINITE_OUTPUT');
    expect(err.message).toMatch(/^input [01]: the mean embedding holds (NaN|-?Infinity)/);
    enc.dispose();
  });

  it('firstNonFinite finds the first NaN/Infinity and passes finite runs (−0, subnormals, max)', () => {
    expect(firstNonFinite(new Float32Array([0, -0, 1e-45, 3.4028234663852886e38, -3.4028234663852886e38]))).toBe(-1);
    expect(firstNonFinite(new Float32Array([1, 2, NaN, Infinity]))).toBe(2);
    expect(firstNonFinite(new Float32Array([1, -Infinity]))).toBe(1);
    expect(firstNonFinite(new Float32Array(0))).toBe(-1);
  });
});

function damagedFrom(bytes: Uint8Array, name: string, index: number, value: number): Uint8Array {
  const buf = Buffer.from(bytes);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  buf.writeFloatLE(value, 8 + n + header[name].data_offsets[0] + 4 * index);
  return buf;
}
