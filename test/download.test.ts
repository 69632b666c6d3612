// `kmed download` against test/helpers/hub-server.ts, a real node:http server on 127.0.0.1 that
// speaks the hub's URL layout: GET /api/models/{repo}/revision/{rev}?blobs=true (the commit and every
// file with its size and hashes) and GET /{repo}/resolve/{rev}/{path}, which redirects LFS files (302)
// to a "CDN" path that honours Range. No mocked fetch: every byte crosses a socket. The server logs
// what it saw, and the first test prints that log so a run shows the resume happening.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { downloadModel, DownloadError, type DownloadProgress } from '../src/node/hub/hub-download.js';
import { cachedWeightsSha256 } from '../src/node/model-files/model-fingerprint.js';
import { sha256 } from './helpers/hub-server.js';
import { repoFromFolder, startHubServer, type HubServer, type RepoBehaviour, type ServedFile } from './helpers/hub-server.js';
import { built, skipWithout } from './helpers/requirement.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tiny-question');
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const BREAK_AT = 1_000_000; // model.safetensors is 3,066,648 bytes

// A file in a subfolder, as sentence-transformers repos have, so nested paths are exercised.
const files = repoFromFolder(FIXTURE, ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors'], {
  '1_Pooling/config.json': { bytes: Buffer.from('{"word_embedding_dimension": 64, "pooling_mode_cls_token": true}\n'), lfs: false },
});
const withoutWeights = new Map<string, ServedFile>([...files].filter(([name]) => name !== 'model.safetensors'));

const behaviours: Record<string, RepoBehaviour> = {
  'kmed-test/ignores-range': { ignoreRange: true },
  'kmed-test/bad-sha': { statedSha256: 'ab'.repeat(32) },
  'kmed-test/evil': { extraSiblings: [{ rfilename: '../escape.txt', size: 4, blobId: '0'.repeat(40) }] },
  // Listed but never served: fetching either would fail the download.
  'kmed-test/other-formats': {
    extraSiblings: [
      { rfilename: 'pytorch_model.bin', size: 4, blobId: '1'.repeat(40) },
      { rfilename: 'onnx/model.onnx', size: 4, blobId: '2'.repeat(40) },
    ],
  },
  'kmed-test/bin-only': { extraSiblings: [{ rfilename: 'pytorch_model.bin', size: 4, blobId: '1'.repeat(40) }] },
  'kmed-test/slow': { slowMs: 50 },
  'kmed-test/short-always': { shortBody: 100_000 },
};

let hub: HubServer;
let base = '';
let log: HubServer['log'] = [];
let scratch = '';
/** Sets the behaviour of the main test repo (break a transfer, ...). */
const behave = (b: RepoBehaviour) => (hub.repos.get('kmed-test/tiny-question')!.behaviour = b);

