// `kmed serve` as a user runs it (node dist/cli/main.js serve, so `npm run build` first; `npm test`
// does it in pretest), with the tiny encoders and an index of the fixture passages: the listening
// line for --port 0, /health and /ready, the OpenAI JS client pointed at it (float and its default
// base64), many concurrent requests whose vectors are bit for bit those of an offline `embed`,
// /v1/search and /v1/similarity against the library, every kind of bad request as a 4xx with
// OpenAI's error body, a small fuzz, the bounded queue's 503 + Retry-After, the API key and CORS,
// access logs that never hold a request's text, and SIGTERM finishing in-flight work with exit 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BiEncoder } from '../src/node/bi-encoder.js';
import { Encoder } from '../src/node/encoder.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { VectorIndex } from '../src/search/vector-index.js';
import { mulberry32 } from './helpers/random-text.js';
import { CLI } from './helpers/run-cli.js';
import { C, expectOpenAIError, killServers, MODELS, post, Q, startServer, waitReady, type Server } from './helpers/serve-process.js';
import { expectedStatus, type OracleLimits } from './helpers/serve-oracle.js';

const SENTINEL = 'SENTINEL-환자-7f3a9c';
const queries = readFileSync('test/fixtures/corpus/queries.txt', 'utf8').split('\n').filter((l) => l !== '');
const passages = readFileSync('test/fixtures/corpus/passages.txt', 'utf8').split('\n').filter((l) => l !== '');

const dir = mkdtempSync(join(tmpdir(), 'kmed-serve-'));
const INDEX = join(dir, 'passages.kidx');

