#!/usr/bin/env node
// Owns: the tiny static server behind `npm run demo:web` and the browser tests (runtime matrix,
// web demo). It serves only what a page needs — web/ (the demo), dist/ (the compiled library),
// build/ (the raw kernels; the library reads them from dist/kernels/), test/runtimes/ (the browser check) and the two tiny encoders plus
// tiny-golden.json from test/fixtures/ — with the cross-origin isolation headers a page needs for
// SharedArrayBuffer (threads): COOP same-origin + COEP require-corp. `--no-isolation` leaves them out,
// to see the library fall back to one thread.
// Does not own: anything the page does; no directory listings, no writes, loopback only by default.
//
//   node scripts/serve-web.mjs [--port 8080] [--host 127.0.0.1] [--no-isolation]
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** URL path prefixes that may be served (everything else is 404). */
const ALLOWED_PREFIXES = [
  '/web/',
  '/dist/',
  '/build/',
  '/test/runtimes/',
  '/test/fixtures/tiny-question/',
  '/test/fixtures/tiny-context/',
  '/test/fixtures/tiny-golden.json',
];

// `.js` must be a JavaScript MIME type or module scripts are refused; `.wasm` must be
// application/wasm or WebAssembly.instantiateStreaming / compileStreaming refuse it.
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.safetensors': 'application/octet-stream',
};

/**
 * Start the server. Resolves once it listens; `port: 0` picks a free port.
 * `mounts` maps extra URL prefixes (ending in '/') to folders, e.g. a benchmark model folder.
 * @param {{ root?: string, host?: string, port?: number, isolation?: boolean, mounts?: Record<string, string>, log?: (line: string) => void }} [options]
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export async function startServer(options = {}) {
  const root = resolve(options.root ?? REPO_ROOT);
  const host = options.host ?? '127.0.0.1';
  const isolation = options.isolation ?? true;
  const log = options.log ?? (() => {});
  const mounts = Object.entries(options.mounts ?? {}).map(([prefix, dir]) => [prefix, resolve(dir)]);

  const server = createServer(async (req, res) => {
    const reply = (status, body, headers = {}) => {
      res.writeHead(status, { ...baseHeaders(isolation), 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      log(`${status} ${req.method} ${req.url}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n', { Allow: 'GET, HEAD' });

    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return reply(400, 'bad request path\n');
    }
    if (pathname === '/' || pathname === '/web') return reply(302, 'see /web/\n', { Location: '/web/' });
    if (pathname.endsWith('/')) pathname += 'index.html';
    if (pathname.includes('\0')) return reply(404, 'not found\n');
    const mount = mounts.find(([prefix]) => pathname.startsWith(prefix));
    let file;
    if (mount) {
      // Normalise first, then check: `/model/../x` must not leave the mounted folder.
      file = resolve(join(mount[1], pathname.slice(mount[0].length)));
      if (!file.startsWith(mount[1] + sep)) return reply(404, 'not found\n');
    } else {
      // Same here: `/web/../package.json` must not slip past the prefix test.
      file = resolve(join(root, pathname));
      const rel = '/' + file.slice(root.length + 1).split(sep).join('/');
      if (!file.startsWith(root + sep) || !ALLOWED_PREFIXES.some((p) => rel === p || rel.startsWith(p))) {
        return reply(404, 'not found\n');
      }
    }
    let info;
    try {
      info = await stat(file);
    } catch {
      return reply(404, 'not found\n');
    }
    if (!info.isFile()) return reply(404, 'not found\n');

    res.writeHead(200, {
      ...baseHeaders(isolation),
      'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      // Content-Length lets the page show byte progress while a model downloads.
      'Content-Length': String(info.size),
    });
    log(`200 ${req.method} ${req.url}`);
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });

  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => ok(undefined));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

function baseHeaders(isolation) {
  const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
  if (isolation) {
    // Together these make the page cross-origin isolated, which is what unlocks
    // SharedArrayBuffer (and so WebAssembly threads) in browsers.
    headers['Cross-Origin-Opener-Policy'] = 'same-origin';
    headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    headers['Cross-Origin-Resource-Policy'] = 'same-origin';
  }
  return headers;
}

function parseArgs(argv) {
  const args = { port: 8080, host: '127.0.0.1', isolation: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') args.port = Number(argv[++i]);
    else if (a === '--host') args.host = argv[++i];
    else if (a === '--no-isolation') args.isolation = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/serve-web.mjs [--port 8080] [--host 127.0.0.1] [--no-isolation]');
      process.exit(0);
    } else {
      console.error(`serve-web: unknown argument ${JSON.stringify(a)} (try --help)`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    console.error('serve-web: --port needs an integer in 0..65535');
    process.exit(2);
  }
  return args;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const { stat: statSync } = await import('node:fs/promises');
  for (const needed of ['dist/index.js', 'dist/kernels/kernels.wasm']) {
    await statSync(join(REPO_ROOT, needed)).catch(() => {
      console.error(`serve-web: ${needed} is missing — run \`npm run build\` first`);
      process.exit(1);
    });
  }
  const { url } = await startServer(args).catch((error) => {
    console.error(`serve-web: cannot listen on ${args.host}:${args.port}: ${error.message}`);
    process.exit(1);
  });
  console.log(`kmed-dpr web demo: ${url}/web/  (cross-origin isolation ${args.isolation ? 'on' : 'off'}; Ctrl+C to stop)`);
}
