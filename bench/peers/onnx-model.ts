// Owns: turning test/fixtures/synthetic-base-onnx/ (torch's export of the context-seed synthetic BERT,
// large weights stripped) into a runnable ONNX model for the onnxruntime peers: a copy of model.onnx
// beside a filled model.onnx.data, in a git-ignored cache folder. The float32 values come from the
// very safetensors file our engine loads (`kmed synth --seed context`), so the peers and we run the
// same bytes. Checks, before writing anything: every external initializer of the graph has exactly
// the map's location, offset, length and shape; the map's ranges tile the data file; each weight's
// shape matches (transposed where the map says so); and every weight the graph keeps inline (biases,
// LayerNorms) equals the safetensors value bit for bit — which proves the seed is right.
// Does not own: running the model (bench/peers/ort-*.ts), the synthetic rule (src/model/synthetic.ts) or
// the safetensors format (src/formats/safetensors.ts).
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ByteSource } from '../../src/formats/byte-source.js';
import { fileSource } from '../../src/node/fs/file-source.js';
import { parseSafetensorsHeader, readTensorF32, type SafetensorsHeader } from '../../src/formats/safetensors.js';
import { ONNX_FLOAT, parseOnnxModel, type OnnxGraphSummary } from './onnx-proto.js';

export interface WeightsMapEntry {
  initializer: string;
  /** Hugging Face BertModel parameter name. */
  param: string;
  /** True when the ONNX initializer is the parameter's transpose (torch folds Linear weights as W^T). */
  transpose: boolean;
  /** Shape of the ONNX initializer (already transposed when `transpose`). */
  shape: number[];
  offset: number;
  length: number;
}

export interface WeightsMap {
  data_file: string;
  total_bytes: number;
  entries: WeightsMapEntry[];
}

export interface MaterializedOnnx {
  /** Path of the model.onnx copy; its external data file lies beside it. */
  modelPath: string;
  dataPath: string;
  /** Name of the data file as the graph refers to it (what ort-web's externalData `path` must be). */
  dataFile: string;
  graph: OnnxGraphSummary;
  /** True when the cache was already up to date. */
  cached: boolean;
  /** Inline initializers checked bit for bit against the safetensors file. */
  inlineChecked: number;
}

function fail(message: string): never {
  throw new Error(`onnx-model: ${message}`);
}

const prod = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Graph and map must describe the same external layout; returns the entries sorted by offset. */
function checkMapAgainstGraph(graph: OnnxGraphSummary, map: WeightsMap, where: string): WeightsMapEntry[] {
  const byInit = new Map(map.entries.map((e) => [e.initializer, e]));
  if (byInit.size !== map.entries.length) fail(`${where}: weights-map.json names an initializer twice`);
  const external = graph.initializers.filter((i) => i.external !== null);
  if (external.length !== map.entries.length) {
    fail(`${where}: the graph has ${external.length} external initializers, weights-map.json ${map.entries.length}`);
  }
  for (const init of external) {
    const e = byInit.get(init.name);
    const ext = init.external!;
    if (!e) fail(`${where}: external initializer '${init.name}' is not in weights-map.json`);
    if (ext.location !== map.data_file) fail(`${where}: '${init.name}' points at '${ext.location}', the map at '${map.data_file}'`);
    if (ext.offset !== e.offset || ext.length !== e.length) {
      fail(`${where}: '${init.name}' is at [${ext.offset}, +${ext.length}) in the graph, [${e.offset}, +${e.length}) in the map`);
    }
    if (!sameShape(init.dims, e.shape)) fail(`${where}: '${init.name}' has dims [${init.dims}] in the graph, [${e.shape}] in the map`);
    if (init.dataType !== ONNX_FLOAT) fail(`${where}: '${init.name}' has ONNX data type ${init.dataType}, expected FLOAT (1)`);
    if (e.length !== 4 * prod(e.shape)) fail(`${where}: '${init.name}' is ${e.length} bytes for shape [${e.shape}]`);
  }
  const sorted = [...map.entries].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const e of sorted) {
    // torch aligns external tensors; a gap is fine, an overlap would make two weights share bytes.
    if (e.offset < end) fail(`${where}: '${e.initializer}' at byte ${e.offset} overlaps the previous entry (ends at ${end})`);
    end = e.offset + e.length;
  }
  if (end > map.total_bytes) fail(`${where}: entries end at byte ${end}, past total_bytes ${map.total_bytes}`);
  return sorted;
}

