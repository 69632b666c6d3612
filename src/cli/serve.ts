// Owns: `kmed serve` — the flags of the embeddings server and its life: check the model folders and
// the index, listen at once (printing `kmed: listening on http://HOST:PORT` on stdout, so --port 0
// tells the chosen port), load the encoders in the background (GET /ready turns 200), and on
// SIGTERM/SIGINT stop accepting, finish what is in flight and exit 0. A model that fails to load
// ends the process with one `kmed: ...` line and exit 1 (a server that can never be ready should not
// look alive). Does not own the routes (../node/server/app.ts) or batching (../node/server/batcher.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { addEncoderOptions, positiveInt, type ModelFlags } from './model-options.js';

interface ServeFlags extends ModelFlags {
  host: string;
  port: number;
  index?: string;
  apiKey?: string;
  cors?: string;
  maxBatchTokens: number;
  maxWaitMs: number;
  maxQueue: number;
  maxInputs: number;
  maxChars: number;
  bodyLimit: number;
  maxLength: number;
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('serve embeddings over HTTP (OpenAI-compatible /v1/embeddings, /v1/search, /v1/similarity, /metrics)')
    .option('--host <host>', 'address to listen on (use 0.0.0.0 only behind a TLS reverse proxy)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port, printed on stdout)', port, 8080)
    .option('--question-model <dir>', 'question encoder: a model folder or hub id (default: weights/medical-biencoder-ko-bert-question)')
    .option('--context-model <dir>', 'context encoder: a model folder or hub id (default: weights/medical-biencoder-ko-bert-context)')
    .option('--index <file>', 'index file (kmed index) searched by POST /v1/search')
    .option('--api-key <key>', 'require Authorization: Bearer <key> on every route but /health (default: $KMED_API_KEY)')
    .option('--cors <origin>', 'allow this one browser origin (CORS is off otherwise)')
    .option('--max-batch-tokens <n>', 'tokens merged into one forward call by the dynamic batcher', positiveInt, 512)
    .option('--max-wait-ms <n>', 'how long a request waits for others to share its forward pass', nonNegativeInt, 2)
    .option('--max-queue <n>', 'texts allowed to wait per model; past it, 503 with Retry-After', positiveInt, 512)
    .option('--max-inputs <n>', 'most texts in one request', positiveInt, 256)
    .option('--max-chars <n>', 'most characters in one text', positiveInt, 20_000)
    .option('--body-limit <bytes>', 'largest request body (413 past it)', positiveInt, 4 << 20)
    .option('--max-length <n>', 'truncate texts to n tokens, as kmed embed does', positiveInt, 512);
  addEncoderOptions(command).action(async (flags: ServeFlags) => {
    const { ServerModels } = await import('../node/server/models.js');
    const { createApp } = await import('../node/server/app.js');
    const apiKey = flags.apiKey ?? (process.env.KMED_API_KEY || undefined);
    const batcher = { maxBatchTokens: flags.maxBatchTokens, maxWaitMs: flags.maxWaitMs, maxQueue: flags.maxQueue };
    // Wrong folders or a bad index fail here, before listening.
    let server: Awaited<ReturnType<typeof createApp>> | undefined;
    const models = new ServerModels(
      { questionModel: flags.questionModel, contextModel: flags.contextModel, dtype: flags.dtype, threads: flags.threads, maxLength: flags.maxLength, index: flags.index },
      (role) => ({
        ...batcher,
        onBatch: ({ inputs, tokens, ms }) => {
          server?.metrics.batchInputs.observe({ model: role }, inputs);
          server?.metrics.batchTokens.observe({ model: role }, tokens);
          server?.metrics.batchDuration.observe({ model: role }, ms / 1000);
        },
      }),
    );
    server = await createApp({
      models,
      apiKey,
      corsOrigin: flags.cors,
      limits: { bodyLimit: flags.bodyLimit, maxInputs: flags.maxInputs, maxChars: flags.maxChars },
    });
    const { app, close } = server;
    const address = await app.listen({ host: flags.host, port: flags.port });
    process.stdout.write(`kmed: listening on ${address}\n`);

    let closing = false;
    const shutdown = async (code: number) => {
      if (closing) return;
      closing = true;
      await close(); // stops accepting; resolves once in-flight requests are answered
      await models.drain();
      models.dispose();
      process.exit(code);
    };
    process.once('SIGTERM', () => void shutdown(0));
    process.once('SIGINT', () => void shutdown(0));
    try {
      await models.loaded;
      process.stderr.write(JSON.stringify({ time: new Date().toISOString(), event: 'ready', models: models.names }) + '\n');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`kmed: ${message}\n`);
      await shutdown(1);
    }
  });
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got '${value}'`);
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer >= 0, got '${value}'`);
  return n;
}
