// The WebGPU backend in Chromium on its SwiftShader (software) adapter: parity with Hugging Face's
// float64 outputs on the tiny checkpoints (every golden text, ≤ 2e-5) and on the full-size synthetic
// model (its shortest golden texts only: SwiftShader runs a 768-wide layer at ~0.25 GFLOP/s, ≤ 1e-4);
// vectors bitwise the same for any batch composition; the word-embedding table split into chunks
// when a binding limit is small (bitwise the same vectors) and WEBGPU_LIMIT when a tensor cannot
// fit; and every fault typed — no WebGPU, no adapter, a refused adapter or device, a fallback
// adapter under 'auto', a device that never answers, out of memory, the device lost mid-life —
// with backend 'auto' moving to wasm once (an event) and giving the wasm vectors.
// Chromium missing: one skip line (a failure under CI=true). Does not own the kernels (src/webgpu/).
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer } from '../scripts/serve-web.mjs';
import { CHROMIUM, FIXTURES, REPO_ROOT } from './runtimes/launch.js';
import { diff, ErrorTable } from './helpers/compare.js';
import { chromium, skipWithout } from './helpers/requirement.js';

const TINY_TOL = 2e-5;
const FULL_TOL = 1e-4;
const TINY_MODELS = ['tiny-question', 'tiny-context', 'tiny-odd-f16'] as const;

const noChromium = skipWithout(chromium());

interface TinyItem { ids: number[]; hidden_f64: number[]; pooler_f64: number[] }
const tinyGolden = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')) as { texts: string[]; models: Record<string, TinyItem[]> };
interface FullItem { ids: number[]; pooler_f64: number[]; cls_f64: number[]; hidden_rows_f64: number[] }
const fullGolden = JSON.parse(readFileSync('test/fixtures/synthetic-base-golden.json', 'utf8')) as { texts: string[]; outputs: Record<string, FullItem[]> };

const table = new ErrorTable();
let browser: Browser;
let page: Page;
let server: { url: string; close: () => Promise<void> };
let adapter = '';

/** Float32 values as their bit patterns (for bitwise comparisons across page.evaluate's JSON). */
const BITS = 'const bits = (v) => Array.from(new Uint32Array(Float32Array.from(v).buffer));';

