// BertConfig parsing: Hugging Face defaults for absent keys, the fixtures' configs read as they are,
// and every bad config refused with a ConfigError whose code and message name the key at fault.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BERT_CONFIG_DEFAULTS, ConfigError, parseBertConfig } from '../src/model/config.js';

function expectConfigError(input: string | object, code: string, ...mentions: string[]): void {
  let caught: unknown;
  try {
    parseBertConfig(input, 'my/config.json');
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ConfigError ${code}`).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).code).toBe(code);
  expect((caught as ConfigError).message).toContain('my/config.json');
  for (const m of mentions) expect((caught as ConfigError).message).toContain(m);
}

describe('parseBertConfig', () => {
  it('reads the fixtures configs (text) with their own values', () => {
    const odd = parseBertConfig(readFileSync('test/fixtures/tiny-odd-f16/config.json', 'utf8'), 'tiny-odd-f16/config.json');
    expect(odd).toMatchObject({ hidden_size: 36, num_hidden_layers: 3, num_attention_heads: 3, intermediate_size: 50, vocab_size: 10336, layer_norm_eps: 1e-12, pad_token_id: 0 });
    const base = parseBertConfig(JSON.parse(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8')));
    expect(base).toMatchObject({ hidden_size: 768, vocab_size: 32000, intermediate_size: 3072, max_position_embeddings: 512, type_vocab_size: 2 });
  });

  it('fills Hugging Face defaults for absent keys', () => {
    expect(parseBertConfig({})).toEqual(BERT_CONFIG_DEFAULTS);
    expect(parseBertConfig('{"hidden_size": 64, "num_attention_heads": 4, "pad_token_id": null}')).toMatchObject({ hidden_size: 64, intermediate_size: 3072, vocab_size: 30522, pad_token_id: null });
  });

  it('refuses bad configs with a code naming the key', () => {
    expectConfigError('{"hidden_size": 64,', 'CONFIG_NOT_JSON');
    expectConfigError('[1]', 'CONFIG_NOT_OBJECT');
    expectConfigError('null', 'CONFIG_NOT_OBJECT');
    expectConfigError({ hidden_act: 'relu' }, 'CONFIG_UNSUPPORTED_ACTIVATION', '"relu"');
    expectConfigError({ hidden_act: 'gelu_new' }, 'CONFIG_UNSUPPORTED_ACTIVATION', 'gelu_new');
    expectConfigError({ model_type: 'roberta' }, 'CONFIG_UNSUPPORTED_MODEL', 'roberta');
    expectConfigError({ position_embedding_type: 'relative_key' }, 'CONFIG_UNSUPPORTED_POSITION_EMBEDDING', 'relative_key');
    expectConfigError({ hidden_size: 100, num_attention_heads: 12 }, 'CONFIG_HEADS_MISMATCH', '100', '12');
    expectConfigError({ hidden_size: '768' }, 'CONFIG_BAD_VALUE', 'hidden_size');
    expectConfigError({ hidden_size: 76.8 }, 'CONFIG_BAD_VALUE', 'hidden_size');
    expectConfigError({ num_attention_heads: 0 }, 'CONFIG_BAD_VALUE', 'num_attention_heads');
    expectConfigError({ vocab_size: -1 }, 'CONFIG_BAD_VALUE', 'vocab_size');
    expectConfigError({ intermediate_size: 1e12 }, 'CONFIG_BAD_VALUE', 'intermediate_size');
    expectConfigError({ num_hidden_layers: true }, 'CONFIG_BAD_VALUE', 'num_hidden_layers');
    expectConfigError({ layer_norm_eps: 0 }, 'CONFIG_BAD_VALUE', 'layer_norm_eps');
    expectConfigError({ layer_norm_eps: '1e-12' }, 'CONFIG_BAD_VALUE', 'layer_norm_eps');
    expectConfigError({ pad_token_id: 40000, vocab_size: 32000 }, 'CONFIG_BAD_VALUE', 'pad_token_id');
  });
});
