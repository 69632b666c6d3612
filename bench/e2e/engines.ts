// Owns: the three engines bench/e2e compares, behind one small interface — ours (the built package,
// dist/node/index.js, as a user gets it), onnxruntime-node (native CPU) and onnxruntime-web
// (WebAssembly SIMD, run in Node) — each loaded from the same synthetic weights.
// `run` is what gets timed: the call a user makes for B sequences of T tokens, pooled vectors out.
// `outputs` returns both of the model's outputs for the parity column.
// Does not own: timing, processes or the table (child.ts, ../e2e.ts), nor making the ONNX weights
// (../peers/onnx-model.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as OrtCommon from 'onnxruntime-node';

export const ENGINE_NAMES = ['ours', 'ort-node', 'ort-web'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface EngineOutputs {
  /** [B, C] pooler_output. */
  pooler: Float32Array;
  /** [B, T, C] last_hidden_state, T = the longest sequence; rows past a sequence's length are padding. */
  hidden: Float32Array;
  T: number;
}

export interface Engine {
  readonly name: EngineName;
  /** The timed call: pooled vectors for a batch (all sequences in one forward pass), as [B, C]. */
  run(batch: Int32Array[]): Promise<Float32Array>;
  /**
   * The corpus-throughput call: pooled vectors of every text. Ours is `embed(texts)` (its own
   * tokenization and batching, as a user calls it); the peers run `ids` (the same tokens) one
   * sequence at a time at its own length, so they pad nothing and tokenize nothing.
   */
  embedCorpus(texts: string[], ids: Int32Array[]): Promise<number>;
  /** Untimed: both outputs for a batch (may be padded: sequences of different lengths). */
  outputs(batch: Int32Array[]): Promise<EngineOutputs>;
  dispose(): Promise<void>;
}

export interface EnginePaths {
  /** Repository root (for dist/). */
  root: string;
  /** Hugging Face folder made by `kmed synth --seed context`. */
  modelDir: string;
  /** model.onnx with its external data beside it. */
  onnxPath: string;
  /** The external data file's name as the graph refers to it. */
  onnxDataFile: string;
}

type OursModule = typeof import('../../src/node/index.js');

/** Our weight formats; f32 is the one the peers share. */
export const OURS_DTYPES = ['f32', 'f16', 'int8'] as const;
export type OursDtype = (typeof OURS_DTYPES)[number];

async function loadOurs(paths: EnginePaths, threads: number, dtype: OursDtype): Promise<Engine> {
  // The built package, not src/ through tsx: what users run, worker scripts included.
  const url = pathToFileURL(join(paths.root, 'dist', 'node', 'index.js')).href;
  const { Encoder } = (await import(url)) as OursModule;
  // `threads` is always explicit (the default is the core count); the parent only asks for more
  // than one once EncoderOptions declares it. `dtype` only when not the default, for the same reason.
  const options: Record<string, unknown> = dtype === 'f32' ? { threads } : { threads, dtype };
  const encoder = await Encoder.fromDirectory(paths.modelDir, options);
  // A silent fallback (e.g. no shared memory) would put a 1-thread time in a 2-thread row.
  const actual = (encoder as { threads?: unknown }).threads;
  if (typeof actual === 'number' && actual !== threads) {
    throw new Error(`ours: asked for ${threads} threads, the Encoder runs ${actual}`);
  }
  return {
    name: 'ours',
    async run(batch) {
      const vectors = await encoder.embedIds(batch, { pooling: 'pooler', batchSize: batch.length });
      const C = encoder.dimension;
      const out = new Float32Array(vectors.length * C);
      vectors.forEach((v, b) => out.set(v, b * C));
      return out;
    },
    async embedCorpus(texts) {
      const vectors = await encoder.embed(texts, { pooling: 'pooler' });
      return vectors.length;
    },
    async outputs(batch) {
      // Same-length batches (every timed case) run in the slices embedIds cuts (<= 512 padded
      // tokens a pass; bert.ts is batch-invariant, so the bits are the same): one 512x8 pass
      // would grow the heap to 8x the activations users see, and the peak RSS column would show
      // the parity run instead of the engine. Mixed lengths (the padded-batch parity case) stay
      // one pass, since padding is what that case checks.
      const T = batch[0].length;
      const sameLength = batch.every((ids) => ids.length === T);
      const rows = sameLength ? Math.max(1, Math.floor(512 / T)) : batch.length;
      const C = encoder.dimension;
      const pooler = new Float32Array(batch.length * C);
      let hidden = new Float32Array(0);
      let outT = 0;
      for (let b0 = 0; b0 < batch.length; b0 += rows) {
        const out = encoder.forwardIds(batch.slice(b0, b0 + rows));
        if (b0 === 0) {
          outT = out.T;
          hidden = new Float32Array(batch.length * out.T * C);
        }
        // Views into the heap are only valid until the next call: copy.
        pooler.set(out.poolerOutput, b0 * C);
        hidden.set(out.lastHiddenState, b0 * outT * C);
      }
      return { pooler, hidden, T: outT };
    },
    async dispose() {
      encoder.dispose();
    },
  };
}

// onnxruntime-node and -web share onnxruntime-common's API (InferenceSession, Tensor).
type Ort = typeof OrtCommon;

function ortEngine(name: EngineName, ort: Ort, session: OrtCommon.InferenceSession): Engine {
  const feeds = (batch: Int32Array[]): { feeds: Record<string, OrtCommon.Tensor>; T: number } => {
    const B = batch.length;
    const T = Math.max(...batch.map((s) => s.length));
    const ids = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * T);
    batch.forEach((seq, b) => {
      for (let t = 0; t < seq.length; t++) {
        ids[b * T + t] = BigInt(seq[t]);
        mask[b * T + t] = 1n;
      }
    });
    return {
      T,
      feeds: {
        input_ids: new ort.Tensor('int64', ids, [B, T]),
        attention_mask: new ort.Tensor('int64', mask, [B, T]),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]),
      },
    };
  };
  const run = async (batch: Int32Array[]): Promise<Float32Array> => {
    // Ask for pooler_output only, as `embedIds` returns pooled vectors only (the graph still
    // computes last_hidden_state, which pooler_output depends on).
    const out = await session.run(feeds(batch).feeds, ['pooler_output']);
    return out.pooler_output.data as Float32Array;
  };
  return {
    name,
    run,
    async embedCorpus(_texts, ids) {
      for (const seq of ids) await run([seq]);
      return ids.length;
    },
    async outputs(batch) {
      const f = feeds(batch);
      const out = await session.run(f.feeds);
      return {
        pooler: Float32Array.from(out.pooler_output.data as Float32Array),
        hidden: Float32Array.from(out.last_hidden_state.data as Float32Array),
        T: f.T,
      };
    },
    async dispose() {
      await session.release();
    },
  };
}

