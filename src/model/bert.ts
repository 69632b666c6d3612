// Owns: the BERT forward pass (Hugging Face BertModel, encoder-only, no head), module by module as
// in transformers' models/bert/modeling_bert.py, driving compute through the KernelBackend.
// Each module is a plain function whose first comment is its shape contract; activations live in
// scratch taken from the backend's arena for the duration of one call (mark/release).
// Does not own: tokenization, weight loading (weights.ts fills BertParams), pooling choices
// (pooling.ts), batching/sorting (encoder.ts) or any kernel arithmetic (kernels/).
//
// Batches: B sequences right-padded to the longest, T tokens each, as the caller gives them and gets
// them back. Inside, the real tokens are packed: sequence b's L_b rows follow sequence b-1's, so
// the Linear layers run on R = Σ L_b rows, not B*T (padding used to cost 28-44 % of the rows on
// real corpora sorted into batches of 8), and attention runs per sequence over its L_b rows. A
// row's arithmetic never depends on its neighbours (the kernels keep each row's accumulation order
// whatever the tile), so a sequence's output is bitwise the same whatever else is in its batch.
// The outputs are scattered back to [B, T, C] (padding rows zero) once, at the end.
//
// Rows read (BertForwardOptions.rows): a caller that reads only each sequence's first row of the
// last hidden state (the `pooler` and `cls` poolings) lets the last layer compute just that row:
// K and V of every real token (row 0 attends to them all), then Q, attention, the dense, the
// LayerNorms and the feed-forward of B rows instead of Σ L_b (~7 % of a 12-layer pass). Each of those
// rows goes through the same kernels with the same per-row arithmetic, so it is bitwise the row
// the full layer computes (test/batch-invariance.test.ts compares them).
import type { KernelBackend, Ptr } from '../kernels/backend.js';
import type { BertLayerParams, BertParams, LayerNormParams, LinearParams } from './bert-params.js';
import { EncoderError } from '../errors/encoder-error.js';
import { allocLowPrecisionScratch, lowPrecisionLinear, quantizedLinear, wordEmbeddingRows, type LowPrecisionScratch } from './bert-lowp.js';

const F32 = 4;

/** The configuration keys the forward pass reads (Hugging Face names; src/model/config.ts's BertConfig fits). */
export interface BertDims {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
}

/** A padded batch of token ids; the attention mask is implied: the first lengths[b] tokens are real. */
export interface BertInput {
  B: number;
  T: number;
  /** [B, T] row-major, padding positions may hold any valid id (normally [PAD]). */
  inputIds: Int32Array;
  /** [B, T] segment ids (0 for single-sentence inputs). */
  tokenTypeIds: Int32Array;
  /** [B] real tokens per sequence, 1 <= lengths[b] <= T. */
  lengths: ArrayLike<number>;
}

export interface BertOutput {
  B: number;
  T: number;
  C: number;
  /** [B, T, C] last_hidden_state (rows past lengths[b] are padding: zeros). */
  lastHiddenState: Float32Array;
  /** [B, C] pooler_output = tanh(dense(hidden[:, 0])). */
  poolerOutput: Float32Array;
}

export interface BertForwardOptions {
  /** Called with the hidden state after the embeddings (k = 0) and after each layer k (a view into
   *  the heap, [B, T, C], valid only during the call) — for layer-by-layer parity checks. */
  onHiddenState?: (k: number, hidden: Float32Array) => void;
  /** Which rows of last_hidden_state the caller reads: 'all' (default), or 'first' — only row 0
   *  of each sequence ([CLS]; pooler_output needs no more), so the last layer computes only those
   *  (see the header). With 'first', the other rows of last_hidden_state are zeros (and the
   *  onHiddenState view of the last layer too). */
  rows?: 'all' | 'first';
}

/** Sizes of one forward call, derived from the config only. */
interface Dims {
  B: number;
  T: number;
  /** Σ lengths: the packed rows of every [rows, C] activation. */
  R: number;
  /** Row of each sequence's first token in the packed activations (prefix sums of lengths). */
  offsets: number[];
  /** Real tokens of each sequence. */
  lengths: number[];
  C: number;
  NH: number;
  HS: number;
  I: number;
  eps: number;
  /** vocab_size (rows of the word-embedding table). */
  vocab: number;
  /** Heads per attention call (see attentionHeadsPerCall). */
  headsPerCall: number;
}

