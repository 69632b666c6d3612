// Owns: getting a BERT's weights into the kernel heap as BertParams — finding each BertModel
// tensor under its Hugging Face name (plain, `bert.`-prefixed, or old LayerNorm gamma/beta),
// checking the config against the weights before anything is allocated (layer count, every shape,
// no tensor left over that BertModel would not ignore), and copying values straight into their
// final heap place with bounded extra memory (one Linear-sized scratch region; F16/BF16 via 64 KiB
// chunks), each run of values checked for NaN/±Infinity as it passes (finite.ts).
// Does not own: the file format (safetensors.ts), the names/shapes list and which extra names are
// harmless (bert-tensors.ts), or what the parameters mean (bert.ts).
//
// Memory: every destination is allocated first (so the heap grows before any view is taken),
// then a scratch region on top for Linear weights, released at the end. Peak ≈ the weights once
// plus one Linear weight, never two full copies.
import type { BertParams, LayerNormParams, LinearParams, WeightDtype } from './bert-params.js';
import type { TensorSource } from '../formats/tensor-source.js';
import { bertModuleTree, bertTensorSpecs, ignoredTensorReason, layerIndexOf, type BertTensorSpec } from './bert-tensors.js';
import { formatShape, MAX_QUOTED_CHARS, quote } from '../errors/quote.js';
import type { ByteSource } from '../formats/byte-source.js';
import type { BertConfig } from './config.js';
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import { checkFinite, type FiniteCheck } from './finite.js';
import { isLowPrecision, loadLowPrecision, lowPrecisionBytes, lowPrecisionScratchFloats, WORD_EMBEDDINGS } from './weights-lowp.js';
import { WORD_EMBEDDING_PLACEMENTS, wordEmbeddingSource, type WordEmbeddingPlacement } from './word-embedding-source.js';
import { resolveDtype, type DtypeOption } from './dtype.js';
import { checkOptionValue } from '../options/check-options.js';
import {
  numel,
  parseSafetensorsHeader,
  readTensorInfoF32,
  SafetensorsError,
  type SafetensorsHeader,
  type SkippedTensor,
} from '../formats/safetensors.js';

export type { TensorSource } from '../formats/tensor-source.js';

export interface IgnoredTensor {
  name: string;
  reason: string;
}

export interface WeightsSummary {
  source: string;
  /** BertModel tensors loaded. */
  tensorCount: number;
  /** Tensors in the source, all dtypes. */
  sourceTensorCount: number;
  /** How many loaded tensors came in each dtype. */
  dtypes: Record<string, number>;
  /** Source names the model did not use, all of them ones Hugging Face's BertModel ignores too
   *  (position_ids, cls.* pre-training heads, task heads); any other unused tensor is an error. */
  ignored: string[];
  /** The same, each with the reason it is harmless (for verbose output). */
  ignoredTensors: IgnoredTensor[];
  /** Tensors of a dtype that is never read, with the reason. */
  skipped: SkippedTensor[];
  /** Bytes of heap taken by the parameters (after packing). */
  heapBytes: number;
}

/** BertParams plus a summary of where they came from (for diagnostics). */
export interface LoadedBertParams extends BertParams {
  summary: WeightsSummary;
}

export interface LoadOptions {
  /** An already parsed header of the same source (saves re-reading it). */
  header?: SafetensorsHeader;
  /** Called after each tensor with the elements loaded so far and in total. */
  onProgress?: (loaded: number, total: number) => void;
  /** How Linear weights and word embeddings are stored (default 'f32'): 'f16' halves them, 'int8'
   *  quarters them (per-output-channel scales; activations quantized per row at run time). */
  dtype?: DtypeOption;
  /** Where the word-embedding table lives (default 'heap'): 'source' leaves it in `tensors` and
   *  reads the rows each forward pass needs (word-embedding-source.ts); the source must then stay
   *  readable for the model's life. Outputs are bitwise the same either way. */
  wordEmbeddings?: WordEmbeddingPlacement;
  /** Accept NaN and ±Infinity in the weights (default false: such a tensor is refused with
   *  SAFETENSORS_NON_FINITE naming the tensor and element, as it is found while loading). Only for
   *  inspecting a damaged model: its outputs will not be finite, and the Encoder refuses those. */
  allowNonFinite?: boolean;
}

