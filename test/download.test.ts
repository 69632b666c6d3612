// `kmed download` against a real node:http server on 127.0.0.1 that speaks the hub's URL layout:
// GET /api/models/{repo}/revision/{rev}?blobs=true (the commit and every file with its size and
// hashes; the tree listing the hub also has is answered too, paged with Link: rel="next")
// and GET /{repo}/resolve/{rev}/{path}, which redirects LFS files (302) to a "CDN" path that honours
// Range. No mocked fetch: every byte crosses a socket. The server logs what it saw, and the first
// test prints that log so a run shows the resume happening.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadModel, DownloadError, type DownloadProgress } from '../src/node/hub-download.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tiny-question');
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const BREAK_AT = 1_000_000; // model.safetensors is 3,066,648 bytes

interface ServedFile {
  bytes: Buffer;
  lfs: boolean;
}
interface Behaviour {
  /** Break the first transfer of this path after BREAK_AT bytes (once the client has them on disk). */
  breakPath?: string;
  waitBeforeBreak?: () => Promise<void>;
  ignoreRange?: boolean;
  /** sha256 the listing states for LFS files instead of the real one. */
  statedSha256?: string;
  /** Extra raw listing entries. */
  extraEntries?: object[];
  /** Served files left out of the listing. */
  omit?: string[];
}
interface LogEntry {
  method: string;
  path: string;
  range?: string;
  status: number;
  sent?: number;
}

const files = new Map<string, ServedFile>();
for (const name of ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors']) {
  files.set(name, { bytes: readFileSync(join(FIXTURE, name)), lfs: name === 'model.safetensors' });
}
// A file in a subfolder, as sentence-transformers repos have, so nested paths are exercised.
files.set('1_Pooling/config.json', { bytes: Buffer.from('{"word_embedding_dimension": 64, "pooling_mode_cls_token": true}\n'), lfs: false });

