// Owns: the list of Hugging Face BertModel parameters — names and shapes — implied by a config,
// in BertModel's own order (modeling_bert.py: embeddings, encoder.layer.{i}, pooler).
// Linear weights are [out, in] as nn.Linear stores them. Shared by weights.ts (what to load) and
// synthetic.ts (what to generate), which other checkpoint names BertModel ignores (the rest
// contradict the config), and the module tree those names form (bertModuleTree: one shape for every
// backend's parameter handles). Does not own reading or generating any values.
import type { BertConfig } from './config.js';

export type BertTensorKind = 'embedding' | 'linear-weight' | 'bias' | 'layernorm';

export interface BertTensorSpec {
  /** BertModel state_dict name, without a `bert.` prefix. */
  name: string;
  shape: number[];
  kind: BertTensorKind;
}

type Sizes = Pick<BertConfig, 'vocab_size' | 'hidden_size' | 'num_hidden_layers' | 'intermediate_size' | 'max_position_embeddings' | 'type_vocab_size'>;

export function bertTensorSpecs(config: Sizes): BertTensorSpec[] {
  const C = config.hidden_size;
  const I = config.intermediate_size;
  const specs: BertTensorSpec[] = [
    { name: 'embeddings.word_embeddings.weight', shape: [config.vocab_size, C], kind: 'embedding' },
    { name: 'embeddings.position_embeddings.weight', shape: [config.max_position_embeddings, C], kind: 'embedding' },
    { name: 'embeddings.token_type_embeddings.weight', shape: [config.type_vocab_size, C], kind: 'embedding' },
    { name: 'embeddings.LayerNorm.weight', shape: [C], kind: 'layernorm' },
    { name: 'embeddings.LayerNorm.bias', shape: [C], kind: 'layernorm' },
  ];
  const linear = (name: string, OUT: number, IN: number): void => {
    specs.push({ name: `${name}.weight`, shape: [OUT, IN], kind: 'linear-weight' });
    specs.push({ name: `${name}.bias`, shape: [OUT], kind: 'bias' });
  };
  const layerNorm = (name: string): void => {
    specs.push({ name: `${name}.weight`, shape: [C], kind: 'layernorm' });
    specs.push({ name: `${name}.bias`, shape: [C], kind: 'layernorm' });
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    linear(`${p}attention.self.query`, C, C);
    linear(`${p}attention.self.key`, C, C);
    linear(`${p}attention.self.value`, C, C);
    linear(`${p}attention.output.dense`, C, C);
    layerNorm(`${p}attention.output.LayerNorm`);
    linear(`${p}intermediate.dense`, I, C);
    linear(`${p}output.dense`, C, I);
    layerNorm(`${p}output.LayerNorm`);
  }
  linear('pooler.dense', C, C);
  return specs;
}

/** BertModel's own name of a checkpoint name: the `bert.` prefix of task models removed. */
export function bertModelName(name: string): string {
  return name.startsWith('bert.') ? name.slice(5) : name;
}

/** The layer index of an `encoder.layer.{i}.` name (with or without `bert.`), or undefined. */
export function layerIndexOf(name: string): number | undefined {
  const m = /^encoder\.layer\.(\d{1,9})\./.exec(bertModelName(name));
  return m ? Number(m[1]) : undefined;
}

/**
 * Why a checkpoint tensor that BertModel does not load is harmless, or undefined when it shows the
 * config disagrees with the weights. Hugging Face's BertModel ignores the same ones: the
 * `position_ids` buffer older checkpoints store, and everything outside the BertModel tree — the
 * `cls.*` pre-training heads and task heads (classifier, qa_outputs, ...). A name inside the tree
 * (embeddings., encoder., pooler.) that the config does not describe — a layer past
 * num_hidden_layers, relative-position distance embeddings — means the config is not this model's.
 */
export function ignoredTensorReason(name: string): string | undefined {
  const own = bertModelName(name);
  if (own === 'embeddings.position_ids') return 'position_ids buffer (recomputed, as in BertModel)';
  if (own.startsWith('cls.')) return 'pre-training head (cls.*), not part of BertModel';
  if (/^(embeddings|encoder|pooler)\./.test(own)) return undefined;
  return 'not part of BertModel (a task head or other module)';
}

/** One encoder layer's modules, with whatever handle a backend keeps per Linear (L) and LayerNorm (N). */
export interface BertLayerModules<L, N> {
  query: L;
  key: L;
  value: L;
  attentionOutput: L;
  attentionLayerNorm: N;
  intermediate: L;
  output: L;
  outputLayerNorm: N;
}

/** The Linears and LayerNorms of BertModel, built from module names (`encoder.layer.3.intermediate.dense`)
 *  by the backend's own constructors, so the wasm and WebGPU loaders share one map of the tree. */
export function bertModuleTree<L, N>(
  config: Pick<BertConfig, 'hidden_size' | 'intermediate_size' | 'num_hidden_layers'>,
  linear: (name: string, outFeatures: number, inFeatures: number) => L,
  layerNorm: (name: string) => N,
): { embeddingsLayerNorm: N; layers: BertLayerModules<L, N>[]; pooler: L } {
  const C = config.hidden_size;
  const I = config.intermediate_size;
  const layers: BertLayerModules<L, N>[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const q = `encoder.layer.${l}.`;
    layers.push({
      query: linear(`${q}attention.self.query`, C, C),
      key: linear(`${q}attention.self.key`, C, C),
      value: linear(`${q}attention.self.value`, C, C),
      attentionOutput: linear(`${q}attention.output.dense`, C, C),
      attentionLayerNorm: layerNorm(`${q}attention.output.LayerNorm`),
      intermediate: linear(`${q}intermediate.dense`, I, C),
      output: linear(`${q}output.dense`, C, I),
      outputLayerNorm: layerNorm(`${q}output.LayerNorm`),
    });
  }
  return { embeddingsLayerNorm: layerNorm('embeddings.LayerNorm'), layers, pooler: linear('pooler.dense', C, C) };
}