/** Rows the feed-forward block runs at a time: its [rows, I] intermediate is the largest activation
 *  (4 × the hidden state); 256 rows keep the Linear at full speed (bench/kernels.ts, T=128 vs 512)
 *  while bounding it to 3 MB for bert-base. Rows are independent, so blocking never changes a result. */
const FFN_BLOCK_ROWS = 256;

/** Attention scratch (scores and packed K, V of the heads of one call) kept under this many bytes. */
const ATTENTION_SCRATCH_BUDGET = 4 * 1024 * 1024;

/**
 * Heads per attention call: all NH while their scratch fits ATTENTION_SCRATCH_BUDGET (one call per
 * sequence and layer: every call wakes the thread pool), else the most that fit, a multiple of the
 * thread count so the pool's head split stays even. Long sequences need ~1.25 MB per head at
 * T = 512; the 12 heads at once would hold 15 MB of heap for good. Heads are independent, so the
 * grouping never changes a result.
 */
function attentionHeadsPerCall(be: KernelBackend, NH: number, T: number, HS: number): number {
  const perHead = be.attentionScratchBytes(1, T, HS);
  if (NH * perHead <= ATTENTION_SCRATCH_BUDGET) return NH;
  const threads = Math.max(1, be.threads);
  const fit = Math.floor(ATTENTION_SCRATCH_BUDGET / perHead);
  return Math.min(NH, Math.max(threads, fit - (fit % threads)));
}

/** Scratch of one forward call; every pointer is a row-major f32 tensor in the heap. */
interface Scratch {
  /** [R, C] the hidden state between modules. */
  hidden: Ptr;
  /** [R, C] dense outputs before residual + LayerNorm: k's storage, free outside attention. */
  tmp: Ptr;
  /** [R, C] queries; also the attention context (see bertSelfAttention). */
  q: Ptr;
  k: Ptr;
  v: Ptr;
  /** [min(R, FFN_BLOCK_ROWS), I] the feed-forward intermediate of one row block. */
  ffn: Ptr;
  /** Attention scratch of one call (scores/probabilities and packed K, V of headsPerCall heads). */
  scores: Ptr;
  /** [B, C] first-token rows, then [B, C] pooler output. */
  first: Ptr;
  pooled: Ptr;
  /** [B*T, C] the last hidden state scattered back to the caller's padded layout. */
  padded: Ptr;
  /** What f16 / int8 Linear layers need (bert-lowp.ts); zeros for an f32 model. */
  lowp: LowPrecisionScratch;
  /** lowp.hiddenQ holds `hidden` quantized (set where hidden is normalized, see normalizeHidden). */
  hiddenQuantized: boolean;
}

/** Check a batch against the config before any heap access: bad input must be a typed error,
 *  never an out-of-bounds gather. */
export function validateBertInput(config: BertDims, input: BertInput): void {
  const { B, T, inputIds, tokenTypeIds, lengths } = input;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) {
    throw new EncoderError('ENCODER_BAD_INPUT', `batch shape B=${B}, T=${T}: both must be positive integers`);
  }
  if (T > config.max_position_embeddings) {
    throw new EncoderError(
      'ENCODER_SEQUENCE_TOO_LONG',
      `sequence of ${T} tokens exceeds max_position_embeddings=${config.max_position_embeddings}`,
    );
  }
  if (inputIds.length !== B * T || tokenTypeIds.length !== B * T || lengths.length !== B) {
    throw new EncoderError(
      'ENCODER_BAD_INPUT',
      `batch arrays disagree with B=${B}, T=${T}: input_ids ${inputIds.length}, token_type_ids ${tokenTypeIds.length}, lengths ${lengths.length}`,
    );
  }
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    if (!Number.isInteger(L) || L < 1 || L > T) {
      throw new EncoderError('ENCODER_BAD_INPUT', `sequence ${b}: length ${L} is not in [1, ${T}]`);
    }
  }
  for (let i = 0; i < B * T; i++) {
    const id = inputIds[i];
    if (id < 0 || id >= config.vocab_size) {
      throw new EncoderError(
        'ENCODER_BAD_IDS',
        `sequence ${Math.floor(i / T)}, position ${i % T}: token id ${id} is outside [0, vocab_size=${config.vocab_size})`,
      );
    }
    const tt = tokenTypeIds[i];
    if (tt < 0 || tt >= config.type_vocab_size) {
      throw new EncoderError(
        'ENCODER_BAD_IDS',
        `sequence ${Math.floor(i / T)}, position ${i % T}: token type id ${tt} is outside [0, type_vocab_size=${config.type_vocab_size})`,
      );
    }
  }
}

