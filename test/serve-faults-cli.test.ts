// `kmed serve` (the built CLI, tiny models) under faults a user's deployment meets: keys no client
// could send refused at start-up with one `kmed:` line; every limit settable by flag or environment
// variable and reported at GET /info; a slowloris crowd of stalled sockets cut by the header and
// body timeouts and the connection cap while /health stays up; SIGTERM exiting within the drain
// deadline although stalled clients hold connections; twenty 256-text requests whose clients
// leave dropped before they are computed; and the index file edited in place (503 until it
// verifies again, never a 200 with the edited text) or replaced by rename (reloaded, 200
// throughout). Limits are set through KMED_* variables where that keeps a test meaningful against
// a build without them. The in-process cases (each timeout on its own, UTF-8, JSON depth, hosts)
// are in serve-faults.test.ts.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, expectOneKmedLine, runCli } from './helpers/run-cli.js';
import { killServers, MODELS, post, startServer, waitReady, type Server } from './helpers/serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-serve-faults-'));
const INDEX = join(dir, 'served.kidx');
const passages = readFileSync('test/fixtures/corpus/passages.txt', 'utf8').split('\n').filter((l) => l !== '');

function buildIndex(corpus: string, out: string): void {
  const r = spawnSync(process.execPath, [CLI, 'index', ...MODELS, '--corpus', corpus, '--out', out, '--force'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  buildIndex('test/fixtures/corpus/passages.txt', INDEX);
});

afterAll(() => {
  killServers();
  rmSync(dir, { recursive: true, force: true });
});

/** Open a connection and write `text` on it; the socket is returned open (closed on error). */
function stall(url: string, text: string): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(text);
      resolve(socket);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
  });
}

/** Like stall, but first a whole GET /health on the same connection, answered: so the server has
 *  surely accepted the connection (a busy machine may otherwise still hold it in the backlog). */
function stallAccepted(url: string, text: string): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d;
      if (!seen.includes('{"status":"ok"}')) return;
      socket.off('data', onData);
      socket.write(text);
      resolve(socket);
    };
    socket.on('data', onData);
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
  });
}

/** Resolves once the server has closed `socket` (or after `ms`, with false). */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}

/** The status of GET `path` sent with `Host: host`. */
function statusWithHost(url: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpGet(new URL(path, url), { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
  });
}

async function metrics(server: Server): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