async function loadOrtNode(paths: EnginePaths, threads: number): Promise<Engine> {
  const ort = (await import('onnxruntime-node')) as unknown as Ort;
  // Reads model.onnx and its external data from disk itself, like our fromDirectory.
  const session = await ort.InferenceSession.create(paths.onnxPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return ortEngine('ort-node', ort, session);
}

async function loadOrtWeb(paths: EnginePaths, threads: number): Promise<Engine> {
  const ort = (await import('onnxruntime-web')) as unknown as Ort;
  // Must be set before the first session: the WebAssembly module is instantiated once, with its
  // thread pool (worker_threads in Node) sized from this.
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  // ort-web takes bytes (a browser has no file system); reading them is part of its load time.
  const model = readFileSync(paths.onnxPath);
  const data = readFileSync(join(paths.onnxPath, '..', paths.onnxDataFile));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData: [{ path: paths.onnxDataFile, data }],
    graphOptimizationLevel: 'all',
  });
  return ortEngine('ort-web', ort, session);
}

export function loadEngine(name: EngineName, paths: EnginePaths, threads: number, dtype: OursDtype = 'f32'): Promise<Engine> {
  if (name !== 'ours' && dtype !== 'f32') throw new Error(`${name} runs the f32 ONNX model only (asked for ${dtype})`);
  switch (name) {
    case 'ours': return loadOurs(paths, threads, dtype);
    case 'ort-node': return loadOrtNode(paths, threads);
    case 'ort-web': return loadOrtWeb(paths, threads);
  }
}
