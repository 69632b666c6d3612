// The thread pool (issue 5 item 3, issue 6 item 3): results are bitwise the same for 1, 2 and 3
// threads — kernel calls of the synthetic model's sizes, the full-size synthetic model and a padded
// batch of the tiny model, all on backends that split every call (minShareNs: 0; each kernel call is
// checked to really be cut into chunks), and the Encoder with its default split threshold — parity with
// tiny-golden holds on 2 threads, dispose() ends the workers (a child process exits by itself), and
// without shared memory the encoder falls back to 1 thread, saying so once.
// Runs from src/ (the workers get the worker body as text, so no build is needed) except the
// exit check, which runs the built dist/ in a child process.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { bertForward, type BertInput } from '../src/model/bert.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig } from '../src/model/config.js';
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import { planCall, ROW_SPLITS } from '../src/kernels/parallel-kernels.js';
import { KernelThreadPool, resetThreadWarning } from '../src/kernels/thread-pool.js';
import { controlBytes } from '../src/kernels/kernel-worker.js';
import { instantiateKernels, loadKernelModule } from '../src/kernels/kernel-module.js';
import { Encoder } from '../src/node/encoder.js';
import { nodeWorkerFactory } from '../src/node/worker-threads.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { loadBertParams, loadBertParamsFromTensors } from '../src/model/weights.js';
import { diff } from './helpers/compare.js';
import { REPO_ROOT, run, runtimeCommand, type CliRuntime } from './runtimes/launch.js';
import { built, skipTestWithout } from './helpers/requirement.js';

const THREADS = [1, 2, 3] as const;
const F32 = 4;
/** Split every kernel call that has rows to split, however small: the point is identity of shares. */
const SPLIT_ALL = { minShareNs: 0 };

/** Bitwise equality of two float arrays (NaN payloads and -0 included), naming the first mismatch. */
function expectBitwise(label: string, ours: Float32Array, ref: Float32Array): void {
  expect(ours.length, `${label}: length`).toBe(ref.length);
  const a = new Uint32Array(ours.buffer, ours.byteOffset, ours.length);
  const b = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) expect.fail(`${label}: element ${i} differs: ${ours[i]} vs ${ref[i]} (1 thread)`);
  }
}

