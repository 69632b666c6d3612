// fromPretrained (Node entry, Hugging Face cache layout) against test/helpers/hub-server.ts, a
// local server that speaks the hub's API: every byte crosses a socket and every request is
// counted. Shows: the first load downloads and reports progress; a second load makes ZERO requests
// by commit hash or offline, ONE (the revision check) by branch name; offline with a cold cache
// fails naming what is missing; a transfer cut mid-file resumes with Range; corrupt bytes are
// refused and nothing is published; abort; a cache laid out by hand as Python's huggingface_hub
// writes it is used without network; `endpoint` / HF_ENDPOINT; two concurrent loaders.
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, BiEncoder, DownloadError, Encoder, HfFileCache, KmedError, resolveModelDir, type HubProgressEvent } from '../src/node/index.js';
import * as neutral from '../src/index.js';
import { cosine } from './helpers/compare.js';
import { gitBlobId, repoFromFolder, sha256, startHubServer, type HubServer } from './helpers/hub-server.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const NAMES = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];
const golden = JSON.parse(readFileSync(join(FIXTURES, 'tiny-golden.json'), 'utf8')) as {
  texts: string[];
  seed_similarity_f64: number[];
  models: Record<string, Array<{ pooler_f64: number[] }>>;
};
const Q = 'kmed-test/tiny-question';
const C = 'kmed-test/tiny-context';
const fast = { retryDelayMs: 10, timeoutMs: 5_000, stallTimeoutMs: 5_000 };

let hub: HubServer;
let scratch = '';
let cacheDir = '';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kmed-hub-'));
  hub = await startHubServer({
    repos: {
      // model.onnx is listed but never needed: fetching it would show in the request log.
      [Q]: repoFromFolder(join(FIXTURES, 'tiny-question'), [...NAMES, 'model.onnx']),
      [C]: repoFromFolder(join(FIXTURES, 'tiny-context'), NAMES),
      'kmed-test/corrupt': repoFromFolder(join(FIXTURES, 'tiny-question'), NAMES),
      'kmed-test/slow': repoFromFolder(join(FIXTURES, 'tiny-question'), NAMES),
      'kmed-test/no-tokenizer-json': repoFromFolder(join(FIXTURES, 'tiny-question'), NAMES.filter((n) => n !== 'tokenizer.json')),
    },
  });
  hub.repos.get('kmed-test/corrupt')!.behaviour = { corrupt: true };
  hub.repos.get('kmed-test/slow')!.behaviour = { slowMs: 20 };
});
afterAll(async () => {
  await hub?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});
beforeEach(async () => {
  cacheDir = await mkdtemp(join(scratch, 'cache-'));
  hub.reset();
});

const commitOf = (repo: string) => hub.repos.get(repo)!.commit;
const describeLog = () => hub.log.map((e) => `  ${e.method} ${e.path}${e.range ? ` [Range: ${e.range}]` : ''} -> ${e.status}${e.sent !== undefined ? ` (${e.sent} B)` : ''}`).join('\n');

async function firstPooler(encoder: Encoder, model: string): Promise<number> {
  const [v] = await encoder.embed([golden.texts[0]]);
  let worst = 0;
  golden.models[model][0].pooler_f64.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - v[i]))));
  return worst;
}

/** Every file of `repo` the encoder needs is a relative symlink into blobs/, named by etag. */
async function expectPythonLayout(repo: string, commit: string): Promise<void> {
  const root = join(cacheDir, `models--${repo.replace('/', '--')}`);
  expect((await readFile(join(root, 'refs', 'main'), 'utf8'))).toBe(commit); // no newline, as Python writes it
  for (const name of NAMES) {
    const link = join(root, 'snapshots', commit, name);
    expect((await lstat(link)).isSymbolicLink(), `${name} is a symlink`).toBe(true);
    const bytes = readFileSync(join(FIXTURES, repo === Q ? 'tiny-question' : 'tiny-context', name));
    const etag = name === 'model.safetensors' ? sha256(bytes) : gitBlobId(bytes);
    expect(await readlink(link)).toBe(`../../blobs/${etag}`);
    expect((await readFile(link)).equals(bytes)).toBe(true);
  }
  const blobs = await readdir(join(root, 'blobs'));
  expect(blobs.filter((b) => b.includes('.incomplete'))).toEqual([]);
}

