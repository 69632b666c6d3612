// Owns: reading a Hugging Face BertConfig (config.json) into the few numbers the forward pass
// needs, with Hugging Face's key names and defaults (transformers' configuration_bert.py), and
// refusing configurations this engine would silently compute wrong (other activations, relative
// position embeddings, non-BERT model types).
// Values are quoted in messages at most a few hundred characters long (quote.ts).
// Does not own: the tokenizer's settings (tokenizer_config.json) or any weight shapes (weights.ts,
// which also checks these sizes against the weight file before allocating anything).
import { KmedError } from '../errors/errors.js';
import { MAX_QUOTED_CHARS, quote } from '../errors/quote.js';

export class ConfigError extends KmedError {}

export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** Only "gelu" (exact, erf-based) is supported. */
  hidden_act: 'gelu';
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  /** null when the config says so (it only matters for training). */
  pad_token_id: number | null;
  model_type: 'bert';
}

/** BertConfig() defaults in transformers (configuration_bert.py). */
export const BERT_CONFIG_DEFAULTS: Readonly<BertConfig> = Object.freeze({
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  model_type: 'bert',
});

/** Upper bound for any size: keeps every product of two sizes an exact integer. */
const MAX_SIZE = 2 ** 26;

function clipMessage(text: string): string {
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
}

/**
 * Parse and validate a BERT config.json (text, bytes already decoded, or a parsed object).
 * `fileName` names the file in error messages.
 */
export function parseBertConfig(input: string | object, fileName = 'config.json'): BertConfig {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (error) {
      // V8's message quotes the input around the fault; keep it to one short line.
      throw new ConfigError('CONFIG_NOT_JSON', `${fileName}: not valid JSON: ${clipMessage((error as Error).message)}`, { cause: error });
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('CONFIG_NOT_OBJECT', `${fileName}: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`);
  }
  const obj = raw as Record<string, unknown>;
  const has = (key: string): boolean => Object.hasOwn(obj, key) && obj[key] !== undefined;

  const size = (key: keyof BertConfig, min: number): number => {
    if (!has(key)) return BERT_CONFIG_DEFAULTS[key] as number;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_SIZE) {
      throw new ConfigError('CONFIG_BAD_VALUE', `${fileName}: "${key}" is ${quote(v)}, expected an integer in [${min}, ${MAX_SIZE}]`);
    }
    return v;
  };

  const modelType = has('model_type') ? obj.model_type : 'bert';
  if (modelType !== 'bert') {
    throw new ConfigError('CONFIG_UNSUPPORTED_MODEL', `${fileName}: "model_type" is ${quote(modelType)}; only "bert" is supported`);
  }
  const act = has('hidden_act') ? obj.hidden_act : 'gelu';
  if (act !== 'gelu') {
    throw new ConfigError('CONFIG_UNSUPPORTED_ACTIVATION', `${fileName}: "hidden_act" is ${quote(act)}; only "gelu" (exact erf GELU) is supported`);
  }
  // Relative position embeddings change attention itself; refuse rather than ignore them.
  if (has('position_embedding_type') && obj.position_embedding_type !== 'absolute') {
    throw new ConfigError('CONFIG_UNSUPPORTED_POSITION_EMBEDDING', `${fileName}: "position_embedding_type" is ${quote(obj.position_embedding_type)}; only "absolute" is supported`);
  }

  const config: BertConfig = {
    vocab_size: size('vocab_size', 1),
    hidden_size: size('hidden_size', 1),
    num_hidden_layers: size('num_hidden_layers', 0),
    num_attention_heads: size('num_attention_heads', 1),
    intermediate_size: size('intermediate_size', 1),
    hidden_act: 'gelu',
    max_position_embeddings: size('max_position_embeddings', 1),
    type_vocab_size: size('type_vocab_size', 1),
    layer_norm_eps: BERT_CONFIG_DEFAULTS.layer_norm_eps,
    pad_token_id: BERT_CONFIG_DEFAULTS.pad_token_id,
    model_type: 'bert',
  };

  if (has('layer_norm_eps')) {
    const eps = obj.layer_norm_eps;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
      throw new ConfigError('CONFIG_BAD_VALUE', `${fileName}: "layer_norm_eps" is ${quote(eps)}, expected a positive finite number`);
    }
    config.layer_norm_eps = eps;
  }
  if (has('pad_token_id')) {
    const pad = obj.pad_token_id;
    if (pad !== null && (typeof pad !== 'number' || !Number.isInteger(pad) || pad < 0 || pad >= config.vocab_size)) {
      throw new ConfigError('CONFIG_BAD_VALUE', `${fileName}: "pad_token_id" is ${quote(pad)}, expected null or an integer in [0, vocab_size ${config.vocab_size})`);
    }
    config.pad_token_id = pad as number | null;
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new ConfigError('CONFIG_HEADS_MISMATCH', `${fileName}: "hidden_size" ${config.hidden_size} is not divisible by "num_attention_heads" ${config.num_attention_heads}`);
  }
  return config;
}