/** Deterministic floats in [-1, 1) (xorshift32), the same for every backend. */
function fill(dst: Float32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < dst.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    dst[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
}

describe('kernel calls of synthetic-model size: bitwise the same on 1, 2 and 3 threads', () => {
  const backends = new Map<number, KernelBackend>();
  const get = async (threads: number) => {
    let be = backends.get(threads);
    if (!be) {
      be = await createBackend('wasm', { threads, ...SPLIT_ALL });
      expect(be.threads).toBe(threads);
      backends.set(threads, be);
    }
    return be;
  };
  afterAll(() => {
    for (const be of backends.values()) be.dispose();
  });

  /** Run `call` on each thread count over identical inputs; return outputs per thread count. */
  async function across(
    name: string,
    sizes: Record<string, number>,
    call: (be: KernelBackend, p: Record<string, number>) => void,
    outputs: string[],
  ): Promise<void> {
    const results = new Map<number, Float32Array[]>();
    for (const threads of THREADS) {
      const be = await get(threads);
      const mark = be.mark();
      try {
        const p: Record<string, number> = {};
        let seed = 1;
        for (const [key, floats] of Object.entries(sizes)) {
          p[key] = be.alloc(floats * F32);
          fill(be.f32(p[key], floats), seed++);
        }
        call(be, p);
        results.set(threads, outputs.map((key) => be.f32(p[key], sizes[key]).slice()));
      } finally {
        be.release(mark);
      }
    }
    const ref = results.get(1)!;
    for (const threads of THREADS.slice(1)) {
      results.get(threads)!.forEach((out, i) => expectBitwise(`${name}, ${threads} threads, ${outputs[i]}`, out, ref[i]));
    }
  }

  /** The call must really be cut into chunks on 2 threads, or the test proves nothing. */
  function expectSplit(exportName: string, args: number[]): void {
    // Only the number of chunks matters here: sizes the module knows can be anything.
    const anyExports = new Proxy({}, { get: () => () => 0 });
    const plan = planCall(ROW_SPLITS[exportName], args, 2, SPLIT_ALL.minShareNs, anyExports);
    expect(plan && Math.ceil(plan.rows / plan.chunkRows), `${exportName}(${args.join(', ')}) is not cut on 2 threads`).toBeGreaterThanOrEqual(2);
  }

  for (const [T, IN, OUT] of [
    [128, 768, 768],
    [128, 768, 3072],
    [37, 3072, 768],
  ]) {
    it(`linear T=${T} ${IN}->${OUT} (and packLinear)`, async () => {
      expectSplit('linear_f32', [0, 0, 0, 0, T, IN, OUT]);
      expectSplit('pack_linear_f32', [0, 0, OUT, IN]);
      await across(
        'linear',
        { x: T * IN, w: OUT * IN, bias: OUT, out: T * OUT, packed: OUT * IN },
        (be, p) => {
          be.packLinear(p.packed, p.w, OUT, IN);
          be.linear(p.out, p.x, p.packed, p.bias, T, IN, OUT);
        },
        ['out', 'packed'],
      );
    });
  }

  for (const L of [128, 77]) {
    it(`attention NH=12 L=${L} HS=64, context over q`, async () => {
      const C = 768;
      expectSplit('attention_f32', [0, 0, 0, 0, 0, 12, L, 64, C, 0.125, L]);
      await across(
        'attention',
        { q: L * C, k: L * C, v: L * C, scores: 12 * L * (L + 2 * 64 + 16) }, // ≥ attentionScratchBytes
        (be, p) => be.attention(p.q, p.q, p.k, p.v, p.scores, 12, L, 64, C, 0.125),
        ['q', 'scores'],
      );
    });
  }

  it('int8: packLinearInt8, quantizeRows, linearInt8 (+ residual), LayerNorm/GELU → quantize (T=37 and 128, 768->3072)', async () => {
    const IN = 768, OUT = 3072;
    for (const T of [37, 128]) {
      expectSplit('linear_q8', [0, 0, 0, 0, T, IN, OUT]);
      expectSplit('quantize_rows_i8', [0, 0, T, IN]);
      expectSplit('pack_linear_i8', [0, 0, 0, 0, OUT, IN]);
      expectSplit('linear_q8_add', [0, 0, 0, 0, 0, T, IN, OUT]);
      expectSplit('layernorm_quantize_i8', [0, 0, 0, 0, 0, T, IN, 1e-12]);
      expectSplit('gelu_quantize_i8', [0, 0, T, OUT]);
      const probe = await get(1);
      const qFloats = Math.ceil(probe.quantizedRowsBytes(T, IN) / F32);
      const wFloats = Math.ceil(probe.packedLinearInt8Bytes(OUT, IN) / F32);
      await across(
        `int8 T=${T}`,
        { x: T * IN, w: OUT * IN, bias: OUT, q: qFloats, packed: wFloats, out: T * OUT, res: T * OUT, outAdd: T * OUT,
          gamma: IN, beta: IN, ln: T * IN, qln: qFloats, qffn: Math.ceil(probe.quantizedRowsBytes(T, OUT) / F32),
          packedOut: Math.ceil(probe.packedLinearInt8Bytes(IN, OUT) / F32), outFfn: T * IN },
        (be, p) => {
          be.packLinearInt8(p.packed, p.w, OUT, IN, 0, OUT);
          be.quantizeRows(p.q, p.x, T, IN);
          be.linearInt8(p.out, p.q, p.packed, p.bias, T, IN, OUT);
          be.linearInt8Add(p.outAdd, p.q, p.packed, p.bias, p.res, T, IN, OUT);
          be.layerNormQuantizeRows(p.ln, p.qln, p.x, p.gamma, p.beta, T, IN, 1e-12);
          be.geluQuantizeRows(p.qffn, p.out, T, OUT);
          // The FFN-out shape over those rows (7-bit rows and the relaxed dot in the relaxed build),
          // with the residual: W reread as [IN, OUT].
          be.packLinearInt8(p.packedOut, p.w, IN, OUT, 0, IN);
          be.linearInt8Add(p.outFfn, p.qffn, p.packedOut, p.bias, p.x, T, OUT, IN);
        },
        ['packed', 'q', 'out', 'outAdd', 'ln', 'qln', 'qffn', 'packedOut', 'outFfn'],
      );
    }
  });

  it('layerNorm, add, GELU, tanh, softmax, matmulNT/NN and dotRows', async () => {
    const R = 128, C = 768, I = 3072, N = 4099;
    expectSplit('layernorm_f32', [0, 0, 0, 0, R, C, 1e-12]);
    expectSplit('gelu_f32', [0, R * I + 5]);
    expectSplit('softmax_rows_f32', [0, 0, 12 * R, R, 0.125]);
    expectSplit('matmul_nt_f32', [0, 0, 0, 97, 128, 64, C, C, 128]);
    expectSplit('matmul_nn_f32', [0, 0, 0, 97, 64, 128, 128, C, C]);
    expectSplit('dot_rows_f32', [0, 0, 0, N, C]);
    await across(
      'element-wise and small kernels',
      {
        x: R * C, res: R * C, gamma: C, beta: C, ln: R * C, ffn: R * I + 5, th: R * I + 5, sm: 12 * R * R,
        a: 97 * C, b: 128 * C, nt: 97 * 128, pr: 97 * 128, nn: 97 * C, matrix: N * C, vec: C, dots: N,
      },
      (be, p) => {
        be.addInPlace(p.res, p.x, R * C);
        be.layerNorm(p.ln, p.res, p.gamma, p.beta, R, C, 1e-12);
        be.gelu(p.ffn, R * I + 5);
        be.tanh(p.th, R * I + 5);
        be.softmaxRows(p.sm, 0, 12 * R, R, 0.125);
        be.matmulNT(p.nt, p.a, p.b, 97, 128, 64, C, C, 128);
        be.matmulNN(p.nn, p.pr, p.b, 97, 64, 128, 128, C, C);
        be.dotRows(p.dots, p.matrix, p.vec, N, C);
      },
      ['res', 'ln', 'ffn', 'th', 'sm', 'nt', 'nn', 'dots'],
    );
  });
});

describe('whole models: bitwise the same for any thread count', () => {
  it('the full-size synthetic model (two sequences of different lengths)', async () => {
    const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
    const T = 96;
    const lengths = [96, 61];
    const inputIds = new Int32Array(2 * T);
    for (let i = 0; i < inputIds.length; i++) inputIds[i] = (i * 7919 + 11) % config.vocab_size;
    const input = { B: 2, T, inputIds, tokenTypeIds: new Int32Array(2 * T), lengths };
    const outs = new Map<number, { hidden: Float32Array; pooled: Float32Array }>();
    for (const threads of [1, 2]) {
      const be = await createBackend('wasm', { threads, ...SPLIT_ALL });
      try {
        const params = loadBertParamsFromTensors(syntheticTensorSource('context', config), config, be);
        const out = bertForward(be, params, config, input);
        outs.set(threads, { hidden: out.lastHiddenState, pooled: out.poolerOutput });
      } finally {
        be.dispose();
      }
    }
    expectBitwise('synthetic pooler_output, 2 threads', outs.get(2)!.pooled, outs.get(1)!.pooled);
    expectBitwise('synthetic last_hidden_state, 2 threads', outs.get(2)!.hidden, outs.get(1)!.hidden);
  });

  const golden = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')) as {
    texts: string[];
    models: Record<string, { pooler_f64: number[] }[]>;
  };

  it('a padded batch of every golden text through the tiny model', async () => {
    const dir = 'test/fixtures/tiny-context';
    const file = (name: string) => new Uint8Array(readFileSync(`${dir}/${name}`));
    const config = parseBertConfig(new TextDecoder().decode(file('config.json')), 'config.json');
    const tokenizer = BertTokenizer.fromFiles({ vocab: file('vocab.txt'), tokenizerConfig: file('tokenizer_config.json') });
    const seqs = golden.texts.map((t) => tokenizer.encode(t, { maxLength: 128 }).ids);
    const T = Math.max(...seqs.map((q) => q.length));
    const input: BertInput = {
      B: seqs.length,
      T,
      inputIds: new Int32Array(seqs.length * T),
      tokenTypeIds: new Int32Array(seqs.length * T),
      lengths: seqs.map((q) => q.length),
    };
    seqs.forEach((q, b) => input.inputIds.set(q, b * T));
    const outs = new Map<number, Float32Array[]>();
    for (const threads of THREADS) {
      const be = await createBackend('wasm', { threads, ...SPLIT_ALL });
      try {
        const params = loadBertParams(bytesSource(file('model.safetensors'), 'model.safetensors'), config, be);
        const out = bertForward(be, params, config, input);
        outs.set(threads, [out.lastHiddenState, out.poolerOutput]);
      } finally {
        be.dispose();
      }
    }
    for (const threads of THREADS.slice(1)) {
      expectBitwise(`tiny batch hidden, ${threads} threads`, outs.get(threads)![0], outs.get(1)![0]);
      expectBitwise(`tiny batch pooler, ${threads} threads`, outs.get(threads)![1], outs.get(1)![1]);
    }
  });

  it('the tiny encoders (default split threshold), and parity with tiny-golden on 2 threads', async () => {
    for (const model of ['tiny-question', 'tiny-context']) {
      const vectors = new Map<number, Float32Array[]>();
      for (const threads of THREADS) {
        const encoder = await Encoder.fromDirectory(`test/fixtures/${model}`, { threads });
        expect(encoder.threads).toBe(threads);
        vectors.set(threads, await encoder.embed(golden.texts, { batchSize: 3 }));
        encoder.dispose();
      }
      for (const threads of THREADS.slice(1)) {
        vectors.get(threads)!.forEach((v, i) => expectBitwise(`${model} text ${i}, ${threads} threads`, v, vectors.get(1)![i]));
      }
      vectors.get(2)!.forEach((v, i) => {
        const d = diff(v, golden.models[model][i].pooler_f64);
        expect(d.maxAbs, `${model} text ${i} on 2 threads: ${d.detail}`).toBeLessThanOrEqual(2e-5);
      });
    }
  });
});

