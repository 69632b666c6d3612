// Owns: the HTTP face of `kmed serve`, built on Fastify (its body limit, JSON parsing, schema
// validation and graceful close are what a server open to other programs needs, and it is well
// kept): the routes (/v1/embeddings in OpenAI's shape, /v1/search, /v1/similarity, /v1/models,
// /health, /ready, /info, /metrics), access (a bearer key, or the Host/Origin allow-list without
// one: access.ts), optional CORS, OpenAI-shaped error bodies for every failure — node:http's own
// (timeouts, malformed HTTP) and Fastify's included — 503 + Retry-After when the batcher's queue is
// full, the models still load or the index is being re-verified, and one JSON access-log line per
// request that never holds request texts or URLs' query strings (inputs are patient notes):
// method, route template, status, ms, inputs, tokens. It applies every limit of limits.ts to the
// node:http server (header, body and idle timeouts, the connection cap) and to each request, drops
// a request's queued work when its client goes, and on close() cuts whatever is still open after
// the drain deadline.
// Does not own loading models (models.ts), batching (batcher.ts), the index's reloads
// (served-index.ts), the CLI flags (../../cli/serve.ts) or any arithmetic.
import type { Socket } from 'node:net';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { checkQueryText } from '../../bi-encoder.js';
import { KmedError } from '../../errors/errors.js';
import type { Metric } from '../../search/similarity.js';
import type { ModelRole } from '../bi-encoder.js';
import { allowedHosts, bearerCheck, checkApiKey, hostCheck } from './access.js';
import { ClientGoneError, QueueFullError } from './batcher.js';
import { badRequest, clientSocketError, HttpError, rawResponse } from './http-error.js';
import { useStrictJsonParser } from './json-body.js';
import { resolveLimits, timeoutCheckInterval, type ServerLimits } from './limits.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import type { ServerModels } from './models.js';
import { embeddingsBody, schemaError, searchBody, similarityBody } from './request-schema.js';

export { DEFAULT_LIMITS, type ServerLimits } from './limits.js';

export interface AppOptions {
  models: ServerModels;
  limits?: Partial<ServerLimits>;
  /** Required as `Authorization: Bearer <key>` on every route but /health. Refused (ServerOptionError)
   *  when empty, padded with whitespace or not printable ASCII. */
  apiKey?: string;
  /** The one origin allowed by CORS (off when absent). */
  corsOrigin?: string;
  /** The address the server listens on: without an API key, a Host header naming it is allowed
   *  besides the loopback names (a wildcard such as 0.0.0.0 adds nothing). */
  host?: string;
  /** More host names (or '.domain' for a domain and its subdomains) allowed in Host and Origin
   *  headers when there is no API key. */
  allowedHosts?: string[];
  /** Reported at GET /info. */
  version?: string;
  /** Where access-log lines go (default: stderr). */
  log?: (line: string) => void;
}

export interface ServerApp {
  app: FastifyInstance;
  metrics: ServerMetrics;
  limits: ServerLimits;
  /** Stop accepting, answer what is in flight (each with Connection: close) and resolve; whatever
   *  is still open after `limits.shutdownTimeoutMs` (a stalled upload, a slow reader) is cut. */
  close(): Promise<void>;
}

interface RequestStats {
  inputs: number;
  tokens: number;
  /** The error code sent, if any (codes only: messages may name a model the client typed). */
  error?: string;
}

type Body = Record<string, unknown>;

