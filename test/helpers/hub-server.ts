// Owns: a local HTTP server that speaks the parts of the Hugging Face hub's API a model download
// uses, faithfully enough that the client cannot tell: model info (GET /api/models/{repo}/revision/
// {rev}?blobs=true: sha + siblings with size, blobId, lfs.sha256), the tree listing (GET /api/models/
// {repo}/tree/{rev}, paged with Link: rel="next"), and file downloads (GET|HEAD /{repo}/resolve/{rev}/
// {path}: git files answered directly with ETag = git blob id; LFS files with a 302 to a CDN path
// carrying X-Linked-Etag = sha256, X-Linked-Size and X-Repo-Commit; the CDN honours Range with 206).
// Revisions: 'main' and the repo's commit hash. Every request is logged and counted, so tests can
// assert "zero requests". Behaviours per repo simulate faults: a transfer cut mid-file, corrupt
// bytes, a server that ignores Range, a slow CDN; and hostile answers: bodies cut short under a
// full Content-Length, resumes answered with a range not asked for or 416, a drip of one byte at a
// time, any revision accepted unchecked, a model-info body that never ends. Optionally serves files of this repository under
// /static/ (for the browser test's page, library and kernels).
// Does not own any assertion.
import { createHash } from 'node:crypto';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

export interface ServedFile {
  bytes: Buffer;
  lfs: boolean;
}

export interface RepoBehaviour {
  /** Cut the first transfer of this path's bytes after `breakAt` bytes (once). */
  breakPath?: string;
  breakAt?: number;
  /** Runs before the connection is dropped (e.g. wait until the client holds the bytes). */
  waitBeforeBreak?: () => Promise<void>;
  /** Serve LFS bytes with one byte flipped (the listing states the true sha256). */
  corrupt?: boolean;
  ignoreRange?: boolean;
  /** The sha256 the listing states for LFS files instead of the real one. */
  statedSha256?: string;
  /** Extra raw siblings in the model info (files listed but never served, bad paths ...). */
  extraSiblings?: Array<{ rfilename: string; size: number; blobId: string; lfs?: { sha256: string; size: number; pointerSize: number } }>;
  /** Answer file downloads naming another commit in X-Repo-Commit (a mirror serving stale files). */
  wrongCommit?: boolean;
  /** Send CDN bodies in 64 KiB pieces this many ms apart. */
  slowMs?: number;
  // Hostile answers (LFS files on the CDN only, so the small files still load):
  /** Every CDN body stops after this many bytes, its Content-Length stating the full length, and
   *  the connection closes. */
  shortBody?: number;
  /** Answer every Range request on the CDN with 206 and a Content-Range from byte 0 (a range not
   *  asked for), or with 416. */
  badRange?: 'wrong-start' | '416';
  /** Send CDN bodies one byte at a time, this many ms apart. */
  dripMs?: number;
  /** Answer model info and file downloads for any revision, as for 'main' (a hub that does not
   *  check names: '../../../x' included). */
  anyRevision?: boolean;
  /** Answer model info with a JSON body that never ends (a list of siblings, 64 KiB at a time, as
   *  fast as the client reads). */
  endlessListing?: boolean;
}

export interface ServedRepo {
  files: Map<string, ServedFile>;
  commit: string;
  behaviour: RepoBehaviour;
}