const repos = new Map<string, Behaviour>([
  ['kmed-test/tiny-question', {}],
  ['kmed-test/ignores-range', { ignoreRange: true }],
  ['kmed-test/bad-sha', { statedSha256: 'ab'.repeat(32) }],
  ['kmed-test/evil', { extraEntries: [{ type: 'file', oid: '0'.repeat(40), size: 4, path: '../escape.txt' }] }],
  // Listed but never served: fetching either would fail the download.
  ['kmed-test/other-formats', {
    extraEntries: [
      { type: 'file', oid: '1'.repeat(40), size: 4, path: 'pytorch_model.bin' },
      { type: 'file', oid: '2'.repeat(40), size: 4, path: 'onnx/model.onnx' },
    ],
  }],
  ['kmed-test/bin-only', {
    omit: ['model.safetensors'],
    extraEntries: [{ type: 'file', oid: '1'.repeat(40), size: 4, path: 'pytorch_model.bin' }],
  }],
]);

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const gitBlobId = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/** The hub's tree entry for a file: LFS files carry the pointer's blob id and an `lfs` object. */
function treeEntry(path: string, file: ServedFile, behaviour: Behaviour): object {
  if (!file.lfs) return { type: 'file', oid: gitBlobId(file.bytes), size: file.bytes.length, path };
  const oid = behaviour.statedSha256 ?? sha256(file.bytes);
  const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${file.bytes.length}\n`);
  return {
    type: 'file',
    oid: gitBlobId(pointer),
    size: file.bytes.length,
    path,
    lfs: { oid, size: file.bytes.length, pointerSize: pointer.length },
  };
}

let server: Server;
let base = '';
const log: LogEntry[] = [];
const brokenOnce = new Set<string>();
let scratch = '';

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  const entry: LogEntry = { method: req.method ?? '', path: url.pathname + url.search, range: req.headers.range, status: 0 };
  log.push(entry);
  const reply = (status: number, headers: Record<string, string | number>, body?: string) => {
    entry.status = status;
    res.writeHead(status, headers);
    res.end(body);
  };
  let m: RegExpExecArray | null;
  if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname))) {
    const behaviour = repos.get(m[1]);
    if (!behaviour) return reply(404, { 'content-type': 'application/json' }, JSON.stringify({ error: 'Repository not found' }));
    if (m[2] !== 'main') return reply(404, { 'content-type': 'application/json' }, JSON.stringify({ error: 'Invalid rev id: ' + m[2] }));
    const entries: object[] = [];
    for (const [path, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!behaviour.omit?.includes(path)) entries.push(treeEntry(path, file, behaviour));
    }
    entries.push(...(behaviour.extraEntries ?? []));
    // The model-info form of the same entries: rfilename, size, blobId, lfs { sha256, size, pointerSize }.
    const siblings = (entries as Array<{ path: string; size: number; oid: string; lfs?: { oid: string; size: number; pointerSize: number } }>).map((e) => ({
      rfilename: e.path,
      size: e.size,
      blobId: e.oid,
      ...(e.lfs ? { lfs: { sha256: e.lfs.oid, size: e.lfs.size, pointerSize: e.lfs.pointerSize } } : {}),
    }));
    const sha = createHash('sha1').update(m[1]).digest('hex');
    return reply(200, { 'content-type': 'application/json' }, JSON.stringify({ id: m[1], sha, siblings }));
  }
  if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname))) {
    const behaviour = repos.get(m[1]);
    if (!behaviour) return reply(404, { 'content-type': 'application/json' }, JSON.stringify({ error: 'Repository not found' }));
    if (m[2] !== 'main') return reply(404, { 'content-type': 'application/json' }, JSON.stringify({ error: 'Invalid rev id: ' + m[2] }));
    const all: object[] = [{ type: 'directory', oid: 'f'.repeat(40), size: 0, path: '1_Pooling' }];
    for (const [path, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!behaviour.omit?.includes(path)) all.push(treeEntry(path, file, behaviour));
    }
    all.push(...(behaviour.extraEntries ?? []));
    // Pages of 4 entries, linked like the hub's cursor pagination.
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (cursor + 4 < all.length) {
      const next = new URL(url);
      next.searchParams.set('cursor', String(cursor + 4));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return reply(200, headers, JSON.stringify(all.slice(cursor, cursor + 4)));
  }
  if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname))) {
    const behaviour = repos.get(m[1]);
    const path = decodeURIComponent(m[3]);
    const file = files.get(path);
    if (!behaviour || !file || m[2] !== 'main') return reply(404, {}, 'Entry not found');
    // The hub answers LFS files with a redirect to its CDN.
    if (file.lfs) return reply(302, { location: `${base}/lfs-cdn/${m[1]}/${sha256(file.bytes)}` });
    return serveBytes(req, res, entry, `${m[1]}/${path}`, file.bytes, behaviour);
  }
  if ((m = /^\/lfs-cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname))) {
    const file = [...files.values()].find((f) => f.lfs && sha256(f.bytes) === m![2]);
    if (!file) return reply(404, {}, 'no such object');
    return serveBytes(req, res, entry, `${m[1]}/model.safetensors`, file.bytes, repos.get(m[1]) ?? {});
  }
  reply(404, {}, 'not found');
}

function serveBytes(req: IncomingMessage, res: ServerResponse, entry: LogEntry, key: string, bytes: Buffer, behaviour: Behaviour): void {
  let start = 0;
  const range = req.headers.range;
  if (range && !behaviour.ignoreRange) {
    const m = /^bytes=(\d+)-$/.exec(range);
    if (!m || Number(m[1]) >= bytes.length) {
      entry.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    start = Number(m[1]);
    entry.status = 206;
    res.writeHead(206, {
      'content-length': bytes.length - start,
      'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
      'accept-ranges': 'bytes',
    });
  } else {
    entry.status = 200;
    res.writeHead(200, { 'content-length': bytes.length, 'accept-ranges': 'bytes' });
  }
  const breakHere = behaviour.breakPath !== undefined && key.endsWith(behaviour.breakPath) && !brokenOnce.has(key);
  if (breakHere) {
    brokenOnce.add(key);
    entry.sent = BREAK_AT - start;
    res.write(bytes.subarray(start, BREAK_AT));
    // Drop the connection only once the client holds those bytes, so the resume offset is exact.
    void (behaviour.waitBeforeBreak ?? (() => Promise.resolve()))().finally(() => res.socket?.destroy());
    return;
  }
  entry.sent = bytes.length - start;
  res.end(bytes.subarray(start));
}

async function waitForSize(path: string, size: number, limitMs = 10_000): Promise<void> {
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

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kmed-download-'));
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('downloadModel against a local hub', () => {
  it('follows the LFS redirect and resumes a transfer broken off mid-file with a Range request', async () => {
    const dest = await freshDir('fresh');
    const folder = join(dest, 'tiny-question');
    repos.set('kmed-test/tiny-question', {
      breakPath: 'model.safetensors',
      waitBeforeBreak: () => waitForSize(join(folder, 'model.safetensors.part'), BREAK_AT),
    });
    log.length = 0;
    const events: DownloadProgress[] = [];
    const result = await downloadModel('kmed-test/tiny-question', {
      destRoot: dest,
      endpoint: base + '/',
      token: '',
      ...fast,
      onProgress: (e) => events.push(e),
    });
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
    log.length = 0;
    const result = await downloadModel('kmed-test/tiny-question', { destRoot: dest, endpoint: base, ...fast });
    expect(result.files.filter((f) => f.status !== 'present').map((f) => f.path)).toEqual(['vocab.txt']);
    expect(log.filter((e) => e.path.includes('/resolve/')).map((e) => e.path)).toEqual(['/kmed-test/tiny-question/resolve/main/vocab.txt']);
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
      log.length = 0;
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

  it('says quickly, in one line, that an unreachable hub can be replaced by copying into weights/', async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = (await downloadModel('kmed-test/tiny-question', {
      destRoot: await freshDir('unreachable'),
      endpoint: `http://127.0.0.1:${port}`,
    }).catch((e: unknown) => e)) as DownloadError;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe('HUB_UNREACHABLE');
    expect(error.message).toMatch(/connection refused/);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toMatch(/copy the model folders by hand into weights\//);
    expect(error.message).not.toContain('\n');
  });
});

describe('kmed download (CLI)', () => {
  const built = existsSync(CLI);
  if (!built) console.warn(`skipping CLI tests: ${CLI} is missing (run npm run build first; npm test does)`);

  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // Asynchronous on purpose: the server answering the CLI lives in this process.
      execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env: { ...process.env, HF_ENDPOINT: '' } }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it.skipIf(!built)('downloads into --dest with plain progress lines on a non-TTY stderr', async () => {
    const dest = await freshDir('cli');
    repos.set('kmed-test/tiny-question', {});
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

  it.skipIf(!built)('prints one line and exits 1 when the hub cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const { code, stdout, stderr } = await run(['download', 'kmed-test/tiny-question', '--endpoint', endpoint, '--dest', await freshDir('cli-offline')]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.startsWith(`kmed: cannot reach ${endpoint} (connection refused`), stderr).toBe(true);
    expect(stderr).toContain('while resolving revision main of kmed-test/tiny-question');
  });
});