/** Every inline initializer named like a checkpoint tensor must hold exactly its bytes. */
function checkInlineWeights(graph: OnnxGraphSummary, source: ByteSource, header: SafetensorsHeader): number {
  let checked = 0;
  for (const init of graph.initializers) {
    if (init.external !== null || init.raw === null) continue;
    const info = header.tensors.get(init.name);
    if (!info) continue; // constants of the graph (val_9, position_ids, ...)
    if (!sameShape(info.shape, init.dims)) fail(`inline '${init.name}' has dims [${init.dims}], the checkpoint [${info.shape}]`);
    const ours = new Float32Array(prod(info.shape));
    readTensorF32(source, header, init.name, ours);
    const oursBits = new Uint32Array(ours.buffer);
    const theirs = new DataView(init.raw.buffer, init.raw.byteOffset, init.raw.byteLength);
    if (init.raw.byteLength !== ours.byteLength) fail(`inline '${init.name}' has ${init.raw.byteLength} bytes, expected ${ours.byteLength}`);
    for (let i = 0; i < ours.length; i++) {
      const t = theirs.getUint32(i * 4, true);
      if (t !== oursBits[i]) {
        fail(`inline '${init.name}'[${i}] is 0x${t.toString(16)} in model.onnx but 0x${oursBits[i].toString(16)} in ${source.name}: ` +
          'the checkpoint is not the context-seed synthetic model the graph was exported from');
      }
    }
    checked++;
  }
  return checked;
}

/** out[c, r] = a[r, c] for a [R, C] matrix. Blocked so both sides stay in cache. */
function transpose(out: Float32Array, a: Float32Array, R: number, C: number): void {
  const BLOCK = 64;
  for (let r0 = 0; r0 < R; r0 += BLOCK) {
    for (let c0 = 0; c0 < C; c0 += BLOCK) {
      const r1 = Math.min(R, r0 + BLOCK);
      const c1 = Math.min(C, c0 + BLOCK);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * R + r] = a[r * C + c];
    }
  }
}

function fileStamp(path: string): string {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}`;
}

/**
 * Make `${outDir}/model.onnx` + its data file from `onnxDir` (model.onnx, weights-map.json) and a
 * safetensors checkpoint of the same model. Reuses the cache when its stamp (inputs' size and mtime)
 * still matches; writes to a temporary name and renames, so an interrupted run never leaves a
 * half-filled file that looks valid.
 */
export function materializeOnnxModel(opts: { onnxDir: string; safetensorsPath: string; outDir: string; log?: (line: string) => void }): MaterializedOnnx {
  const log = opts.log ?? (() => {});
  const onnxPath = join(opts.onnxDir, 'model.onnx');
  const mapPath = join(opts.onnxDir, 'weights-map.json');
  const onnxBytes = new Uint8Array(readFileSync(onnxPath));
  const graph = parseOnnxModel(onnxBytes);
  const map = JSON.parse(readFileSync(mapPath, 'utf8')) as WeightsMap;
  const entries = checkMapAgainstGraph(graph, map, onnxPath);

  mkdirSync(opts.outDir, { recursive: true });
  const modelPath = join(opts.outDir, 'model.onnx');
  const dataPath = join(opts.outDir, map.data_file);
  const stampPath = join(opts.outDir, 'stamp.json');
  const stamp = JSON.stringify({
    onnx: createHash('sha256').update(onnxBytes).digest('hex'),
    map: createHash('sha256').update(readFileSync(mapPath)).digest('hex'),
    weights: fileStamp(opts.safetensorsPath),
  });

  const source = fileSource(opts.safetensorsPath);
  try {
    const header = parseSafetensorsHeader(source);
    // Cheap, and catches a checkpoint of the wrong seed even when the cache is reused.
    const inlineChecked = checkInlineWeights(graph, source, header);
    if (existsSync(stampPath) && existsSync(modelPath) && existsSync(dataPath) &&
        readFileSync(stampPath, 'utf8') === stamp && statSync(dataPath).size === map.total_bytes) {
      return { modelPath, dataPath, dataFile: map.data_file, graph, cached: true, inlineChecked };
    }

    log(`writing ${dataPath} (${(map.total_bytes / 2 ** 20).toFixed(0)} MiB, ${entries.length} tensors)`);
    const tmpPath = `${dataPath}.tmp-${process.pid}`;
    const fd = openSync(tmpPath, 'w');
    try {
      ftruncateSync(fd, map.total_bytes);
      for (const e of entries) {
        const info = header.tensors.get(e.param);
        if (!info) fail(`${source.name} has no tensor '${e.param}' (needed for initializer '${e.initializer}')`);
        const expected = e.transpose ? [...e.shape].reverse() : e.shape;
        if (!sameShape(info.shape, expected)) {
          fail(`'${e.param}' is [${info.shape}] in ${source.name}; initializer '${e.initializer}' [${e.shape}]${e.transpose ? ' transposed' : ''} needs [${expected}]`);
        }
        const values = new Float32Array(prod(info.shape));
        readTensorF32(source, header, e.param, values);
        let out = values;
        if (e.transpose) {
          if (info.shape.length !== 2) fail(`'${e.param}' is to be transposed but has ${info.shape.length} dims`);
          out = new Float32Array(values.length);
          transpose(out, values, info.shape[0], info.shape[1]);
        }
        // ONNX external data is little-endian, as is every host this bench runs on (x86, arm64).
        const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        let done = 0;
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, e.offset + done);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmpPath, dataPath);
    copyFileSync(onnxPath, modelPath);
    writeFileSync(stampPath, stamp);
    return { modelPath, dataPath, dataFile: map.data_file, graph, cached: false, inlineChecked };
  } finally {
    source.close();
  }
}
