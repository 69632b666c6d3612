// Encoder.fromPretrained in Chromium (the neutral entry, dist/index.js, as browsers get it)
// against test/helpers/hub-server.ts, which also serves the library. The browser store is the Cache
// API: the first load downloads (counted on the server); a second load, in a new page of the same
// profile, makes ZERO requests to the hub by commit hash or offline, and ONE (the revision check)
// by branch name. The pooler of the card's query is checked against the golden file each time.
// BiEncoder.fromPretrained scores the card example; a load aborted mid-file resumes on the next page
// with a Range request (the Cache API keeps the partial blob). In a profile whose Cache API refuses
// every put (as a throwaway or private one can, with Chromium's UnknownError) or cannot be opened,
// loads still work from memory, report one cache-failed event, and each load downloads again.
// Does not own the Node cache (hub.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFingerprint } from '../src/model-identity.js';
import { repoFromFolder, startHubServer, type HubServer } from './helpers/hub-server.js';
import { FIXTURES, launchChromium, REPO_ROOT } from './runtimes/launch.js';
import { chromium, skipWithout } from './helpers/requirement.js';

const Q = 'kmed-test/tiny-question';
const C = 'kmed-test/tiny-context';
const NAMES = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];
const golden = JSON.parse(readFileSync(join(FIXTURES, 'tiny-golden.json'), 'utf8')) as {
  texts: string[];
  seed_similarity_f64: number[];
  models: Record<string, Array<{ pooler_f64: number[] }>>;
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>kmed hub cache</title><script type="module">
import { BiEncoder, Encoder, DownloadError } from '/static/dist/index.js';
window.kmedLoad = async (repo, options, text) => {
  const events = [];
  const started = performance.now();
  try {
    const encoder = await Encoder.fromPretrained(repo, { ...options, endpoint: location.origin, onProgress: (e) => events.push(e) });
    const [vector] = await encoder.embed([text]);
    encoder.dispose();
    return {
      ms: Math.round(performance.now() - started), vector: Array.from(vector), events: events.map((e) => e.type + (e.source ? ':' + e.source : '')),
      failures: events.filter((e) => e.type === 'cache-failed'),
    };
  } catch (error) {
    return { error: String(error), code: error.code, isDownloadError: error instanceof DownloadError };
  }
};
window.kmedScore = async (ids, query, passages) => {
  const repos = new Set();
  const bi = await BiEncoder.fromPretrained(ids, { endpoint: location.origin, onProgress: (e) => repos.add(e.repo) });
  const [scores] = await bi.score([query], passages);
  const names = [bi.identity.question.name, bi.identity.context.name];
  const fingerprints = [bi.identity.question.fingerprint, bi.identity.context.fingerprint];
  bi.dispose();
  return { scores, names, fingerprints, repos: [...repos] };
};
window.kmedAbortAt = async (repo, bytes) => {
  const controller = new AbortController();
  try {
    await Encoder.fromPretrained(repo, { endpoint: location.origin, signal: controller.signal, onProgress: (e) => {
      if (e.type === 'download' && e.file === 'model.safetensors' && e.fileBytes >= bytes) controller.abort();
    } });
    return { name: 'no error' };
  } catch (error) {
    return { name: error.name, code: error.code };
  }
};
window.kmedReady = true;
</script>`;

describe.skipIf(skipWithout(chromium()))('fromPretrained in Chromium (Cache API)', () => {
  let hub: HubServer;
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    for (const built of ['dist/index.js', 'build/kernels.wasm']) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    hub = await startHubServer({ repos: { [Q]: repoFromFolder(join(FIXTURES, 'tiny-question'), NAMES), [C]: repoFromFolder(join(FIXTURES, 'tiny-context'), NAMES), 'kmed-test/slow': repoFromFolder(join(FIXTURES, 'tiny-question'), NAMES) }, staticRoot: REPO_ROOT, pages: { '/': PAGE } });
    hub.repos.get('kmed-test/slow')!.behaviour = { slowMs: 20 };
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  for (const [label, refuse] of [
    ['Cache.put rejects (UnknownError)', () => {
      Cache.prototype.put = () => Promise.reject(new DOMException("Failed to execute 'put' on 'Cache': Unexpected internal error.", 'UnknownError'));
    }],
    ['caches.open rejects (SecurityError)', () => {
      CacheStorage.prototype.open = () => Promise.reject(new DOMException('An attempt was made to break through the security policy of the user agent.', 'SecurityError'));
    }],
  ] as const) {
    it(`${label}: loads from memory with one cache-failed event, and the next load downloads again`, async () => {
      const context = await browser.newContext();
      await context.addInitScript(refuse);
      try {
        const load = async (options: Record<string, unknown>) => {
          const page = await context.newPage();
          await page.goto(`${hub.url}/`);
          await page.waitForFunction(() => (window as unknown as { kmedReady?: boolean }).kmedReady === true, undefined, { timeout: 20_000 });
          hub.reset();
          const result = (await page.evaluate(([repo, opts, text]) => (window as any).kmedLoad(repo, opts, text), [Q, options, golden.texts[0]] as const)) as {
            vector?: number[];
            failures?: Array<{ type: string; repo: string; file?: string; operation: string; reason: string }>;
            error?: string;
            code?: string;
          };
          const requests = hub.hubRequests().length;
          await page.close();
          return { ...result, requests };
        };
        const first = await load({});
        console.log(`Chromium, ${label}: first load ${first.requests} requests, events ${JSON.stringify(first.failures)}`);
        expect(first.error).toBeUndefined();
        const worst = Math.max(...golden.models['tiny-question'][0].pooler_f64.map((x, i) => Math.abs(x - first.vector![i])));
        expect(worst).toBeLessThan(2e-5);
        expect(first.failures).toHaveLength(1);
        const [failure] = first.failures!;
        expect(failure.repo).toBe(Q);
        if (label.startsWith('Cache.put')) {
          expect(failure).toMatchObject({ operation: 'write', file: 'refs/main', reason: "UnknownError: Failed to execute 'put' on 'Cache': Unexpected internal error." });
        } else {
          expect(failure).toMatchObject({ operation: 'open', reason: expect.stringMatching(/^SecurityError: /) });
        }
        expect(first.requests).toBe(1 + 5 + 2);
        const second = await load({});
        expect(second.error).toBeUndefined();
        expect(second.requests).toBe(first.requests);
        // Nothing was kept: offline has nothing to load, and says so in a typed error.
        const offline = await load({ offline: true });
        expect(offline.code).toBe('HUB_NOT_CACHED');
      } finally {
        await context.close();
      }
    });
  }

  it('a second load makes zero hub requests (by commit hash or offline), one by branch name; BiEncoder; an aborted load resumes on the next page', async () => {
    const context = await browser.newContext();
    const load = async (options: Record<string, unknown>, repo = Q) => {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${hub.url}/`);
      await page.waitForFunction(() => (window as unknown as { kmedReady?: boolean }).kmedReady === true, undefined, { timeout: 20_000 }).catch((e: Error) => {
        throw new Error(`the page did not start: ${errors.join('; ') || e.message}`);
      });
      hub.reset();
      const result = (await page.evaluate(([repo, opts, text]) => (window as any).kmedLoad(repo, opts, text), [repo, options, golden.texts[0]] as const)) as {
        vector?: number[];
        events?: string[];
        error?: string;
        code?: string;
        isDownloadError?: boolean;
      };
      const requests = hub.hubRequests().map((e) => `${e.method} ${e.path}${e.range ? ` [${e.range}]` : ''} -> ${e.status}`);
      await page.close();
      console.log(`load ${JSON.stringify(options)}: ${(result as { ms?: number }).ms ?? '-'} ms in the page`);
      return { ...result, requests };
    };
    try {
      const commit = hub.repos.get(Q)!.commit;
      // Offline before anything is cached: a clear error, no request.
      const cold = await load({ offline: true });
      expect(cold.code).toBe('HUB_NOT_CACHED');
      expect(cold.isDownloadError).toBe(true);
      expect(cold.error).toContain("Cache API");
      expect(cold.requests).toEqual([]);

      const first = await load({});
      console.log(`Chromium first load: ${first.requests.length} requests\n  ${first.requests.join('\n  ')}`);
      expect(first.error).toBeUndefined();
      expect(first.requests.length).toBe(1 + 5 + 2);
      expect(first.events?.[0]).toBe('files:hub');
      expect(first.events?.at(-1)).toBe('loaded');
      const counts: Record<string, number> = {};
      for (const [label, options] of [
        ['by commit hash', { revision: commit }],
        ['offline', { offline: true }],
        ['by branch main', {}],
      ] as const) {
        const again = await load(options);
        expect(again.error).toBeUndefined();
        counts[label] = again.requests.length;
        const worst = Math.max(...golden.models['tiny-question'][0].pooler_f64.map((x, i) => Math.abs(x - again.vector![i])));
        expect(worst).toBeLessThan(2e-5);
      }
      console.log(`Chromium second load requests: ${JSON.stringify(counts)}`);
      expect(counts).toEqual({ 'by commit hash': 0, offline: 0, 'by branch main': 1 });

      // BiEncoder.fromPretrained: both repos through the same cache; the card example's scores.
      const page = await context.newPage();
      await page.goto(`${hub.url}/`);
      await page.waitForFunction(() => (window as unknown as { kmedReady?: boolean }).kmedReady === true);
      const bi = (await page.evaluate(([ids, query, passages]) => (window as any).kmedScore(ids, query, passages), [
        { question: Q, context: C },
        golden.texts[0],
        golden.texts.slice(1, 4),
      ] as const)) as { scores: number[]; names: string[]; fingerprints: string[]; repos: string[] };
      await page.close();
      expect(bi.repos).toEqual([Q, C]);
      expect(bi.names).toEqual(['tiny-question', 'tiny-context']);
      bi.scores.forEach((s, i) => expect(Math.abs(s - golden.seed_similarity_f64[i])).toBeLessThan(1e-5));
      // The fingerprints take the weights' sha256 from the Cache API's LFS etag instead of hashing the
      // bytes again; they must equal the ones hashed from the files themselves.
      const byFiles = await Promise.all(['tiny-question', 'tiny-context'].map((m) =>
        modelFingerprint(readFileSync(join(FIXTURES, m, 'config.json')), readFileSync(join(FIXTURES, m, 'model.safetensors')))));
      expect(bi.fingerprints).toEqual(byFiles);

      // An aborted load keeps its bytes in the Cache API; the next page load resumes them with Range.
      const abortPage = await context.newPage();
      await abortPage.goto(`${hub.url}/`);
      await abortPage.waitForFunction(() => (window as unknown as { kmedReady?: boolean }).kmedReady === true);
      const aborted = (await abortPage.evaluate((repo) => (window as any).kmedAbortAt(repo, 200_000), 'kmed-test/slow')) as { name: string; code?: string };
      await abortPage.close();
      expect(aborted).toEqual({ name: 'AbortError', code: 'ABORTED' });
      hub.repos.get('kmed-test/slow')!.behaviour = {};
      const resumed = await load({}, 'kmed-test/slow');
      expect(resumed.error).toBeUndefined();
      const cdn = resumed.requests.filter((r) => r.includes('/lfs-cdn/'));
      console.log(`Chromium resume after abort: ${cdn.join('; ')}`);
      expect(cdn).toHaveLength(1);
      expect(Number(/\[bytes=(\d+)-\]/.exec(cdn[0])?.[1])).toBeGreaterThanOrEqual(200_000);
      expect(cdn[0]).toMatch(/-> 206$/);
    } finally {
      await context.close();
    }
  });
});