function metric(text: string, line: RegExp): number {
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

const STALLED_HEADERS = 'POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\n';
const STALLED_BODY = 'POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"in';

describe('kmed serve: start-up refuses what cannot work, one kmed: line', () => {
  it('refuses an empty or whitespace-padded API key, from the flag or KMED_API_KEY, before listening', async () => {
    for (const [args, env, mention] of [
      [['--api-key', ''], {}, /--api-key is empty/],
      [['--api-key', ' s3cret'], {}, /--api-key starts or ends with whitespace/],
      [['--api-key', 's3cret '], {}, /whitespace/],
      [[], { KMED_API_KEY: '' }, /KMED_API_KEY is empty/],
      [[], { KMED_API_KEY: 's3cret\t' }, /KMED_API_KEY starts or ends with whitespace/],
      [['--header-timeout-ms', '5000', '--body-timeout-ms', '1000'], {}, /body timeout \(1000 ms\) is shorter than the header timeout \(5000 ms\)/],
      [[], { KMED_MAX_CONNECTIONS: '0' }, /KMED_MAX_CONNECTIONS|positive integer/],
      [['--allowed-hosts', 'https://a.example/'], {}, /not a host name/],
    ] as const) {
      const r = await runCli(['serve', '--port', '0', ...MODELS, ...args], { env: { ...process.env, KMED_API_KEY: undefined, ...env }, timeoutMs: 30_000 });
      expect(r.code, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`).toBe(1);
      expect(r.stdout, 'it listened').toBe('');
      expectOneKmedLine(r, mention);
    }
  });
});

describe('kmed serve: limits from flags and environment, reported at /info', () => {
  it('takes each limit from its flag or KMED_ variable and reports every one at GET /info', async () => {
    const s = await startServer(['--body-timeout-ms', '17000', '--max-json-depth', '4', '--allowed-hosts', 'kmed.internal,.example.org'], {
      KMED_MAX_INPUTS: '3',
      KMED_IDLE_TIMEOUT_MS: '1234',
      KMED_MAX_QUEUE: '77',
    });
    await waitReady(s);
    const info = await (await fetch(`${s.url}/info`)).json();
    expect(info.limits).toEqual({
      body_limit: 4 << 20,
      max_inputs: 3,
      max_chars: 20_000,
      max_json_depth: 4,
      header_timeout_ms: 10_000,
      body_timeout_ms: 17_000,
      idle_timeout_ms: 1234,
      max_connections: 512,
      shutdown_timeout_ms: 10_000,
    });
    expect(info.batching).toEqual({ max_batch_tokens: 512, max_wait_ms: 2, max_queue: 77 });
    expect(info.access).toEqual({ api_key: false, allowed_hosts: ['localhost', '127.0.0.1', '::1', 'kmed.internal', '.example.org'], cors_origin: null });
    expect(info.models).toEqual({ question: 'tiny-question', context: 'tiny-context' });
    expect(info.dimension).toBe(64);
    expect(typeof info.version).toBe('string');
    // The limits are the ones applied.
    const four = await post(s, '/v1/embeddings', { model: 'question', input: ['a', 'b', 'c', 'd'] });
    expect(four.json.error.code).toBe('server_too_many_inputs');
    // (fetch cannot set Host; node:http can.)
    expect(await statusWithHost(s.url, '/v1/models', 'evil.example')).toBe(403);
    expect(await statusWithHost(s.url, '/v1/models', 'api.example.org')).toBe(200);
    expect(await statusWithHost(s.url, '/v1/models', 'kmed.internal:8080')).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });
});

describe('kmed serve: stalled and departed clients', () => {
  it('under 120 stalled sockets cuts them all (cap, header and body timeouts) and keeps /health answering', async () => {
    const s = await startServer([], { KMED_MAX_CONNECTIONS: '60', KMED_HEADER_TIMEOUT_MS: '700', KMED_BODY_TIMEOUT_MS: '1000' });
    await waitReady(s);
    const sockets = await Promise.all(Array.from({ length: 120 }, (_, i) => stall(s.url, i % 2 ? STALLED_HEADERS : STALLED_BODY)));
    const closed = await Promise.all(sockets.map((socket) => closedWithin(socket, 8_000)));
    expect(closed.filter((c) => !c).length, 'stalled sockets still open after 8 s').toBe(0);
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    const text = await metrics(s);
    expect(metric(text, /^kmed_connections_refused_total (\d+)$/m)).toBeGreaterThan(0);
    expect(metric(text, /^kmed_client_errors_total\{reason="timeout"\} (\d+)$/m)).toBeGreaterThan(0);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('on SIGTERM exits 0 within the drain deadline although stalled clients hold connections (they are cut)', async () => {
    const s = await startServer([], { KMED_SHUTDOWN_TIMEOUT_MS: '500' });
    await waitReady(s);
    const keptAlive = await stallAccepted(s.url, '');
    const sockets = [await stallAccepted(s.url, STALLED_HEADERS), await stallAccepted(s.url, STALLED_BODY), keptAlive];
    // Let the stalled body's request reach its handler (waiting for the rest of the body).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const t0 = performance.now();
    s.child.kill('SIGTERM');
    const exited = await Promise.race([s.exit, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000))]);
    expect(exited, 'the server did not exit within 15 s of SIGTERM').toBe(0);
    expect(performance.now() - t0).toBeLessThan(15_000);
    for (const socket of sockets) expect(await closedWithin(socket, 1_000)).toBe(true);
  });

  it('drops the queued texts of twenty 256-text requests whose clients left: none computed, all counted, logged 499', async () => {
    // The batcher waits 20 s for company, so the clients leave (once all twenty are queued)
    // before any forward pass, however busy the machine.
    const s = await startServer(['--max-wait-ms', '20000', '--max-batch-tokens', '100000', '--max-queue', '10000']);
    await waitReady(s);
    const input = Array.from({ length: 256 }, (_, i) => `검사 결과 ${i}`);
    const body = JSON.stringify({ model: 'context', input });
    const request = `POST /v1/embeddings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const sockets = await Promise.all(Array.from({ length: 20 }, () => stall(s.url, request)));
    const until = async (line: RegExp, value: number) => {
      for (let i = 0; i < 600 && metric(await metrics(s), line) < value; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    await until(/^kmed_queue_depth\{model="context"\} (\d+)$/m, 20 * 256);
    for (const socket of sockets) socket.destroy();
    await until(/^kmed_queue_dropped_total\{model="context"\} (\d+)$/m, 20 * 256);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the last access-log lines
    const text = await metrics(s);
    expect(metric(text, /^kmed_inputs_total\{model="context"\} (\d+)$/m), 'texts of departed clients were computed').toBe(0);
    expect(metric(text, /^kmed_batch_inputs_count\{model="context"\} (\d+)$/m)).toBe(0);
    expect(metric(text, /^kmed_queue_dropped_total\{model="context"\} (\d+)$/m)).toBe(20 * 256);
    const access = s.stderr().trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.route === '/v1/embeddings');
    expect(access).toHaveLength(20);
    for (const l of access) expect(l).toMatchObject({ status: 499, error: 'SERVER_CLIENT_GONE', inputs: 256 });
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });
});

describe('kmed serve: the served index is the verified one', () => {
  /** Search until `done` holds for an answer (at most `ms`); returns every answer seen. */
  async function searchUntil(s: Server, done: (r: Awaited<ReturnType<typeof post>>) => boolean, ms = 15_000) {
    const seen: Array<Awaited<ReturnType<typeof post>>> = [];
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      const r = await post(s, '/v1/search', { query: '고혈압 치료제', k: 40 });
      seen.push(r);
      if (done(r)) return seen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`not reached in ${ms} ms; last answer ${seen.at(-1)?.status} ${seen.at(-1)?.text.slice(0, 300)}`);
  }

  it('answers 503 (never 200 with the edited text) while the file is edited in place, and 200 again once it verifies', async () => {
    const path = join(dir, 'edited.kidx');
    writeFileSync(path, readFileSync(INDEX));
    const s = await startServer(['--index', path]);
    await waitReady(s);
    const before = await post(s, '/v1/search', { query: '고혈압 치료제', k: 40 });
    expect(before.status).toBe(200);
    expect(before.json.data.map((h: any) => h.text)).toContain(passages[0]);

    // Same length, one character changed: 고혈압 → 저혈압 (3 UTF-8 bytes each).
    const original = Buffer.from('고혈압 1차 치료제');
    const edited = Buffer.from('저혈압 1차 치료제');
    const at = readFileSync(path).indexOf(original);
    expect(at).toBeGreaterThan(0);
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, edited, 0, edited.length, at);
    } finally {
      closeSync(fd);
    }
    const during = await searchUntil(s, (r) => r.json?.error?.code === 'server_index_invalid');
    for (const r of during) {
      expect(r.status, r.text.slice(0, 200)).toBe(503);
      expect(r.text).not.toContain('저혈압 1차');
      expect(r.headers.get('retry-after')).toBe('1');
    }
    expect(during.at(-1)!.json.error.message).toMatch(/does not verify .*checksum/);
    expect((await (await fetch(`${s.url}/info`)).json()).index.state).toBe('invalid');

    // Put the bytes back: the file verifies again and is served.
    const fd2 = openSync(path, 'r+');
    try {
      writeSync(fd2, original, 0, original.length, at);
    } finally {
      closeSync(fd2);
    }
    const after = await searchUntil(s, (r) => r.status === 200);
    expect(after.at(-1)!.json.data.map((h: any) => h.text)).toContain(passages[0]);
    expect(metric(await metrics(s), /^kmed_index_reloads_total\{result="ok"\} (\d+)$/m)).toBe(1);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('reloads an index replaced by rename, answering 200 from the old one until the new one is verified', async () => {
    const path = join(dir, 'replaced.kidx');
    writeFileSync(path, readFileSync(INDEX));
    const s = await startServer(['--index', path]);
    await waitReady(s);
    const fewer = join(dir, 'five.txt');
    writeFileSync(fewer, passages.slice(10, 15).join('\n') + '\n');
    const next = join(dir, 'next.kidx');
    buildIndex(fewer, next);
    renameSync(next, path);
    const seen = await searchUntil(s, (r) => r.json?.data?.length === 5);
    for (const r of seen) expect(r.status, r.text.slice(0, 200)).toBe(200);
    expect(seen.at(-1)!.json.data.map((h: any) => h.text).sort()).toEqual(passages.slice(10, 15).sort());
    expect((await (await fetch(`${s.url}/ready`)).json()).index).toEqual({ passages: 5 });
    // A broken file renamed over it: the verified one goes on answering (state 'stale').
    const broken = join(dir, 'broken.kidx');
    writeFileSync(broken, readFileSync(path).subarray(0, 100));
    renameSync(broken, path);
    const still = await searchUntil(s, () => true);
    expect(still.at(-1)!.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await (await fetch(`${s.url}/info`)).json()).index.state).toBe('stale');
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('refuses an empty or whitespace query with 400, as the library and `kmed search` do', async () => {
    const s = await startServer(['--index', INDEX]);
    await waitReady(s);
    for (const query of ['', '   ', '\n\t']) {
      const r = await post(s, '/v1/search', { query });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'empty_query', param: 'query', type: 'invalid_request_error' });
    }
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });
});