/** A TensorSource over a safetensors file. */
export function safetensorsTensorSource(source: ByteSource, header: SafetensorsHeader = parseSafetensorsHeader(source)): TensorSource & { header: SafetensorsHeader } {
  const entries = [...header.tensors.values(), ...header.skipped.map((s) => ({ ...s, begin: Infinity }))];
  const order = entries.sort((a, b) => a.begin - b.begin).map((e) => e.name);
  const skipped = new Map(header.skipped.map((s) => [s.name, s]));
  return {
    name: header.fileName,
    header,
    names: () => order,
    checkUnchanged: source.checkUnchanged?.bind(source),
    info(name) {
      const t = header.tensors.get(name);
      if (t) return { dtype: t.dtype, shape: t.shape, readable: true };
      const s = skipped.get(name);
      return s && { dtype: s.dtype, shape: s.shape, readable: false };
    },
    read(name, dst) {
      const t = header.tensors.get(name);
      if (!t) throw new SafetensorsError('SAFETENSORS_MISSING_TENSOR', `${header.fileName}: no readable tensor "${name}"`);
      readTensorInfoF32(source, header, t, dst);
    },
    readRange(name, start, dst) {
      const t = header.tensors.get(name);
      if (!t) throw new SafetensorsError('SAFETENSORS_MISSING_TENSOR', `${header.fileName}: no readable tensor "${name}"`);
      const n = numel(t.shape);
      if (!Number.isInteger(start) || start < 0 || start + dst.length > n) {
        throw new SafetensorsError('SAFETENSORS_DESTINATION_SIZE', `${header.fileName}: elements [${start}, ${start + dst.length}) of "${name}" are outside its ${n}`);
      }
      // The same reader over a slice: a 1-D tensor of dst.length elements starting `start` in.
      const size = t.dtype === 'F32' ? 4 : 2;
      const begin = t.begin + start * size;
      readTensorInfoF32(source, header, { ...t, shape: [dst.length], begin, end: begin + dst.length * size }, dst);
    },
  };
}

/**
 * Load a Hugging Face BERT checkpoint (safetensors bytes) into `backend`'s heap.
 * Throws SafetensorsError naming every missing tensor, or each tensor whose shape contradicts
 * the config (expected vs actual).
 */
export function loadBertParams(source: ByteSource, config: BertConfig, backend: KernelBackend, options: LoadOptions = {}): LoadedBertParams {
  const tensors = safetensorsTensorSource(source, options.header);
  const params = loadBertParamsFromTensors(tensors, config, backend, options);
  params.summary.skipped = tensors.header.skipped;
  return params;
}

/** Candidate source names for a BertModel name: plain, `bert.`-prefixed, then old gamma/beta names. */
function candidates(name: string): string[] {
  const names = [name, `bert.${name}`];
  const old = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
  if (old !== name) names.push(old, `bert.${old}`);
  return names;
}

const fmt = (shape: readonly number[]): string => formatShape(shape);

/** The first few items of a list, joined, with how many were left out: messages stay one short line. */
function listSome(items: readonly string[], sep: string, max = 12): string {
  // Items are already quoted (quote.ts) or built from short parts; this only bounds the worst case.
  const limit = 2 * MAX_QUOTED_CHARS;
  const shown = items.slice(0, max).map((t) => (t.length > limit ? `${t.slice(0, limit)}…` : t)).join(sep);
  return items.length > max ? `${shown}${sep}… and ${items.length - max} more` : shown;
}

/** Load BertParams from any TensorSource (a safetensors file, or synthetic weights). */
/** What loading needs to know about a source before reading a value: the BertModel tensors the
 *  config implies (in BertModel's order), the source name each is found under, and the source
 *  tensors BertModel ignores too. Every missing, misshapen or contradicting tensor is refused here
 *  (SafetensorsError), so each loader (this heap one, the WebGPU upload) checks the same way. */
export interface ResolvedBertTensors {
  specs: BertTensorSpec[];
  /** BertModel name -> source name. */
  resolved: Map<string, string>;
  ignoredTensors: IgnoredTensor[];
}

