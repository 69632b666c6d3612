// The WebGPU backend outside Chromium. Node has no navigator.gpu: 'webgpu' is WEBGPU_UNAVAILABLE and
// 'auto' runs on wasm (one backend-fallback event, the wasm vectors). Deno has navigator.gpu (wgpu;
// here on Mesa's llvmpipe, a fallback adapter): 'webgpu' runs the tiny models within 2e-5 of the
// float64 goldens (texts up to 64 tokens: software adapters are slow), 'auto' refuses the fallback
// adapter and runs on wasm, and an adapter-less navigator.gpu gives WEBGPU_NO_ADAPTER.
// Deno missing (node_modules/.bin/deno): one skip line, a failure under CI=true.
import { skipWithout } from './helpers/requirement.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Encoder } from '../src/node/encoder.js';
import { WebGpuError } from '../src/errors/webgpu-error.js';
import { FIXTURES, REPO_ROOT, run } from './runtimes/launch.js';

describe('WebGPU in Node (no navigator.gpu)', () => {
  it("'webgpu' is WEBGPU_UNAVAILABLE; 'auto' runs on wasm, says so once, and gives the wasm vectors", async () => {
    const dir = join(FIXTURES, 'tiny-question');
    const error = await Encoder.fromDirectory(dir, { backend: 'webgpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGpuError);
    expect(error).toMatchObject({ code: 'WEBGPU_UNAVAILABLE' });
    const events: unknown[] = [];
    const auto = await Encoder.fromDirectory(dir, { backend: 'auto', onBackendFallback: (e) => events.push(e) });
    const wasm = await Encoder.fromDirectory(dir, { backend: 'wasm' });
    try {
      expect(auto.backendKind).toBe('wasm');
      expect(wasm.backendKind).toBe('wasm');
      expect(auto.webgpu).toBeUndefined();
      expect(events).toMatchObject([{ type: 'backend-fallback', from: 'webgpu', to: 'wasm', when: 'load', code: 'WEBGPU_UNAVAILABLE' }]);
      const texts = ['고혈압 진단.', 'high blood pressure 처방 사례'];
      expect(await auto.embed(texts)).toEqual(await wasm.embed(texts));
    } finally {
      auto.dispose();
      wasm.dispose();
    }
  });

  it("docs/webgpu.md's example runs in Node: on wasm, with the WEBGPU_UNAVAILABLE event", async () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'webgpu.md'), 'utf8');
    const block = /```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block, 'a js block in docs/webgpu.md').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'kmed-webgpu-doc-'));
    try {
      const file = join(dir, 'example.mjs');
      writeFileSync(file, block!.replace("from 'kmed-dpr'", `from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'node', 'index.js')).href)}`));
      const r = await run(process.execPath, [file], REPO_ROOT, 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(['on wasm: WEBGPU_UNAVAILABLE', 'wasm ', '64']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad backend or webgpu option with OptionError', async () => {
    const dir = join(FIXTURES, 'tiny-question');
    await expect(Encoder.fromDirectory(dir, { backend: 'gpu' as never })).rejects.toMatchObject({ code: 'OPTION_BAD_VALUE' });
    await expect(Encoder.fromDirectory(dir, { backend: 'auto', webgpu: { timeoutMs: -1 } })).rejects.toMatchObject({ code: 'OPTION_BAD_VALUE' });
    await expect(Encoder.fromDirectory(dir, { backend: 'auto', webgpu: { timeout: 5 } as never })).rejects.toMatchObject({ code: 'OPTION_UNKNOWN' });
  });
});

const DENO = join(REPO_ROOT, 'node_modules', '.bin', 'deno');
const noDeno = skipWithout({ what: 'Deno', missing: existsSync(DENO) ? undefined : `${DENO} not found`, fix: 'npm ci (Deno is a devDependency)' });

describe.skipIf(noDeno)('WebGPU in Deno', () => {
  it("'webgpu' within 2e-5 of float64 on the tiny models; 'auto' refuses a fallback adapter; no adapter is WEBGPU_NO_ADAPTER", async () => {
    const existsDist = existsSync(join(REPO_ROOT, 'dist', 'node', 'index.js'));
    if (!existsDist) throw new Error('dist/node/index.js is missing: run `npm run build` first');
    const r = await run(DENO, ['run', '--allow-read', '--allow-env', '--allow-sys', 'test/runtimes/webgpu-deno.mjs', '--lib', 'dist/node/index.js', '--fixtures', FIXTURES, '--max-tokens', '64'], REPO_ROOT, 240_000);
    const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    expect(line, `deno exit ${r.code}: ${r.stderr}`).toBeDefined();
    const result = JSON.parse(line!);
    expect(result.error).toBeUndefined();
    expect(result.hasNavigatorGpu).toBe(true);
    const a = result.adapter;
    console.log(`Deno ${result.version}, adapter: ${a ? `${a.vendor} ${a.architecture} ${a.description}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}` : 'none'}\n` +
      Object.entries(result.models).map(([m, v]) => `  ${m}: ${JSON.stringify(v)}`).join('\n'));
    if (!a) {
      // No adapter at all in this Deno: every model must have failed with the typed error.
      for (const v of Object.values(result.models) as Array<{ error: { code: string } }>) expect(v.error.code).toBe('WEBGPU_NO_ADAPTER');
    } else {
      for (const [model, v] of Object.entries(result.models) as Array<[string, { kind: string; hidden: number; pooler: number; texts: number }]>) {
        expect(v.kind, model).toBe('webgpu');
        expect(v.texts, model).toBeGreaterThan(30);
        expect(v.hidden, model).toBeLessThanOrEqual(2e-5);
        expect(v.pooler, model).toBeLessThanOrEqual(2e-5);
      }
    }
    expect(result.auto.kind).toBe(a && !a.isFallbackAdapter ? 'webgpu' : 'wasm');
    if (result.auto.kind === 'wasm') expect(result.auto.events).toMatchObject([{ type: 'backend-fallback', when: 'load' }]);
    expect(result.noAdapter).toMatchObject({ name: 'WebGpuError', code: 'WEBGPU_NO_ADAPTER' });
  }, 300_000);
});
