// Owns: timing the model fingerprint on a full-size model file (default: a `kmed synth` model made
// in a temp folder, 442 MB like bert-base): the whole-file sha256 with node:crypto (cache removed
// first), the cache hit that follows, and the portable sha256.ts (what a non-Node runtime streaming
// a file would pay) as the peer, interleaved, median of the runs. Usage:
//   tsx bench/fingerprint.ts [MODEL_DIR] [RUNS]   (RUNS default 3; sha256.ts is run once per round)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFingerprint, weightsSha256 } from '../src/model-identity.js';
import { cachedWeightsSha256, digestCachePath } from '../src/node/model-files/model-fingerprint.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { median } from './median.js';

const made = process.argv[2] ? undefined : mkdtempSync(join(tmpdir(), 'kmed-fp-bench-'));
const dir = process.argv[2] ?? join(made!, 'ctx');
const runs = Number(process.argv[3] ?? 3);
if (made) execFileSync(process.execPath, ['dist/cli/main.js', 'synth', '--seed', 'context', '--out', dir, '--vocab', 'test/fixtures/tokenizer/vocab.txt'], { stdio: 'inherit' });
const weights = join(dir, 'model.safetensors');
const config = readFileSync(join(dir, 'config.json'));

const cold: number[] = [];
const warm: number[] = [];
const portable: number[] = [];
let digests = new Set<string>();
for (let r = 0; r < runs; r++) {
  rmSync(digestCachePath(weights), { force: true });
  let t = performance.now();
  const a = await cachedWeightsSha256(weights);
  await modelFingerprint(config, { name: weights, size: 0, readInto: () => undefined }, { weightsSha256: a.sha256 });
  cold.push(performance.now() - t);
  t = performance.now();
  const b = await cachedWeightsSha256(weights);
  warm.push(performance.now() - t);
  const src = fileSource(weights);
  t = performance.now();
  const c = await weightsSha256(src);
  portable.push(performance.now() - t);
  src.close();
  if (a.source !== 'computed' || b.source !== 'cache') throw new Error(`unexpected sources ${a.source}, ${b.source}`);
  digests = new Set([...digests, a.sha256, b.sha256, c]);
}
if (digests.size !== 1) throw new Error('the three paths disagree on the digest');
const mb = fileSource(weights).size / 1e6;
console.log(`model fingerprint of ${weights} (${mb.toFixed(1)} MB), ${runs} interleaved runs, median:`);
console.log('| path | ms | MB/s | vs sha256.ts |');
console.log('|---|---:|---:|---:|');
for (const [name, xs] of [['node:crypto, whole file (cache removed)', cold], ['cache hit (size + mtime)', warm], ['sha256.ts, whole file (peer)', portable]] as const) {
  const m = median(xs);
  console.log(`| ${name} | ${m.toFixed(1)} | ${(mb / (m / 1000)).toFixed(0)} | ${(median(portable) / m).toFixed(1)}× |`);
}
if (made) rmSync(made, { recursive: true, force: true });
