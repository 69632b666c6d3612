// Owns: the HTTP face of `kmed serve`, built on Fastify (its body limit, JSON parsing, schema
// validation and graceful close are what a server open to other programs needs, and it is well
// kept): the routes (/v1/embeddings in OpenAI's shape, /v1/search, /v1/similarity, /v1/models,
// /health, /ready, /metrics), bearer-key access in constant time, optional CORS, OpenAI-shaped error
// bodies for every failure, 503 + Retry-After when the batcher's queue is full or models still
// load, and one JSON access-log line per request that never holds request texts or URLs' query
// strings (inputs are patient notes): method, route template, status, ms, inputs, tokens.
// Does not own loading models (models.ts), batching (batcher.ts), the CLI flags (../../cli/serve.ts)
// or any arithmetic.
import { createHash, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { KmedError } from '../../errors/errors.js';
import type { ModelRole } from '../bi-encoder.js';
import { QueueFullError } from './batcher.js';
import { badRequest, HttpError } from './http-error.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import type { ServerModels } from './models.js';
import { embeddingsBody, schemaError, searchBody, similarityBody } from './request-schema.js';

export interface ServerLimits {
  /** Largest request body in bytes (413 past it; default 4 MiB). */
  bodyLimit: number;
  /** Most texts in one request (default 256). */
  maxInputs: number;
  /** Most characters (UTF-16 code units) in one text (default 20000; the model reads 512 tokens). */
  maxChars: number;
}

export const DEFAULT_LIMITS: ServerLimits = { bodyLimit: 4 << 20, maxInputs: 256, maxChars: 20_000 };

export interface AppOptions {
  models: ServerModels;
  limits?: Partial<ServerLimits>;
  /** Required as `Authorization: Bearer <key>` on every route but /health. */
  apiKey?: string;
  /** The one origin allowed by CORS (off when absent). */
  corsOrigin?: string;
  /** Where access-log lines go (default: stderr). */
  log?: (line: string) => void;
}

export interface ServerApp {
  app: FastifyInstance;
  metrics: ServerMetrics;
  /** Stop accepting, answer what is in flight (each with Connection: close), then resolve. */
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
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const metrics = createMetrics(() => models.queueDepth(), () => models.state === 'ready');
  const stats = new WeakMap<FastifyRequest, RequestStats>();

  const app = Fastify({
    logger: false, // our own access log below: pino's default request logging carries URLs
    bodyLimit: limits.bodyLimit,
    // Strict types: no coercion ("5" stays a string), nothing silently removed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  if (options.corsOrigin !== undefined) {
    await app.register(cors, { origin: options.corsOrigin, methods: ['GET', 'POST'], allowedHeaders: ['Authorization', 'Content-Type'] });
  }

  if (options.apiKey !== undefined) {
    const expected = sha256(options.apiKey);
    app.addHook('onRequest', async (request) => {
      if (request.url === '/health' || (options.corsOrigin !== undefined && request.method === 'OPTIONS')) return;
      const header = request.headers.authorization ?? '';
      const match = /^Bearer +(.+)$/i.exec(header);
      // Hashes have equal lengths, so timingSafeEqual never leaks the key's length either.
      if (!match || !timingSafeEqual(sha256(match[1].trim()), expected)) {
        throw new HttpError(401, 'SERVER_INVALID_API_KEY', 'missing or wrong API key: send Authorization: Bearer <key>', 'authentication_error');
      }
    });
  }

  // Once closing, every answer closes its connection: a kept-alive socket would otherwise hold
  // close() open until the keep-alive timeout (72 s in Fastify) after the last in-flight answer.
  let closing = false;
  app.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
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
  });

  app.setSchemaErrorFormatter((errors) => schemaError(errors as Parameters<typeof schemaError>[0]));

  app.setErrorHandler((error: unknown, request, reply) => {
    const http = toHttpError(error, limits);
    stats.set(request, { inputs: 0, tokens: 0, ...stats.get(request), error: http.code });
    if (http.status === 503) metrics.rejected.inc({ reason: http.code === 'SERVER_QUEUE_FULL' ? 'queue_full' : 'loading' });
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
    const vectors = await models.embed(role, ids);
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
    if (models.state === 'ready') return { status: 'ready', models: models.names, index: models.index ? { passages: models.index.count } : null };
    reply.code(503).header('Retry-After', '1');
    return { status: models.state };
  });

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
    requireReady();
    // Queries are cut at the index's max_length, as `kmed search` does.
    const { vectors, tokens } = await embedTexts(request, 'question', [body.query as string], 'query', index.meta.max_length);
    const k = (body.k as number | undefined) ?? 10;
    const hits = await models.biEncoder.search(vectors[0], index, k, {
      metric: (body.metric as 'cosine' | 'dot' | undefined) ?? 'cosine',
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
    await app.close();
  };

  return { app, metrics, close };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
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
