// Peak memory and time of loading a BERT checkpoint into the kernel heap, as a markdown table.
// Each row runs in a fresh child process (peak RSS is per process): `baseline` only imports the
// code and creates the backend; `fileSource` is ours — tensors copied from the file straight into
// the heap; `readFile` is the peer — the whole file read into memory first, then loaded from bytes
// (what a naive loader does). Median of --runs runs per row.
//
//   node dist/cli/main.js synth --seed context --out /tmp/synth-context
//   npx tsx bench/load-weights.ts /tmp/synth-context [--backend reference|wasm] [--runs 3]
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bytesSource, type ByteSource } from '../src/formats/byte-source.js';
import { parseBertConfig } from '../src/model/config.js';
import type { KernelBackend } from '../src/kernels/backend.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { loadBertParams } from '../src/model/weights.js';
import { median } from './median.js';

type Mode = 'baseline' | 'fileSource' | 'readFile';

async function createBackend(kind: string): Promise<KernelBackend> {
  if (kind === 'reference') return (await import('../src/kernels/reference.js')).createReferenceBackend();
  // The wasm backend's factory (src/kernels/index.ts) may be sync or async.
  const kernels = (await import('../src/kernels/index.js')) as { createBackend(kind: string): KernelBackend | Promise<KernelBackend> };
  return await kernels.createBackend(kind);
}

async function child(mode: Mode, dir: string, backendKind: string): Promise<void> {
  const config = parseBertConfig(readFileSync(join(dir, 'config.json'), 'utf8'), join(dir, 'config.json'));
  const backend = await createBackend(backendKind);
  const path = join(dir, 'model.safetensors');
  const started = performance.now();
  let heapBytes = 0;
  if (mode !== 'baseline') {
    let source: ByteSource & { close?(): void };
    if (mode === 'fileSource') source = fileSource(path);
    else source = bytesSource(readFileSync(path), path);
    try {
      heapBytes = loadBertParams(source, config, backend).summary.heapBytes;
    } finally {
      source.close?.();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, seconds, heapBytes, heapBuffer: backend.memory.buffer.byteLength })}\n`);
}


async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  if (args[0] === '--child') return child(args[1] as Mode, args[2], args[3]);
  const dir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!dir) throw new Error('usage: tsx bench/load-weights.ts MODEL_DIR [--backend reference|wasm] [--runs N]');
  const backendKind = flag('--backend', 'reference');
  const runs = Number(flag('--runs', '3'));
  const fileBytes = statSync(join(dir, 'model.safetensors')).size;
  const rows: Array<{ mode: Mode; rss: number; seconds: number }> = [];
  for (const mode of ['baseline', 'fileSource', 'readFile'] as Mode[]) {
    const rss: number[] = [];
    const secs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const res = spawnSync(process.execPath, [...process.execArgv, process.argv[1], '--child', mode, dir, backendKind], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (res.status !== 0) throw new Error(`child ${mode} failed: ${res.stderr}`);
      const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
      rss.push(out.maxRssKb * 1024);
      secs.push(out.seconds);
    }
    rows.push({ mode, rss: median(rss), seconds: median(secs) });
  }
  const base = rows[0].rss;
  const ours = rows[1];
  const mb = (b: number) => (b / 1e6).toFixed(1);
  console.log(`\nLoading ${join(dir, 'model.safetensors')} (${mb(fileBytes)} MB) with the ${backendKind} backend, median of ${runs} runs, node ${process.version}\n`);
  console.log('| mode | peak RSS (MB) | RSS / file | (RSS - baseline) / file | load (s) | RSS vs fileSource |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const load = r.mode === 'baseline' ? '-' : r.seconds.toFixed(2);
    const delta = r.mode === 'baseline' ? '-' : ((r.rss - base) / fileBytes).toFixed(2);
    console.log(`| ${r.mode} | ${mb(r.rss)} | ${(r.rss / fileBytes).toFixed(2)} | ${delta} | ${load} | ${(r.rss / ours.rss).toFixed(2)}x |`);
  }
}

await main();