/** BertModel.forward: embeddings -> encoder -> pooler, for one padded batch; the outputs are copied
 *  out of the heap (see bertForwardWith to read them in place). */
export function bertForward(
  backend: KernelBackend,
  params: BertParams,
  config: BertDims,
  input: BertInput,
  options: BertForwardOptions = {},
): BertOutput {
  return bertForwardWith(
    backend,
    params,
    config,
    input,
    (out) => ({ ...out, lastHiddenState: out.lastHiddenState.slice(), poolerOutput: out.poolerOutput.slice() }),
    options,
  );
}

/**
 * BertModel.forward for one padded batch, handing the outputs to `read` as views into the heap
 * (valid only during that call; the scratch is released after it) and returning what `read`
 * returns — so a caller that wants pooled vectors does not pay for a [B, T, C] copy.
 */
export function bertForwardWith<R>(
  backend: KernelBackend,
  params: BertParams,
  config: BertDims,
  input: BertInput,
  read: (out: BertOutput) => R,
  options: BertForwardOptions = {},
): R {
  validateBertInput(config, input);
  const C = config.hidden_size;
  const NH = config.num_attention_heads;
  const lengths = Array.from(input.lengths);
  const offsets: number[] = [];
  let R = 0;
  for (const L of lengths) {
    offsets.push(R);
    R += L;
  }
  const d: Dims = {
    B: input.B,
    T: input.T,
    R,
    offsets,
    lengths,
    C,
    NH,
    HS: C / NH,
    I: config.intermediate_size,
    eps: config.layer_norm_eps,
    vocab: config.vocab_size,
    headsPerCall: attentionHeadsPerCall(backend, NH, input.T, C / NH),
  };
  if (params.layers.length !== config.num_hidden_layers) {
    throw new EncoderError(
      'ENCODER_BAD_INPUT',
      `parameters hold ${params.layers.length} layers but num_hidden_layers=${config.num_hidden_layers}`,
    );
  }

  const mark = backend.mark();
  try {
    const s = allocScratch(backend, d, params);
    const first = options.rows === 'first';
    const hook = options.onHiddenState;
    bertEmbeddings(backend, s, params, d, input);
    if (hook) hook(0, unpack(backend, s, d, false));
    const last = params.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      if (l === last && first) bertLayerFirstRows(backend, s, params.layers[l], d);
      else bertLayer(backend, s, params.layers[l], d);
      if (hook) hook(l + 1, unpack(backend, s, d, l === last && first));
    }
    bertPooler(backend, s, params.pooler, d);
    return read({
      B: d.B,
      T: d.T,
      C,
      lastHiddenState: unpack(backend, s, d, first),
      poolerOutput: backend.f32(s.pooled, d.B * C),
    });
  } finally {
    backend.release(mark);
  }
}

function allocScratch(be: KernelBackend, d: Dims, params: BertParams): Scratch {
  const rc = d.R * d.C * F32;
  const ffnRows = Math.min(d.R, FFN_BLOCK_ROWS);
  const k = be.alloc(rc);
  const s: Scratch = {
    hidden: be.alloc(rc),
    tmp: k,
    q: be.alloc(rc),
    k,
    v: be.alloc(rc),
    ffn: be.alloc(ffnRows * d.I * F32),
    scores: be.alloc(be.attentionScratchBytes(d.headsPerCall, d.T, d.HS)),
    first: be.alloc(d.B * d.C * F32),
    pooled: be.alloc(d.B * d.C * F32),
    padded: be.alloc(d.B * d.T * d.C * F32),
    lowp: allocLowPrecisionScratch(be, params, [[d.R, d.C], [ffnRows, d.I]]),
    hiddenQuantized: false,
  };
  return s;
}

