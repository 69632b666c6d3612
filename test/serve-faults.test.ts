// The server under hostile clients, in process: createApp with stand-in models (no weights),
// listening on a real socket, driven by raw TCP so that a test can stall, drip, half-send or leave.
// Each test sets its limits short (a few hundred ms) and asserts only generous time bounds. Covers:
// the header, body and idle timeouts (answered in OpenAI's error shape, then cut), the connection
// cap, Content-Length with Transfer-Encoding, invalid UTF-8 and deep JSON refused before parsing
// (the event loop stays free), the Host/Origin allow-list without a key, /health with a query
// string under a key, keys no client could send, queued work dropped when its client goes, and
// close() cutting stalled clients at the drain deadline. The same through `kmed serve` (flags,
// environment, SIGTERM, the index changed on disk) is in serve-faults-cli.test.ts.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type AppOptions, type ServerApp } from '../src/node/server/app.js';
import { DynamicBatcher } from '../src/node/server/batcher.js';
import type { ServerModels } from '../src/node/server/models.js';
import { readAnswer } from './helpers/serve-process.js';

/** Stand-in models: vectors [length, 0.5]; `embed` goes through a real DynamicBatcher whose
 *  encoder records every call, so a test can see what was computed. */
function standIn(batching: { maxWaitMs?: number } = {}) {
  const computed: number[] = [];
  const batcher = new DynamicBatcher(
    {
      async embedIds(ids) {
        computed.push(ids.length);
        return ids.map((s) => Float32Array.from([s.length, 0.5]));
      },
    },
    { maxWaitMs: batching.maxWaitMs ?? 0, maxBatchTokens: 100_000, maxQueue: 10_000, onDrop: ({ inputs }) => dropped.push(inputs) },
  );
  const dropped: number[] = [];
  const models = {
    state: 'ready',
    names: { question: 'q-model', context: 'c-model' },
    index: null,
    dimension: 2,
    maxLength: 512,
    batching: { maxBatchTokens: 100_000, maxWaitMs: 0, maxQueue: 512 },
    role: (name: string) => (name === 'question' ? 'question' : name === 'context' ? 'context' : undefined),
    tokenize: (_role: string, texts: string[]) => texts.map((t) => Int32Array.from([2, t.length, 3])),
    embed: (_role: string, ids: Int32Array[], signal?: AbortSignal) => batcher.submit(ids, signal),
    queueDepth: () => ({ question: batcher.queueDepth, context: 0 }),
  };
  return { models: models as unknown as ServerModels, computed, dropped, queued: () => batcher.queueDepth };
}

interface Running {
  server: ServerApp;
  port: number;
  lines: string[];
  computed: number[];
  dropped: number[];
  /** Inputs waiting in the stand-in's batcher. */
  queued: () => number;
}

const running: ServerApp[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) {
    s.app.server.closeAllConnections();
    await s.app.close();
  }
});

async function start(options: Omit<AppOptions, 'models'> = {}, batching: { maxWaitMs?: number } = {}): Promise<Running> {
  const { models, computed, dropped, queued } = standIn(batching);
  const lines: string[] = [];
  const server = await createApp({ models, log: (l) => lines.push(l), ...options });
  running.push(server);
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const address = server.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, lines, computed, dropped, queued };
}

interface RawResult {
  /** Everything the server sent. */
  data: string;
  /** Whether the server closed the connection (false: still open when the test gave up). */
  closed: boolean;
  ms: number;
  socket: Socket;
}

/** Open a connection, `send` on it, and collect what comes back until the server closes it or
 *  `waitMs` passes (then the test closes it and reports it still open). */
function raw(port: number, send: (socket: Socket) => void, waitMs = 8_000): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ data, closed, ms: performance.now() - t0, socket });
    };
    const timer = setTimeout(() => {
      finish(false);
      socket.destroy();
    }, waitMs);
    socket.on('connect', () => send(socket));
    socket.on('data', (d) => (data += d));
    socket.on('close', () => finish(true));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? finish(true) : reject(e)));
  });
}

/** The status and JSON body of the first response in `data`. */
function response(data: string): { status: number; body: any; head: string } {
  const [head, ...rest] = data.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const text = rest.join('\r\n\r\n');
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, body, head };
}

