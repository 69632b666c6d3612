// Owns: `kmed serve` — the flags of the embeddings server (every limit a flag with an environment
// variable and a default, the defaults being those of ../node/server/limits.ts and the batcher) and
// its life: check the key, the limits, the model folders and the index, listen at once (printing
// `kmed: listening on http://HOST:PORT` on stdout, so --port 0 tells the chosen port), load the
// encoders in the background (GET /ready turns 200), and on SIGTERM/SIGINT stop accepting, finish
// what is in flight within the drain deadline (cutting what is left after it) and exit 0. A model
// that fails to load ends the process with one `kmed: ...` line and exit 1 (a server that can never
// be ready should not look alive). Does not own the routes (../node/server/app.ts) or batching
// (../node/server/batcher.ts).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_LIMITS, type ServerLimits } from '../node/server/limits.js';
import { addEncoderOptions, positiveInt, type ModelFlags } from './model-options.js';

interface ServeFlags extends ModelFlags, ServerLimits {
  host: string;
  port: number;
  index?: string;
  apiKey?: string;
  cors?: string;
  allowedHosts: string[];
  maxBatchTokens: number;
  maxWaitMs: number;
  maxQueue: number;
  maxLength: number;
}

/** The flag, value name and help of each server limit (its default is DEFAULT_LIMITS's). */
const LIMIT_FLAGS: Record<keyof ServerLimits, [flag: string, help: string]> = {
  bodyLimit: ['--body-limit <bytes>', 'largest request body (413 past it)'],
  maxInputs: ['--max-inputs <n>', 'most texts in one request'],
  maxChars: ['--max-chars <n>', 'most characters in one text'],
  maxJsonDepth: ['--max-json-depth <n>', 'deepest nesting of arrays and objects in a request body (400 past it)'],
  headerTimeoutMs: ['--header-timeout-ms <ms>', 'time a connection has to send the headers of a request (408 past it)'],
  bodyTimeoutMs: ['--body-timeout-ms <ms>', 'time a client has to send a whole request, headers and body (408 past it)'],
  idleTimeoutMs: ['--idle-timeout-ms <ms>', 'time a kept-alive connection may sit idle between requests'],
  maxConnections: ['--max-connections <n>', 'most open connections (keep it below ulimit -n); more are closed at once'],
  shutdownTimeoutMs: ['--shutdown-timeout-ms <ms>', 'on SIGTERM/SIGINT, time in-flight requests get before every connection is cut'],
};

/** KMED_BODY_LIMIT for --body-limit <bytes>. */
function envName(flag: string): string {
  return 'KMED_' + flag.replace(/^--/, '').replace(/ .*$/, '').replace(/-/g, '_').toUpperCase();
}