export interface LogEntry {
  method: string;
  path: string;
  range?: string;
  status: number;
  sent?: number;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const gitBlobId = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/** The files of a fixture model folder as a hub repo holds them (model weights in LFS). */
export function repoFromFolder(dir: string, names: string[], extra: Record<string, ServedFile> = {}): Map<string, ServedFile> {
  const files = new Map<string, ServedFile>();
  for (const name of names) files.set(name, { bytes: readFileSync(join(dir, name)), lfs: /\.(safetensors|onnx|data)$/.test(name) });
  for (const [name, file] of Object.entries(extra)) files.set(name, file);
  return files;
}

export interface HubServer {
  url: string;
  repos: Map<string, ServedRepo>;
  log: LogEntry[];
  /** Requests to the hub API and files (not /static/) since the last reset. */
  hubRequests(): LogEntry[];
  reset(): void;
  close(): Promise<void>;
}

export async function startHubServer(options: {
  repos: Record<string, Map<string, ServedFile>>;
  /** Serve this folder's files under /static/. */
  staticRoot?: string;
  /** Extra HTML pages by path (e.g. a browser test's page). */
  pages?: Record<string, string>;
}): Promise<HubServer> {
  const repos = new Map<string, ServedRepo>();
  for (const [id, files] of Object.entries(options.repos)) {
    repos.set(id, { files, commit: createHash('sha1').update(`commit of ${id}`).digest('hex'), behaviour: {} });
  }
  const log: LogEntry[] = [];
  const brokenOnce = new Set<string>();
  let base = '';

  const siblings = (repo: ServedRepo) => [
    ...[...repo.files].map(([path, f]) => {
      if (!f.lfs) return { rfilename: path, size: f.bytes.length, blobId: gitBlobId(f.bytes) };
      const pointer = lfsPointer(f.bytes);
      const oid = repo.behaviour.statedSha256 ?? sha256(f.bytes);
      return { rfilename: path, size: f.bytes.length, blobId: gitBlobId(pointer), lfs: { sha256: oid, size: f.bytes.length, pointerSize: pointer.length } };
    }),
    ...(repo.behaviour.extraSiblings ?? []),
  ];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', base);
    const entry: LogEntry = { method: req.method ?? '', path: url.pathname + url.search, range: req.headers.range, status: 0 };
    log.push(entry);
    const reply = (status: number, headers: Record<string, string | number>, body?: string) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      reply(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
    const repoAt = (id: string, rev: string) => {
      const repo = repos.get(id);
      return repo && (rev === 'main' || rev === repo.commit || repo.behaviour.anyRevision) ? repo : undefined;
    };
    let m: RegExpExecArray | null;
    const page = options.pages?.[url.pathname];
    if (page !== undefined) return reply(200, { 'content-type': 'text/html' }, page);
    if (options.staticRoot && url.pathname.startsWith('/static/')) return serveStatic(options.staticRoot, url.pathname.slice(8), req, res, entry);
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname))) {
      const rev = decodeURIComponent(m[2]);
      if (!repos.has(m[1])) return json(404, { error: 'Repository not found' });
      const repo = repoAt(m[1], rev);
      if (!repo) return json(404, { error: `Invalid rev id: ${rev}` });
      if (repo.behaviour.endlessListing) return endlessListing(res, entry);
      const blobs = url.searchParams.get('blobs') === 'true';
      const list = siblings(repo).map((s) => (blobs ? s : { rfilename: s.rfilename }));
      return json(200, { _id: 'x', id: m[1], modelId: m[1], sha: repo.commit, private: false, siblings: list });
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname))) {
      const repo = repoAt(m[1], decodeURIComponent(m[2]));
      if (!repo) return json(404, { error: 'Repository not found' });
      const all = siblings(repo).map((s) => ({
        type: 'file',
        oid: s.blobId,
        size: s.size,
        path: s.rfilename,
        ...(s.lfs ? { lfs: { oid: s.lfs.sha256, size: s.lfs.size, pointerSize: s.lfs.pointerSize } } : {}),
      }));
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const headers: Record<string, string> = {};
      if (cursor + 4 < all.length) {
        const next = new URL(url);
        next.searchParams.set('cursor', String(cursor + 4));
        headers.link = `<${next.href}>; rel="next"`;
      }
      return json(200, all.slice(cursor, cursor + 4), headers);
    }
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname))) {
      const repo = repoAt(m[1], decodeURIComponent(m[2]));
      const path = m[3].split('/').map(decodeURIComponent).join('/');
      const file = repo?.files.get(path);
      if (!repo || !file) return reply(404, { 'x-error-code': 'EntryNotFound' }, 'Entry not found');
      const common = { 'x-repo-commit': repo.behaviour.wrongCommit ? 'f'.repeat(40) : repo.commit, 'access-control-expose-headers': 'x-repo-commit,x-linked-etag,x-linked-size,etag,content-range' };
      if (file.lfs) {
        return reply(302, {
          ...common,
          location: `/lfs-cdn/${m[1]}/${sha256(file.bytes)}`,
          'x-linked-etag': `"${sha256(file.bytes)}"`,
          'x-linked-size': file.bytes.length,
          etag: `"${gitBlobId(lfsPointer(file.bytes))}"`,
        });
      }
      return serveBytes(req, res, entry, `${m[1]}/${path}`, file.bytes, repo.behaviour, { ...common, etag: `"${gitBlobId(file.bytes)}"` });
    }
    if ((m = /^\/lfs-cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname))) {
      const repo = repos.get(m[1]);
      const found = repo && [...repo.files].find(([, f]) => f.lfs && sha256(f.bytes) === m![2]);
      if (!repo || !found) return reply(404, {}, 'no such object');
      let bytes = found[1].bytes;
      if (repo.behaviour.corrupt) {
        bytes = Buffer.from(bytes);
        bytes[bytes.length >> 1] ^= 0xff;
      }
      // A CDN's ETag is its own (not the content's sha256), as on the real hub.
      const cdnHeaders = { etag: `"cdn-${m[2].slice(0, 8)}"` };
      if (hostile(repo.behaviour)) return serveHostile(req, res, entry, bytes, repo.behaviour, cdnHeaders);
      return serveBytes(req, res, entry, `${m[1]}/${found[0]}`, bytes, repo.behaviour, cdnHeaders);
    }
    reply(404, {}, 'not found');
  }

  function serveBytes(req: IncomingMessage, res: ServerResponse, entry: LogEntry, key: string, bytes: Buffer, b: RepoBehaviour, headers: Record<string, string>): void {
    let start = 0;
    const range = req.headers.range;
    if (range && !b.ignoreRange) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m || Number(m[1]) >= bytes.length) {
        entry.status = 416;
        res.writeHead(416, { ...headers, 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      start = Number(m[1]);
      entry.status = 206;
      res.writeHead(206, { ...headers, 'content-length': bytes.length - start, 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`, 'accept-ranges': 'bytes' });
    } else {
      entry.status = 200;
      res.writeHead(200, { ...headers, 'content-length': bytes.length, 'accept-ranges': 'bytes' });
    }
    if (req.method === 'HEAD') return void res.end();
    const breakAt = b.breakAt ?? 1_000_000;
    if (b.breakPath !== undefined && key.endsWith(b.breakPath) && !brokenOnce.has(key) && start < breakAt) {
      brokenOnce.add(key);
      entry.sent = breakAt - start;
      res.write(bytes.subarray(start, breakAt));
      // Drop the connection only once the client holds those bytes, so the resume offset is exact.
      void (b.waitBeforeBreak ?? (() => new Promise((r) => setTimeout(r, 200))))().finally(() => res.socket?.destroy());
      return;
    }
    entry.sent = bytes.length - start;
    if (!b.slowMs) return void res.end(bytes.subarray(start));
    let at = start;
    const step = () => {
      if (res.destroyed) return;
      if (at >= bytes.length) return void res.end();
      res.write(bytes.subarray(at, at + 65536));
      at += 65536;
      setTimeout(step, b.slowMs);
    };
    step();
  }

  /** A CDN answer shaped by the hostile behaviours (see RepoBehaviour). */
  function serveHostile(req: IncomingMessage, res: ServerResponse, entry: LogEntry, bytes: Buffer, b: RepoBehaviour, headers: Record<string, string>): void {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = range ? Number(range[1]) : 0;
    if (range && b.badRange === '416') {
      entry.status = 416;
      res.writeHead(416, { ...headers, 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    if (range && b.badRange === 'wrong-start') start = 0;
    entry.status = range ? 206 : 200;
    res.writeHead(entry.status, {
      ...headers,
      'content-length': bytes.length - start,
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
      'accept-ranges': 'bytes',
    });
    const end = b.shortBody === undefined ? bytes.length : Math.min(bytes.length, start + b.shortBody);
    entry.sent = 0;
    // A body cut short ends with a FIN after its bytes, sent a moment after they are flushed: a
    // fetch errors the body stream at the FIN and drops chunks its reader has not taken yet.
    const finish = () => (end < bytes.length ? void setTimeout(() => res.socket?.end(), 100) : res.end());
    if (b.dripMs === undefined) {
      entry.sent = end - start;
      res.write(bytes.subarray(start, end), () => finish());
      return;
    }
    let at = start;
    const drip = () => {
      if (res.destroyed) return;
      if (at >= end) return void finish();
      res.write(bytes.subarray(at, at + 1));
      at++;
      entry.sent = at - start;
      setTimeout(drip, b.dripMs);
    };
    drip();
  }

  const server: Server = createServer(handle);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    repos,
    log,
    hubRequests: () => log.filter((e) => !e.path.startsWith('/static/') && !options.pages?.[e.path] && e.path !== '/favicon.ico'),
    reset() {
      log.length = 0;
      brokenOnce.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function hostile(b: RepoBehaviour): boolean {
  return b.shortBody !== undefined || b.badRange !== undefined || b.dripMs !== undefined;
}

/** A model-info answer that never ends: `{"sha":…,"siblings":[` then entries, 64 KiB per write,
 *  each write waiting for the socket to drain (so `entry.sent` counts what the client took). */
function endlessListing(res: ServerResponse, entry: LogEntry): void {
  entry.status = 200;
  entry.sent = 0;
  res.writeHead(200, { 'content-type': 'application/json' });
  const piece = Buffer.from(`${JSON.stringify({ rfilename: 'x'.repeat(40), size: 1, blobId: '0'.repeat(40) })},`.repeat(600));
  const write = () => {
    while (!res.destroyed) {
      entry.sent! += piece.length;
      if (!res.write(piece)) return void res.once('drain', write);
    }
  };
  res.write('{"sha":"' + '0'.repeat(40) + '","siblings":[');
  write();
}

function lfsPointer(bytes: Buffer): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`);
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

function serveStatic(root: string, rel: string, _req: IncomingMessage, res: ServerResponse, entry: LogEntry): void {
  const full = resolve(root, decodeURIComponent(rel));
  if (!full.startsWith(resolve(root) + sep) || !existsSync(full) || !statSync(full).isFile()) {
    entry.status = 404;
    res.writeHead(404).end('not found');
    return;
  }
  entry.status = 200;
  res.writeHead(200, { 'content-type': TYPES[extname(full)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(readFileSync(full));
}
