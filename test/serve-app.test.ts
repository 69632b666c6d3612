// The server's app (createApp) with stand-in models, through Fastify's inject (no socket, no
// weights): while the models load, /health is 200 but /ready and the embedding routes answer 503
// with Retry-After; once ready, the same requests succeed; a model call that throws becomes a 500
// with OpenAI's error shape and a message that does not repeat the (possibly patient) text.
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/node/server/app.js';
import type { ServerModels } from '../src/node/server/models.js';

function standIn(state: { value: 'loading' | 'ready'; fail?: boolean }) {
  const models = {
    get state() {
      return state.value;
    },
    names: { question: 'q-model', context: 'c-model' },
    index: null,
    dimension: 2,
    role: (name: string) => (name === 'question' || name === 'q-model' ? 'question' : name === 'context' ? 'context' : undefined),
    tokenize: (_role: string, texts: string[]) => texts.map((t) => Int32Array.from([2, t.length, 3])),
    embed: async (_role: string, ids: Int32Array[]) => {
      if (state.fail) throw new Error(`exploded on ${ids.length} texts: PATIENT-TEXT`);
      return ids.map((s) => Float32Array.from([s[1], 0.5]));
    },
    queueDepth: () => ({ question: 0, context: 0 }),
  };
  return models as unknown as ServerModels;
}

describe('createApp', () => {
  it('is live at once, ready (and serving) only once the models are loaded', async () => {
    const state: { value: 'loading' | 'ready'; fail?: boolean } = { value: 'loading' };
    const lines: string[] = [];
    const { app } = await createApp({ models: standIn(state), log: (l) => lines.push(l) });
    const embed = () => app.inject({ method: 'POST', url: '/v1/embeddings', payload: { model: 'question', input: ['abc', 'de'] } });
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    const notReady = await app.inject({ url: '/ready' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: 'loading' });
    const early = await embed();
    expect(early.statusCode).toBe(503);
    expect(early.headers['retry-after']).toBe('1');
    expect(early.json().error).toMatchObject({ code: 'server_loading', type: 'server_error' });

    state.value = 'ready';
    expect((await app.inject({ url: '/ready' })).statusCode).toBe(200);
    const ok = await embed();
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [3, 0.5] },
        { object: 'embedding', index: 1, embedding: [2, 0.5] },
      ],
      model: 'q-model',
      usage: { prompt_tokens: 6, total_tokens: 6 },
    });
    const b64 = await app.inject({ method: 'POST', url: '/v1/embeddings', payload: { model: 'q-model', input: 'abc', encoding_format: 'base64' } });
    const bytes = Buffer.from(b64.json().data[0].embedding, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)))).toEqual([3, 0.5]);
    const noIndex = await app.inject({ method: 'POST', url: '/v1/search', payload: { query: 'x' } });
    expect(noIndex.statusCode).toBe(400);
    expect(noIndex.json().error.message).toMatch(/--index FILE/);

    state.fail = true;
    const failed = await embed();
    expect(failed.statusCode).toBe(500);
    expect(failed.json().error).toMatchObject({ type: 'server_error', code: 'server_internal' });
    expect(failed.body).not.toContain('PATIENT-TEXT');
    expect(lines.join('\n')).not.toContain('PATIENT-TEXT');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ route: '/v1/embeddings', status: 500, error: 'SERVER_INTERNAL', inputs: 2 });
    await app.close();
  });
});
