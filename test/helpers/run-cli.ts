// Runs the built CLI (dist/cli/main.js) as a child process for the CLI fault tests, with a hard
// timeout so a hang (a FIFO open that blocks) fails the test instead of stalling the suite, and
// checks the one-line error contract: exactly one `kmed: ` line on stderr, last, and no stack trace.
import { spawn, type SpawnOptions } from 'node:child_process';
import { expect } from 'vitest';

export const CLI = 'dist/cli/main.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CliRunOptions {
  input?: string | Uint8Array;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  cwd?: string;
  /** Run through `sh -c` (for ulimit): args are then one shell command line after `node CLI`. */
  shellPrefix?: string;
  /** An open descriptor to use as the child's stdin instead of a pipe fed with `input`. */
  stdinFd?: number;
}

export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const stdio: SpawnOptions['stdio'] = [options.stdinFd ?? 'pipe', 'pipe', 'pipe'];
  const spawnOptions: SpawnOptions = { env: options.env ?? process.env, uid: options.uid, gid: options.gid, cwd: options.cwd, stdio };
  const child = options.shellPrefix
    ? spawn('sh', ['-c', `${options.shellPrefix} exec "$0" "$@"`, process.execPath, CLI, ...args], spawnOptions)
    : spawn(process.execPath, [CLI, ...args], spawnOptions);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (child.stdin) {
    child.stdin.on('error', () => {}); // the child may exit before reading all its input
    child.stdin.end(options.input ?? '');
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The contract for a failure: non-zero exit, no hang, exactly one `kmed:` line (the last line of
 *  stderr; progress lines may precede it), no stack trace. Returns the line. */
export function expectOneKmedLine(r: CliRun, pattern?: RegExp): string {
  expect(r.timedOut, 'the command hung (killed by the test timeout)').toBe(false);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code, r.stderr).not.toBeNull();
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const kmedLines = lines.filter((l) => l.startsWith('kmed: '));
  expect(kmedLines, r.stderr).toHaveLength(1);
  expect(lines.at(-1), r.stderr).toBe(kmedLines[0]);
  expect(r.stderr, 'a stack trace was printed').not.toMatch(/^\s+at |node:internal|^\w*Error: /m);
  if (pattern) expect(kmedLines[0]).toMatch(pattern);
  return kmedLines[0];
}
