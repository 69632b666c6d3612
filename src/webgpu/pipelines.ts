// Owns: compiling the WGSL kernels (kernels/) into compute pipelines once per device.
// Does not own: the WGSL (kernels/) or when each runs (forward.ts).
import { ATTENTION_WGSL, embeddingsWgsl, LAYER_NORM_WGSL, linearWgsl, LinearEpilogue, POOLER_WGSL } from './kernels/index.js';

export interface WebGpuPipelines {
  linear: GPUComputePipeline;
  linearGelu: GPUComputePipeline;
  linearResidual: GPUComputePipeline;
  attention: GPUComputePipeline;
  layerNorm: GPUComputePipeline;
  gatherWords: GPUComputePipeline;
  addTypePosition: GPUComputePipeline;
  gatherFirst: GPUComputePipeline;
  tanh: GPUComputePipeline;
}

/** `halfWeights`: Linear weights and the word-embedding table are packed f16 (params.ts). */
export function createPipelines(device: GPUDevice, halfWeights: boolean): WebGpuPipelines {
  const module = (label: string, code: string): GPUShaderModule => device.createShaderModule({ label, code });
  const linear = module('linear', linearWgsl(halfWeights));
  const embeddings = module('embeddings', embeddingsWgsl(halfWeights));
  const pooler = module('pooler', POOLER_WGSL);
  const pipe = (label: string, m: GPUShaderModule, entryPoint: string, constants?: Record<string, number>): GPUComputePipeline =>
    device.createComputePipeline({ label, layout: 'auto', compute: { module: m, entryPoint, constants } });
  return {
    linear: pipe('linear', linear, 'main', { EPILOGUE: LinearEpilogue.Bias }),
    linearGelu: pipe('linear+gelu', linear, 'main', { EPILOGUE: LinearEpilogue.BiasGelu }),
    linearResidual: pipe('linear+residual', linear, 'main', { EPILOGUE: LinearEpilogue.BiasResidual }),
    attention: pipe('attention', module('attention', ATTENTION_WGSL), 'main'),
    layerNorm: pipe('layer-norm', module('layer-norm', LAYER_NORM_WGSL), 'main'),
    gatherWords: pipe('gather-words', embeddings, 'gather_words'),
    addTypePosition: pipe('add-type-position', embeddings, 'add_type_position'),
    gatherFirst: pipe('gather-first', pooler, 'gather_first'),
    tanh: pipe('tanh', pooler, 'tanh_rows'),
  };
}