export async function createApp(options: AppOptions): Promise<ServerApp> {
  const { models } = options;
  const limits = resolveLimits(options.limits);
  // Checked before anything listens: a key no client can send would lock every client out.
  const keyMatches = options.apiKey === undefined ? undefined : (checkApiKey(options.apiKey), bearerCheck(options.apiKey));
  const hosts = options.apiKey === undefined ? allowedHosts(options.host, options.allowedHosts) : undefined;
  const hostAllowed = hosts === undefined ? undefined : hostCheck(hosts, options.corsOrigin);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  let openConnections = 0;
  const metrics = createMetrics(() => models.queueDepth(), () => models.state === 'ready', () => openConnections);
  const stats = new WeakMap<FastifyRequest, RequestStats>();
  /** Fires when the request's client closes its connection before the answer is sent. */
  const clientGone = new WeakMap<FastifyRequest, AbortSignal>();
  /** Sockets answered by clientErrorHandler (a timeout, malformed HTTP), with that answer. */
  const socketErrors = new WeakMap<Socket, HttpError>();

  const app = Fastify({
    logger: false, // our own access log below: pino's default request logging carries URLs
    bodyLimit: limits.bodyLimit,
    // node:http enforces these three; Fastify would otherwise set the body one to 0 (none).
    requestTimeout: limits.bodyTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    http: {
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: limits.bodyTimeoutMs,
      connectionsCheckingInterval: timeoutCheckInterval(limits),
    },
    // Strict types: no coercion ("5" stays a string), nothing silently removed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Our onRequest hook answers 503 while closing, in OpenAI's shape (Fastify's is not).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Errors node:http finds on a socket before a request exists (header or body timeout, bad
    // HTTP such as Content-Length with Transfer-Encoding): answered in OpenAI's shape, then cut.
    clientErrorHandler(error, socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const http = clientSocketError(error.code, limits);
      socketErrors.set(socket, http);
      metrics.clientErrors.inc({ reason: http.status === 408 ? 'timeout' : http.status === 431 ? 'headers_too_large' : 'malformed' });
      // Never a second answer into a response already on its way (it would corrupt the stream).
      const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && !inFlight?.headersSent) socket.write(rawResponse(http));
      socket.destroy();
    },
    // A URL Fastify cannot decode (e.g. '/%zz'): the same shape as every other error.
    frameworkErrors(error, request, reply) {
      (reply as FastifyReply).code(400).send(badRequest(null, `bad request URL (${error.code})`, 'SERVER_BAD_REQUEST').body());
    },
  });
  app.server.maxConnections = limits.maxConnections;
  app.server.on('drop', () => metrics.connectionsRefused.inc());
  app.server.on('connection', (socket: Socket) => {
    openConnections++;
    socket.once('close', () => openConnections--);
  });

  useStrictJsonParser(app, limits.maxJsonDepth);

  if (options.corsOrigin !== undefined) {
    await app.register(cors, { origin: options.corsOrigin, methods: ['GET', 'POST'], allowedHeaders: ['Authorization', 'Content-Type'] });
  }

  let closing = false;
  app.addHook('onRequest', async (request, reply) => {
    const gone = new AbortController();
    clientGone.set(request, gone.signal);
    reply.raw.once('close', () => {
      // Closed before the answer was complete on our side: the client went (or was cut).
      if (reply.raw.writableEnded) return;
      gone.abort();
      logUnanswered(request, reply.elapsedTime);
    });
    if (closing) {
      throw new HttpError(503, 'SERVER_CLOSING', 'the server is shutting down: retry on another instance', 'server_error', null, 1);
    }
    // /health says only "ok": probes (a load balancer's, Kubernetes') reach it by any name.
    const open = request.routeOptions.url === '/health' || (options.corsOrigin !== undefined && request.method === 'OPTIONS');
    if (open) return;
    if (keyMatches !== undefined && !keyMatches(request.headers.authorization)) {
      throw new HttpError(401, 'SERVER_INVALID_API_KEY', 'missing or wrong API key: send Authorization: Bearer <key>', 'authentication_error');
    }
    if (hostAllowed !== undefined && hosts !== undefined) {
      if (!hostAllowed.host(request.headers.host)) {
        const shown = String(request.headers.host ?? '').slice(0, 100);
        throw new HttpError(403, 'SERVER_HOST_NOT_ALLOWED', `Host '${shown}' is not allowed: without an API key this server answers only to ${hosts.join(', ')}; add the name with --allowed-hosts, or set an API key`, 'permission_error');
      }
      if (!hostAllowed.origin(request.headers.origin)) {
        const shown = String(request.headers.origin).slice(0, 100);
        throw new HttpError(403, 'SERVER_ORIGIN_NOT_ALLOWED', `Origin '${shown}' is not allowed: without an API key this server answers pages only from ${hosts.join(', ')}${options.corsOrigin ? ` or ${options.corsOrigin}` : ''}`, 'permission_error');
      }
    }
  });

  // Once closing, every answer closes its connection: a kept-alive socket would otherwise hold
  // close() open until the keep-alive timeout after the last in-flight answer.
  app.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  const logLine = (request: FastifyRequest, status: number, ms: number) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const s = stats.get(request);
    metrics.requests.inc({ route, method: request.method, status: String(status) });
    metrics.latency.observe({ route }, ms / 1000);
    log(JSON.stringify({
      time: new Date().toISOString(),
      method: request.method,
      route,
      status,
      ms: Math.round(ms * 100) / 100,
      inputs: s?.inputs ?? 0,
      tokens: s?.tokens ?? 0,
      ...(s?.error ? { error: s.error } : {}),
    }));
  };

  app.addHook('onResponse', async (request, reply) => logLine(request, reply.statusCode, reply.elapsedTime));

  /** A request whose connection closed before its answer was sent: the client went (logged as
   *  nginx does, 499), or a timeout or the shutdown deadline cut it (logged with that status). */
  const logUnanswered = (request: FastifyRequest, ms: number) => {
    const cut = socketErrors.get(request.raw.socket);
    const s = stats.get(request) ?? { inputs: 0, tokens: 0 };
    stats.set(request, { ...s, error: cut?.code ?? (closing ? 'SERVER_CLOSING' : 'SERVER_CLIENT_GONE') });
    logLine(request, cut?.status ?? 499, ms);
  };

  app.setSchemaErrorFormatter((errors) => schemaError(errors as Parameters<typeof schemaError>[0]));

  app.setErrorHandler((error: unknown, request, reply) => {
    const http = toHttpError(error, limits);
    stats.set(request, { inputs: 0, tokens: 0, ...stats.get(request), error: http.code });
    if (http.status === 503) metrics.rejected.inc({ reason: REJECTION_REASON[http.code] ?? 'other' });
    if (http.retryAfterSeconds !== undefined) reply.header('Retry-After', String(http.retryAfterSeconds));
    reply.code(http.status).send(http.body());
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new HttpError(404, 'SERVER_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, 'not_found_error').body());
  });

  const requireReady = () => {
    if (models.state !== 'ready') {
      throw new HttpError(503, 'SERVER_LOADING', 'the models are still loading: retry shortly', 'server_error', null, 1);
    }
  };

  /** Check count and length limits, tokenize, embed through the batcher; records stats. */
  const embedTexts = async (request: FastifyRequest, role: ModelRole, texts: string[], field: string, maxLength?: number) => {
    if (texts.length > limits.maxInputs) {
      throw badRequest(field, `${field} has ${texts.length} texts, more than the limit of ${limits.maxInputs} per request`, 'SERVER_TOO_MANY_INPUTS');
    }
    texts.forEach((text, i) => {
      if (text.length > limits.maxChars) {
        const where = texts.length === 1 && field !== 'passages' ? field : `${field}[${i}]`;
        throw badRequest(field, `${where} has ${text.length} characters, more than the limit of ${limits.maxChars}`, 'SERVER_INPUT_TOO_LONG');
      }
    });
    const ids = models.tokenize(role, texts, maxLength);
    let tokens = 0;
    for (const seq of ids) tokens += seq.length;
    const s = stats.get(request) ?? { inputs: 0, tokens: 0 };
    s.inputs += texts.length;
    s.tokens += tokens;
    stats.set(request, s);
    const vectors = await models.embed(role, ids, clientGone.get(request));
    metrics.inputs.inc({ model: role }, texts.length);
    metrics.tokens.inc({ model: role }, tokens);
    return { vectors, tokens };
  };

  const roleOf = (model: string): ModelRole => {
    const role = models.role(model);
    if (role === undefined) {
      const shown = model.length > 100 ? model.slice(0, 100) + '…' : model;
      throw new HttpError(400, 'SERVER_UNKNOWN_MODEL', `model '${shown}' is not served here: use 'question' or 'context' (or ${models.names.question} / ${models.names.context})`, 'invalid_request_error', 'model');
    }
    return role;
  };

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (request, reply) => {
    if (models.state === 'ready') return { status: 'ready', models: models.names, index: models.index ? { passages: models.index.index.count } : null };
    reply.code(503).header('Retry-After', '1');
    return { status: models.state };
  });

  // Every bound this server applies, as text-embeddings-inference's /info reports its Args.
  app.get('/info', async () => ({
    version: options.version ?? null,
    models: models.names,
    state: models.state,
    dimension: models.state === 'ready' ? models.dimension : null,
    max_length: models.maxLength,
    index: models.index ? { passages: models.index.index.count, state: models.index.state } : null,
    limits: snakeCase({ ...limits }),
    batching: snakeCase({ ...models.batching }),
    access: { api_key: keyMatches !== undefined, allowed_hosts: hosts ?? null, cors_origin: options.corsOrigin ?? null },
  }));

  app.get('/metrics', async (request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: (['question', 'context'] as const).map((role) => ({ id: models.names[role], object: 'model', created: 0, owned_by: 'kmed', role })),
  }));

  app.post('/v1/embeddings', { schema: { body: embeddingsBody } }, async (request) => {
    const body = request.body as Body;
    const role = roleOf(body.model as string);
    requireReady();
    if (body.dimensions !== undefined && body.dimensions !== models.dimension) {
      throw badRequest('dimensions', `dimensions ${body.dimensions} is not supported: this model gives ${models.dimension}-dimensional vectors`);
    }
    const texts = typeof body.input === 'string' ? [body.input] : (body.input as string[]);
    const { vectors, tokens } = await embedTexts(request, role, texts, 'input');
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(v) : Array.from(v) })),
      model: models.names[role],
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.post('/v1/search', { schema: { body: searchBody } }, async (request) => {
    const body = request.body as Body;
    const index = models.index;
    if (index === null) throw badRequest(null, 'this server has no index: start it with kmed serve --index FILE', 'SERVER_NO_INDEX');
    const query = body.query as string;
    try {
      checkQueryText(query); // the library's rule, as `kmed search` applies it
    } catch (error) {
      throw badRequest('query', (error as Error).message, 'EMPTY_QUERY');
    }
    requireReady();
    // Queries are cut at the index's max_length, as `kmed search` does.
    const { vectors, tokens } = await embedTexts(request, 'question', [query], 'query', index.index.meta.max_length);
    const k = (body.k as number | undefined) ?? 10;
    const hits = await index.search(vectors[0], k, {
      metric: (body.metric as Metric | undefined) ?? 'cosine',
      ef: body.ef as number | undefined,
      exact: body.exact as boolean | undefined,
    });
    return {
      object: 'list',
      data: hits.map((hit, i) => ({ object: 'search_result', rank: i + 1, id: hit.id, score: hit.score, text: hit.text })),
      model: models.names.question,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.post('/v1/similarity', { schema: { body: similarityBody } }, async (request) => {
    const body = request.body as Body;
    requireReady();
    const metric = (body.metric as 'cosine' | 'dot' | undefined) ?? 'cosine';
    const passages = body.passages as string[];
    const [q, p] = await Promise.all([
      embedTexts(request, 'question', [body.query as string], 'query'),
      embedTexts(request, 'context', passages, 'passages'),
    ]);
    const [scores] = await models.biEncoder.score(q.vectors, p.vectors, { metric });
    const tokens = q.tokens + p.tokens;
    return {
      object: 'list',
      data: scores.map((score, index) => ({ object: 'similarity', index, score })),
      metric,
      model: { question: models.names.question, context: models.names.context },
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  const close = async () => {
    closing = true;
    // Past the deadline, cut every connection still open (in flight, stalled mid-upload, or a
    // client not reading its answer); their queued work is dropped as their clients go.
    const deadline = setTimeout(() => app.server.closeAllConnections(), limits.shutdownTimeoutMs);
    try {
      await app.close();
    } finally {
      clearTimeout(deadline);
    }
  };

  return { app, metrics, limits, close };
}

/** The `reason` label of kmed_rejected_total for each 503. */
const REJECTION_REASON: Record<string, string> = {
  SERVER_QUEUE_FULL: 'queue_full',
  SERVER_LOADING: 'loading',
  SERVER_CLOSING: 'closing',
  SERVER_INDEX_CHANGED: 'index',
  SERVER_INDEX_INVALID: 'index',
};

/** { fooBar: 1 } as { foo_bar: 1 } (the API's JSON is snake_case, as OpenAI's and TEI's are). */
function snakeCase(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), v]));
}

/** The vector's float32 bytes, little-endian, in base64 (what OpenAI's encoding_format=base64 sends). */
function float32Base64(v: Float32Array): string {
  const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (!LITTLE_ENDIAN) {
    const copy = Buffer.from(bytes);
    copy.swap32();
    return copy.toString('base64');
  }
  return bytes.toString('base64');
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Any failure as an HttpError whose message is safe to send and log (no request text in it). */
function toHttpError(error: unknown, limits: ServerLimits): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof QueueFullError) {
    return new HttpError(503, error.code, error.message, 'server_error', null, error.retryAfterSeconds);
  }
  // Nobody reads this answer; it only labels the access-log line (nginx's 499).
  if (error instanceof ClientGoneError) return new HttpError(499, error.code, error.message);
  const e = error as { code?: string; statusCode?: number; validation?: unknown };
  if (e.validation) return schemaError(e.validation as Parameters<typeof schemaError>[0]);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'SERVER_BODY_TOO_LARGE', `the request body is larger than the limit of ${limits.bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest(null, 'the request body is not valid JSON', 'SERVER_INVALID_JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest(null, 'the request body is empty: send a JSON object', 'SERVER_INVALID_JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'SERVER_UNSUPPORTED_MEDIA_TYPE', 'send the body as Content-Type: application/json');
    default:
      break;
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Another client error Fastify found (bad content length, ...): its code, not its message.
    return new HttpError(e.statusCode, 'SERVER_BAD_REQUEST', `bad request (${e.code ?? 'unknown'})`);
  }
  // Our own failures keep their stable code; the message is not sent, in case it quotes input.
  const code = error instanceof KmedError ? error.code : 'SERVER_INTERNAL';
  return new HttpError(500, 'SERVER_INTERNAL', `internal error (${code})`, 'server_error');
}