/**
 * BertEmbeddings (modeling_bert.py `BertEmbeddings.forward`, absolute positions).
 * input_ids, token_type_ids: [B, T]; word [vocab_size, C], position [max_position_embeddings, C],
 * token_type [type_vocab_size, C] -> hidden [R, C] = LayerNorm(word[id] + type[tt] + pos[t]), real
 * tokens only, packed (sequence b at rows offsets[b] ..).
 * The sum is done in HF's order ((inputs_embeds + token_type_embeddings) + position_embeddings) so
 * f32 rounding matches PyTorch's. Position ids restart at 0 for every sequence.
 */
function bertEmbeddings(be: KernelBackend, s: Scratch, p: BertParams, d: Dims, input: BertInput): void {
  const { B, T, C } = d;
  const out = be.f32(s.tmp, d.R * C);
  // One view over the whole heap (created after all allocations); ids were validated against the
  // config sizes, and weights.ts sized the tables from the same config.
  const heap = new Float32Array(be.memory.buffer);
  const word = wordEmbeddingRows(be, p, d.vocab, C);
  const posBase = p.positionEmbeddings / F32;
  const typeBase = p.tokenTypeEmbeddings / F32;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < d.lengths[b]; t++) {
      const i = b * T + t;
      const [wordRow, w] = word(input.inputIds[i]);
      const ty = typeBase + input.tokenTypeIds[i] * C;
      const po = posBase + t * C;
      const o = (d.offsets[b] + t) * C;
      for (let c = 0; c < C; c++) {
        out[o + c] = Math.fround(Math.fround(wordRow[w + c] + heap[ty + c]) + heap[po + c]);
      }
    }
  }
  normalizeHidden(be, s, s.tmp, p.embeddingsLayerNorm, d);
}

/** BertLayer (modeling_bert.py `BertLayer.forward`): attention block then feed-forward block. */
function bertLayer(be: KernelBackend, s: Scratch, layer: BertLayerParams, d: Dims): void {
  bertSelfAttention(be, s, layer, d);
  bertSelfOutput(be, s, layer, d);
  // BertIntermediate then BertOutput's dense + residual, one row block at a time (FFN_BLOCK_ROWS).
  for (let r0 = 0; r0 < d.R; r0 += FFN_BLOCK_ROWS) {
    const rows = Math.min(FFN_BLOCK_ROWS, d.R - r0);
    const at = r0 * d.C * F32;
    linearFromHidden(be, s, s.ffn, layer.intermediate, d, r0, rows);
    geluThenOutput(be, s, s.tmp + at, layer.output, d, rows, s.hidden + at);
  }
  bertOutput(be, s, layer, d);
}

/**
 * The GELU of BertIntermediate (in place over s.ffn's `rows` rows) then BertOutput's dense plus the
 * residual: out = dense(gelu(ffn)) + residual. GELU's output feeds only this Linear, so an int8 one
 * quantizes it in the same pass (geluQuantizeRows: 7-bit rows in the relaxed build); bertLayer and
 * bertLayerFirstRows both come here so a row gets the same arithmetic in either.
 */
function geluThenOutput(be: KernelBackend, s: Scratch, out: Ptr, p: LinearParams, d: Dims, rows: number, residual: Ptr): void {
  if (p.dtype === 'int8') {
    be.geluQuantizeRows(s.lowp.q, s.ffn, rows, d.I);
    quantizedLinear(be, out, s.lowp.q, 0, p, rows, residual);
  } else {
    be.gelu(s.ffn, rows * d.I);
    linear(be, s, out, s.ffn, p, rows, residual);
  }
}

/**
 * bertLayer for row 0 of each sequence only (BertForwardOptions.rows = 'first'): hidden rows b*T
 * get what bertLayer would put there, bit for bit; the other rows keep their input.
 * K, V: every row (row 0 attends to all L real tokens); everything else runs on the B first rows
 * gathered into [B, C] blocks: x0 in s.first, their Q then context in s.q's first B rows, dense
 * outputs in s.pooled (bertPooler rewrites both first and pooled after the last layer).
 */
