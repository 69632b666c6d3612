// Owns: `npm run bench:runtimes` — ms per 128-token sequence (batch 1) of the full-size synthetic
// context model (klue/bert-base shape, `kmed synth --seed context`) in Node, Deno, Bun and headless
// Chromium, each with every thread count in THREAD_COUNTS, printed as a markdown table with the
// ratio against Node at 1 thread (the peer, measured in the same run) and the peak RSS of the
// command-line runtimes. These numbers fill README.md's "Runtime support" table.
// Does not own: the per-runtime timing loop (bench/runtimes/bench-core.mjs) or the model (kmed synth).
//
//   npm run bench:runtimes [-- --reps 5] [--quick] [--model DIR] [--only node,node24,deno,bun,chromium]
//                          [--rounds 3] [--simd auto|baseline|relaxed]
// --rounds N runs every runtime N times, interleaved (all runtimes, then again), and prints the
// median over rounds of each run's median, so machine load that comes and goes hits every runtime
// alike. --simd picks the kernel build everywhere ('baseline' compares like with like: by default
// Node 20 runs the baseline build, Node >= 22, Deno, Bun and Chromium the relaxed one); the table's
// "kernels" column says which build each ran. node22/node24 need `npm run test:install-nodes`.
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer } from '../scripts/serve-web.mjs';
import { median } from './median.js';
import { type CliRuntime, launchChromium, REPO_ROOT, run, runtimeCommand, threadCounts } from '../test/runtimes/launch.js';

const THREAD_COUNTS = threadCounts();
const T = 128;

interface BenchResult {
  runtime: string;
  version: string;
  threads?: number;
  requestedThreads?: number;
  msPerSequence?: number;
  minMs?: number;
  cpuMsPerSequence?: number;
  kernels?: string;
  loadMs?: number;
  peakRssMiB?: number | null;
  crossOriginIsolated?: boolean;
  error?: string;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const quick = process.argv.includes('--quick');
const reps = Number(option('--reps', quick ? '3' : '7'));
const only = option('--only', 'node,deno,bun,chromium').split(',');
const rounds = Number(option('--rounds', '1'));
const simd = option('--simd', 'auto');
const modelDir = resolve(option('--model', join(REPO_ROOT, '.bench-cache', 'runtimes-synthetic-context')));

async function ensureModel(): Promise<void> {
  for (const built of ['dist/cli/main.js', 'dist/index.js', 'build/kernels.wasm']) {
    if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  }
  if (existsSync(join(modelDir, 'model.safetensors')) && existsSync(join(modelDir, 'config.json'))) return;
  console.error(`making the synthetic context model in ${modelDir} (kmed synth, once)…`);
  const vocab = join(REPO_ROOT, 'test', 'fixtures', 'tokenizer', 'vocab.txt');
  const r = await run(process.execPath, ['dist/cli/main.js', 'synth', '--seed', 'context', '--out', modelDir, '--vocab', vocab], REPO_ROOT, 600_000);
  if (r.code !== 0) throw new Error(`kmed synth failed (exit ${r.code}): ${r.stderr}`);
}

async function benchCli(runtime: CliRuntime, threads: number): Promise<BenchResult> {
  let [command, ...pre] = runtimeCommand(runtime);
  // Deno only lets a script read /proc/self/status (for the peak RSS) with every permission.
  if (runtime === 'deno') pre = ['run', '--allow-all'];
  const args = [...pre, 'bench/runtimes/run.mjs', '--lib', 'dist/index.js', '--model', modelDir, '--threads', String(threads), '--T', String(T), '--reps', String(reps), '--simd', simd];
  const r = await run(command, args, REPO_ROOT, 600_000);
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as BenchResult) : { runtime, version: '?', error: `exit ${r.code}: ${r.stderr}` };
}