function option(flags: string, help: string, parse?: (value: string) => unknown, defaultValue?: unknown): Option {
  const o = new Option(flags, help).env(envName(flags));
  if (parse) o.argParser(parse);
  if (defaultValue !== undefined) o.default(defaultValue);
  return o;
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('serve embeddings over HTTP (OpenAI-compatible /v1/embeddings, /v1/search, /v1/similarity, /info, /metrics)')
    .addOption(option('--host <host>', 'address to listen on (use 0.0.0.0 only behind a TLS reverse proxy)', undefined, '127.0.0.1'))
    .addOption(option('--port <n>', 'port (0: any free port, printed on stdout)', port, 8080))
    .option('--question-model <dir>', 'question encoder: a model folder or hub id (default: weights/medical-biencoder-ko-bert-question)')
    .option('--context-model <dir>', 'context encoder: a model folder or hub id (default: weights/medical-biencoder-ko-bert-context)')
    .addOption(option('--index <file>', 'index file (kmed index) searched by POST /v1/search; a change on disk is re-verified before it is served'))
    .addOption(option('--api-key <key>', 'require Authorization: Bearer <key> on every route but /health'))
    .addOption(option('--allowed-hosts <names>', 'without an API key, Host/Origin names allowed besides localhost, 127.0.0.1, ::1 and --host (comma-separated; .example.org allows its subdomains)', hostList, []))
    .option('--cors <origin>', 'allow this one browser origin (CORS is off otherwise)')
    .addOption(option('--max-batch-tokens <n>', 'tokens merged into one forward call by the dynamic batcher', positiveInt, 512))
    .addOption(option('--max-wait-ms <n>', 'how long a request waits for others to share its forward pass', nonNegativeInt, 2))
    .addOption(option('--max-queue <n>', 'texts allowed to wait per model; past it, 503 with Retry-After', positiveInt, 512))
    .addOption(option('--max-length <n>', 'truncate texts to n tokens, as kmed embed does', positiveInt, 512));
  for (const [key, [flag, help]] of Object.entries(LIMIT_FLAGS) as Array<[keyof ServerLimits, [string, string]]>) {
    command.addOption(option(flag, help, positiveInt, DEFAULT_LIMITS[key]));
  }
  addEncoderOptions(command).action(async (flags: ServeFlags) => {
    const { ServerModels } = await import('../node/server/models.js');
    const { createApp } = await import('../node/server/app.js');
    const { checkApiKey } = await import('../node/server/access.js');
    const { resolveLimits } = await import('../node/server/limits.js');
    // A key no client can send, or limits that contradict each other, fail before anything loads.
    if (flags.apiKey !== undefined) checkApiKey(flags.apiKey, command.getOptionValueSource('apiKey') === 'env' ? 'KMED_API_KEY' : '--api-key');
    const limits = resolveLimits(Object.fromEntries(Object.keys(LIMIT_FLAGS).map((k) => [k, flags[k as keyof ServerLimits]])));
    const batcher = { maxBatchTokens: flags.maxBatchTokens, maxWaitMs: flags.maxWaitMs, maxQueue: flags.maxQueue };
    const event = (fields: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
    // Wrong folders or a bad index fail here, before listening.
    let server: Awaited<ReturnType<typeof createApp>> | undefined;
    const models = new ServerModels(
      {
        questionModel: flags.questionModel,
        contextModel: flags.contextModel,
        dtype: flags.dtype,
        threads: flags.threads,
        maxLength: flags.maxLength,
        index: flags.index,
        onIndexReload: (reload) => {
          server?.metrics.indexReloads.inc({ result: reload.ok ? 'ok' : 'failed' });
          event({ event: 'index-reload', ...reload });
        },
      },
      (role) => ({
        ...batcher,
        onBatch: ({ inputs, tokens, ms }) => {
          server?.metrics.batchInputs.observe({ model: role }, inputs);
          server?.metrics.batchTokens.observe({ model: role }, tokens);
          server?.metrics.batchDuration.observe({ model: role }, ms / 1000);
        },
        onDrop: ({ inputs }) => server?.metrics.dropped.inc({ model: role }, inputs),
      }),
    );
    server = await createApp({
      models,
      apiKey: flags.apiKey,
      corsOrigin: flags.cors,
      host: flags.host,
      allowedHosts: flags.allowedHosts,
      limits,
      version: program.version(),
    });
    const { app, close } = server;
    const address = await app.listen({ host: flags.host, port: flags.port });
    process.stdout.write(`kmed: listening on ${address}\n`);

    let closing = false;
    const shutdown = async (code: number) => {
      if (closing) return;
      closing = true;
      await close(); // stops accepting; in-flight requests get the drain deadline, then are cut
      await models.drain();
      models.dispose();
      process.exit(code);
    };
    // A second signal while draining ends the process at once.
    const onSignal = () => {
      if (closing) process.exit(1);
      void shutdown(0);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await models.loaded;
      event({ event: 'ready', models: models.names });
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

/** 'a.example, b.example' → ['a.example', 'b.example'] (repeating the flag adds to the list). */
function hostList(value: string, previous: string[] = []): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new InvalidArgumentError(`expected host names separated by commas, got '${value}'`);
  return [...previous, ...names];
}