describe('Node, Deno and Bun (built dist/, test/threads-check.mjs)', () => {
  for (const runtime of ['node', 'deno', 'bun'] as CliRuntime[]) {
    it(`${runtime}: 2 threads on worker_threads${runtime === 'node' ? '' : ' and on Web Workers'}, bitwise as 1, exits without dispose`, async (ctx) => {
      skipTestWithout(ctx, built(['dist/index.js', 'build/kernels-mt.wasm']));
      const [command, ...pre] = runtimeCommand(runtime);
      const r = await run(command, [...pre, 'test/threads-check.mjs', REPO_ROOT], REPO_ROOT, 60_000);
      const line = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `${runtime} exited ${r.code} (null: killed, i.e. it did not exit by itself)\n${r.stdout}\n${r.stderr}`).toBe(0);
      const result = JSON.parse(line) as { threads: Record<string, number>; identical: Record<string, boolean> };
      const expected = runtime === 'node' ? { one: 1, workerThreads: 2 } : { one: 1, workerThreads: 2, webWorkers: 2 };
      expect(result.threads).toEqual(expected);
      expect(Object.values(result.identical).every(Boolean), line).toBe(true);
      console.log(line);
    });
  }
});

describe('lifecycle and fallback', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    resetThreadWarning();
  });

  it('dispose() ends the workers: a program that used 2 threads exits by itself', (ctx) => {
    skipTestWithout(ctx, built(['dist/node/index.js', 'build/kernels-mt.wasm']));
    // No process.exit: the child must end because nothing keeps it alive. Without dispose too:
    // idle workers are unref'd, so a forgetful program still exits.
    const script = `
      const { Encoder } = await import(${JSON.stringify(new URL('../dist/node/index.js', import.meta.url).href)});
      const a = await Encoder.fromDirectory('test/fixtures/tiny-question', { threads: 2 });
      const b = await Encoder.fromDirectory('test/fixtures/tiny-context', { threads: 3 });
      const [v] = await a.embed(['고혈압 처방']);
      await b.embed(['환자 상담']);
      a.dispose();
      let threw = '';
      try { await a.embed(['x']); } catch (e) { threw = e.code; }
      console.log(JSON.stringify({ threads: [a.threads, b.threads], dim: v.length, threw }));
    `;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, `child did not exit by itself within 30 s (hanging workers?)\n${r.stderr}`).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ threads: [2, 3], dim: 64, threw: 'ENCODER_DISPOSED' });
    console.log(`child with 2 + 3 threads exited by itself in ${Date.now() - started} ms`);
  });

  it('without SharedArrayBuffer: 1 thread, the same vectors, one warning', async () => {
    const ref = await Encoder.fromDirectory('test/fixtures/tiny-question', { threads: 1 });
    const [expected] = await ref.embed(['고혈압 처방 사례']);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('SharedArrayBuffer', undefined);
    const a = await Encoder.fromDirectory('test/fixtures/tiny-question', { threads: 2 });
    const b = await Encoder.fromDirectory('test/fixtures/tiny-question', { threads: 4 });
    vi.unstubAllGlobals();
    expect([a.threads, b.threads]).toEqual([1, 1]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/1 thread instead of 2: SharedArrayBuffer is not available/);
    const [got] = await a.embed(['고혈압 처방 사례']);
    expectBitwise('fallback', got, expected);
    for (const e of [ref, a, b]) e.dispose();
  });

  it('a page that is not cross-origin isolated falls back too, naming the headers', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('crossOriginIsolated', false);
    const be = await createBackend('wasm', { threads: 2 });
    expect(be.threads).toBe(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/not cross-origin isolated.*Cross-Origin-Embedder-Policy/);
  });

  it('workers that cannot start: 1 thread and the reason, not a hang or a throw', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const be = await createBackend('wasm', {
      threads: 2,
      workerFactory: () => ({
        postMessage() {},
        listen(_onMessage, onError) {
          queueMicrotask(() => onError(new Error('blocked by policy')));
        },
        unref() {},
        terminate() {},
      }),
    });
    expect(be.threads).toBe(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/blocked by policy/);
  });

  it('a kernel that traps on the threads is an error, not a hang, and the pool keeps working', async () => {
    // The guard never lets such a call through; this drives the pool directly to see that a trap in
    // a worker (or here) is reported and leaves the pool usable.
    const module = await loadKernelModule(readFileSync('build/kernels-mt.wasm'));
    const memory = new WebAssembly.Memory({ initial: 32, maximum: 64, shared: true });
    const ex = await instantiateKernels(module, memory, 'kernels-mt.wasm');
    const control = Math.ceil(ex.heap_base() / 64) * 64;
    const pool = await KernelThreadPool.create({
      module, memory, exports: ex as unknown as WebAssembly.Exports, control, threads: 3, factory: nodeWorkerFactory,
    });
    try {
      const data = control + controlBytes() + 64;
      const n = 4096;
      const x = new Float32Array(memory.buffer, data, 2 * n);
      x.fill(1);
      // add_f32(out, x, n) in 200 chunks of 16 floats, every one past the end of the heap.
      const beyond = 64 * 65536 + 1024;
      expect(() => pool.run('add_f32', [beyond, beyond, 200 * 16], { rowsArg: 2, rows: 200 * 16, chunkRows: 16, advance: [[0, F32], [1, F32]] })).toThrow();
      // Then a good call, split in 8 chunks, on the same pool: out[i] = 1 + 1.
      pool.run('add_f32', [data, data + n * F32, n], { rowsArg: 2, rows: n, chunkRows: n / 8, advance: [[0, F32], [1, F32]] });
      expect(x.subarray(0, n).every((v) => v === 2)).toBe(true);
    } finally {
      pool.dispose();
    }
  });

  it('rejects a thread count that is not an integer from 1 to 64', async () => {
    for (const threads of [0, -1, 1.5, 65, Number.NaN]) {
      await expect(createBackend('wasm', { threads }), `threads ${threads}`).rejects.toMatchObject({ code: 'KERNEL_BAD_OPTION' });
    }
  });
});