/** Resolve and check a source's tensors against a config (see ResolvedBertTensors). */
export function resolveBertTensors(tensors: TensorSource, config: BertConfig): ResolvedBertTensors {
  // Config sizes against the source before anything is built: a num_hidden_layers of 100000 would
  // otherwise list 1.6 million expected tensors (and a 75 MB "missing" message) before failing.
  const layersInSource = tensors.names().reduce((n, name) => Math.max(n, (layerIndexOf(name) ?? -1) + 1), 0);
  if (config.num_hidden_layers > layersInSource) {
    throw new SafetensorsError('SAFETENSORS_CONFIG_MISMATCH', `${tensors.name}: the config says num_hidden_layers ${config.num_hidden_layers}, but the weights hold ${layersInSource === 0 ? 'no encoder layers' : `${layersInSource} (encoder.layer.0 to ${layersInSource - 1})`}: this config.json does not belong to these weights`);
  }
  const specs = bertTensorSpecs(config);
  const resolved = new Map<string, string>(); // BertModel name -> source name
  const missing: string[] = [];
  const problems: string[] = [];
  for (const spec of specs) {
    const found = candidates(spec.name).filter((n) => tensors.info(n) !== undefined);
    if (found.length === 0) {
      missing.push(spec.name);
      continue;
    }
    if (found.length > 1) {
      throw new SafetensorsError('SAFETENSORS_AMBIGUOUS_TENSOR', `${tensors.name}: "${spec.name}" is present under several names (${found.map((n) => quote(n)).join(', ')}); refusing to guess`);
    }
    const sourceName = found[0];
    const info = tensors.info(sourceName)!;
    if (!info.readable) {
      problems.push(`${quote(sourceName)} has dtype ${info.dtype}, which cannot be read as f32`);
    } else if (info.shape.length !== spec.shape.length || info.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push(`${quote(sourceName)} has shape ${fmt(info.shape)}, config implies ${fmt(spec.shape)}`);
    }
    resolved.set(spec.name, sourceName);
  }
  if (missing.length > 0) {
    throw new SafetensorsError('SAFETENSORS_MISSING_TENSOR', `${tensors.name}: missing ${missing.length} BertModel tensor(s) (also tried "bert." prefix and LayerNorm gamma/beta): ${listSome(missing, ', ')}`);
  }
  if (problems.length > 0) {
    const code = problems.every((p) => p.includes('dtype')) ? 'SAFETENSORS_UNSUPPORTED_DTYPE' : 'SAFETENSORS_SHAPE_MISMATCH';
    throw new SafetensorsError(code, `${tensors.name}: ${problems.length} tensor(s) do not fit the config: ${listSome(problems, '; ')}`);
  }
  // Tensors left over: the ones BertModel also ignores are listed in the summary; any other one
  // (a layer past num_hidden_layers, a module the config does not describe) is an error.
  const used = new Set(resolved.values());
  const ignoredTensors: IgnoredTensor[] = [];
  const contradicting: string[] = [];
  for (const name of tensors.names()) {
    if (used.has(name)) continue;
    const reason = ignoredTensorReason(name);
    if (reason) ignoredTensors.push({ name, reason });
    else contradicting.push(name);
  }
  if (contradicting.length > 0) {
    const beyond = contradicting.filter((n) => (layerIndexOf(n) ?? -1) >= config.num_hidden_layers);
    const why = beyond.length > 0
      ? `the weights hold ${layersInSource} encoder layers but the config says num_hidden_layers ${config.num_hidden_layers}`
      : 'the config describes no such BertModel tensor (another architecture or option?)';
    throw new SafetensorsError('SAFETENSORS_CONFIG_MISMATCH', `${tensors.name}: ${contradicting.length} tensor(s) show that the config does not fit these weights (${why}): ${listSome(contradicting.map((n) => quote(n)), ', ')}`);
  }

  return { specs, resolved, ignoredTensors };
}

