// Owns: the JSON schemas of the server's request bodies (checked by Fastify's validator before a
// handler runs, with type coercion off: `"k": "5"` is an error, not 5) and turning a schema failure
// into one message that names the field. Size limits (inputs per request, characters per input)
// are checked in the handlers, where the message can say which input and by how much.
// Does not own the routes (app.ts).
import { badRequest, type HttpError } from './http-error.js';

const stringOrStrings = { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }] };

export const embeddingsBody = {
  type: 'object',
  required: ['input', 'model'],
  properties: {
    input: stringOrStrings,
    model: { type: 'string' },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const;

export const searchBody = {
  type: 'object',
  required: ['query'],
  properties: {
    query: { type: 'string' },
    k: { type: 'integer', minimum: 1, maximum: 1000 },
    metric: { type: 'string', enum: ['cosine', 'dot'] },
    // With a graph index beside the served index: its beam, or exact search instead.
    ef: { type: 'integer', minimum: 1, maximum: 65536 },
    exact: { type: 'boolean' },
  },
} as const;

export const similarityBody = {
  type: 'object',
  required: ['query', 'passages'],
  properties: {
    query: { type: 'string' },
    passages: { type: 'array', minItems: 1, items: { type: 'string' } },
    metric: { type: 'string', enum: ['cosine', 'dot'] },
  },
} as const;

/** What each field must be, for messages (the validator's own words for anyOf are a list). */
const EXPECTED: Record<string, string> = {
  input: 'a string or a non-empty array of strings (token-id arrays are not supported)',
  model: "a string naming a served model (e.g. 'question' or 'context')",
  encoding_format: "'float' or 'base64'",
  dimensions: 'a positive integer equal to the model dimension',
  user: 'a string',
  query: 'a string',
  k: 'an integer from 1 to 1000',
  metric: "'cosine' or 'dot'",
  passages: 'a non-empty array of strings',
};

interface AjvError {
  instancePath?: string;
  keyword?: string;
  params?: { missingProperty?: string };
}

/** One 400 for a failed schema check, naming the first offending field. */
export function schemaError(errors: AjvError[]): HttpError {
  const first = errors[0] ?? {};
  if (first.keyword === 'required' && first.params?.missingProperty) {
    const field = first.params.missingProperty;
    return badRequest(field, `missing required field '${field}'${EXPECTED[field] ? ` (${EXPECTED[field]})` : ''}`, 'SERVER_MISSING_FIELD');
  }
  const path = (first.instancePath ?? '').split('/').filter(Boolean);
  if (path.length === 0) return badRequest(null, 'the request body must be a JSON object', 'SERVER_INVALID_BODY');
  const field = path[0];
  const where = path.length > 1 ? `${field}[${path.slice(1).join('][')}]` : field;
  return badRequest(field, `'${where}' is invalid: ${field} must be ${EXPECTED[field] ?? 'of the documented type'}`, 'SERVER_INVALID_FIELD');
}