async function waitForSize(path: string, size: number, limitMs = 120_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    const s = await stat(path).catch(() => undefined);
    if (s && s.size >= size) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freshDir(name: string): Promise<string> {
  const dir = join(scratch, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Every served file, byte for byte, in `dir`, and no `.part` left. */
async function expectModelFolder(dir: string): Promise<void> {
  for (const [path, file] of files) {
    const got = await readFile(join(dir, ...path.split('/')));
    expect(got.equals(file.bytes), `${path} differs from what the server holds`).toBe(true);
  }
  const names = await readdir(dir, { recursive: true });
  expect(names.filter((n) => n.endsWith('.part'))).toEqual([]);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const port = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

const fast = { retryDelayMs: 10, timeoutMs: 5_000, stallTimeoutMs: 5_000 };
const gitBlobIdOf = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kmed-download-'));
  const repos: Record<string, Map<string, ServedFile>> = { 'kmed-test/tiny-question': files };
  for (const name of Object.keys(behaviours)) repos[name] = name === 'kmed-test/bin-only' ? withoutWeights : files;
  hub = await startHubServer({ repos });
  for (const [name, b] of Object.entries(behaviours)) hub.repos.get(name)!.behaviour = b;
  base = hub.url;
  log = hub.log;
});

afterAll(async () => {
  await hub?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('downloadModel against a local hub', () => {
  it('follows the LFS redirect and resumes a transfer broken off mid-file with a Range request', async () => {
    const dest = await freshDir('fresh');
    const folder = join(dest, 'tiny-question');
    behave({
      breakPath: 'model.safetensors',
      breakAt: BREAK_AT,
      waitBeforeBreak: () => waitForSize(join(folder, 'model.safetensors.part'), BREAK_AT),
    });
    hub.reset();
    const events: DownloadProgress[] = [];
    const result = await downloadModel('kmed-test/tiny-question', {
      destRoot: dest,
      endpoint: base + '/',
      token: '',
      ...fast,
      onProgress: (e) => events.push(e),
    });
    behave({});
    console.log(
      'server saw:\n' +
        log.map((e) => `  ${e.method} ${e.path}${e.range ? `  [Range: ${e.range}]` : ''} -> ${e.status}${e.sent !== undefined ? ` (${e.sent} bytes sent)` : ''}`).join('\n'),
    );

    await expectModelFolder(folder);
    expect(result.dir).toBe(folder);
    expect(result.files.map((f) => f.path).sort()).toEqual([...files.keys()].sort());
    const model = result.files.find((f) => f.path === 'model.safetensors')!;
    expect(model).toMatchObject({ status: 'downloaded', requests: 2 });

    // The listing: one model-info request, with sizes and hashes.
    const listings = log.filter((e) => e.path.startsWith('/api/models/'));
    expect(listings.map((e) => e.path)).toEqual(['/api/models/kmed-test/tiny-question/revision/main?blobs=true']);
    // The model: resolve -> 302 -> CDN broken at BREAK_AT; then resolve again with the Range
    // (kept across the redirect), answered 206 from BREAK_AT.
    const modelHits = log.filter((e) => e.path.includes('model.safetensors') || e.path.startsWith('/lfs-cdn/'));
    expect(modelHits.map((e) => [e.path.split('/')[1] === 'lfs-cdn' ? 'cdn' : 'resolve', e.range ?? null, e.status])).toEqual([
      ['resolve', null, 302],
      ['cdn', null, 200],
      ['resolve', `bytes=${BREAK_AT}-`, 302],
      ['cdn', `bytes=${BREAK_AT}-`, 206],
    ]);
    // Progress: bytes for the whole repo, ending at the total; network bytes add up to the repo
    // size (each byte crossed the network once: the resume did not fetch the first BREAK_AT again).
    const total = [...files.values()].reduce((s, f) => s + f.bytes.length, 0);
    expect(events[0]).toMatchObject({ event: 'listed', totalBytes: total, doneBytes: 0 });
    expect(events.at(-1)).toMatchObject({ event: 'file-done', doneBytes: total });
    expect(events.reduce((s, e) => s + e.networkBytes, 0)).toBe(total);
  });

  it('skips files already present and intact; replaces one whose bytes changed', async () => {
    const dest = join(scratch, 'fresh'); // left complete by the previous test
    await writeFile(join(dest, 'tiny-question', 'vocab.txt'), 'not the vocabulary\n');
    hub.reset();
    const result = await downloadModel('kmed-test/tiny-question', { destRoot: dest, endpoint: base, ...fast });
    expect(result.files.filter((f) => f.status !== 'present').map((f) => f.path)).toEqual(['vocab.txt']);
    expect(log.filter((e) => e.path.includes('/resolve/')).map((e) => e.path)).toEqual([`/kmed-test/tiny-question/resolve/${hub.repos.get('kmed-test/tiny-question')!.commit}/vocab.txt`]);
    await expectModelFolder(join(dest, 'tiny-question'));
  });

  it('resumes a .part left by an earlier run, and starts over when the server ignores Range', async () => {
    const model = files.get('model.safetensors')!.bytes;
    for (const [repo, expected] of [
      ['kmed-test/tiny-question', { status: 'resumed', answer: 206 }],
      ['kmed-test/ignores-range', { status: 'downloaded', answer: 200 }],
    ] as const) {
      const dest = await freshDir(`part-${repo.split('/')[1]}`);
      const folder = join(dest, repo.split('/')[1]);
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'model.safetensors.part'), model.subarray(0, 500_000));
      hub.reset();
      const result = await downloadModel(repo, { destRoot: dest, endpoint: base, ...fast });
      await expectModelFolder(folder);
      expect(result.files.find((f) => f.path === 'model.safetensors')).toMatchObject({ status: expected.status, requests: 1 });
      const cdn = log.filter((e) => e.path.startsWith('/lfs-cdn/'));
      expect(cdn.map((e) => [e.range, e.status])).toEqual([['bytes=500000-', expected.answer]]);
    }
  });

  it('rejects a file whose sha256 differs from the listing and leaves no file or .part behind', async () => {
    const dest = await freshDir('bad-sha');
    const error = await downloadModel('kmed-test/bad-sha', { destRoot: dest, endpoint: base, ...fast }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).code).toBe('CHECKSUM_MISMATCH');
    expect((error as DownloadError).message).toContain('kmed-test/bad-sha/model.safetensors');
    expect((error as DownloadError).message).toContain('ab'.repeat(32));
    expect(existsSync(join(dest, 'bad-sha', 'model.safetensors'))).toBe(false);
    expect(existsSync(join(dest, 'bad-sha', 'model.safetensors.part'))).toBe(false);
  });

  it('reports a missing repo or revision clearly (HTTP 404)', async () => {
    const dest = await freshDir('missing');
    for (const [repo, revision] of [
      ['kmed-test/no-such-model', 'main'],
      ['kmed-test/tiny-question', 'v9'],
    ]) {
      const error = (await downloadModel(repo, { destRoot: dest, endpoint: base, revision, ...fast }).catch((e: unknown) => e)) as DownloadError;
      expect(error).toBeInstanceOf(DownloadError);
      expect(error.code).toBe('HUB_REPO_NOT_FOUND');
      expect(error.status).toBe(404);
      expect(error.message).toContain(repo);
      expect(error.message).toContain(`revision ${revision}`);
    }
    expect(await readdir(dest)).toEqual([]);
  });

  it('refuses a listing whose path escapes the model folder', async () => {
    const dest = await freshDir('evil');
    const error = (await downloadModel('kmed-test/evil', { destRoot: dest, endpoint: base, ...fast }).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('HUB_BAD_LISTING');
    expect(error.message).toContain('../escape.txt');
    expect(existsSync(join(dest, 'escape.txt'))).toBe(false);
  });

  it('fetches safetensors only, skipping the other weight formats a repo lists', async () => {
    const dest = await freshDir('other-formats');
    const before = log.length;
    const result = await downloadModel('kmed-test/other-formats', { destRoot: dest, endpoint: base, ...fast });
    expect(result.files.map((f) => f.path)).toContain('model.safetensors');
    expect(result.files.map((f) => f.path)).not.toContain('pytorch_model.bin');
    expect(log.slice(before).some((e) => /pytorch_model|onnx/.test(e.path))).toBe(false);
    expect(existsSync(join(dest, 'other-formats', 'pytorch_model.bin'))).toBe(false);
  });

  it('refuses a repo without safetensors before moving any byte', async () => {
    const dest = await freshDir('bin-only');
    const before = log.length;
    const error = (await downloadModel('kmed-test/bin-only', { destRoot: dest, endpoint: base, ...fast }).catch((e: unknown) => e)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.code).toBe('HUB_NO_SAFETENSORS');
    expect(error.message).toContain('kmed-test/bin-only');
    expect(log.slice(before).filter((e) => e.path.includes('/resolve/'))).toEqual([]);
  });

  it('fetches every file at the commit the revision resolved to, and records it (and the weights\' sha256) as hf download --local-dir does', async () => {
    const dest = await freshDir('pinned');
    const commit = hub.repos.get('kmed-test/tiny-question')!.commit;
    behave({});
    hub.reset();
    const result = await downloadModel('kmed-test/tiny-question', { destRoot: dest, endpoint: base, ...fast });
    expect(result.commit).toBe(commit);
    const resolves = log.filter((e) => e.path.includes('/resolve/')).map((e) => e.path);
    expect(resolves).toHaveLength(files.size);
    for (const path of resolves) expect(path.startsWith(`/kmed-test/tiny-question/resolve/${commit}/`), path).toBe(true);
    const folder = join(dest, 'tiny-question');
    for (const [path, file] of files) {
      const etag = file.lfs ? sha256(file.bytes) : gitBlobIdOf(file.bytes);
      const record = (await readFile(join(folder, '.cache', 'huggingface', 'download', ...`${path}.metadata`.split('/')), 'utf8')).split('\n');
      expect(record.slice(0, 2), path).toEqual([commit, etag]);
      expect(Math.abs(Number(record[2]) - Date.now() / 1000)).toBeLessThan(600);
    }
    expect(await readFile(join(folder, '.cache', 'huggingface', '.gitignore'), 'utf8')).toBe('*\n');
    // The fingerprint finds the verified sha256 without hashing the weights.
    const weightsSha = sha256(files.get('model.safetensors')!.bytes);
    expect(await cachedWeightsSha256(join(folder, 'model.safetensors'))).toEqual({ sha256: weightsSha, source: 'cache' });
  });

  it('stops on its signal with AbortError and keeps the .part', async () => {
    const dest = await freshDir('abort');
    const controller = new AbortController();
    const error = await downloadModel('kmed-test/slow', {
      destRoot: dest,
      endpoint: base,
      ...fast,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.event === 'bytes' && e.file === 'model.safetensors' && e.fileBytes >= 100_000) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect((await stat(join(dest, 'slow', 'model.safetensors.part'))).size).toBeGreaterThanOrEqual(100_000);
  });

  it('says quickly, in one line, that an unreachable hub can be replaced by copying into weights/', async () => {
    const port = await closedPort();
    const destRoot = await freshDir('unreachable');
    // "Quickly" without a clock: with the default retry policy and timers faked (they never fire
    // unless the test moves them), the answer must come without any pause: a refused connection is
    // not retried after a delay. A real-time guard ends the wait if it ever does.
    const realSetTimeout = globalThis.setTimeout;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let error: DownloadError;
    try {
      const guard = new Promise<'waited'>((resolve) => realSetTimeout(() => resolve('waited'), 60_000).unref());
      const outcome = await Promise.race([
        downloadModel('kmed-test/tiny-question', { destRoot, endpoint: `http://127.0.0.1:${port}` }).catch((e: unknown) => e),
        guard,
      ]);
      expect(outcome, 'the refused connection was retried after a pause').not.toBe('waited');
      error = outcome as DownloadError;
    } finally {
      vi.useRealTimers();
    }
    expect(error.code).toBe('HUB_UNREACHABLE');
    expect(error.message).toMatch(/connection refused/);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toMatch(/copy the model folders by hand into weights\//);
    expect(error.message).not.toContain('\n');
  });
});

describe('kmed download (CLI)', () => {
  const skipCli = skipWithout(built());

  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // Asynchronous on purpose: the server answering the CLI lives in this process.
      execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env: { ...process.env, HF_ENDPOINT: '' } }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it.skipIf(skipCli)('downloads into --dest with plain progress lines on a non-TTY stderr', async () => {
    const dest = await freshDir('cli');
    behave({});
    const { code, stdout, stderr } = await run(['download', 'kmed-test/tiny-question', '--endpoint', base, '--dest', dest]);
    console.log(`kmed download stderr:\n${stderr}kmed download stdout:\n${stdout}`);
    expect(code, stderr).toBe(0);
    await expectModelFolder(join(dest, 'tiny-question'));
    const mb = `${([...files.values()].reduce((s, f) => s + f.bytes.length, 0) / 1e6).toFixed(1)} MB`;
    expect(stdout).toContain(`tiny-question: 6 files, ${mb} (6 downloaded, 0 resumed, 0 already present)`);
    expect(stderr).toMatch(new RegExp(`^tiny-question: ${mb}$`, 'm'));
    expect(stderr).toMatch(new RegExp(`^tiny-question: done, ${mb} in `, 'm'));
    expect(stderr).not.toContain('\x1b');
    expect(stderr.trim().split('\n').length).toBeLessThanOrEqual(6);
  });

  it.skipIf(skipCli)('prints one line and exits 1 when the hub cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const { code, stdout, stderr } = await run(['download', 'kmed-test/tiny-question', '--endpoint', endpoint, '--dest', await freshDir('cli-offline')]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.startsWith(`kmed: cannot reach ${endpoint} (connection refused`), stderr).toBe(true);
    expect(stderr).toContain('while resolving revision main of kmed-test/tiny-question');
  });

  it.skipIf(skipCli)('prints the commit every file was fetched at', async () => {
    const dest = await freshDir('cli-commit');
    behave({});
    const { code, stdout, stderr } = await run(['download', 'kmed-test/tiny-question', '--endpoint', base, '--dest', dest]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`\\) at commit ${hub.repos.get('kmed-test/tiny-question')!.commit}\\n$`));
  });

  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it.skipIf(skipCli)(`${signal} stops it with one line saying what is kept and to rerun; the rerun resumes`, async () => {
      const dest = await freshDir(`cli-${signal}`);
      const part = join(dest, 'slow', 'model.safetensors.part');
      const child = spawn(process.execPath, [CLI, 'download', 'kmed-test/slow', '--endpoint', base, '--dest', dest], { env: { ...process.env, HF_ENDPOINT: '' } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await waitForSize(part, 200_000, 30_000);
      child.kill(signal);
      const code = await exited;
      console.log(`kmed download stopped by ${signal}: exit ${code}\n${stderr}`);
      expect(code).toBe(exitCode);
      const lines = stderr.trim().split('\n');
      const last = lines.at(-1)!;
      expect(last).toMatch(new RegExp(`^kmed: interrupted \\(${signal}\\) while downloading kmed-test/slow; rerun the same command to resume: [0-9.]+ [kM]B of model\\.safetensors \\(3\\.1 MB\\) are kept in ${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      expect(lines.filter((l) => l.startsWith('kmed:'))).toHaveLength(1);
      const kept = (await stat(part)).size;
      expect(kept).toBeGreaterThanOrEqual(200_000);
      hub.reset();
      const again = await run(['download', 'kmed-test/slow', '--endpoint', base, '--dest', dest]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/\(\d downloaded, 1 resumed, \d already present\)/);
      expect(log.filter((e) => e.path.startsWith('/lfs-cdn/')).map((e) => e.range)).toEqual([`bytes=${kept}-`]);
    });
  }

  it.skipIf(skipCli)('a transfer the network keeps breaking ends after --max-attempts with one line saying what is kept and to rerun', async () => {
    const dest = await freshDir('cli-attempts');
    const { code, stdout, stderr } = await run(['download', 'kmed-test/short-always', '--endpoint', base, '--dest', dest, '--max-attempts', '3']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('kmed:'))).toHaveLength(1);
    const kept = (await stat(join(dest, 'short-always', 'model.safetensors.part'))).size;
    expect(lines.at(-1)).toContain(`gave up after 3 requests (maxAttempts 3) at byte ${kept} of 3066648`);
    expect(lines.at(-1)).toMatch(/rerun the same command to resume: [0-9.]+ kB of model\.safetensors \(3\.1 MB\) are kept in /);
    expect(lines.at(-1)).toContain(join(dest, 'short-always', 'model.safetensors.part'));
  });
});