describe.skipIf(noChromium)('WebGPU backend in Chromium (SwiftShader)', () => {
  beforeAll(async () => {
    for (const built of ['dist/index.js', 'dist/webgpu/model.js', 'dist/kernels/kernels.wasm']) {
      if (!existsSync(`${REPO_ROOT}/${built}`)) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    server = await startServer({ mounts: { '/fixtures/': FIXTURES } });
    const { chromium } = await import('playwright-core');
    // --no-sandbox: these machines run as root. SwiftShader is Chromium's bundled software adapter.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] });
    page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${server.url}/test/runtimes/webgpu.html`);
    await page.waitForFunction(() => (window as unknown as { kmed?: unknown }).kmed !== undefined, null, { timeout: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (adapter) console.log(`\n${table.toMarkdown(`max |WebGPU − f64| (Chromium ${browser?.version()}, adapter: ${adapter})`)}\n`);
  });

  it('the linear kernel across tile edges (rows, in, out ∈ 1, 15-17, 63-65, 127 …): every epilogue within 1e-6 relative of float64', async () => {
    const r = await page.evaluate(async () => {
      const k = (window as any).kmed;
      const adapter = (await navigator.gpu.requestAdapter())!;
      const device = await adapter.requestDevice();
      const STORAGE = 0x80, COPY_DST = 0x8, COPY_SRC = 0x4, MAP_READ = 0x1, UNIFORM = 0x40;
      const out: Array<{ shape: string; epilogue: number; half: boolean; worst: number }> = [];
      let seed = 7;
      const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const buffer = (data: Float32Array | Uint32Array, usage = STORAGE | COPY_DST) => {
        const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage });
        device.queue.writeBuffer(b, 0, data);
        return b;
      };
      for (const half of [false, true]) {
        const module = device.createShaderModule({ code: k.kernels.linearWgsl(half) });
        const pipelines = [0, 1, 2].map((e) => device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { EPILOGUE: e } } }));
        for (const [R, IN, OUT] of [[1, 1, 1], [1, 17, 65], [15, 16, 64], [16, 15, 63], [17, 33, 127], [33, 64, 129], [65, 17, 1], [3, 768, 5], [2, 3072, 3]]) {
          const x = Float32Array.from({ length: R * IN }, rnd);
          let w = Float32Array.from({ length: OUT * IN }, rnd);
          if (half) {
            // Round to f16 here too, so the reference multiplies the same weights.
            const packed = new Uint32Array(Math.ceil(w.length / 2));
            const h = new Float32Array(w.length);
            for (let i = 0; i < w.length; i++) {
              const v = Math.fround(w[i]);
              const f16 = new Float32Array([v]);
              const bits = new Uint32Array(f16.buffer)[0];
              // nearest-even to 10 mantissa bits; values below f16's normal range (2^-14) count as 0
              // here (a few in a million of these uniform draws; their products are < 1e-4 anyway).
              const e = (bits >>> 23) & 0xff, m = bits & 0x7fffff;
              let hm = m >>> 13; const rest = m & 0x1fff;
              if (rest > 0x1000 || (rest === 0x1000 && (hm & 1))) hm++;
              let he = e - 127 + 15;
              if (hm === 0x400) { hm = 0; he++; }
              const hb = v === 0 || he <= 0 ? 0 : ((bits >>> 16) & 0x8000) | (he << 10) | hm;
              packed[i >> 1] |= hb << ((i & 1) * 16);
              h[i] = hb === 0 ? 0 : (hb & 0x8000 ? -1 : 1) * 2 ** (he - 15) * (1 + hm / 1024);
            }
            w = h;
            (w as any).packed = packed;
          }
          const bias = Float32Array.from({ length: OUT }, rnd);
          const res = Float32Array.from({ length: R * OUT }, rnd);
          for (const epilogue of [0, 1, 2]) {
            const dims = new Uint32Array([R, IN, OUT, 0]);
            const o = device.createBuffer({ size: Math.max(16, R * OUT * 4), usage: STORAGE | COPY_SRC });
            const read = device.createBuffer({ size: Math.max(16, R * OUT * 4), usage: MAP_READ | COPY_DST });
            const bg = device.createBindGroup({ layout: pipelines[epilogue].getBindGroupLayout(0), entries: [
              { binding: 0, resource: { buffer: buffer(dims, UNIFORM | COPY_DST) } },
              { binding: 1, resource: { buffer: buffer(x) } },
              { binding: 2, resource: { buffer: buffer(half ? (w as any).packed : w) } },
              { binding: 3, resource: { buffer: buffer(bias) } },
              { binding: 4, resource: { buffer: buffer(res) } },
              { binding: 5, resource: { buffer: o } },
            ] });
            const enc = device.createCommandEncoder();
            const pass = enc.beginComputePass();
            pass.setPipeline(pipelines[epilogue]);
            pass.setBindGroup(0, bg);
            pass.dispatchWorkgroups(Math.ceil(OUT / k.kernels.LINEAR_TILE_COLS), Math.ceil(R / k.kernels.LINEAR_TILE_ROWS));
            pass.end();
            enc.copyBufferToBuffer(o, 0, read, 0, R * OUT * 4);
            device.queue.submit([enc.finish()]);
            await read.mapAsync(MAP_READ);
            const got = new Float32Array(read.getMappedRange().slice(0, R * OUT * 4));
            read.unmap();
            let worst = 0;
            for (let rr = 0; rr < R; rr++) {
              for (let n = 0; n < OUT; n++) {
                let acc = 0;
                let mag = 0;
                for (let kk = 0; kk < IN; kk++) {
                  acc += x[rr * IN + kk] * w[n * IN + kk];
                  mag += Math.abs(x[rr * IN + kk] * w[n * IN + kk]);
                }
                let v = acc + bias[n];
                if (epilogue === 1) {
                  // erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): exact enough for the 1e-6 bound.
                  const z = v / Math.SQRT2;
                  const t = 1 / (1 + 0.3275911 * Math.abs(z));
                  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
                  v = 0.5 * v * (1 + Math.sign(z) * erf);
                }
                if (epilogue === 2) v += res[rr * OUT + n];
                const scale = mag + Math.abs(bias[n]) + 1;
                worst = Math.max(worst, Math.abs(got[rr * OUT + n] - v) / scale);
              }
            }
            out.push({ shape: `${R}x${IN}x${OUT}`, epilogue, half, worst });
          }
        }
      }
      device.destroy();
      return out;
    });
    const bad = r.filter((c: { worst: number }) => !(c.worst <= 1e-6));
    console.log(`linear kernel sweep: ${r.length} cases, worst scaled error ${Math.max(...r.map((c: { worst: number }) => c.worst)).toExponential(2)}`);
    expect(bad).toEqual([]);
  }, 120_000);

  it.each(TINY_MODELS)('%s: every golden text within 2e-5 of float64, hidden states and pooler', async (model) => {
    const items = tinyGolden.models[model];
    const r = await page.evaluate(async ({ model, ids }) => {
      const k = (window as any).kmed;
      const encoder = await k.lib.Encoder.fromFiles(await k.modelFiles(model), { backend: 'webgpu' });
      // All texts in one pass (vectors do not depend on the batch: the next test checks it bitwise).
      const o = await encoder.forwardIdsAsync(ids);
      const out = ids.map((seq: number[], b: number) => ({
        hidden: Array.from(o.lastHiddenState.subarray(b * o.T * o.C, (b * o.T + seq.length) * o.C)),
        pooler: Array.from(o.poolerOutput.subarray(b * o.C, (b + 1) * o.C)),
      }));
      const info = encoder.webgpu;
      const kind = encoder.backendKind;
      encoder.dispose();
      return { out, info, kind };
    }, { model, ids: items.map((it) => it.ids) });
    expect(r.kind).toBe('webgpu');
    const a = r.info.adapter;
    adapter ||= `${a.vendor} ${a.architecture}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}, shader-f16: ${a.features.includes('shader-f16') ? 'yes' : 'no'}`;
    const failures: string[] = [];
    items.forEach((item, i) => {
      for (const [name, ours, ref] of [['hidden', r.out[i].hidden, item.hidden_f64], ['pooler', r.out[i].pooler, item.pooler_f64]] as const) {
        const d = diff(ours, ref);
        table.note(model, `${name}`, d.maxAbs);
        if (!(d.maxAbs <= TINY_TOL)) failures.push(`text ${i} (${item.ids.length} tokens) ${name}: ${d.detail}`);
      }
    });
    expect(failures).toEqual([]);
  }, 120_000);

  it('tiny-question: vectors bitwise the same alone, in mixed batches and through embed, for every pooling', async () => {
    const r = await page.evaluate(async ({ texts, BITS }) => {
      const bits = new Function(`${BITS} return bits;`)();
      const k = (window as any).kmed;
      const encoder = await k.lib.Encoder.fromFiles(await k.modelFiles('tiny-question'), { backend: 'webgpu' });
      const result: Record<string, { alone: number[][]; mixed: number[][]; reversed: number[][] }> = {};
      for (const pooling of ['pooler', 'cls', 'mean']) {
        const alone = [];
        for (const t of texts) alone.push(bits(await encoder.embed(t, { pooling })));
        const mixed = (await encoder.embed(texts, { pooling, batchSize: 5 })).map(bits);
        const reversed = (await encoder.embed([...texts].reverse(), { pooling, batchSize: 3 })).map(bits).reverse();
        result[pooling] = { alone, mixed, reversed };
      }
      encoder.dispose();
      return result;
    }, { texts: tinyGolden.texts.slice(0, 24), BITS });
    for (const pooling of ['pooler', 'cls', 'mean']) {
      const { alone, mixed, reversed } = r[pooling];
      expect(mixed, `${pooling}: batch of 5 vs alone`).toEqual(alone);
      expect(reversed, `${pooling}: reversed batches of 3 vs alone`).toEqual(alone);
    }
  }, 120_000);

  it("dtype 'f16': weights stored as packed f16 (about half the bytes; no shader-f16 needed), within 2e-5 of wasm's dtype 'f16', pooler cosine ≥ 0.9999 vs f64; int8 refused", async () => {
    const items = tinyGolden.models['tiny-question'];
    const r = await page.evaluate(async ({ ids }) => {
      const k = (window as any).kmed;
      const files = await k.modelFiles('tiny-question');
      const gpu16 = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', dtype: 'f16' });
      const gpu32 = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu' });
      const wasm16 = await k.lib.Encoder.fromFiles(files, { backend: 'wasm', dtype: 'f16', threads: 1 });
      const out = [];
      for (const seq of ids) {
        const a = await gpu16.forwardIdsAsync([seq]);
        const b = wasm16.forwardIds([seq]);
        out.push({ gpu: Array.from(a.poolerOutput), wasm: Array.from(b.poolerOutput), gpuHidden: Array.from(a.lastHiddenState), wasmHidden: Array.from(b.lastHiddenState) });
      }
      const info = [gpu16.webgpu, gpu32.webgpu];
      let int8;
      try {
        await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', dtype: 'int8' });
      } catch (e: any) {
        int8 = { name: e.name, code: e.code };
      }
      gpu16.dispose();
      gpu32.dispose();
      wasm16.dispose();
      return { out, info, int8 };
    }, { ids: items.filter((it) => it.ids.length <= 64).map((it) => it.ids) });
    expect(r.info[0].dtype).toBe('f16');
    expect(r.info[1].dtype).toBe('f32');
    expect(r.info[0].weightBytes).toBeLessThan(0.75 * r.info[1].weightBytes);
    let hidden = 0;
    let pooler = 0;
    let minCos = 1;
    const withinTiny = items.filter((it) => it.ids.length <= 64);
    r.out.forEach((o: { gpu: number[]; wasm: number[]; gpuHidden: number[]; wasmHidden: number[] }, i: number) => {
      hidden = Math.max(hidden, diff(o.gpuHidden, o.wasmHidden).maxAbs);
      pooler = Math.max(pooler, diff(o.gpu, o.wasm).maxAbs);
      const ref = withinTiny[i].pooler_f64;
      const dot = o.gpu.reduce((s, x, c) => s + x * ref[c], 0);
      const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      minCos = Math.min(minCos, dot / (norm(o.gpu) * norm(ref)));
    });
    table.note('tiny-question f16 (vs wasm f16)', 'hidden', hidden);
    table.note('tiny-question f16 (vs wasm f16)', 'pooler', pooler);
    console.log(`f16 on WebGPU vs wasm f16: hidden ${hidden.toExponential(2)}, pooler ${pooler.toExponential(2)}; min pooler cosine vs f64 ${minCos.toFixed(6)}; weights ${r.info[0].weightBytes} vs ${r.info[1].weightBytes} bytes`);
    expect(hidden).toBeLessThanOrEqual(2e-5);
    expect(pooler).toBeLessThanOrEqual(2e-5);
    expect(minCos).toBeGreaterThanOrEqual(0.9999);
    expect(r.int8).toEqual({ name: 'WebGpuError', code: 'WEBGPU_LIMIT' });
  }, 120_000);

  it('splits the word-embedding table under a small binding limit (bitwise the same vectors) and names the limit a tensor cannot fit', async () => {
    const r = await page.evaluate(async ({ texts, BITS }) => {
      const bits = new Function(`${BITS} return bits;`)();
      const k = (window as any).kmed;
      const files = await k.modelFiles('tiny-question');
      const whole = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu' });
      // 64-wide rows: 256 bytes each; 512 rows a chunk -> 21 chunks for 10336 rows. 131072 bytes is
      // also the largest other tensor (position embeddings, 512 × 64 f32), which must fit whole.
      const chunked = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', webgpu: { maxStorageBufferBindingSize: 131_072 } });
      const a = (await whole.embed(texts)).map(bits);
      const b = (await chunked.embed(texts)).map(bits);
      const chunks = [whole.webgpu.wordEmbeddingChunks, chunked.webgpu.wordEmbeddingChunks];
      whole.dispose();
      chunked.dispose();
      // The same limit with f16 words (128 bytes a row: 1023 rows a chunk -> 11 chunks); their
      // vectors are compared with wasm's f16 in the dtype test.
      const chunked16 = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', dtype: 'f16', webgpu: { maxStorageBufferBindingSize: 131_072 } });
      const wasm16 = await k.lib.Encoder.fromFiles(files, { backend: 'wasm', dtype: 'f16', threads: 1 });
      const b16 = await chunked16.embed(texts);
      const w16 = await wasm16.embed(texts);
      const diff16 = Math.max(...b16.map((v: Float32Array, i: number) => Math.max(...Array.from(v, (x, c) => Math.abs(x - w16[i][c])))));
      chunks.push(chunked16.webgpu.wordEmbeddingChunks);
      chunked16.dispose();
      wasm16.dispose();
      let error;
      try {
        // Below the position-embedding table's 131072 bytes.
        await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', webgpu: { maxStorageBufferBindingSize: 65_536 } });
      } catch (e) {
        error = { name: e.name, code: e.code, message: e.message };
      }
      return { same: JSON.stringify(a) === JSON.stringify(b), diff16, chunks, error };
    }, { texts: tinyGolden.texts.slice(0, 12), BITS });
    expect(r.chunks).toEqual([1, 21, 11]);
    expect(r.same).toBe(true);
    expect(r.diff16).toBeLessThanOrEqual(2e-5);
    expect(r.error?.name).toBe('WebGpuError');
    expect(r.error?.code).toBe('WEBGPU_LIMIT');
    expect(r.error?.message).toMatch(/position_embeddings.*maxStorageBufferBindingSize/);
  }, 120_000);

  it('types every fault; backend auto falls back to wasm once, with an event, and gives the wasm vectors', async () => {
    const r = await page.evaluate(async ({ texts, BITS }) => {
      const bits = new Function(`${BITS} return bits;`)();
      const k = (window as any).kmed;
      const files = await k.modelFiles('tiny-question');
      const real = navigator.gpu;
      const describe = (e: any) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e) });
      const wasm = await k.lib.Encoder.fromFiles(files, { backend: 'wasm' });
      const wasmBits = (await wasm.embed(texts)).map(bits);
      wasm.dispose();
      const fakeAdapter = (over: Record<string, unknown>) => ({
        info: { vendor: 'fake', architecture: 'test', device: '', description: '', isFallbackAdapter: false },
        features: new Set(), limits: { maxStorageBufferBindingSize: 1 << 27, maxBufferSize: 1 << 28 },
        requestDevice: () => Promise.reject(new DOMException('refused on purpose', 'OperationError')),
        ...over,
      });
      const cases: Record<string, unknown> = {
        'no navigator.gpu': undefined,
        'no adapter': { requestAdapter: async () => null },
        'adapter refused': { requestAdapter: () => Promise.reject(new Error('adapter refused on purpose')) },
        'adapter never answers': { requestAdapter: () => new Promise(() => {}) },
        'device refused': { requestAdapter: async () => fakeAdapter({}) },
        'fallback adapter only': { requestAdapter: async () => fakeAdapter({ info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } }) },
      };
      const out: Record<string, unknown> = {};
      for (const [name, gpu] of Object.entries(cases)) {
        Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true });
        const row: Record<string, unknown> = {};
        try {
          await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', webgpu: { timeoutMs: 300 } });
          row.webgpu = 'loaded';
        } catch (e) {
          row.webgpu = describe(e);
        }
        const events: unknown[] = [];
        const auto = await k.lib.Encoder.fromFiles(files, { backend: 'auto', webgpu: { timeoutMs: 300 }, onBackendFallback: (e: unknown) => events.push(e) });
        row.auto = { kind: auto.backendKind, events, same: JSON.stringify((await auto.embed(texts)).map(bits)) === JSON.stringify(wasmBits) };
        auto.dispose();
        out[name] = row;
      }
      Object.defineProperty(navigator, 'gpu', { value: real, configurable: true });

      // The real (SwiftShader) adapter is a fallback adapter: 'webgpu' takes it, 'auto' does not.
      // Device lost mid-life: 'webgpu' -> WEBGPU_DEVICE_LOST; 'auto' -> wasm (an event), wasm vectors.
      const lost: Record<string, unknown> = {};
      const gpuEncoder = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu' });
      const gpuBits = (await gpuEncoder.embed(texts)).map(bits);
      // Capture each encoder's device as it is created, to destroy it from outside (a lost device).
      const origRequest = GPUAdapter.prototype.requestDevice;
      let captured: GPUDevice | undefined;
      GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
        captured = await origRequest.call(this, d);
        return captured;
      };
      const victim = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu' });
      const victimDevice = captured!;
      const events: unknown[] = [];
      // 'auto' refuses the fallback adapter, so force the GPU path by reporting it as a real one.
      const infoDesc = Object.getOwnPropertyDescriptor(GPUAdapterInfo.prototype, 'isFallbackAdapter')!;
      Object.defineProperty(GPUAdapterInfo.prototype, 'isFallbackAdapter', { get: () => false, configurable: true });
      const autoVictim = await k.lib.Encoder.fromFiles(files, { backend: 'auto', onBackendFallback: (e: unknown) => events.push(e) });
      Object.defineProperty(GPUAdapterInfo.prototype, 'isFallbackAdapter', infoDesc);
      const autoDevice = captured!;
      GPUAdapter.prototype.requestDevice = origRequest;
      lost.autoKindBefore = autoVictim.backendKind;
      victimDevice.destroy();
      autoDevice.destroy();
      try {
        await victim.embed(texts);
        lost.webgpu = 'embedded';
      } catch (e) {
        lost.webgpu = describe(e);
      }
      lost.autoBits = JSON.stringify((await autoVictim.embed(texts)).map(bits)) === JSON.stringify(wasmBits);
      lost.autoKindAfter = autoVictim.backendKind;
      lost.autoEvents = events;
      victim.dispose();
      autoVictim.dispose();

      // Out of memory during a pass (the error scope reports it): a typed error, no vector.
      const oomEncoder = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu' });
      const origPop = GPUDevice.prototype.popErrorScope;
      let pops = 0;
      GPUDevice.prototype.popErrorScope = async function (this: GPUDevice) {
        const real = await origPop.call(this);
        // The second pop of a pass is its 'out-of-memory' scope.
        return ++pops === 2 ? new GPUOutOfMemoryError('out of memory on purpose') : real;
      };
      let oom;
      try {
        await oomEncoder.embed(texts);
        oom = 'embedded';
      } catch (e) {
        oom = describe(e);
      }
      GPUDevice.prototype.popErrorScope = origPop;
      const after = JSON.stringify((await oomEncoder.embed(texts)).map(bits)) === JSON.stringify(gpuBits);
      oomEncoder.dispose();

      // A read-back that never completes: WEBGPU_TIMEOUT after timeoutMs (never a hang), the device
      // is destroyed, and the next call says so (WEBGPU_DEVICE_LOST). Disposing mid-pass: ENCODER_DISPOSED.
      // timeoutMs bounds the load too (popErrorScope waits for the kernels to compile: seconds on a
      // busy CPU), so it is not set very low.
      const slow = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu', webgpu: { timeoutMs: 10_000 } });
      const origMap = GPUBuffer.prototype.mapAsync;
      GPUBuffer.prototype.mapAsync = () => new Promise(() => {});
      const hang: Record<string, unknown> = {};
      const t0 = performance.now();
      try {
        await slow.embed(texts);
        hang.first = 'embedded';
      } catch (e) {
        hang.first = describe(e);
      }
      hang.ms = performance.now() - t0;
      GPUBuffer.prototype.mapAsync = origMap;
      try {
        await slow.embed(texts);
        hang.second = 'embedded';
      } catch (e) {
        hang.second = describe(e);
      }
      slow.dispose();
      const disposed = await k.lib.Encoder.fromFiles(files, { backend: 'webgpu' });
      const pending = disposed.embed(texts);
      disposed.dispose();
      hang.disposed = await pending.then(() => 'embedded', (e: unknown) => describe(e));
      gpuEncoder.dispose();
      return { out, lost, oom, hang, afterOomSame: after, gpuVsWasmSame: JSON.stringify(gpuBits) === JSON.stringify(wasmBits) };
    }, { texts: tinyGolden.texts.slice(0, 6), BITS });
    const expected: Record<string, string> = {
      'no navigator.gpu': 'WEBGPU_UNAVAILABLE',
      'no adapter': 'WEBGPU_NO_ADAPTER',
      'adapter refused': 'WEBGPU_ADAPTER_REFUSED',
      'adapter never answers': 'WEBGPU_TIMEOUT',
      'device refused': 'WEBGPU_DEVICE_REFUSED',
    };
    const rows = r.out as Record<string, { webgpu: { name: string; code: string; message: string } | string; auto: { kind: string; events: Array<{ code: string; when: string; type: string }>; same: boolean } }>;
    for (const [name, code] of Object.entries(expected)) {
      expect(rows[name].webgpu, name).toMatchObject({ name: 'WebGpuError', code });
      expect(rows[name].auto.kind, name).toBe('wasm');
      expect(rows[name].auto.events, name).toMatchObject([{ type: 'backend-fallback', when: 'load', code }]);
      expect(rows[name].auto.same, name).toBe(true);
    }
    // A fallback adapter: 'webgpu' would take it (here the fake one then refuses the device), 'auto' does not.
    expect(rows['fallback adapter only'].webgpu).toMatchObject({ code: 'WEBGPU_DEVICE_REFUSED' });
    expect(rows['fallback adapter only'].auto).toMatchObject({ kind: 'wasm', same: true, events: [{ code: 'WEBGPU_NO_ADAPTER', when: 'load' }] });
    console.log('fault -> webgpu error / auto: ' + Object.entries(rows).map(([n, v]) => `${n} -> ${typeof v.webgpu === 'string' ? v.webgpu : v.webgpu.code} / ${v.auto.kind}`).join('; '));
    const lost = r.lost as { webgpu: { code: string }; autoKindBefore: string; autoKindAfter: string; autoBits: boolean; autoEvents: Array<{ code: string; when: string }> };
    expect(lost.webgpu).toMatchObject({ name: 'WebGpuError', code: 'WEBGPU_DEVICE_LOST' });
    expect(lost.autoKindBefore).toBe('webgpu');
    expect(lost.autoKindAfter).toBe('wasm');
    expect(lost.autoBits).toBe(true);
    expect(lost.autoEvents).toMatchObject([{ type: 'backend-fallback', when: 'embed', code: 'WEBGPU_DEVICE_LOST' }]);
    expect(r.oom).toMatchObject({ name: 'WebGpuError', code: 'WEBGPU_OUT_OF_MEMORY' });
    expect(r.afterOomSame).toBe(true);
    const hang = r.hang as { first: { code: string }; second: { code: string }; ms: number; disposed: { code: string } };
    expect(hang.first).toMatchObject({ name: 'WebGpuError', code: 'WEBGPU_TIMEOUT' });
    expect(hang.ms).toBeGreaterThanOrEqual(9_000);
    expect(hang.ms).toBeLessThan(40_000);
    expect(hang.second).toMatchObject({ name: 'WebGpuError', code: 'WEBGPU_DEVICE_LOST' });
    expect(hang.disposed).toMatchObject({ code: 'ENCODER_DISPOSED' });
    console.log(`WebGPU vs wasm vectors bitwise equal: ${r.gpuVsWasmSame} (not required: different summation order)`);
  }, 180_000);

  it("runs in a worker and in a BiEncoder: the main thread's WebGPU vectors; 'auto' reports its fallback across the thread", async () => {
    const r = await page.evaluate(async ({ texts, BITS }) => {
      const bits = new Function(`${BITS} return bits;`)();
      const k = (window as any).kmed;
      const main = await k.lib.Encoder.fromFiles(await k.modelFiles('tiny-context'), { backend: 'webgpu' });
      const mainBits = (await main.embed(texts)).map(bits);
      main.dispose();
      const w = await k.worker.WorkerEncoder.fromFiles(await k.modelFiles('tiny-context'), { backend: 'webgpu' });
      const workerBits = (await w.embed(texts)).map(bits);
      const kind = w.backendKind;
      w.dispose();
      const events: unknown[] = [];
      const auto = await k.worker.WorkerEncoder.fromFiles(await k.modelFiles('tiny-context'), { backend: 'auto', onBackendFallback: (e: unknown) => events.push(e) });
      const autoKind = auto.backendKind;
      auto.dispose();
      // A WebGpuError thrown in the worker comes back as a WebGpuError here.
      const refused = await k.worker.WorkerEncoder.fromFiles(await k.modelFiles('tiny-context'), { backend: 'webgpu', dtype: 'int8' })
        .then(() => undefined, (e: any) => ({ isWebGpuError: e instanceof k.lib.WebGpuError, code: e.code }));
      // BiEncoder: both towers on WebGPU, the context tower's vectors those of the lone encoder.
      const bi = await k.lib.BiEncoder.fromFiles({ question: await k.modelFiles('tiny-question'), context: await k.modelFiles('tiny-context') }, { backend: 'webgpu' });
      const biBits = (await bi.encodePassages(texts)).map(bits);
      const biKinds = [bi.question.backendKind, bi.context.backendKind];
      const scores = await bi.score(texts.slice(0, 2), texts.slice(2, 4));
      bi.dispose();
      return { same: JSON.stringify(mainBits) === JSON.stringify(workerBits), kind, autoKind, events, refused, biSame: JSON.stringify(biBits) === JSON.stringify(mainBits), biKinds, scores };
    }, { texts: tinyGolden.texts.slice(0, 8), BITS });
    expect(r.kind).toBe('webgpu');
    expect(r.same).toBe(true);
    expect(r.biKinds).toEqual(['webgpu', 'webgpu']);
    expect(r.refused).toEqual({ isWebGpuError: true, code: 'WEBGPU_LIMIT' });
    expect(r.biSame).toBe(true);
    expect(r.scores.flat().every((x: number) => Number.isFinite(x))).toBe(true);
    // SwiftShader is a fallback adapter, which 'auto' does not take.
    expect(r.autoKind).toBe('wasm');
    expect(r.events).toMatchObject([{ type: 'backend-fallback', when: 'load', code: 'WEBGPU_NO_ADAPTER' }]);
  }, 120_000);

  it('full-size synthetic model (bert-base shape) on SwiftShader: the shortest golden texts within 1e-4 of float64', async () => {
    const results: string[] = [];
    for (const seed of ['question', 'context']) {
      const items = fullGolden.outputs[seed];
      const shortest = Math.min(...items.map((it) => it.ids.length));
      // The shortest texts, each distinct id sequence once (texts 0 and 5 tokenize the same): one
      // 16-row tile of the matmul, so one pass costs what a single text does.
      const seen = new Set<string>();
      const picked = items.map((it, i) => i).filter((i) => {
        const key = items[i].ids.join(',');
        if (items[i].ids.length !== shortest || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      const r = await page.evaluate(async ({ seed, ids }) => {
        const k = (window as any).kmed;
        const config = k.parseBertConfig(await (await fetch('/fixtures/synthetic-base-config.json')).text(), 'synthetic-base-config.json');
        const t0 = performance.now();
        const model = await k.WebGpuBertModel.create(k.syntheticTensorSource(seed, config), config, { timeoutMs: 120_000 });
        const t1 = performance.now();
        const T = Math.max(...ids.map((s: number[]) => s.length));
        const input = {
          B: ids.length, T,
          inputIds: Int32Array.from(ids.flatMap((s: number[]) => [...s, ...new Array(T - s.length).fill(0)])),
          tokenTypeIds: new Int32Array(ids.length * T),
          lengths: ids.map((s: number[]) => s.length),
        };
        const out = await model.forward(input, 'all');
        const t2 = performance.now();
        const C = out.C;
        const res = ids.map((s: number[], b: number) => ({
          pooler: Array.from(out.poolerOutput.subarray(b * C, (b + 1) * C)),
          rows01: Array.from(out.lastHiddenState.subarray(b * T * C, b * T * C + 2 * C)),
        }));
        model.dispose();
        return { res, loadMs: t1 - t0, passMs: t2 - t1 };
      }, { seed, ids: picked.map((i) => items[i].ids) });
      const failures: string[] = [];
      picked.forEach((i, b) => {
        for (const [name, ours, ref] of [['pooler', r.res[b].pooler, items[i].pooler_f64], ['hidden rows 0-1', r.res[b].rows01, items[i].hidden_rows_f64]] as const) {
          const d = diff(ours, ref);
          table.note(`synthetic ${seed} text ${i}`, name, d.maxAbs);
          if (!(d.maxAbs <= FULL_TOL)) failures.push(`${seed} text ${i} ${name}: ${d.detail}`);
        }
      });
      results.push(`synthetic ${seed}: texts ${picked.join(', ')} (${shortest} tokens each, one batch): generate+upload ${(r.loadMs / 1000).toFixed(1)} s, pass ${(r.passMs / 1000).toFixed(1)} s`);
      expect(failures).toEqual([]);
    }
    console.log(results.join('\n'));
  }, 300_000);
});