describe('Encoder.fromPretrained (Node, Hugging Face cache)', () => {
  it('downloads once with progress events, then loads with ZERO requests by commit or offline and ONE by branch', async () => {
    const events: HubProgressEvent[] = [];
    const first = await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, onProgress: (e) => events.push(e), ...fast });
    const firstRequests = hub.hubRequests().length;
    console.log(`first load: ${firstRequests} requests\n${describeLog()}`);
    expect(await firstPooler(first, 'tiny-question')).toBeLessThan(2e-5);
    first.dispose();
    // One model-info request, five direct files, and model.safetensors: resolve (302) + CDN (200).
    expect(firstRequests).toBe(1 + 5 + 2);
    expect(hub.log.some((e) => e.path.includes('model.onnx'))).toBe(false);
    await expectPythonLayout(Q, commitOf(Q));

    // Progress: files found first, bytes per file and in total, each file verified, then loaded.
    const total = NAMES.reduce((s, n) => s + readFileSync(join(FIXTURES, 'tiny-question', n)).length, 0);
    expect(events[0]).toMatchObject({ type: 'files', repo: Q, commit: commitOf(Q), totalBytes: total, cachedBytes: 0, source: 'hub' });
    const downloads = events.filter((e) => e.type === 'download');
    expect(downloads.at(-1)).toMatchObject({ bytes: total, totalBytes: total });
    expect(events.filter((e) => e.type === 'verified').map((e) => e.type === 'verified' && e.file).sort()).toEqual([...NAMES].sort());
    const weights = events.find((e) => e.type === 'verified' && e.file === 'model.safetensors');
    expect(weights).toMatchObject({ sha256: sha256(readFileSync(join(FIXTURES, 'tiny-question', 'model.safetensors'))) });
    expect(events.at(-1)).toMatchObject({ type: 'loaded', repo: Q, commit: commitOf(Q) });

    const counts: Record<string, number> = {};
    for (const [label, options] of [
      ['by commit hash', { revision: commitOf(Q) }],
      ['offline', { offline: true }],
      ['by branch main', {}],
    ] as const) {
      hub.reset();
      const seen: HubProgressEvent[] = [];
      const again = await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...options, onProgress: (e) => seen.push(e), ...fast });
      counts[label] = hub.hubRequests().length;
      expect(await firstPooler(again, 'tiny-question')).toBeLessThan(2e-5);
      again.dispose();
      expect(seen[0]).toMatchObject({ type: 'files', cachedBytes: total, totalBytes: total });
    }
    console.log(`second load requests: ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ 'by commit hash': 0, offline: 0, 'by branch main': 1 });
    expect(hub.log.map((e) => e.path)).toEqual([`/api/models/${Q}/revision/main?blobs=true`]);
  });

  it('offline with a cold cache fails at once, naming the repo, the revision and the cache', async () => {
    const error = (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, offline: true }).catch((e: unknown) => e)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toBeInstanceOf(neutral.DownloadError); // one class, both entries
    expect(error.code).toBe('HUB_NOT_CACHED');
    expect(error.message).toContain(Q);
    expect(error.message).toContain('refs/main');
    expect(error.message).toContain(cacheDir);
    expect(hub.log).toEqual([]);
  });

  it('offline with a snapshot lacking a required file names the file', async () => {
    await (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast })).dispose();
    await rm(join(cacheDir, `models--kmed-test--tiny-question`, 'snapshots', commitOf(Q), 'vocab.txt'));
    hub.reset();
    const error = (await Encoder.fromPretrained(Q, { cacheDir, offline: true }).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('HUB_NOT_CACHED');
    expect(error.message).toContain(`snapshot ${commitOf(Q)} lacks vocab.txt`);
    expect(hub.log).toEqual([]);
    // Online, only the missing file moves (its blob is still there: it is linked, not fetched).
    const encoder = await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast });
    encoder.dispose();
    expect(hub.hubRequests().map((e) => e.path)).toEqual([`/api/models/${Q}/revision/main?blobs=true`]);
  });

  it('resumes a transfer cut mid-file with a Range request; every byte crosses the network once', async () => {
    const BREAK = 1_000_000;
    const blobs = join(cacheDir, 'models--kmed-test--tiny-question', 'blobs');
    hub.repos.get(Q)!.behaviour = {
      breakPath: 'model.safetensors',
      breakAt: BREAK,
      // Drop the connection once the client holds the bytes, so the resume offset is exact.
      waitBeforeBreak: async () => {
        // Generous: under load the client may take a while to write the first megabyte.
        for (const until = Date.now() + 120_000; Date.now() < until; ) {
          const names = existsSync(blobs) ? await readdir(blobs) : [];
          for (const n of names.filter((x) => x.endsWith('.incomplete'))) if ((await stat(join(blobs, n))).size >= BREAK) return;
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    };
    try {
      const encoder = await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast });
      encoder.dispose();
    } finally {
      hub.repos.get(Q)!.behaviour = {};
    }
    console.log(`cut and resumed:\n${describeLog()}`);
    const model = hub.log.filter((e) => e.path.includes('model.safetensors') || e.path.startsWith('/lfs-cdn/'));
    expect(model.map((e) => [e.path.startsWith('/lfs-cdn/') ? 'cdn' : 'resolve', e.range ?? null, e.status])).toEqual([
      ['resolve', null, 302],
      ['cdn', null, 200],
      ['resolve', `bytes=${BREAK}-`, 302],
      ['cdn', `bytes=${BREAK}-`, 206],
    ]);
    expect(model.filter((e) => e.sent !== undefined).reduce((s, e) => s + e.sent!, 0)).toBe(readFileSync(join(FIXTURES, 'tiny-question', 'model.safetensors')).length);
    await expectPythonLayout(Q, commitOf(Q));
  });

  it('refuses bytes whose sha256 differs from the listing; nothing is published in the cache', async () => {
    const error = (await Encoder.fromPretrained('kmed-test/corrupt', { endpoint: hub.url, cacheDir, ...fast }).catch((e: unknown) => e)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain('kmed-test/corrupt/model.safetensors');
    const root = join(cacheDir, 'models--kmed-test--corrupt');
    const sha = sha256(readFileSync(join(FIXTURES, 'tiny-question', 'model.safetensors')));
    expect(existsSync(join(root, 'blobs', sha))).toBe(false);
    expect((await readdir(join(root, 'blobs'))).filter((n) => n.startsWith(sha))).toEqual([]); // no .incomplete to resume from either
    expect(existsSync(join(root, 'snapshots', commitOf('kmed-test/corrupt'), 'model.safetensors'))).toBe(false);
  });

  it('refuses a file the server says comes from another commit (X-Repo-Commit)', async () => {
    hub.repos.get(Q)!.behaviour = { wrongCommit: true };
    try {
      const error = (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast }).catch((e: unknown) => e)) as DownloadError;
      expect(error).toBeInstanceOf(DownloadError);
      expect(error.message).toContain(`serves commit ${'f'.repeat(40)}, not ${commitOf(Q)}`);
    } finally {
      hub.repos.get(Q)!.behaviour = {};
    }
    expect(existsSync(join(cacheDir, 'models--kmed-test--tiny-question', 'snapshots', commitOf(Q), 'config.json'))).toBe(false);
  });

  it('aborts through the signal with AbortError, keeps the bytes, and the next load resumes them', async () => {
    const controller = new AbortController();
    const error = await Encoder.fromPretrained('kmed-test/slow', {
      endpoint: hub.url,
      cacheDir,
      signal: controller.signal,
      ...fast,
      onProgress: (e) => {
        if (e.type === 'download' && e.file === 'model.safetensors' && e.fileBytes >= 200_000) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toBeInstanceOf(KmedError);
    expect((error as AbortError).name).toBe('AbortError');
    expect((error as AbortError).code).toBe('ABORTED');
    const root = join(cacheDir, 'models--kmed-test--slow');
    const held = (await readdir(join(root, 'blobs'))).filter((n) => n.endsWith('.incomplete'));
    expect(held).toHaveLength(1);
    expect(held[0]).toMatch(/^[0-9a-f]{64}\.incomplete$/);
    const heldBytes = (await stat(join(root, 'blobs', held[0]))).size;
    expect(heldBytes).toBeGreaterThanOrEqual(200_000);
    expect(existsSync(join(root, 'snapshots', commitOf('kmed-test/slow'), 'model.safetensors'))).toBe(false);

    hub.reset();
    (await Encoder.fromPretrained('kmed-test/slow', { endpoint: hub.url, cacheDir, ...fast })).dispose();
    expect(hub.log.filter((e) => e.path.startsWith('/lfs-cdn/')).map((e) => e.range)).toEqual([`bytes=${heldBytes}-`]);
    // A signal aborted before the call: nothing is asked of the hub.
    hub.reset();
    const pre = await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(pre).toBeInstanceOf(AbortError);
    expect(hub.log).toEqual([]);
  });

  it("uses a cache laid out by hand as Python's huggingface_hub writes it, without network", async () => {
    // models--org--name/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>, refs/main}
    const commit = commitOf(Q);
    const root = join(cacheDir, 'models--kmed-test--tiny-question');
    await mkdir(join(root, 'blobs'), { recursive: true });
    await mkdir(join(root, 'snapshots', commit), { recursive: true });
    await mkdir(join(root, 'refs'), { recursive: true });
    for (const name of NAMES) {
      const bytes = readFileSync(join(FIXTURES, 'tiny-question', name));
      const etag = name === 'model.safetensors' ? sha256(bytes) : gitBlobId(bytes);
      await writeFile(join(root, 'blobs', etag), bytes);
      await symlink(`../../blobs/${etag}`, join(root, 'snapshots', commit, name));
    }
    await writeFile(join(root, 'refs', 'main'), commit);
    const closed = 'http://127.0.0.1:9'; // nothing listens: any request would fail the load
    for (const options of [{ offline: true }, { revision: commit }]) {
      const encoder = await Encoder.fromPretrained(Q, { endpoint: closed, cacheDir, ...options });
      expect(await firstPooler(encoder, 'tiny-question')).toBeLessThan(2e-5);
      encoder.dispose();
    }
    // By branch name online: the one revision request, and no file moves.
    (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir })).dispose();
    expect(hub.log.map((e) => e.path)).toEqual([`/api/models/${Q}/revision/main?blobs=true`]);
    // By branch name with the hub unreachable: the snapshot refs/main names is used.
    const events: HubProgressEvent[] = [];
    (await Encoder.fromPretrained(Q, { endpoint: closed, cacheDir, onProgress: (e) => events.push(e) })).dispose();
    expect(events[0]).toMatchObject({ type: 'files', source: 'cache-fallback' });
    // The CLI's resolution finds it too (weights/ first, then this cache).
    expect(resolveModelDir('question', { model: Q, weightsRoot: join(scratch, 'no-weights'), hubCacheDir: cacheDir })).toBe(join(root, 'snapshots', commit));
  });

  it('marks optional files the repo lacks (.no_exist), so a load by commit still needs no request', async () => {
    const repo = 'kmed-test/no-tokenizer-json';
    (await Encoder.fromPretrained(repo, { endpoint: hub.url, cacheDir, ...fast })).dispose();
    const commit = commitOf(repo);
    expect(existsSync(join(cacheDir, 'models--kmed-test--no-tokenizer-json', '.no_exist', commit, 'tokenizer.json'))).toBe(true);
    hub.reset();
    (await Encoder.fromPretrained(repo, { endpoint: hub.url, cacheDir, revision: commit })).dispose();
    expect(hub.log).toEqual([]);
  });

  it('takes the endpoint from HF_ENDPOINT when no option is given, and the cache from HF_HUB_CACHE', async () => {
    const saved = { endpoint: process.env.HF_ENDPOINT, cache: process.env.HF_HUB_CACHE };
    process.env.HF_ENDPOINT = hub.url + '/';
    process.env.HF_HUB_CACHE = cacheDir;
    try {
      (await Encoder.fromPretrained(Q, fast)).dispose();
    } finally {
      if (saved.endpoint === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved.endpoint;
      if (saved.cache === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved.cache;
    }
    expect(hub.hubRequests().length).toBe(8);
    await expectPythonLayout(Q, commitOf(Q));
  });

  it('passes dtype and threads through to the encoder', async () => {
    (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast })).dispose();
    const f32 = await Encoder.fromPretrained(Q, { cacheDir, offline: true, threads: 1 });
    const int8 = await Encoder.fromPretrained(Q, { cacheDir, offline: true, dtype: 'int8', threads: 2 });
    try {
      // threads: a pool of 2 was started (an encoder that fell back to 1 thread, or ignored the
      // option, reports 1); whether a call is split is the pool's business (threads.test.ts).
      expect(int8.threads).toBe(2);
      expect(f32.threads).toBe(1);
      // dtype: int8 weights, i.e. different numbers, within the int8 precision bar (pooler cosine
      // vs f32 >= 0.999, as int8.test.ts holds the int8 build to) on every golden text.
      const texts = golden.texts.slice(0, 8);
      const a = await f32.embed(texts);
      const b = await int8.embed(texts);
      expect(a.some((v, i) => v.some((x, d) => x !== b[i][d])), 'int8 weights give (slightly) different numbers').toBe(true);
      const cosines = a.map((v, i) => cosine(v, b[i]));
      expect(Math.min(...cosines), `pooler cosine int8 vs f32: ${cosines.map((c) => c.toFixed(5)).join(', ')}`).toBeGreaterThanOrEqual(0.999);
    } finally {
      f32.dispose();
      int8.dispose();
    }
  });

  it('HF_HUB_OFFLINE=1 makes a load offline, as in huggingface_hub', async () => {
    const saved = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      const error = (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir }).catch((e: unknown) => e)) as DownloadError;
      expect(error.code).toBe('HUB_NOT_CACHED');
      // `offline: false` overrides the environment.
      (await Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, offline: false, ...fast })).dispose();
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = saved;
    }
    expect(hub.hubRequests()).toHaveLength(8);
  });

  it('an unreachable endpoint fails clearly and says what to do, in library terms', async () => {
    const error = (await Encoder.fromPretrained(Q, { endpoint: 'http://127.0.0.1:9', cacheDir, ...fast }).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('HUB_UNREACHABLE');
    expect(error.message).toContain('127.0.0.1:9');
    expect(error.message).toContain('`offline: true`');
    expect(error.message).not.toContain('--');
  });

  it('two loaders at once into one cold cache both succeed and leave it intact', async () => {
    const [a, b] = await Promise.all([
      Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast }),
      Encoder.fromPretrained(Q, { endpoint: hub.url, cacheDir, ...fast }),
    ]);
    expect(await firstPooler(a, 'tiny-question')).toBeLessThan(2e-5);
    expect(await firstPooler(b, 'tiny-question')).toBeLessThan(2e-5);
    a.dispose();
    b.dispose();
    await expectPythonLayout(Q, commitOf(Q));
  });

  it('an injected fetch sees every request; cache: false keeps nothing', async () => {
    const seen: string[] = [];
    const counting: typeof fetch = (input, init) => {
      seen.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    (await Encoder.fromPretrained(Q, { endpoint: hub.url, cache: false, fetch: counting, ...fast })).dispose();
    expect(seen).toHaveLength(7); // fetch follows the CDN redirect itself
    expect(await readdir(cacheDir)).toEqual([]);
  });
});

describe('BiEncoder.fromPretrained (Node)', () => {
  it('loads both repos through the cache and scores the card example like the golden file', async () => {
    const repos = new Set<string>();
    const bi = await BiEncoder.fromPretrained({ question: Q, context: C }, { endpoint: hub.url, cacheDir, onProgress: (e) => repos.add(e.repo), ...fast });
    try {
      expect([...repos]).toEqual([Q, C]);
      expect(bi.identity.question?.name).toBe('tiny-question');
      expect(bi.identity.context?.name).toBe('tiny-context');
      const [scores] = await bi.score([golden.texts[0]], golden.texts.slice(1, 4));
      scores.forEach((s, i) => expect(Math.abs(s - golden.seed_similarity_f64[i])).toBeLessThan(1e-5));
      // The same identity as loading the fixture folders by path (index files stay compatible).
      const byDir = await BiEncoder.fromDirectories({ question: join(FIXTURES, 'tiny-question'), context: join(FIXTURES, 'tiny-context') });
      expect(bi.identity.context?.fingerprint).toBe(byDir.identity.context?.fingerprint);
      byDir.dispose();
    } finally {
      bi.dispose();
    }
    hub.reset();
    const again = await BiEncoder.fromPretrained({ question: Q, context: C }, { cacheDir, offline: true });
    again.dispose();
    expect(hub.log).toEqual([]);
  });

  it('defaults to the two snumin44 encoders', async () => {
    const error = (await BiEncoder.fromPretrained(undefined, { cacheDir, offline: true }).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('HUB_NOT_CACHED');
    expect(error.message).toContain('snumin44/medical-biencoder-ko-bert-question');
  });
});

describe('HfFileCache', () => {
  it('resolves the cache folder like huggingface_hub', async () => {
    const { defaultHubCacheDir } = await import('../src/node/index.js');
    expect(defaultHubCacheDir({ HF_HUB_CACHE: '/a/hub', HF_HOME: '/b' })).toBe('/a/hub');
    expect(defaultHubCacheDir({ HF_HOME: '/b' })).toBe('/b/hub');
    expect(defaultHubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(defaultHubCacheDir({ HOME: '/h' })).toMatch(/\.cache\/huggingface\/hub$/);
    expect(new HfFileCache('/c').repoDir('org/name')).toBe('/c/models--org--name');
  });
});