function bertLayerFirstRows(be: KernelBackend, s: Scratch, layer: BertLayerParams, d: Dims): void {
  const { B, R, C, NH, HS } = d;
  const rowBytes = C * F32;
  linearFromHidden(be, s, s.k, layer.key, d, 0, R);
  linearFromHidden(be, s, s.v, layer.value, d, 0, R);
  gatherFirstRows(be, s.first, s.hidden, d);
  const x0 = s.first;
  const ctx = s.q;
  linear(be, s, ctx, x0, layer.query, B);
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    const at = b * rowBytes;
    const kv = d.offsets[b] * rowBytes;
    for (let h0 = 0; h0 < NH; h0 += d.headsPerCall) {
      const col = h0 * HS * F32;
      be.attention(ctx + at + col, ctx + at + col, s.k + kv + col, s.v + kv + col, s.scores, Math.min(d.headsPerCall, NH - h0), d.lengths[b], HS, C, scale, 1);
    }
  }
  // BertSelfOutput on the B rows.
  const tmp = s.pooled;
  linear(be, s, tmp, ctx, layer.attentionOutput, B, x0);
  be.layerNorm(x0, tmp, layer.attentionLayerNorm.weight, layer.attentionLayerNorm.bias, B, C, d.eps);
  // BertIntermediate + BertOutput's dense, in the same row blocks as bertLayer.
  for (let r0 = 0; r0 < B; r0 += FFN_BLOCK_ROWS) {
    const rows = Math.min(FFN_BLOCK_ROWS, B - r0);
    linear(be, s, s.ffn, x0 + r0 * rowBytes, layer.intermediate, rows);
    geluThenOutput(be, s, tmp + r0 * rowBytes, layer.output, d, rows, x0 + r0 * rowBytes);
  }
  be.layerNorm(x0, tmp, layer.outputLayerNorm.weight, layer.outputLayerNorm.bias, B, C, d.eps);
  const hidden = be.f32(s.hidden, R * C);
  const first = be.f32(x0, B * C);
  for (let b = 0; b < B; b++) hidden.set(first.subarray(b * C, (b + 1) * C), d.offsets[b] * C);
  s.hiddenQuantized = false;
}

/** first[b] = the packed hidden row of sequence b's first token: [R, C] -> [B, C]. */
function gatherFirstRows(be: KernelBackend, first: Ptr, hidden: Ptr, d: Dims): void {
  const { B, C } = d;
  const h = be.f32(hidden, d.R * C);
  const f = be.f32(first, B * C);
  for (let b = 0; b < B; b++) f.set(h.subarray(d.offsets[b] * C, d.offsets[b] * C + C), b * C);
}

/** The packed hidden state [R, C] scattered to the caller's [B, T, C] (padding rows 0): all rows,
 *  or (firstOnly) row 0 of each sequence, the only rows the last layer computed. A view into the
 *  heap, valid until the scratch is released. */
function unpack(be: KernelBackend, s: Scratch, d: Dims, firstOnly: boolean): Float32Array {
  const { B, T, C } = d;
  const h = be.f32(s.hidden, d.R * C);
  const out = be.f32(s.padded, B * T * C);
  out.fill(0);
  for (let b = 0; b < B; b++) {
    const rows = firstOnly ? 1 : d.lengths[b];
    out.set(h.subarray(d.offsets[b] * C, (d.offsets[b] + rows) * C), b * T * C);
  }
  return out;
}

/**
 * BertSelfAttention (modeling_bert.py `BertSelfAttention.forward`, eager path, no cross-attention).
 * hidden [R, C] -> context [R, C] (written over q), R the packed rows.
 * Q, K, V = hidden·Wᵀ + b on all rows. Head h of sequence b is the strided column block
 * [off_b .. off_b+L, h*HS .. (h+1)*HS) of Q/K/V (row stride C), so no transpose is ever made; one
 * `attention` call per sequence does, for every head h:
 *   scores[L, L] = Q_h · K_hᵀ                (masked keys are simply not there: L columns)
 *   probs = softmax(scores / sqrt(HS))
 *   context_h[L, HS] = probs · V_h
 * (one call per sequence rather than three per head: a thread pool splits it by head, and per-call
 * overhead would otherwise dominate). The context overwrites Q's storage: block (b, h) of Q is read
 * only to form scores (b, h), which are complete before context (b, h) is written, and no other
 * block reads it.
 */