function expectOpenAIError(body: any, status: number, code: string, actual: number): void {
  expect(actual, JSON.stringify(body)).toBe(status);
  expect(Object.keys(body ?? {})).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.code).toBe(code);
}

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const extra = Object.entries({ 'content-type': 'application/json', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Content-Length: ${bytes.length}\r\n\r\n`), bytes]);
}

/** fetch on 127.0.0.1:port; `body` is the JSON answer, or its text when it is not JSON. */
async function fetchJson(port: number, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const { status, headers, json, text } = await readAnswer(await fetch(`http://127.0.0.1:${port}${path}`, init));
  return { status, headers, body: json ?? text };
}

async function metric(port: number, line: RegExp): Promise<number> {
  const text = (await fetchJson(port, '/metrics')).body as string;
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('serve: every connection is bounded in time and number', () => {
  it('cuts a client that sends no headers, or only some, after the header timeout, with a 408 in OpenAI shape', async () => {
    const { port } = await start({ limits: { headerTimeoutMs: 300, bodyTimeoutMs: 600 } });
    const [silent, partial] = await Promise.all([
      raw(port, () => {}),
      raw(port, (s) => s.write('POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\n')),
    ]);
    for (const r of [silent, partial]) {
      expect(r.closed, 'the server never closed the connection').toBe(true);
      expect(r.ms).toBeLessThan(5_000);
      const { status, body } = response(r.data);
      expectOpenAIError(body, 408, 'server_request_timeout', status);
      expect(body.error.message).toMatch(/headers within 300 ms/);
    }
    expect(await metric(port, /^kmed_client_errors_total\{reason="timeout"\} (\d+)$/m)).toBe(2);
  });

  it('cuts a stalled or dripping body after the body timeout (Content-Length 1000, 4 bytes sent)', async () => {
    const { port, lines } = await start({ limits: { headerTimeoutMs: 200, bodyTimeoutMs: 400 } });
    let drip: ReturnType<typeof setInterval> | undefined;
    const [stalled, dripping] = await Promise.all([
      raw(port, (s) => s.write('POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"in')),
      // One byte every 50 ms: no single gap reaches any timeout, the whole request does.
      raw(port, (s) => {
        s.write('POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
        drip = setInterval(() => s.writable && s.write(' '), 50);
      }),
    ]);
    clearInterval(drip);
    for (const r of [stalled, dripping]) {
      expect(r.closed, 'the server never closed the connection').toBe(true);
      expect(r.ms).toBeLessThan(5_000);
      const { status, body } = response(r.data);
      expectOpenAIError(body, 408, 'server_request_timeout', status);
    }
    // Logged as what happened to them, not as a 200 or a vanished client.
    expect(lines.map((l) => JSON.parse(l))).toEqual(expect.arrayContaining([expect.objectContaining({ route: '/v1/embeddings', status: 408, error: 'SERVER_REQUEST_TIMEOUT' })]));
  });

  it('closes a kept-alive connection left idle past the idle timeout', async () => {
    const { port } = await start({ limits: { idleTimeoutMs: 200 } });
    const r = await raw(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    expect(r.closed, 'the idle connection stayed open').toBe(true);
    expect(response(r.data).status).toBe(200);
    // Node adds up to a second to the keep-alive timeout; 8 s (the wait) is the bound that fails.
    expect(r.ms).toBeLessThan(5_000);
  });

  it('closes connections past the cap at once and counts them; /health answers once the stalled ones are cut', async () => {
    const { port, server } = await start({ limits: { maxConnections: 3, headerTimeoutMs: 1_500, bodyTimeoutMs: 1_500 } });
    const stalled = [0, 1, 2].map(() => raw(port, (s) => s.write('GET /health HTTP/1.1\r\n')));
    // Wait until the server holds all three (a busy machine may still have them in the backlog).
    const open = () => new Promise<number>((resolve) => server.app.server.getConnections((_, n) => resolve(n)));
    for (let i = 0; i < 500 && (await open()) < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const over = await raw(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'), 1_000);
    expect(over.closed, 'a 4th connection was held open').toBe(true);
    expect(over.data).toBe('');
    for (const r of await Promise.all(stalled)) expect(response(r.data).status).toBe(408);
    expect((await fetchJson(port, '/health')).status).toBe(200);
    expect(await metric(port, /^kmed_connections_refused_total (\d+)$/m)).toBe(1);
  });

  it('answers malformed HTTP (Content-Length with Transfer-Encoding) and a bad URL in OpenAI shape', async () => {
    const { port } = await start();
    const both = await raw(port, (s) =>
      s.write('POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}'),
    );
    const r = response(both.data);
    expectOpenAIError(r.body, 400, 'server_bad_request', r.status);
    expect(r.body.error.message).toMatch(/Content-Length and Transfer-Encoding/);
    const url = await raw(port, (s) => s.write('GET /%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    const u = response(url.data);
    expectOpenAIError(u.body, 400, 'server_bad_request', u.status);
  });

  it('cuts stalled clients at the drain deadline on close(), and answers what is in flight', async () => {
    const { server, port, queued } = await start({ limits: { shutdownTimeoutMs: 1_500, headerTimeoutMs: 60_000, bodyTimeoutMs: 60_000 } }, { maxWaitMs: 150 });
    const stalledBody = raw(port, (s) => s.write('POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{'));
    const stalledHead = raw(port, (s) => s.write('GET /health HTTP/1.1\r\n'));
    const inFlight = raw(port, (s) => s.write(post('/v1/embeddings', JSON.stringify({ model: 'question', input: 'abc' }))));
    // Close once the in-flight request waits in the batcher (on a busy machine that takes a while).
    for (let i = 0; i < 1000 && queued() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(5_000);
    for (const r of await Promise.all([stalledBody, stalledHead])) expect(r.closed).toBe(true);
    const answered = await inFlight;
    expect(response(answered.data).status).toBe(200);
    expect(response(answered.data).head).toMatch(/^connection: close$/im);
  });
});

describe('serve: request bodies are checked before they are parsed', () => {
  it('refuses invalid UTF-8 with 400 naming the byte, never replacing it', async () => {
    const { port, computed } = await start();
    const body = Buffer.concat([Buffer.from('{"model":"question","input":"ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const r = response((await raw(port, (s) => s.write(post('/v1/embeddings', body, { connection: 'close' })))).data);
    expectOpenAIError(r.body, 400, 'server_invalid_utf8', r.status);
    expect(r.body.error.message).toMatch(/byte offset 31 \(0xff\)/);
    // A lone surrogate's UTF-8 form (ED A0 80) is not UTF-8 either; a charset other than UTF-8 is refused.
    const surrogate = Buffer.concat([Buffer.from('{"model":"question","input":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    expect(response((await raw(port, (s) => s.write(post('/v1/embeddings', surrogate, { connection: 'close' })))).data).status).toBe(400);
    const latin1 = await fetchJson(port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, body: '{"model":"question","input":"a"}' });
    expectOpenAIError(latin1.body, 415, 'server_unsupported_media_type', latin1.status);
    expect(computed).toEqual([]);
    // Valid UTF-8, a BOM and charset=utf-8 pass.
    const ok = await fetchJson(port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: '\ufeff{"model":"question","input":"환자"}' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('refuses a body nested 1.5M deep in one pass: 400, and the event loop never stalls', async () => {
    const { port } = await start();
    const depth = 1_500_000;
    const body = '['.repeat(depth) + ']'.repeat(depth);
    let worstGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    const r = await fetchJson(port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    clearInterval(ticker);
    expectOpenAIError(r.body, 400, 'server_json_too_deep', r.status);
    expect(r.body.error.message).toMatch(/deeper than 16 levels \(at byte offset 16\)/);
    // Parsing this body holds the thread for seconds; the scan for milliseconds. 1.5 s is generous.
    expect(worstGap).toBeLessThan(1_500);
    // Brackets inside strings do not count; depth up to the limit passes the scan.
    const inString = await fetchJson(port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'question', input: '['.repeat(100) }) });
    expect(inString.status).toBe(200);
    const limit = await start({ limits: { maxJsonDepth: 2 } });
    const deep = await fetchJson(limit.port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"question","input":[["x"]]}' });
    expect(deep.body.error.code).toBe('server_json_too_deep');
    const fits = await fetchJson(limit.port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"question","input":["x"]}' });
    expect(fits.status).toBe(200);
  });
});

describe('serve: access without and with a key', () => {
  it('without a key, answers only Host and Origin names on the allow-list (DNS rebinding)', async () => {
    const { port } = await start({ host: '127.0.0.1', allowedHosts: ['kmed.internal', '.example.org'] });
    const get = (headers: Record<string, string>) => raw(port, (s) => s.write(`GET /v1/models HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`));
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'kmed.internal', 'a.example.org:8080', 'example.org']) {
      expect(response((await get({ host })).data).status, host).toBe(200);
    }
    for (const host of ['evil.example', `evil.example:${port}`, 'example.org.evil.example', 'kmed.internal.evil', '127.0.0.2']) {
      const r = response((await get({ host })).data);
      expectOpenAIError(r.body, 403, 'server_host_not_allowed', r.status);
    }
    // No Host at all (HTTP/1.0) is not on the list either.
    expect(response((await raw(port, (s) => s.write('GET /v1/models HTTP/1.0\r\n\r\n'))).data).status).toBe(403);
    for (const origin of ['http://evil.example', 'null', 'https://localhost.evil.example', 'file://']) {
      const r = response((await get({ host: 'localhost', origin })).data);
      expectOpenAIError(r.body, 403, 'server_origin_not_allowed', r.status);
    }
    for (const origin of [`http://localhost:${port}`, 'http://127.0.0.1:3000', 'https://a.example.org']) {
      expect(response((await get({ host: 'localhost', origin })).data).status, origin).toBe(200);
    }
    // /health says nothing but "ok": probes reach it by any name.
    expect(response((await raw(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nConnection: close\r\n\r\n'))).data).status).toBe(200);
    // A wildcard listening address adds no name.
    const wild = await start({ host: '0.0.0.0' });
    expect((await fetchJson(wild.port, '/info')).body.access.allowed_hosts).toEqual(['localhost', '127.0.0.1', '::1']);
  });

  it('with a key, checks the key instead of the Host, and /health is open with any query string', async () => {
    const { port } = await start({ apiKey: 's3cret' });
    const auth = { authorization: 'Bearer s3cret' };
    expect((await fetchJson(port, '/health?x=1')).status).toBe(200);
    expect((await fetchJson(port, '/health?probe=liveness&t=2')).status).toBe(200);
    expect((await fetchJson(port, '/v1/models?x=1')).status).toBe(401);
    const evil = await raw(port, (s) => s.write('GET /v1/models HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n'));
    expect(response(evil.data).status).toBe(200);
    expect((await fetchJson(port, '/v1/models', { headers: auth })).status).toBe(200);
    expect((await fetchJson(port, '/info', { headers: auth })).body.access).toEqual({ api_key: true, allowed_hosts: null, cors_origin: null });
  });

  it('refuses, when built, a key no client can send: empty, padded with spaces, or not printable ASCII', async () => {
    const { models } = standIn();
    for (const [apiKey, mention] of [['', /empty/], [' s3cret', /whitespace/], ['s3cret\n', /whitespace/], ['s3cret\t', /whitespace/], ['clé', /printable ASCII/]] as const) {
      await expect(createApp({ models, apiKey }), JSON.stringify(apiKey)).rejects.toMatchObject({ code: 'SERVER_BAD_OPTION', message: expect.stringMatching(mention) });
    }
    await expect(createApp({ models, limits: { headerTimeoutMs: 5_000, bodyTimeoutMs: 1_000 } })).rejects.toMatchObject({ code: 'SERVER_BAD_OPTION', message: expect.stringMatching(/shorter than the header timeout/) });
    await expect(createApp({ models, limits: { maxConnections: 0 } })).rejects.toMatchObject({ code: 'SERVER_BAD_OPTION' });
    await expect(createApp({ models, allowedHosts: ['https://x.example/'] })).rejects.toMatchObject({ code: 'SERVER_BAD_OPTION' });
  });
});

describe('serve: work for clients that have gone', () => {
  it('drops queued inputs whose client closed the connection before their forward pass, counts them, logs 499', async () => {
    // The batcher waits 3 s for company: long enough for all five to queue on a busy machine.
    const { port, computed, dropped, lines, queued } = await start({}, { maxWaitMs: 3_000 });
    const input = Array.from({ length: 256 }, (_, i) => `text ${i}`);
    const sockets: Socket[] = [];
    const clients = Array.from({ length: 5 }, () => raw(port, (s) => (sockets.push(s), s.write(post('/v1/embeddings', JSON.stringify({ model: 'question', input }))))));
    for (let i = 0; i < 1000 && queued() < 5 * 256; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const s of sockets) s.destroy();
    await Promise.all(clients);
    for (let i = 0; i < 500 && dropped.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(computed, 'inputs of departed clients were computed').toEqual([]);
    expect(dropped).toEqual([256, 256, 256, 256, 256]);
    const access = lines.map((l) => JSON.parse(l)).filter((l) => l.route === '/v1/embeddings');
    expect(access).toHaveLength(5);
    for (const l of access) expect(l).toMatchObject({ status: 499, error: 'SERVER_CLIENT_GONE', inputs: 256 });
    // A client that stays is answered as before.
    const ok = await fetchJson(port, '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'question', input: 'abc' }) });
    expect(ok.status).toBe(200);
    expect(computed).toEqual([1]);
  });
});
