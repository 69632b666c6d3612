// Owns: the status `kmed serve` must answer to a request, worked out from the documented API (the
// routes, request schemas and limits of src/node/server/) and Fastify's documented request
// lifecycle, independently of the server: the oracle of the server fuzz in test/serve.test.ts.
// Lifecycle, in order: GET routes take no body; for other methods the body is parsed first, also on
// a route that does not exist (a body with no parser for its Content-Type: 415 on a route, ignored
// on a missing one); an empty or invalid JSON body is 400, a body over the limit 413; then a
// missing route is 404; then the schema (types exactly, no coercion) and the handler's limits: 400.
// Does not own the server or the fuzz's choice of requests.

export interface FuzzRequest {
  method: string;
  path: string;
  /** The Content-Type header as sent (fetch adds text/plain for a string body given none). */
  contentType: string | undefined;
  body: Uint8Array | undefined;
}

export interface OracleLimits {
  bodyLimit: number;
  maxInputs: number;
  maxChars: number;
  dimension: number;
  /** Every `model` value that names a served model. */
  modelNames: string[];
  hasIndex: boolean;
}

const GET_ROUTES = new Set(['/health', '/ready', '/metrics', '/v1/models']);
const POST_ROUTES = new Set(['/v1/embeddings', '/v1/search', '/v1/similarity']);

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: Json): v is string[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
const absentOr = (v: Json, ok: (v: Json) => boolean) => v === undefined || ok(v);
const isMetric = (v: Json) => v === 'cosine' || v === 'dot';

/** The expected status, and why (for a failure message). */
export function expectedStatus(r: FuzzRequest, limits: OracleLimits): { status: number; why: string } {
  if (r.method === 'GET' || r.method === 'HEAD') {
    return GET_ROUTES.has(r.path) ? { status: 200, why: 'a GET route' } : { status: 404, why: 'no such GET route' };
  }
  const routed = r.method === 'POST' && POST_ROUTES.has(r.path);
  const length = r.body?.length ?? 0;
  const mediaType = r.contentType?.split(';')[0].trim().toLowerCase();
  let parsed: { value: Json } | undefined; // undefined: no body reached the handler
  if (mediaType === undefined && length === 0) {
    parsed = { value: undefined };
  } else if (mediaType !== 'application/json' && mediaType !== 'text/plain') {
    return routed ? { status: 415, why: `no body parser for ${mediaType ?? 'a body without Content-Type'}` } : { status: 404, why: 'no route (body not parsed)' };
  } else {
    if (length > limits.bodyLimit) return { status: 413, why: `body of ${length} bytes` };
    const text = new TextDecoder().decode(r.body ?? new Uint8Array(0));
    if (mediaType === 'text/plain') {
      parsed = { value: text };
    } else {
      if (text.length === 0) return { status: 400, why: 'empty JSON body' };
      try {
        parsed = { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
      } catch {
        return { status: 400, why: 'invalid JSON' };
      }
      if (/"(__proto__|constructor)"\s*:/.test(text)) return { status: 400, why: 'prototype poisoning' };
    }
  }
  if (!routed) return { status: 404, why: 'no such route' };
  const body = parsed.value;
  if (!isObject(body)) return { status: 400, why: 'body is not a JSON object' };
  const withinLimits = (texts: string[]) => texts.length <= limits.maxInputs && texts.every((t) => t.length <= limits.maxChars);
  const fail = (why: string) => ({ status: 400, why });
  switch (r.path) {
    case '/v1/embeddings': {
      const input = body.input;
      if (!(typeof input === 'string' || isStringArray(input))) return fail('input');
      if (typeof body.model !== 'string') return fail('model');
      if (!absentOr(body.encoding_format, (v) => v === 'float' || v === 'base64')) return fail('encoding_format');
      if (!absentOr(body.dimensions, (v) => Number.isInteger(v) && (v as number) >= 1)) return fail('dimensions (schema)');
      if (!absentOr(body.user, (v) => typeof v === 'string')) return fail('user');
      if (!limits.modelNames.includes(body.model)) return fail('unknown model');
      if (body.dimensions !== undefined && body.dimensions !== limits.dimension) return fail('dimensions (model)');
      if (!withinLimits(typeof input === 'string' ? [input] : input)) return fail('input limits');
      return { status: 200, why: 'a valid embeddings request' };
    }
    case '/v1/search': {
      if (typeof body.query !== 'string') return fail('query');
      if (!absentOr(body.k, (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000)) return fail('k');
      if (!absentOr(body.metric, isMetric)) return fail('metric');
      if (!limits.hasIndex) return fail('no index');
      if (!withinLimits([body.query])) return fail('query limits');
      return { status: 200, why: 'a valid search request' };
    }
    default: {
      if (typeof body.query !== 'string') return fail('query');
      if (!isStringArray(body.passages)) return fail('passages');
      if (!absentOr(body.metric, isMetric)) return fail('metric');
      if (!withinLimits([body.query]) || !withinLimits(body.passages)) return fail('limits');
      return { status: 200, why: 'a valid similarity request' };
    }
  }
}
