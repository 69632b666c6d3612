// Model fingerprints cover every byte of the weights (sha256 of the whole file), so a single changed
// byte anywhere changes the identity an index records; the digest is computed once and cached next
// to the model keyed by size and mtime (reused, refreshed when the file changes, skipped quietly in
// a read-only folder), or taken from what is already known: a given sha256, or a Hugging Face cache
// blob's name.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { modelFingerprint, weightsSha256 } from '../src/model-identity.js';
import { modelIdentityOfDirectory } from '../src/node/bi-encoder.js';
import { cachedWeightsSha256, digestCachePath, recordWeightsSha256 } from '../src/node/model-files/model-fingerprint.js';

const tmp = mkdtempSync(join(tmpdir(), 'kmed-identity-'));
afterAll(() => {
  chmodSync(tmp, 0o755);
  for (const d of ['ro']) if (existsSync(join(tmp, d))) chmodSync(join(tmp, d), 0o755);
  rmSync(tmp, { recursive: true, force: true });
});

const fixture = (model: string, file: string) => readFileSync(`test/fixtures/${model}/${file}`);
const config = fixture('tiny-question', 'config.json');
const weights = fixture('tiny-question', 'model.safetensors');

function copyModel(name: string, bytes: Uint8Array = weights): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  return dir;
}

describe('model fingerprint', () => {
  it('changes when any single byte of the weights changes (header, first, middle, last data byte)', async () => {
    const base = await modelFingerprint(config, weights);
    const dataStart = 8 + Number(weights.readBigUInt64LE(0));
    const seen = new Set([base]);
    for (const at of [20, dataStart, dataStart + 12345, Math.floor((dataStart + weights.length) / 2) + 3, weights.length - 1]) {
      const changed = Buffer.from(weights);
      changed[at] ^= 0x01;
      const fp = await modelFingerprint(config, changed);
      expect(fp, `byte ${at}`).not.toBe(base);
      seen.add(fp);
    }
    expect(seen.size).toBe(6);
  });

  it('is the same from bytes, from a ByteSource, and from a given sha256; question and context differ', async () => {
    const fromBytes = await modelFingerprint(config, weights);
    expect(await modelFingerprint(config, bytesSource(weights, 'w'))).toBe(fromBytes);
    const sha = createHash('sha256').update(weights).digest('hex');
    expect(await weightsSha256(bytesSource(weights, 'w'))).toBe(sha);
    expect(await modelFingerprint(config, weights, { weightsSha256: sha })).toBe(fromBytes);
    const context = await modelFingerprint(fixture('tiny-context', 'config.json'), fixture('tiny-context', 'model.safetensors'));
    expect(context).not.toBe(fromBytes);
    await expect(modelFingerprint(config, weights, { weightsSha256: 'nope' })).rejects.toMatchObject({ code: 'MODEL_BAD_SHA256' });
  });

  it('a model folder: hashed once, cached next to the model, refreshed when the file changes', async () => {
    const dir = copyModel('cached');
    const path = join(dir, 'model.safetensors');
    const first = await cachedWeightsSha256(path);
    expect(first.source).toBe('computed');
    expect(first.sha256).toBe(createHash('sha256').update(weights).digest('hex'));
    expect(JSON.parse(readFileSync(digestCachePath(path), 'utf8'))).toMatchObject({ sha256: first.sha256, size: String(weights.length) });
    expect((await cachedWeightsSha256(path)).source).toBe('cache');
    const identity = await modelIdentityOfDirectory(dir);
    expect(identity).toEqual({ name: 'cached', fingerprint: await modelFingerprint(config, weights) });

    // Same size, one byte changed, new mtime: recomputed, and the fingerprint follows.
    const changed = Buffer.from(weights);
    changed[changed.length - 100] ^= 0x80;
    writeFileSync(path, changed);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const again = await cachedWeightsSha256(path);
    expect(again.source).toBe('computed');
    expect(again.sha256).not.toBe(first.sha256);
    expect((await modelIdentityOfDirectory(dir)).fingerprint).not.toBe(identity.fingerprint);
  });

  it('a rewrite in place that puts the mtime back is still recomputed (the cache key holds ctime)', async () => {
    const dir = copyModel('mtime-kept');
    const path = join(dir, 'model.safetensors');
    // A whole second, so putting it back restores it to the nanosecond.
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    const first = await cachedWeightsSha256(path);
    const changed = Buffer.from(weights);
    changed[changed.length - 100] ^= 0x80;
    writeFileSync(path, changed);
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    expect(statSync(path, { bigint: true }).mtimeNs).toBe(1_700_000_000_000_000_000n);
    const again = await cachedWeightsSha256(path);
    expect(again.source).toBe('computed');
    expect(again.sha256).not.toBe(first.sha256);
  });

  it('a folder the cache cannot be written to: computed each time, no error', async () => {
    const dir = copyModel('ro');
    chmodSync(dir, 0o555);
    const got = await cachedWeightsSha256(join(dir, 'model.safetensors'));
    expect(got.source).toBe('computed');
    chmodSync(dir, 0o755);
    if (process.getuid?.() === 0) console.log('read-only folder: running as root, which writes anyway; the blocked-rename case below checks the failure path');
    else expect(existsSync(digestCachePath(join(dir, 'model.safetensors')))).toBe(false);
    // A directory where the cache file would go: the rename fails (as root too), the digest stands.
    const blocked = copyModel('blocked');
    mkdirSync(digestCachePath(join(blocked, 'model.safetensors')));
    expect(await cachedWeightsSha256(join(blocked, 'model.safetensors'))).toEqual({ sha256: got.sha256, source: 'computed' });
    expect(readdirSync(blocked).sort()).toEqual(['config.json', 'model.safetensors', 'model.safetensors.sha256.json']);
  });

  it('a Hugging Face cache snapshot: the blob name is the digest; a given sha256 is used as is', async () => {
    const sha = createHash('sha256').update(weights).digest('hex');
    const root = join(tmp, 'hf');
    mkdirSync(join(root, 'blobs'), { recursive: true });
    mkdirSync(join(root, 'snapshots', 'abc'), { recursive: true });
    writeFileSync(join(root, 'blobs', sha), weights);
    symlinkSync(join('..', '..', 'blobs', sha), join(root, 'snapshots', 'abc', 'model.safetensors'));
    copyFileSync(`test/fixtures/tiny-question/config.json`, join(root, 'snapshots', 'abc', 'config.json'));
    expect(await cachedWeightsSha256(join(root, 'snapshots', 'abc', 'model.safetensors'))).toEqual({ sha256: sha, source: 'hf-blob' });
    expect((await modelIdentityOfDirectory(join(root, 'snapshots', 'abc'))).fingerprint).toBe(await modelFingerprint(config, weights));
    const recorded = copyModel('recorded');
    recordWeightsSha256(join(recorded, 'model.safetensors'), sha);
    expect(await cachedWeightsSha256(join(recorded, 'model.safetensors'))).toEqual({ sha256: sha, source: 'cache' });
    const dir = copyModel('given');
    expect(await cachedWeightsSha256(join(dir, 'model.safetensors'), { knownSha256: sha })).toEqual({ sha256: sha, source: 'given' });
    expect(existsSync(digestCachePath(join(dir, 'model.safetensors')))).toBe(false);
  });
});