export function loadBertParamsFromTensors(tensors: TensorSource, config: BertConfig, backend: KernelBackend, options: LoadOptions = {}): LoadedBertParams {
  const { specs, resolved, ignoredTensors } = resolveBertTensors(tensors, config);

  // 1. Allocate every destination before taking any view (alloc may grow the heap), then one
  //    scratch region on top for Linear weights (read raw, then packed into place).
  const start = backend.mark();
  const ptrs = new Map<string, Ptr>();
  const total = specs.reduce((s, spec) => s + numel(spec.shape), 0);
  const dtypes: Record<string, number> = {};
  let paramsEnd = start;
  // Option values, not file faults: named as options, with what is accepted.
  const dtype = resolveDtype('loadBertParams', options.dtype) ?? 'f32';
  const placement = checkOptionValue('loadBertParams', 'wordEmbeddings', options.wordEmbeddings ?? 'heap', WORD_EMBEDDING_PLACEMENTS);
  // Left in the source: no heap place, not read now; rows come from `words` each forward pass.
  const inSource = (spec: BertTensorSpec): boolean => placement === 'source' && spec.name === WORD_EMBEDDINGS;
  // Every value is checked as it is converted, in the pass that loads it (no second pass or copy);
  // word embeddings left in the source are checked row by row as they are read.
  const check: FiniteCheck | undefined = options.allowNonFinite ? undefined : (name, shape, values, first) => checkFinite(values, tensors.name, name, shape, first);
  const words = placement === 'source' ? wordEmbeddingSource(tensors, resolved.get(WORD_EMBEDDINGS)!, config.hidden_size, dtype, check) : undefined;
  try {
    // Heap bytes of every tensor in its stored form (0: left in the source), and the load scratch.
    let maxLinear = 0;
    let maxLowCols = 0;
    const bytes = specs.map((spec) => {
      if (inSource(spec)) return 0;
      if (isLowPrecision(spec, dtype)) {
        maxLowCols = Math.max(maxLowCols, spec.shape[1]);
        return lowPrecisionBytes(backend, spec, dtype);
      }
      if (spec.kind === 'linear-weight') {
        maxLinear = Math.max(maxLinear, numel(spec.shape));
        return backend.packedLinearBytes(spec.shape[0], spec.shape[1]);
      }
      return numel(spec.shape) * 4;
    });
    const scratchFloats = Math.max(maxLinear, maxLowCols > 0 ? lowPrecisionScratchFloats(maxLowCols) : 0);

    // Grow the heap once to its loaded size, then hand it back and allocate tensor by tensor into
    // pages that already exist: a non-shared WebAssembly.Memory grown in ~200 steps (one per
    // tensor) costs ~80 ms of bert-base's f32 load and its garbage (each grow detaches a buffer).
    const slack = 64; // per allocation, above any backend's alignment
    backend.alloc(bytes.reduce((sum, b) => sum + b + slack, 0) + scratchFloats * 4 + slack);
    backend.release(start);

    specs.forEach((spec, i) => ptrs.set(spec.name, inSource(spec) ? 0 : backend.alloc(bytes[i])));
    paramsEnd = backend.mark();
    const scratch = scratchFloats > 0 ? backend.alloc(scratchFloats * 4) : 0;

    // 2. Read in source order (sequential file reads), each straight into its place.
    const bySource = new Map<string, BertTensorSpec>();
    for (const spec of specs) bySource.set(resolved.get(spec.name)!, spec);
    let loaded = 0;
    let count = 0;
    for (const sourceName of tensors.names()) {
      const spec = bySource.get(sourceName);
      if (!spec) continue;
      const n = numel(spec.shape);
      const dst = ptrs.get(spec.name)!;
      if (inSource(spec)) {
        // read per forward pass
      } else if (isLowPrecision(spec, dtype)) {
        loadLowPrecision(backend, tensors, sourceName, spec, dtype, dst, scratch, check);
      } else if (spec.kind === 'linear-weight') {
        tensors.read(sourceName, backend.f32(scratch, n));
        check?.(sourceName, spec.shape, backend.f32(scratch, n), 0);
        backend.packLinear(dst, scratch, spec.shape[0], spec.shape[1]);
      } else {
        tensors.read(sourceName, backend.f32(dst, n));
        check?.(sourceName, spec.shape, backend.f32(dst, n), 0);
      }
      const fileDtype = tensors.info(sourceName)!.dtype;
      dtypes[fileDtype] = (dtypes[fileDtype] ?? 0) + 1;
      count++;
      loaded += n;
      options.onProgress?.(loaded, total);
    }
    if (count !== specs.length) {
      // names() did not list a tensor that info() knows: a broken TensorSource, not bad input.
      throw new SafetensorsError('SAFETENSORS_MISSING_TENSOR', `${tensors.name}: the tensor source listed ${count} of the ${specs.length} tensors it described`);
    }
  } catch (error) {
    backend.release(start);
    throw error;
  }
  backend.release(paramsEnd); // the scratch region

  const all = tensors.names();
  const p = (name: string): Ptr => ptrs.get(name)!;
  const linear = (name: string, OUT: number, IN: number): LinearParams => ({ weight: p(`${name}.weight`), bias: p(`${name}.bias`), inFeatures: IN, outFeatures: OUT, dtype });
  const layerNorm = (name: string): LayerNormParams => ({ weight: p(`${name}.weight`), bias: p(`${name}.bias`) });
  const modules = bertModuleTree(config, linear, layerNorm);
  return {
    wordEmbeddings: p(WORD_EMBEDDINGS),
    positionEmbeddings: p('embeddings.position_embeddings.weight'),
    tokenTypeEmbeddings: p('embeddings.token_type_embeddings.weight'),
    ...modules,
    wordEmbeddingsDtype: dtype,
    wordEmbeddingSource: words,
    summary: {
      source: tensors.name,
      tensorCount: specs.length,
      sourceTensorCount: all.length,
      dtypes,
      ignored: ignoredTensors.map((t) => t.name),
      ignoredTensors,
      skipped: [],
      heapBytes: paramsEnd - start,
    },
  };
}