async function benchChromium(threads: number): Promise<BenchResult> {
  const server = await startServer({ mounts: { '/model/': modelDir, '/bench/runtimes/': join(REPO_ROOT, 'bench', 'runtimes') } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/runtimes/page.html?threads=${threads}&T=${T}&reps=${reps}&simd=${simd}`);
    await page.waitForFunction(() => (window as unknown as { kmedBench?: unknown }).kmedBench !== undefined, null, { timeout: 600_000 });
    const result = (await page.evaluate(() => (window as unknown as { kmedBench: unknown }).kmedBench)) as BenchResult;
    // The user agent's version is frozen (156.0.0.0); the browser object knows the full one.
    return { ...result, version: browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
}

await ensureModel();
console.error(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores; reps ${reps}, rounds ${rounds}, simd ${simd}`);
const CLI_RUNTIMES: CliRuntime[] = ['node', 'node22', 'node24', 'deno', 'bun'];
/** Every run, by runtime and thread count, over the rounds. */
const runs = new Map<string, BenchResult[]>();
const record = (key: string, r: BenchResult): void => {
  console.error(JSON.stringify(r));
  runs.set(key, [...(runs.get(key) ?? []), r]);
};
for (let round = 0; round < rounds; round++) {
  for (const threads of THREAD_COUNTS) {
    for (const runtime of CLI_RUNTIMES.filter((r) => only.includes(r))) record(`${runtime}/${threads}`, await benchCli(runtime, threads));
    if (only.includes('chromium')) record(`chromium/${threads}`, await benchChromium(threads));
  }
}
console.error(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

/** One row per runtime and thread count: the first error, else the median over rounds. */
const results: BenchResult[] = [...runs.values()].map((rs) => {
  const failed = rs.find((r) => r.error);
  if (failed) return failed;
  const pick = (f: (r: BenchResult) => number | undefined): number | undefined => {
    const xs = rs.map(f).filter((x): x is number => typeof x === 'number');
    return xs.length ? Math.round(median(xs) * 10) / 10 : undefined;
  };
  return { ...rs[0], msPerSequence: pick((r) => r.msPerSequence), cpuMsPerSequence: pick((r) => r.cpuMsPerSequence), loadMs: pick((r) => r.loadMs), minMs: Math.min(...rs.map((r) => r.minMs ?? Infinity)) };
});

const nodePeer = (threads: number): BenchResult | undefined => results.find((r) => r.runtime === 'node' && r.threads === threads && !r.error);
const peer = nodePeer(1);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const over = rounds > 1 ? `, median over ${rounds} interleaved rounds` : '';
console.log(`\nSynthetic klue/bert-base-shaped context model, one ${T}-token sequence (batch 1), median of ${reps} after a warm-up${over}; simd ${simd}; ${cpu}; load average after ${loadavg()[0].toFixed(2)}.\n`);
console.log('| runtime | version | kernels | threads | ms / 128-token sequence | CPU ms / sequence | speed vs Node, 1 thread | time vs Node, same threads | load (ms) | peak RSS (MiB) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  if (r.error) {
    console.log(`| ${r.runtime} | ${r.version} | - | - | error: ${r.error.split('\n')[0]} | | | | | |`);
    continue;
  }
  const ratio = peer?.msPerSequence && r.msPerSequence ? (peer.msPerSequence / r.msPerSequence).toFixed(2) + '×' : '-';
  const same = nodePeer(r.threads ?? 1);
  const vsSame = same?.msPerSequence && r.msPerSequence ? (r.msPerSequence / same.msPerSequence).toFixed(2) + '×' : '-';
  console.log(`| ${r.runtime} | ${r.version} | ${r.kernels ?? '?'} | ${r.threads} | ${r.msPerSequence} | ${r.cpuMsPerSequence ?? 'n/a'} | ${ratio} | ${vsSame} | ${r.loadMs} | ${r.peakRssMiB ?? 'n/a'} |`);
}
if (results.some((r) => r.error)) process.exitCode = 1;
