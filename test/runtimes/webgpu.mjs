// Owns: the module of the WebGPU test page: imports the library's browser entry and the pieces the
// full-size check needs (the synthetic weights, the WebGPU model), and reads fixtures with fetch.
// What runs is decided by the test (test/webgpu-browser.test.ts) through page.evaluate.
import * as lib from '/dist/index.js';
import * as worker from '/dist/worker/index.js';
import { syntheticTensorSource } from '/dist/model/synthetic.js';
import { parseBertConfig } from '/dist/model/config.js';
import { WebGpuBertModel } from '/dist/webgpu/model.js';
import * as kernels from '/dist/webgpu/kernels/index.js';

async function read(path) {
  const response = await fetch(`/fixtures/${path}`);
  if (!response.ok) throw new Error(`GET /fixtures/${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** An EncoderFiles object for a fixture model folder. */
async function modelFiles(dir) {
  const [config, vocab, tokenizerConfig, specialTokensMap, tokenizerJson, weights] = await Promise.all(
    ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'].map((f) => read(`${dir}/${f}`)),
  );
  return { config, vocab, tokenizerConfig, specialTokensMap, tokenizerJson, weights };
}

window.kmed = { lib, worker, read, modelFiles, syntheticTensorSource, parseBertConfig, WebGpuBertModel, kernels };
document.getElementById('out').textContent = 'ready';
