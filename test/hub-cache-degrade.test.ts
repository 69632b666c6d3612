// Owns: a browser cache that refuses work never breaks a load — in Node, through the neutral entry's
// default store (the Cache API store, given a fake `caches` whose open, match or put fail the way
// Chromium's do): the load goes on from memory with the right vectors, onProgress reports one
// `cache-failed` event (operation, file, the browser's reason), nothing half-stored is left behind
// (no pointer to a refused blob), and a second load downloads again what was not stored. The real
// Chromium Cache API refusing put is hub-browser.test.ts.
// Does not own the Node cache folder (hub.test.ts) or the hub protocol.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BiEncoder } from '../src/bi-encoder.js';
import { Encoder } from '../src/encoder.js';
import type { HubProgressEvent } from '../src/hub/progress.js';
import { repoFromFolder, startHubServer, type HubServer } from './helpers/hub-server.js';

const FIX = join(import.meta.dirname, 'fixtures');
const NAMES = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];
const Q = 'kmed-test/tiny-question';
const C = 'kmed-test/tiny-context';
const TEXT = '고혈압 진단';

/** What the fake refuses, and how (Chromium's own words). */
interface Faults {
  open?: boolean;
  match?: boolean;
  /** put of a body larger than this many bytes (0: every put). */
  putOver?: number;
}