function bertSelfAttention(be: KernelBackend, s: Scratch, layer: BertLayerParams, d: Dims): void {
  const { B, R, C, NH, HS } = d;
  linearFromHidden(be, s, s.q, layer.query, d, 0, R);
  linearFromHidden(be, s, s.k, layer.key, d, 0, R);
  linearFromHidden(be, s, s.v, layer.value, d, 0, R);
  const scale = 1 / Math.sqrt(HS);
  const ctx = s.q;
  for (let b = 0; b < B; b++) {
    const L = d.lengths[b];
    const rowBase = d.offsets[b] * C * F32;
    for (let h0 = 0; h0 < NH; h0 += d.headsPerCall) {
      const at = rowBase + h0 * HS * F32;
      be.attention(ctx + at, s.q + at, s.k + at, s.v + at, s.scores, Math.min(d.headsPerCall, NH - h0), L, HS, C, scale);
    }
  }
}

/** BertSelfOutput (modeling_bert.py): hidden = LayerNorm(dense(context) + hidden). [R, C] -> [R, C]. */
function bertSelfOutput(be: KernelBackend, s: Scratch, layer: BertLayerParams, d: Dims): void {
  linear(be, s, s.tmp, s.q, layer.attentionOutput, d.R, s.hidden);
  normalizeHidden(be, s, s.tmp, layer.attentionLayerNorm, d);
}

/** BertOutput (modeling_bert.py): hidden = LayerNorm(dense(gelu(dense(hidden))) + hidden), with
 *  everything before the LayerNorm already in tmp (bertLayer runs BertIntermediate and the dense +
 *  residual per row block). [R, C] -> [R, C]. */
function bertOutput(be: KernelBackend, s: Scratch, layer: BertLayerParams, d: Dims): void {
  normalizeHidden(be, s, s.tmp, layer.outputLayerNorm, d);
}

/** BertPooler (modeling_bert.py): pooled[B, C] = tanh(dense(hidden[b, 0])) — the first ([CLS]) token. */
function bertPooler(be: KernelBackend, s: Scratch, pooler: LinearParams, d: Dims): void {
  gatherFirstRows(be, s.first, s.hidden, d);
  linear(be, s, s.pooled, s.first, pooler, d.B);
  be.tanh(s.pooled, d.B * d.C);
}

/** nn.Linear over `rows` rows: out[rows, OUT] = x[rows, IN] · Wᵀ + b, plus `residual` ([rows, OUT])
 *  when not 0 (bias first, then the residual: the order of a separate add). */
function linear(be: KernelBackend, s: Scratch, out: Ptr, x: Ptr, p: LinearParams, rows: number, residual: Ptr = 0): void {
  if (p.dtype === 'f16' || p.dtype === 'int8') return lowPrecisionLinear(be, s.lowp, out, x, p, rows, residual);
  be.linear(out, x, p.weight, p.bias, rows, p.inFeatures, p.outFeatures);
  if (residual) be.addInPlace(out, residual, rows * p.outFeatures);
}

/** linear() of hidden rows [r0, r0 + rows): an int8 layer reads them already quantized when
 *  normalizeHidden quantized them (bitwise what quantizing them here would give). */
function linearFromHidden(be: KernelBackend, s: Scratch, out: Ptr, p: LinearParams, d: Dims, r0: number, rows: number): void {
  if (p.dtype === 'int8' && s.hiddenQuantized) return quantizedLinear(be, out, s.lowp.hiddenQ, r0, p, rows);
  linear(be, s, out, s.hidden + r0 * d.C * F32, p, rows);
}

/** hidden = LayerNorm(x) over the R packed rows; quantized in the same pass (layerNormQuantizeRows)
 *  where an int8 layer will read it. */
function normalizeHidden(be: KernelBackend, s: Scratch, x: Ptr, p: LayerNormParams, d: Dims): void {
  if (s.lowp.hiddenQ) {
    be.layerNormQuantizeRows(s.hidden, s.lowp.hiddenQ, x, p.weight, p.bias, d.R, d.C, d.eps);
    s.hiddenQuantized = true;
  } else {
    layerNorm(be, s.hidden, x, p, d);
    s.hiddenQuantized = false;
  }
}

/** nn.LayerNorm over each of the R packed rows of C. */
function layerNorm(be: KernelBackend, out: Ptr, x: Ptr, p: LayerNormParams, d: Dims): void {
  be.layerNorm(out, x, p.weight, p.bias, d.R, d.C, d.eps);
}