function decodeBase64(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function bits(v: ArrayLike<number>): string {
  return Buffer.from(Float32Array.from(v).buffer).toString('hex');
}

let offlineQ: Encoder;
let offlineC: Encoder;
let main: Server;
/** The main server's settings, as the fuzz oracle needs them (see its start below). */
const ORACLE_LIMITS: OracleLimits = {
  bodyLimit: 65536, maxInputs: 256, maxChars: 20_000, dimension: 64, hasIndex: true,
  modelNames: ['question', 'context', 'tiny-question', 'tiny-context', Q, C],
};

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  const built = spawnSync(process.execPath, [CLI, 'index', ...MODELS, '--corpus', 'test/fixtures/corpus/passages.txt', '--out', INDEX], { encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  offlineQ = await Encoder.fromDirectory(Q);
  offlineC = await Encoder.fromDirectory(C);
  // A small body limit, so the 413 body is short enough to be fully sent before the answer.
  main = await startServer(['--index', INDEX, '--body-limit', '65536']);
});

afterAll(async () => {
  killServers();
  offlineQ?.dispose();
  offlineC?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('kmed serve: routes', () => {
  it('answers /health at once and /ready once the models are loaded', async () => {
    const health = await fetch(`${main.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    await waitReady(main);
    const ready = await (await fetch(`${main.url}/ready`)).json();
    expect(ready.models).toEqual({ question: 'tiny-question', context: 'tiny-context' });
    expect(ready.index).toEqual({ passages: passages.length });
  });

  it('works with the OpenAI JS client unchanged (its default base64 and float), bit for bit as offline embed', async () => {
    await waitReady(main);
    const client = new OpenAI({ baseURL: `${main.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const texts = queries.slice(0, 3);
    const offline = await offlineQ.embed(texts);
    const viaDefault = await client.embeddings.create({ model: 'question', input: texts });
    expect(viaDefault.object).toBe('list');
    expect(viaDefault.model).toBe('tiny-question');
    expect(viaDefault.data.map((d) => d.index)).toEqual([0, 1, 2]);
    viaDefault.data.forEach((d, i) => {
      expect(d.object).toBe('embedding');
      expect(bits(d.embedding)).toBe(bits(offline[i]));
    });
    const tokens = texts.reduce((n, t) => n + offlineQ.tokenizer.encode(t, { maxLength: 512 }).ids.length, 0);
    expect(viaDefault.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });

    const viaFloat = await client.embeddings.create({ model: 'tiny-context', input: passages[0], encoding_format: 'float' });
    expect(viaFloat.model).toBe('tiny-context');
    expect(viaFloat.data).toHaveLength(1);
    expect(bits(viaFloat.data[0].embedding)).toBe(bits((await offlineC.embed([passages[0]]))[0]));

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-question', 'tiny-context']);

    await expect(client.embeddings.create({ model: 'gpt-4', input: 'x' })).rejects.toMatchObject({ status: 400, param: 'model' });
  });

  it('merges concurrent requests into shared forward passes, every vector bit-identical to offline embed', async () => {
    await waitReady(main);
    const rand = mulberry32(13);
    const pool = [...queries, ...passages, '', ' ', SENTINEL];
    const requests = Array.from({ length: 96 }, (_, i) => {
      const role = i % 3 === 0 ? 'context' : 'question';
      const n = 1 + Math.floor(rand() * 4);
      const input = Array.from({ length: n }, () => pool[Math.floor(rand() * pool.length)]);
      return { role, input: n === 1 && rand() < 0.5 ? input[0] : input, texts: input };
    });
    const before = await batchCounts(main);
    const responses = await Promise.all(requests.map((r) => post(main, '/v1/embeddings', { model: r.role, input: r.input, encoding_format: 'base64' })));
    const after = await batchCounts(main);
    for (let i = 0; i < requests.length; i++) {
      const r = responses[i];
      expect(r.status, r.text).toBe(200);
      const offline = await (requests[i].role === 'context' ? offlineC : offlineQ).embed(requests[i].texts);
      expect(r.json.data).toHaveLength(offline.length);
      r.json.data.forEach((d: { embedding: string }, j: number) => expect(bits(decodeBase64(d.embedding))).toBe(bits(offline[j])));
    }
    // Merging happened: fewer forward calls than requests.
    const batches = after.count - before.count;
    const inputs = after.sum - before.sum;
    expect(inputs).toBe(requests.reduce((n, r) => n + r.texts.length, 0));
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(requests.length);
    console.log(`${requests.length} concurrent requests (${inputs} texts) ran as ${batches} merged forward calls`);
  });

  it('searches the index given at start exactly as BiEncoder.search does', async () => {
    await waitReady(main);
    const bi = await BiEncoder.fromDirectories({ question: Q, context: C });
    const source = fileSource(INDEX);
    try {
      const index = VectorIndex.open(source);
      for (const query of queries.slice(0, 4)) {
        const r = await post(main, '/v1/search', { query, k: 5 });
        expect(r.status, r.text).toBe(200);
        const offline = await bi.search(query, index, 5);
        expect(r.json.data.map((h: any) => [h.rank, h.id, h.score, h.text])).toEqual(offline.map((h, i) => [i + 1, h.id, h.score, h.text]));
        expect(r.json.usage.prompt_tokens).toBe(offlineQ.tokenizer.encode(query, { maxLength: 512 }).ids.length);
      }
      const sim = await post(main, '/v1/similarity', { query: queries[0], passages: passages.slice(0, 5), metric: 'dot' });
      expect(sim.status, sim.text).toBe(200);
      const [scores] = await bi.score([queries[0]], passages.slice(0, 5), { metric: 'dot' });
      expect(sim.json.data.map((d: any) => d.score)).toEqual(scores);
      expect(sim.json.model).toEqual({ question: 'tiny-question', context: 'tiny-context' });
    } finally {
      source.close();
      bi.dispose();
    }
  });

  it('answers bad requests with a 4xx and OpenAI\'s error body naming the field', async () => {
    await waitReady(main);
    expectOpenAIError(await post(main, '/v1/embeddings', '{"input": "x", "model": '), 400, null, /not valid JSON/);
    expectOpenAIError(await post(main, '/v1/embeddings', ''), 400, null, /empty/);
    expectOpenAIError(await post(main, '/v1/embeddings', '[1,2]'), 400, null, /JSON object/);
    expectOpenAIError(await post(main, '/v1/embeddings', { model: 'question' }), 400, 'input', /missing required field 'input'/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 'x' }), 400, 'model', /missing required field 'model'/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 5, model: 'question' }), 400, 'input', /input must be a string/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: ['a', 7], model: 'question' }), 400, 'input', /input/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: [], model: 'question' }), 400, 'input', /non-empty/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: [[101, 102]], model: 'question' }), 400, 'input', /token-id arrays/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 'x', model: 7 }), 400, 'model', /model must be a string/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 'x', model: 'text-embedding-3-small' }), 400, 'model', /'text-embedding-3-small' is not served/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 'x', model: 'question', encoding_format: 'int8' }), 400, 'encoding_format', /'float' or 'base64'/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 'x', model: 'question', dimensions: 3 }), 400, 'dimensions', /64-dimensional/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: Array(257).fill('a'), model: 'question' }), 400, 'input', /257 texts, more than the limit of 256/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: ['a', 'b'.repeat(20_001)], model: 'question' }), 400, 'input', /input\[1\] has 20001 characters/);
    expectOpenAIError(await post(main, '/v1/embeddings', { input: 'a'.repeat(70_000), model: 'question' }), 413, null, /larger than the limit of 65536 bytes/);
    expectOpenAIError(await post(main, '/v1/search', { query: 'x', k: '5' }), 400, 'k', /k must be an integer/);
    expectOpenAIError(await post(main, '/v1/search', { query: 'x', k: 0 }), 400, 'k', /k must be/);
    expectOpenAIError(await post(main, '/v1/search', { k: 3 }), 400, 'query', /missing required field 'query'/);
    expectOpenAIError(await post(main, '/v1/similarity', { query: 'x', passages: 'y' }), 400, 'passages', /non-empty array of strings/);
    expectOpenAIError(await post(main, '/v1/similarity', { query: 'x', passages: ['y'], metric: 'l2' }), 400, 'metric', /'cosine' or 'dot'/);
    expectOpenAIError(await post(main, '/v1/embeddings', 'x', { 'content-type': 'text/plain' }), 400, null, /JSON object/);
    const media = await fetch(`${main.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<x/>' });
    expect(media.status).toBe(415);
    expect(((await media.json()) as any).error.code).toBe('server_unsupported_media_type');
    const missing = await fetch(`${main.url}/v1/nothing?q=${encodeURIComponent(SENTINEL)}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.type).toBe('not_found_error');
  });

  it('answers a fuzz of random bodies, types and methods with the status the API defines for each case, still healthy after', async () => {
    await waitReady(main);
    const rand = mulberry32(2024);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const values = (): unknown => pick<() => unknown>([
      () => null, () => true, () => -1, () => 1e309, () => 3.5, () => 'question', () => 'context', () => SENTINEL,
      () => [], () => [SENTINEL, 1], () => ({}), () => ({ input: SENTINEL }), () => '\u0000\ud800', () => Array(3).fill('텍스트'),
      () => 'x'.repeat(Math.floor(rand() * 30_000)),
    ])();
    const paths = ['/v1/embeddings', '/v1/search', '/v1/similarity', '/ready', '/v1/models', '/metrics', '/v1/embeddings/x'];
    const statuses = new Map<string, number>();
    const wrong: string[] = [];
    for (let i = 0; i < 150; i++) {
      const path = pick(paths);
      const method = pick(['POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE']);
      const kind = rand();
      let body: string | Uint8Array | undefined;
      if (method !== 'GET') {
        if (kind < 0.6) {
          const obj: Record<string, unknown> = {};
          for (const key of ['input', 'model', 'encoding_format', 'query', 'k', 'passages', 'metric', 'dimensions', '__proto__']) {
            if (rand() < 0.5) obj[key] = values();
          }
          body = JSON.stringify(obj);
        } else if (kind < 0.8) {
          body = Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
        } else {
          body = `{"input": "${SENTINEL}", "model": "question"`.slice(0, Math.floor(rand() * 40));
        }
      }
      const contentType = pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '']);
      const r = await fetch(`${main.url}${path}`, { method, body, headers: contentType ? { 'content-type': contentType } : {} });
      await r.arrayBuffer();
      // What was sent: fetch labels a string body text/plain when given no type.
      const sent = {
        method, path, body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
        contentType: contentType || (typeof body === 'string' ? 'text/plain;charset=UTF-8' : undefined),
      };
      const expected = expectedStatus(sent, ORACLE_LIMITS);
      statuses.set(`${expected.status}`, (statuses.get(`${expected.status}`) ?? 0) + 1);
      if (r.status !== expected.status) {
        wrong.push(`case ${i}: ${method} ${path} (${sent.contentType ?? 'no type'}, ${sent.body?.length ?? 0} bytes): got ${r.status}, expected ${expected.status} (${expected.why})`);
      }
    }
    // Cases the seeded draw rarely or never makes, each with its status written out: the server and
    // the oracle must both give it.
    const big = JSON.stringify({ input: 'x'.repeat(70_000), model: 'question' });
    const listed: Array<[string, string, string | undefined, string | Uint8Array, number]> = [
      ['POST', '/v1/embeddings', 'application/json', big, 413],
      ['PUT', '/v1/embeddings', 'application/json', big, 413],
      ['DELETE', '/ready', undefined, new Uint8Array([1, 2, 3]), 404],
      ['POST', '/v1/search', 'application/x-www-form-urlencoded', 'a=b', 415],
      ['PUT', '/v1/search', 'application/x-www-form-urlencoded', 'a=b', 404],
      ['DELETE', '/metrics', 'application/json', '{', 400],
      ['POST', '/v1/embeddings', undefined, new Uint8Array(0), 400],
      ['POST', '/v1/embeddings', 'application/json', '{"input": "a", "model": "question"}', 200],
      ['POST', '/v1/embeddings', 'application/json', '{"input": ["a", "b"], "model": "context", "dimensions": 64, "encoding_format": "base64"}', 200],
      ['POST', '/v1/embeddings', 'application/json', '{"input": "a", "model": "question", "dimensions": 65}', 400],
      ['POST', '/v1/embeddings', 'application/json', '{"input": "a", "model": "question", "dimensions": "64"}', 400],
      ['POST', '/v1/search', 'application/json', '{"query": "a", "k": 1000, "metric": "dot"}', 200],
      ['POST', '/v1/search', 'application/json', '{"query": "a", "k": 1001}', 400],
      ['POST', '/v1/similarity', 'application/json', '{"query": "a", "passages": ["b", "c"], "metric": "cosine"}', 200],
      ['POST', '/v1/similarity', 'application/json', '{"query": "a", "passages": []}', 400],
    ];
    for (const [method, path, contentType, body, status] of listed) {
      const r = await fetch(`${main.url}${path}`, { method, body, headers: contentType ? { 'content-type': contentType } : {} });
      await r.arrayBuffer();
      const sent = { method, path, contentType, body: typeof body === 'string' ? new TextEncoder().encode(body) : body };
      const expected = expectedStatus(sent, ORACLE_LIMITS);
      expect(expected.status, `oracle: ${method} ${path} ${contentType}: ${expected.why}`).toBe(status);
      if (r.status !== status) wrong.push(`listed: ${method} ${path} (${contentType ?? 'no type'}): got ${r.status}, expected ${status}`);
      statuses.set(`${status}`, (statuses.get(`${status}`) ?? 0) + 1);
    }
    expect(wrong).toEqual([]);
    expect([...statuses.keys()].sort()).toEqual(['200', '400', '404', '413', '415']);
    console.log(`fuzz: 150 seeded and ${listed.length} listed cases, each answered with its expected status:`, JSON.stringify(Object.fromEntries(statuses)));
    expect((await fetch(`${main.url}/health`)).status).toBe(200);
    expect(main.child.exitCode).toBe(null);
  });

  it('exports Prometheus metrics: requests, latency, queue depth, batch sizes, tokens', async () => {
    await waitReady(main);
    await post(main, '/v1/embeddings', { model: 'question', input: 'x' });
    const text = await (await fetch(`${main.url}/metrics`)).text();
    expect(text).toMatch(/^kmed_http_requests_total\{route="\/v1\/embeddings",method="POST",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kmed_http_request_duration_seconds_bucket\{le="\+Inf",route="\/v1\/embeddings"\} [1-9]/m);
    expect(text).toMatch(/^kmed_queue_depth\{model="question"\} 0$/m);
    expect(text).toMatch(/^kmed_batch_inputs_count\{model="question"\} [1-9]/m);
    expect(text).toMatch(/^kmed_tokens_total\{model="question"\} [1-9]/m);
    expect(text).toMatch(/^kmed_models_ready 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

async function batchCounts(server: Server): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let count = 0;
  let sum = 0;
  for (const m of text.matchAll(/^kmed_batch_inputs_(count|sum)\{model="\w+"\} (\d+)$/gm)) {
    if (m[1] === 'count') count += Number(m[2]);
    else sum += Number(m[2]);
  }
  return { count, sum };
}

describe('kmed serve: backpressure, access, lifecycle', () => {
  it('refuses past the bounded queue with 503 + Retry-After, and answers the rest', async () => {
    const s = await startServer(['--max-queue', '4', '--max-wait-ms', '200']);
    await waitReady(s);
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => post(s, '/v1/embeddings', { model: 'question', input: `${i} ${queries[i % queries.length]}` })));
    const by = (status: number) => responses.filter((r) => r.status === status);
    expect(by(200).length + by(503).length).toBe(40);
    expect(by(200).length).toBeGreaterThanOrEqual(4);
    expect(by(503).length).toBeGreaterThan(0);
    for (const r of by(503)) {
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expectOpenAIError(r, 503, null, /busy .* retry in/);
    }
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^kmed_rejected_total\\{reason="queue_full"\\} ${by(503).length}$`, 'm'));
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('requires the API key (from KMED_API_KEY) on every route but /health, and sends CORS headers only with --cors', async () => {
    const s = await startServer(['--cors', 'https://app.example'], { KMED_API_KEY: 's3cret' });
    const auth = { authorization: 'Bearer s3cret' };
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    await waitReady(s, auth);
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 's3cret' }, { authorization: 'Bearer s3cret2' }]) {
      expect((await fetch(`${s.url}/ready`, { headers })).status).toBe(401);
      expect((await fetch(`${s.url}/metrics`, { headers })).status).toBe(401);
      expectOpenAIError(await post(s, '/v1/embeddings', { model: 'question', input: 'x' }, headers), 401, null, /API key/);
    }
    const ok = await post(s, '/v1/embeddings', { model: 'question', input: 'x' }, { ...auth, origin: 'https://app.example' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 's3cret', maxRetries: 0 });
    expect((await client.embeddings.create({ model: 'context', input: 'x' })).data).toHaveLength(1);
    await expect(new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'nope', maxRetries: 0 }).embeddings.create({ model: 'context', input: 'x' })).rejects.toMatchObject({ status: 401 });
    const preflight = await fetch(`${s.url}/v1/embeddings`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    // Without --cors (the main server): no CORS header at all.
    const plain = await post(main, '/v1/embeddings', { model: 'question', input: 'x' }, { origin: 'https://app.example' });
    expect(plain.headers.get('access-control-allow-origin')).toBe(null);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('on SIGTERM finishes in-flight requests, refuses new ones and exits 0; its JSON access log never holds a text', async () => {
    // The batcher holds a request up to 2 s: long enough to see it queued before SIGTERM on any load.
    const s = await startServer(['--max-wait-ms', '2000', '--index', INDEX]);
    await waitReady(s);
    await post(s, '/v1/embeddings', { model: 'question', input: [SENTINEL, 'x'] });
    await post(s, '/v1/search', { query: SENTINEL, k: 2 });
    await post(s, '/v1/similarity', { query: SENTINEL, passages: [SENTINEL] });
    await post(s, '/v1/embeddings', `{"input": "${SENTINEL}", "model": `);
    await post(s, '/v1/embeddings', { model: SENTINEL, input: SENTINEL });
    await post(s, '/v1/embeddings', { model: 'question', input: [SENTINEL, 5] });
    await fetch(`${s.url}/${SENTINEL}?q=${SENTINEL}`);
    // In flight: SIGTERM is sent once /metrics shows the request waiting in the context batcher.
    const inFlight = post(s, '/v1/embeddings', { model: 'context', input: [SENTINEL, 'y'] });
    let queued = false;
    while (!queued) {
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      queued = /^kmed_queue_depth\{model="context"\} [1-9]/m.test(metrics);
    }
    s.child.kill('SIGTERM');
    const r = await inFlight;
    expect(r.status, r.text).toBe(200);
    expect(bits(decodeBase64Or(r.json.data[0].embedding))).toBe(bits((await offlineC.embed([SENTINEL]))[0]));
    expect(await s.exit).toBe(0);
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();

    const logs = s.stderr();
    expect(logs).not.toContain(SENTINEL);
    expect(logs).not.toContain('7f3a9c');
    expect(s.stdout()).not.toContain(SENTINEL);
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l));
    const access = lines.filter((l) => l.route !== undefined);
    expect(access.length).toBeGreaterThanOrEqual(9);
    for (const l of access) expect(Object.keys(l).filter((k) => k !== 'error').sort()).toEqual(['inputs', 'method', 'ms', 'route', 'status', 'time', 'tokens']);
    expect(access).toContainEqual(expect.objectContaining({ method: 'POST', route: '/v1/embeddings', status: 200, inputs: 2 }));
    expect(access).toContainEqual(expect.objectContaining({ route: 'unmatched', status: 404 }));
    expect(access).toContainEqual(expect.objectContaining({ route: '/v1/embeddings', status: 400, error: 'SERVER_INVALID_JSON' }));
  });

  it('exits 1 with one kmed: line when the index does not belong to the loaded models', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--question-model', Q, '--context-model', Q, '--index', INDEX], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^kmed: listening on /);
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^kmed: .*passages\.kidx was built for context model tiny-context/);
    expect(lines.filter((l) => l.startsWith('kmed: '))).toHaveLength(1);
  });

  it('fails fast with one kmed: line for a missing model folder or index', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'serve', '--port', '0', ...args], { encoding: 'utf8', timeout: 120_000 });
    for (const [args, mention] of [
      [['--question-model', join(dir, 'none'), '--context-model', C], /question model folder .*none not found/],
      [[...MODELS, '--index', join(dir, 'none.kidx')], /none\.kidx/],
    ] as const) {
      const r = run(...args);
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^kmed: /);
      expect(lines[0]).toMatch(mention);
    }
  });
});

function decodeBase64Or(e: string | number[]): ArrayLike<number> {
  return typeof e === 'string' ? decodeBase64(e) : e;
}
