// Owns: what the server reports on GET /metrics (Prometheus text format, via prom-client): requests
// by route/method/status and their latency, inputs and tokens embedded per model (rate() of the
// token counter is tokens/s), the batcher's queue depth, the size and duration of each merged
// forward call, queued inputs dropped because their client left, 503 rejections, connections
// (open, refused past the cap), client errors node:http answers itself (timeouts, malformed HTTP),
// index reloads, model readiness, and prom-client's process metrics (RSS, event-loop lag, GC). One
// registry per server, so two servers in one process (tests) don't share counts.
// Does not own measuring: app.ts, the batcher's onBatch / onDrop and the served index feed these.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type ServerMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(queueDepth: () => Record<string, number>, ready: () => boolean, openConnections: () => number = () => 0) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'kmed_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'kmed_http_request_duration_seconds',
      help: 'time from request received to response sent, by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    inputs: new Counter({ name: 'kmed_inputs_total', help: 'texts embedded, by model', labelNames: ['model'] as const, registers }),
    tokens: new Counter({
      name: 'kmed_tokens_total',
      help: 'tokens embedded ([CLS] and [SEP] included), by model; rate() gives tokens/s',
      labelNames: ['model'] as const,
      registers,
    }),
    batchInputs: new Histogram({
      name: 'kmed_batch_inputs',
      help: 'texts per merged forward call (dynamic batching), by model',
      labelNames: ['model'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    batchTokens: new Histogram({
      name: 'kmed_batch_tokens',
      help: 'real tokens per merged forward call, by model',
      labelNames: ['model'] as const,
      buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'kmed_batch_duration_seconds',
      help: 'compute time of one merged forward call, by model',
      labelNames: ['model'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    rejected: new Counter({
      name: 'kmed_rejected_total',
      help: 'requests refused with 503, by reason (queue_full, loading, closing, index)',
      labelNames: ['reason'] as const,
      registers,
    }),
    dropped: new Counter({
      name: 'kmed_queue_dropped_total',
      help: 'texts removed from the queue before their forward pass because the client closed its connection, by model',
      labelNames: ['model'] as const,
      registers,
    }),
    clientErrors: new Counter({
      name: 'kmed_client_errors_total',
      help: 'connections answered and closed before a request was read, by reason (timeout, malformed, headers_too_large)',
      labelNames: ['reason'] as const,
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'kmed_connections_refused_total',
      help: 'connections closed at once because the server already held its maximum',
      registers,
    }),
    connections: new Gauge({
      name: 'kmed_open_connections',
      help: 'open client connections',
      registers,
      collect() {
        this.set(openConnections());
      },
    }),
    indexReloads: new Counter({
      name: 'kmed_index_reloads_total',
      help: 'reloads of the index after its file changed on disk, by result (ok, failed)',
      labelNames: ['result'] as const,
      registers,
    }),
    queue: new Gauge({
      name: 'kmed_queue_depth',
      help: 'texts waiting for a forward pass, by model',
      labelNames: ['model'] as const,
      registers,
      collect() {
        for (const [model, depth] of Object.entries(queueDepth())) this.set({ model }, depth);
      },
    }),
    ready: new Gauge({
      name: 'kmed_models_ready',
      help: '1 once both encoders are loaded (GET /ready answers 200), else 0',
      registers,
      collect() {
        this.set(ready() ? 1 : 0);
      },
    }),
  };
}
