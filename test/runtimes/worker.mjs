// Owns: the page half of test/worker.test.ts. Loads the model at /model/ twice into workers
// (kmed-dpr/worker's WorkerEncoder, 1 and 2 threads) and embeds the same 8 passages with each in
// turns, then once on the main thread with the plain Encoder; meanwhile a message ping-pong counts
// the main thread's turns (tasks it could run), a PerformanceObserver collects every main-thread
// long task (> 50 ms) and a 10 ms timer records its largest gap. Publishes window.kmedWorker: per
// run its turns, window, wall time and the longest task inside it (the timings are for
// bench/worker.ts; test/worker.test.ts asserts only the turns).
const q = new URLSearchParams(location.search);
const rounds = Number(q.get('rounds') ?? 3);
const mainRounds = Number(q.get('mainRounds') ?? 1);
const longTasks = [];
let observing = false;
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push({ start: e.startTime, end: e.startTime + e.duration, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  observing = PerformanceObserver.supportedEntryTypes.includes('longtask');
} catch {
  observing = false;
}
let lastBeat = performance.now();
const gaps = [];
setInterval(() => {
  const now = performance.now();
  gaps.push({ at: now, gap: now - lastBeat });
  lastBeat = now;
}, 10);

async function read(name) {
  const r = await fetch(`/model/${name}`);
  if (r.status === 404) return undefined;
  if (!r.ok) throw new Error(`/model/${name}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
async function files() {
  return {
    config: await read('config.json'), vocab: await read('vocab.txt'), tokenizerConfig: await read('tokenizer_config.json'),
    specialTokensMap: await read('special_tokens_map.json'), weights: await read('model.safetensors'),
  };
}
const idle = () => new Promise((ok) => setTimeout(ok, 100));

// Main-thread turns: a MessageChannel ping-pong, each message a task of its own (unclamped, unlike
// nested timers). Counted while an embed runs, it says whether the main thread was free meanwhile
// without any clock: a forward pass on the main thread is one task, during which none can run.
let turns = 0;
let pinging = false;
const channel = new MessageChannel();
channel.port1.onmessage = () => {
  turns++;
  if (pinging) channel.port2.postMessage(0);
};
function startTurns() {
  turns = 0;
  pinging = true;
  channel.port2.postMessage(0);
}
function stopTurns() {
  pinging = false;
  return turns;
}

/** Time one embed and report what the main thread did meanwhile. */
async function timed(label, embed, texts) {
  await idle();
  const start = performance.now();
  startTurns();
  const vectors = await embed(texts);
  const turnsDuring = stopTurns();
  const end = performance.now();
  // A long task is reported after it ends; give the observer a moment.
  await idle();
  const inside = longTasks.filter((t) => t.end > start && t.start < end);
  const gap = Math.max(0, ...gaps.filter((g) => g.at > start && g.at - g.gap < end).map((g) => g.gap));
  const finite = vectors.length === texts.length && vectors.every((v) => v.length === 768 && v.every(Number.isFinite));
  return { label, turns: turnsDuring, ms: end - start, longestTask: Math.max(0, ...inside.map((t) => t.duration)), longTasks: inside.length, longestTimerGap: gap, finite, first: Array.from(vectors[0].subarray(0, 4)) };
}

try {
  if (!globalThis.crossOriginIsolated) throw new Error('the page is not cross-origin isolated');
  const worker = await import('/dist/worker/index.js');
  const golden = await (await fetch('/test/fixtures/tiny-golden.json')).json();
  // The card's three passages and five short ones: one batch of 8, padded to the longest (~70
  // tokens). Enough work per kernel call for a second thread to pay (with ~15-token passages the
  // pool's synchronisation ate the gain), and a few seconds per embed at most.
  const texts = [...worker.MODEL_CARD_EXAMPLE.passages, ...golden.texts.filter((t) => t.length >= 10 && t.length <= 25).slice(0, 5)];
  if (texts.length !== 8) throw new Error(`need 8 passages, have ${texts.length}`);
  const runs = [];
  // One download of the model: the workers get copies (their buffers move to the worker), the
  // main-thread encoder the original.
  const model = await files();
  const copy = () => Object.fromEntries(Object.entries(model).map(([key, bytes]) => [key, bytes?.slice()]));
  const one = await worker.WorkerEncoder.fromFiles(copy(), { threads: 1 });
  const two = await worker.WorkerEncoder.fromFiles(copy(), { threads: 2 });
  // Warm-up (tier-up, heap growth), then the two in turns so a change of load hits both alike.
  await one.embed(texts);
  await two.embed(texts);
  for (let r = 0; r < rounds; r++) {
    runs.push(await timed('worker, 1 thread', (t) => one.embed(t), texts));
    runs.push(await timed('worker, 2 threads', (t) => two.embed(t), texts));
  }
  const threads = { one: one.threads, two: two.threads };
  one.dispose();
  two.dispose();
  // The same on the main thread, 1 thread (the kernels' pool cannot block there anyway).
  const main = await worker.Encoder.fromFiles(model, { threads: 1 });
  await main.embed(texts.slice(0, 1));
  for (let r = 0; r < mainRounds; r++) runs.push(await timed('main thread, 1 thread', (t) => main.embed(t), texts));
  main.dispose();
  window.kmedWorker = { observing, threads, runs };
} catch (error) {
  window.kmedWorker = { error: String(error?.stack ?? error) };
}
document.getElementById('out').textContent = JSON.stringify(window.kmedWorker, null, 2);