/** A CacheStorage of one Map, refusing what `faults` says as Chromium does (DOMException-like). */
function fakeCaches(faults: Faults) {
  const entries = new Map<string, { body: Uint8Array; headers: [string, string][] }>();
  const refuse = (name: string, message: string) => Object.assign(new Error(message), { name });
  const cache = {
    async match(request: string) {
      if (faults.match) throw refuse('UnknownError', "Failed to execute 'match' on 'Cache': Unexpected internal error.");
      const e = entries.get(String(request));
      return e && new Response(e.body.slice() as Uint8Array<ArrayBuffer>, { headers: e.headers });
    },
    async put(request: string, response: Response) {
      const body = new Uint8Array(await response.arrayBuffer());
      if (faults.putOver !== undefined && body.byteLength > faults.putOver) {
        throw refuse(faults.putOver === 0 ? 'UnknownError' : 'QuotaExceededError', faults.putOver === 0 ? "Failed to execute 'put' on 'Cache': Unexpected internal error." : 'The quota has been exceeded.');
      }
      entries.set(String(request), { body, headers: [...response.headers] });
    },
    async delete(request: string) {
      return entries.delete(String(request));
    },
  };
  const storage = {
    async open() {
      if (faults.open) throw refuse('SecurityError', "Failed to execute 'open' on 'CacheStorage': An attempt was made to break through the security policy of the user agent.");
      return cache;
    },
  };
  return { storage, entries, keys: () => [...entries.keys()].map((k) => decodeURIComponent(k.replace(/^https:\/\/kmed-dpr\.cache\.invalid\//, ''))) };
}

let hub: HubServer;
let reference: Float32Array;
const saved = (globalThis as { caches?: unknown }).caches;

beforeAll(async () => {
  hub = await startHubServer({ repos: { [Q]: repoFromFolder(join(FIX, 'tiny-question'), NAMES), [C]: repoFromFolder(join(FIX, 'tiny-context'), NAMES) } });
  const plain = await Encoder.fromPretrained(Q, { endpoint: hub.url, cache: false, threads: 1 });
  [reference] = await plain.embed([TEXT]);
  plain.dispose();
});
afterAll(async () => {
  await hub?.close();
});
beforeEach(() => hub.reset());
afterEach(() => {
  (globalThis as { caches?: unknown }).caches = saved;
});

/** Encoder.fromPretrained through the default store (the fake caches); its events and requests. */
async function load(repo = Q): Promise<{ events: HubProgressEvent[]; requests: number; vector: Float32Array }> {
  hub.reset();
  const events: HubProgressEvent[] = [];
  const encoder = await Encoder.fromPretrained(repo, { endpoint: hub.url, threads: 1, retryDelayMs: 10, onProgress: (e) => events.push(e) });
  try {
    return { events, requests: hub.hubRequests().length, vector: (await encoder.embed([TEXT]))[0] };
  } finally {
    encoder.dispose();
  }
}

const failures = (events: HubProgressEvent[]) => events.filter((e) => e.type === 'cache-failed');

describe('the browser cache refusing work degrades the load, never breaks it', () => {
  it('every put refused (a throwaway profile): loads from memory, one cache-failed event, nothing stored, the next load downloads again', async () => {
    const fake = fakeCaches({ putOver: 0 });
    (globalThis as { caches?: unknown }).caches = fake.storage;
    const first = await load();
    expect(first.vector).toEqual(reference);
    expect(failures(first.events)).toEqual([
      { type: 'cache-failed', repo: Q, file: 'refs/main', operation: 'write', reason: "UnknownError: Failed to execute 'put' on 'Cache': Unexpected internal error." },
    ]);
    expect(first.events.at(-1)?.type).toBe('loaded');
    expect(fake.keys()).toEqual([]);
    const second = await load();
    expect(second.vector).toEqual(reference);
    expect(second.requests).toBe(first.requests);
    expect(failures(second.events)).toHaveLength(1);
  });

  it('the weights over quota: the small files stay cached, no pointer to the refused blob, the next load fetches only what is missing', async () => {
    const fake = fakeCaches({ putOver: 100_000 });
    (globalThis as { caches?: unknown }).caches = fake.storage;
    const first = await load();
    expect(first.vector).toEqual(reference);
    const [failure] = failures(first.events);
    expect(failures(first.events)).toHaveLength(1);
    expect(failure).toMatchObject({ repo: Q, file: 'model.safetensors', operation: 'write', reason: 'QuotaExceededError: The quota has been exceeded.' });
    // Nothing written after the refusal: no snapshot pointer names the weights' blob.
    expect(fake.keys().filter((k) => k.includes('model.safetensors'))).toEqual([]);
    expect(fake.keys().some((k) => k.includes('/blobs/') && !k.endsWith('.incomplete'))).toBe(true);
    const second = await load();
    expect(second.vector).toEqual(reference);
    const downloads = hub.hubRequests().filter((r) => r.path.includes('/resolve/') || r.path.includes('/lfs-cdn/'));
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.filter((r) => /\/(config\.json|vocab\.txt)$/.test(r.path))).toEqual([]);
    expect(second.requests).toBeLessThan(first.requests);
  });

  it('caches.open refused (an opaque origin): one cache-failed event naming open, the load downloads; so does the next', async () => {
    (globalThis as { caches?: unknown }).caches = fakeCaches({ open: true }).storage;
    const first = await load();
    expect(first.vector).toEqual(reference);
    expect(failures(first.events)).toEqual([{ type: 'cache-failed', repo: Q, operation: 'open', reason: expect.stringMatching(/^SecurityError: Failed to execute 'open' on 'CacheStorage'/) }]);
    const second = await load();
    expect(second.requests).toBe(first.requests);
  });

  it('reads refused on a full cache: the load downloads instead, with one cache-failed event naming read', async () => {
    const faults: Faults = {};
    const fake = fakeCaches(faults);
    (globalThis as { caches?: unknown }).caches = fake.storage;
    const cold = await load();
    expect(failures(cold.events)).toEqual([]);
    const warm = await load();
    expect(warm.requests).toBe(1); // the revision check only
    faults.match = true;
    const refused = await load();
    expect(refused.vector).toEqual(reference);
    expect(refused.requests).toBe(cold.requests);
    expect(failures(refused.events)).toMatchObject([{ repo: Q, operation: 'read', reason: expect.stringMatching(/^UnknownError: Failed to execute 'match'/) }]);
  });

  it('BiEncoder.fromPretrained: one cache-failed event for the whole load of both repos', async () => {
    (globalThis as { caches?: unknown }).caches = fakeCaches({ putOver: 0 }).storage;
    const events: HubProgressEvent[] = [];
    const bi = await BiEncoder.fromPretrained({ question: Q, context: C }, { endpoint: hub.url, threads: 1, onProgress: (e) => events.push(e) });
    try {
      expect((await bi.encodeQueries([TEXT]))[0]).toEqual(reference);
      expect(failures(events)).toHaveLength(1);
      expect(events.filter((e) => e.type === 'loaded').map((e) => e.repo)).toEqual([Q, C]);
    } finally {
      bi.dispose();
    }
  });
});
