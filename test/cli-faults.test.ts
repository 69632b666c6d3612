// The CLI under faults, end to end (spawns dist/cli/main.js; `npm test` builds it first): every
// failure is one `kmed:` line on stderr and a non-zero exit — never a stack trace or a hang — and
// nothing half-written is published. Classes: option errors and --version; EPIPE on stdout; FIFOs,
// sockets and devices given as inputs; EISDIR/ENOTDIR/EEXIST; EACCES (run as `nobody` when the
// tests run as root, since root ignores permission bits); EROFS and ENOSPC on small tmpfs mounts
// (root where mounting is allowed; otherwise skipped with the reason, a failure under CI=true); EMFILE under `ulimit -n`; internal errors;
// error-line length; library messages that must name library options, not CLI flags.
// Each class prints its counts.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { CLI, expectOneKmedLine, runCli, type CliRun } from './helpers/run-cli.js';
import { skipTestWithout, tmpfsMount } from './helpers/requirement.js';
import { boundLine, MAX_LINE, reportFor, withFlagHints } from '../src/cli/error-line.js';
import { resolveModelDir } from '../src/node/bi-encoder.js';
import { selectModelFiles } from '../src/node/hub/hub-file-selection.js';
import { buildIndex } from '../src/node/indexing/index-builder.js';
import { fileSystemError } from '../src/node/fs/fs-errors.js';
import type { KmedError } from '../src/errors/errors.js';

const Q = 'test/fixtures/tiny-question';
const C = 'test/fixtures/tiny-context';
const CORPUS = 'test/fixtures/corpus/corpus.txt';
const isRoot = process.getuid?.() === 0;
const PKG_VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

let work: string;
const mounts: string[] = [];
const servers: Server[] = [];

/** A copy of a model folder with `file` replaced by `make(path)` (a FIFO, a folder, ...). */
function modelWith(model: string, file: string, make: (path: string) => void): string {
  const dir = mkdtempSync(join(work, 'model-'));
  for (const name of readdirSync(model)) if (!name.startsWith('model.onnx')) copyFileSync(join(model, name), join(dir, name));
  rmSync(join(dir, file), { force: true });
  make(join(dir, file));
  return dir;
}
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);
const index = (out: string, ...more: string[]) => ['index', '--question-model', Q, '--context-model', C, '--corpus', CORPUS, '--out', out, ...more];

/** Mount a tmpfs at a fresh folder (root only). Where mounting is not allowed the running test
 *  is skipped with the reason (a failure under CI=true), never passed without its cases. */
function tmpfs(ctx: TestContext, options: string): string {
  if (!isRoot) skipTestWithout(ctx, tmpfsMount('not root: cannot mount a tmpfs'));
  const dir = mkdtempSync(join(work, 'tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    skipTestWithout(ctx, tmpfsMount(`mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim().split('\n')[0]}`));
  }
  mounts.push(dir);
  return dir;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it via pretest)`);
  work = mkdtempSync(join(tmpdir(), 'kmed-cli-faults-'));
  chmodSync(work, 0o755); // the EACCES cases run as `nobody`
});

afterAll(() => {
  for (const s of servers) s.close();
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('kmed option errors and --version', () => {
  it('an option error is one kmed: line pointing at --help, without the help text', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['embed', '--model'], /^kmed: option '--model <dir>' argument missing; see 'kmed embed --help'$/],
      [['embed'], /^kmed: required option '--model <dir>' not specified; see 'kmed embed --help'$/],
      [['tokenize', '--model', Q, '--bogus'], /^kmed: unknown option '--bogus'; see 'kmed tokenize --help'$/],
      [['embd'], /^kmed: unknown command 'embd'.*; see 'kmed --help'$/],
      [['index', '--corpus', 'a.txt', '--out', 'b', '--batch-size', 'x'], /^kmed: option '--batch-size <n>' argument 'x' is invalid.*; see 'kmed index --help'$/],
      [['synth', '--seed', 'nope', '--out', 'x'], /^kmed: option '--seed <seed>' argument 'nope' is invalid.*; see 'kmed synth --help'$/],
      [['search', '--index', 'i', '--query', 'q', '-k', '0'], /^kmed: option '-k, --k <n>' argument '0' is invalid.*; see 'kmed search --help'$/],
      [['similarity', '--query', 'q', '--passage', 'p', '--dtype', 'f64'], /^kmed: option '--dtype <dtype>' argument 'f64' is invalid.*; see 'kmed similarity --help'$/],
      [['--bogus'], /^kmed: unknown option '--bogus'; see 'kmed --help'$/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    runs.forEach((r, i) => {
      expectOneKmedLine(r, cases[i][1]);
      expect(r.stderr, 'no help dump').not.toMatch(/Usage:/);
      expect(r.stdout).toBe('');
    });
    console.log(`cli-faults: option errors: ${runs.length} cases, ${runs.length} one-line kmed: errors with a --help pointer, 0 help dumps`);
  });

  it('--version and -V print the package.json version; --help still prints the help with status 0', async () => {
    const [long, short, help, subHelp] = await Promise.all([runCli(['--version']), runCli(['-V']), runCli(['--help']), runCli(['embed', '--help'])]);
    for (const r of [long, short]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${PKG_VERSION}\n`);
      expect(r.stderr).toBe('');
    }
    for (const r of [help, subHelp]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: kmed/);
    }
    console.log(`cli-faults: --version: 2 spellings print ${PKG_VERSION}; --help: 2 cases exit 0`);
  });
});

describe('kmed with stdout closed early (EPIPE)', () => {
  /** Run, keep the first output line, then close our end of the pipe as `head -1` does. */
  async function headOne(args: string[], input: string): Promise<CliRun & { firstLine: string }> {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'pipe' });
    let stderr = '';
    let firstLine = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    let seen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      seen += d;
      if (!firstLine && seen.includes('\n')) {
        firstLine = seen.slice(0, seen.indexOf('\n'));
        child.stdout.destroy();
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), 60_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    return { code, signal, stdout: seen, stderr, timedOut, firstLine };
  }

  it('embed and tokenize end quietly with status 0 when the reader goes away', async () => {
    const input = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ text: `고혈압 진단 ${i} amlodipine 처방` })).join('\n') + '\n';
    const runs = [
      await headOne(['embed', '--model', Q, '--batch-size', '16'], input),
      await headOne(['tokenize', '--model', Q], input.repeat(8)),
    ];
    for (const r of runs) {
      expect(r.timedOut).toBe(false);
      expect(r.firstLine).toMatch(/^\{"(embedding|ids)":\[/);
      expect(r.stderr).toBe('');
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
    }
    console.log(`cli-faults: EPIPE: ${runs.length} commands (embed, tokenize) closed after line 1: ${runs.filter((r) => r.code === 0 && r.stderr === '').length} quiet exits with status 0`);
  });
});

describe('kmed refuses non-regular files before opening them', () => {
  it('a FIFO, socket or device as model file, corpus, index or vocabulary is one kmed: line, not a hang', async () => {
    const fifo = (p: string) => mkfifo(p);
    const socketAt = async (p: string) => {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(p, resolve));
    };
    const sock = join(work, 'index.sock');
    await socketAt(sock);
    const fifoCorpus = join(work, 'fifo-corpus.txt');
    mkfifo(fifoCorpus);
    const zeroCorpus = join(work, 'zero-corpus.txt');
    symlinkSync('/dev/zero', zeroCorpus);
    const fifoIndex = join(work, 'fifo.idx');
    mkfifo(fifoIndex);
    const fifoVocab = join(work, 'fifo-vocab.txt');
    mkfifo(fifoVocab);
    const cases: Array<[string, string[], RegExp]> = [
      ['embed, model.safetensors a FIFO', ['embed', '--model', modelWith(Q, 'model.safetensors', fifo)], /model\.safetensors: .*named pipe \(FIFO\), not a regular file/],
      ['embed, config.json a FIFO', ['embed', '--model', modelWith(Q, 'config.json', fifo)], /config\.json: .*named pipe/],
      ['embed, vocab.txt a FIFO', ['embed', '--model', modelWith(Q, 'vocab.txt', fifo)], /vocab\.txt: .*named pipe/],
      ['tokenize, tokenizer.json a FIFO', ['tokenize', '--model', modelWith(Q, 'tokenizer.json', fifo)], /tokenizer\.json: .*named pipe/],
      ['similarity, question config.json a FIFO', ['similarity', '--question-model', modelWith(Q, 'config.json', fifo), '--context-model', C, '--query', 'q', '--passage', 'p'], /config\.json: .*named pipe/],
      ['index, context model.safetensors a FIFO', ['index', '--question-model', Q, '--context-model', modelWith(C, 'model.safetensors', fifo), '--corpus', CORPUS, '--out', join(work, 'never1.idx')], /model\.safetensors: .*named pipe/],
      ['index, corpus a FIFO', ['index', '--question-model', Q, '--context-model', C, '--corpus', fifoCorpus, '--out', join(work, 'never2.idx')], /fifo-corpus\.txt: .*named pipe/],
      ['index, corpus /dev/zero', ['index', '--question-model', Q, '--context-model', C, '--corpus', zeroCorpus, '--out', join(work, 'never3.idx')], /zero-corpus\.txt: .*character device/],
      ['search, index a FIFO', ['search', '--question-model', Q, '--context-model', C, '--index', fifoIndex, '--query', 'q'], /fifo\.idx: .*named pipe/],
      ['search, index a socket', ['search', '--question-model', Q, '--context-model', C, '--index', sock, '--query', 'q'], /index\.sock: .*socket/],
      ['search, index /dev/zero', ['search', '--question-model', Q, '--context-model', C, '--index', '/dev/zero', '--query', 'q'], /\/dev\/zero: .*character device/],
      ['synth, --vocab a FIFO', ['synth', '--seed', 'question', '--vocab', fifoVocab, '--out', join(work, 'never-synth')], /fifo-vocab\.txt: .*named pipe/],
    ];
    const runs = await Promise.all(cases.map(([, args]) => runCli(args, { timeoutMs: 60_000 })));
    runs.forEach((r, i) => expectOneKmedLine(r, cases[i][2]));
    expect(existsSync(join(work, 'never-synth', 'model.safetensors'))).toBe(false);
    console.log(`cli-faults: non-regular inputs: ${cases.length} cases (FIFO, socket, /dev/zero as model file, corpus, index, vocabulary), ${runs.filter((r) => !r.timedOut).length} refused in one line, 0 hangs`);
  });
});

describe('kmed file-system errors are one kmed: line naming the path', () => {
  it('EISDIR, ENOTDIR and EEXIST where files and folders are swapped', async () => {
    const aFile = join(work, 'a-file');
    writeFileSync(aFile, 'x');
    const dirOut = join(work, 'out-dir.idx');
    mkdirSync(dirOut);
    const partialFile = join(work, 'pfile.idx');
    writeFileSync(`${partialFile}.partial`, 'x');
    const dir = (p: string) => mkdirSync(p);
    const cases: Array<[string, string[], RegExp]> = [
      ['embed, config.json a folder', ['embed', '--model', modelWith(Q, 'config.json', dir)], /config\.json: .*is a folder, not a file \(EISDIR\)/],
      ['tokenize, vocab.txt a folder', ['tokenize', '--model', modelWith(Q, 'vocab.txt', dir)], /vocab\.txt: .*is a folder, not a file \(EISDIR\)/],
      ['embed, model.safetensors a folder', ['embed', '--model', modelWith(Q, 'model.safetensors', dir)], /model\.safetensors: .*is a folder/],
      ['embed, --model a file', ['embed', '--model', aFile], /a-file is a file, not a folder/],
      ['embed, --model under a file', ['embed', '--model', join(aFile, 'sub')], /a-file\/sub does not exist/],
      ['synth, --out a file', ['synth', '--seed', 'question', '--out', aFile], /a-file: cannot create the model folder: is a file where a folder is needed \(EEXIST\)/],
      ['synth, --out under a file', ['synth', '--seed', 'question', '--out', join(aFile, 'm')], /a-file\/m: cannot create the model folder: .*\(ENOTDIR\)/],
      ['index, --out a folder (--force)', index(dirOut, '--force'), /output \S*out-dir\.idx is a directory: give the path of the index file/],
      ['index, INDEX.partial a plain file', index(partialFile), /pfile\.idx\.partial is a file, but kmed keeps the work in progress/],
      ['index, --out under a file', index(join(aFile, 'x.idx')), /a-file.*\(ENOTDIR\)/],
    ];
    const runs = await Promise.all(cases.map(([, args]) => runCli(args, { timeoutMs: 60_000 })));
    // stdin a folder (`kmed tokenize < DIR`): Node would read it as empty and exit 0 with no output.
    const folderFd = openSync(work, 'r');
    try {
      for (const command of ['embed', 'tokenize']) {
        cases.push([`${command}, stdin a folder`, [command, '--model', Q], /^kmed: stdin is a folder \(EISDIR\)/]);
        runs.push(await runCli([command, '--model', Q], { stdinFd: folderFd }));
      }
    } finally {
      closeSync(folderFd);
    }
    runs.forEach((r, i) => expectOneKmedLine(r, cases[i][2]));
    expect(readFileSync(aFile, 'utf8')).toBe('x');
    console.log(`cli-faults: EISDIR/ENOTDIR/EEXIST: ${cases.length} cases, ${cases.length} one-line kmed: errors naming the path`);
  });

  it('EACCES: unreadable model files and unwritable output folders', async () => {
    // Root ignores permission bits, so as root the commands run as `nobody`.
    const asUser = isRoot ? { uid: 65534, gid: 65534 } : {};
    const locked = modelWith(Q, 'config.json', (p) => writeFileSync(p, readFileSync(join(Q, 'config.json'))));
    chmodSync(join(locked, 'config.json'), 0o000);
    chmodSync(locked, 0o755);
    const lockedVocab = modelWith(Q, 'vocab.txt', (p) => writeFileSync(p, readFileSync(join(Q, 'vocab.txt'))));
    chmodSync(join(lockedVocab, 'vocab.txt'), 0o000);
    chmodSync(lockedVocab, 0o755);
    const noWrite = mkdtempSync(join(work, 'nowrite-'));
    chmodSync(noWrite, 0o555);
    const cases: Array<[string, string[], RegExp]> = [
      ['embed, config.json mode 000', ['embed', '--model', locked], /config\.json: cannot read the model file: permission denied \(EACCES\)/],
      ['tokenize, vocab.txt mode 000', ['tokenize', '--model', lockedVocab], /vocab\.txt: cannot read the tokenizer file: permission denied \(EACCES\)/],
      ['synth, --out in a folder mode 555', ['synth', '--seed', 'question', '--out', join(noWrite, 'm')], /nowrite-\w+\/m: cannot create the model folder: permission denied \(EACCES\)/],
      ['index, --out in a folder mode 555', index(join(noWrite, 'i.idx')), /nowrite-\w+\/i\.idx\.(partial|lock): cannot create the lock: permission denied \(EACCES\)/],
    ];
    const runs = await Promise.all(cases.map(([, args]) => runCli(args, { ...asUser, timeoutMs: 60_000 })));
    runs.forEach((r, i) => expectOneKmedLine(r, cases[i][2]));
    expect(readdirSync(noWrite)).toEqual([]);
    console.log(`cli-faults: EACCES: ${cases.length} cases${isRoot ? ' (run as nobody: root ignores permission bits)' : ''}, ${cases.length} one-line kmed: errors`);
  });

  it('EROFS: output on a read-only file system is named as such (not ENOENT)', async (ctx) => {
    const ro = tmpfs(ctx, 'size=1m,ro');
    const cases: Array<[string, string[], RegExp]> = [
      ['synth --out on a read-only tmpfs', ['synth', '--seed', 'question', '--out', join(ro, 'a', 'b')], /\/a: cannot create the model folder: is on a read-only file system \(EROFS\)/],
      ['index --out on a read-only tmpfs', index(join(ro, 'i.idx')), /i\.idx\.(partial|lock): cannot create the lock: is on a read-only file system \(EROFS\)/],
    ];
    const runs = await Promise.all(cases.map(([, args]) => runCli(args, { timeoutMs: 60_000 })));
    runs.forEach((r, i) => {
      const line = expectOneKmedLine(r, cases[i][2]);
      expect(line).not.toMatch(/ENOENT|does not exist/);
    });
    console.log(`cli-faults: EROFS: ${cases.length} cases on a read-only tmpfs, ${cases.length} one-line kmed: errors saying read-only`);
  });

  it('ENOSPC: a full disk is one line, a non-zero exit, and no output file published', async (ctx) => {
    // The index (~230 KB for the tiny model over the 603-line corpus, plus its checkpoints) on
    // tmpfs mounts of several sizes, so the disk fills at different points of the build (the first
    // checkpoint, later ones, the final write); the largest may fit, and must then be complete.
    // synth's 440 MB model.safetensors on 256 KiB.
    const sizes = ['64k', '192k', '320k', '1m'];
    const disks = sizes.map((size) => tmpfs(ctx, `size=${size}`));
    const synthDisk = tmpfs(ctx, 'size=256k');
    const cases: Array<[string, string[], string]> = [];
    disks.forEach((disk, i) => cases.push([`index on ${sizes[i]}`, index(join(disk, 'i.idx')), join(disk, 'i.idx')]));
    cases.push(['synth on 256k', ['synth', '--seed', 'question', '--out', join(synthDisk, 'm')], join(synthDisk, 'm', 'model.safetensors')]);
    const runs = await Promise.all(cases.map(([, args]) => runCli(args, { timeoutMs: 120_000 })));
    let failed = 0;
    runs.forEach((r, i) => {
      const [label, , out] = cases[i];
      if (r.code === 0) {
        // It fit: then the index is whole (its size is what the command reported).
        expect(label).toMatch(/^index/);
        expect(readFileSync(out).length, label).toBe(Number(/(\d+) bytes/.exec(r.stdout)?.[1]));
        return;
      }
      failed++;
      expectOneKmedLine(r, label.startsWith('synth')
        ? /m\/model\.safetensors: cannot write the file: no space left on the device \(ENOSPC\)/
        : /no space left on the device \(ENOSPC\)/);
      expect(existsSync(out), `${label}: ${out} must not be published`).toBe(false);
    });
    expect(failed, 'at least the smallest disks must fill up').toBeGreaterThanOrEqual(3);
    // synth leaves no truncated file under any name, temporary or real.
    expect(readdirSync(join(synthDisk, 'm'))).toEqual([]);
    console.log(`cli-faults: ENOSPC: ${cases.length} runs on small tmpfs mounts: ${failed} disk-full failures, each one kmed: line with exit 1 and no output file published; ${cases.length - failed} fit and are complete`);
  });

  it('EMFILE: at every descriptor limit where kmed starts, the run succeeds or is one kmed: line naming EMFILE', async () => {
    // Sweep `ulimit -n` upwards until the command succeeds. Below some limit Node cannot open
    // kmed's entry file at all (its own stack trace naming dist/cli/main.js), or aborts in its own
    // start-up (a failed uv_loop_init assertion, or a crash before printing anything): those runs
    // are Node's, not kmed's, and must all lie
    // below every limit at which kmed ran. From the first limit where kmed's entry loads on, every
    // run is a success or exactly one `kmed:` line naming EMFILE, never a stack trace; and at least
    // one run must hit EMFILE inside kmed, so the case cannot pass by never happening.
    const outcomes: Array<{ limit: number; kind: 'node' | 'ok' | 'emfile' }> = [];
    const entryNotOpened = (r: CliRun) =>
      (r.signal !== null && !r.stderr.includes('kmed: ') && (r.stderr.trim() === '' || /Assertion failed: .*uv_loop_init/.test(r.stderr))) ||
      (!r.stderr.includes('kmed: ') && /EMFILE: too many open files, open '[^']*dist\/cli\/main\.js'/.test(r.stderr));
    for (let low = 8; low <= 256 && !outcomes.some((o) => o.kind === 'ok'); low += 6) {
      const limits = [0, 1, 2, 3, 4, 5].map((k) => low + k);
      const runs = await Promise.all(limits.map((n) => runCli(['embed', '--model', Q], { input: '{"text": "a"}\n', shellPrefix: `ulimit -n ${n};`, timeoutMs: 120_000 })));
      runs.forEach((r, k) => {
        const limit = limits[k];
        if (r.code === 0) {
          expect(r.stdout, `ulimit -n ${limit}`).toMatch(/^\{"embedding":\[/);
          outcomes.push({ limit, kind: 'ok' });
        } else if (entryNotOpened(r)) {
          outcomes.push({ limit, kind: 'node' });
        } else {
          expectOneKmedLine(r, /EMFILE/);
          outcomes.push({ limit, kind: 'emfile' });
        }
      });
    }
    const count = (kind: string) => outcomes.filter((o) => o.kind === kind).length;
    const kmedRan = outcomes.filter((o) => o.kind !== 'node').map((o) => o.limit);
    const nodeOnly = outcomes.filter((o) => o.kind === 'node').map((o) => o.limit);
    console.log(`cli-faults: EMFILE: ulimit -n ${outcomes[0].limit}..${outcomes.at(-1)!.limit}: Node could not start kmed below ${Math.min(...kmedRan)} (${nodeOnly.length} limits), ` +
      `${count('emfile')} one-line EMFILE errors, ${count('ok')} successes`);
    expect(count('ok'), 'no descriptor limit up to 256 let the command run').toBeGreaterThan(0);
    expect(count('emfile'), 'no limit produced EMFILE inside kmed: the case was never exercised').toBeGreaterThan(0);
    expect(Math.max(...nodeOnly, -1), 'a run failed to start at a limit where kmed had started before').toBeLessThan(Math.min(...kmedRan));
  });
});

describe('error lines: internal errors, length bound, library options vs CLI flags', () => {
  it('an internal error is one line with a KMED_DEBUG hint; KMED_DEBUG=1 adds the stack', async () => {
    const script = `import('./dist/cli/error-line.js').then((m) => m.exitWith(new TypeError('boom'), process.argv, []))`;
    const run = (env: NodeJS.ProcessEnv) => execFileSafe(['--input-type=module', '-e', script], env);
    const plain = run({ ...process.env, KMED_DEBUG: '' });
    expect(plain.status).toBe(1);
    expect(plain.stderr).toBe('kmed: internal error: TypeError: boom (a bug in kmed; rerun with KMED_DEBUG=1 to see the stack trace and report it)\n');
    const debug = run({ ...process.env, KMED_DEBUG: '1' });
    expect(debug.status).toBe(1);
    expect(debug.stderr.split('\n')[0]).toBe(plain.stderr.trimEnd());
    expect(debug.stderr).toMatch(/^\s+at /m);
    console.log('cli-faults: internal error: 1 line without KMED_DEBUG, line + stack with KMED_DEBUG=1');
  });

  it('a huge message (a config with num_hidden_layers 1000: a 16000-tensor list) prints at most MAX_LINE characters', async () => {
    const model = modelWith(Q, 'config.json', (p) => {
      const config = JSON.parse(readFileSync(join(Q, 'config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(p, JSON.stringify({ ...config, num_hidden_layers: 1000 }));
    });
    const r = await runCli(['embed', '--model', model], { input: '{"text": "a"}\n', timeoutMs: 120_000 });
    const line = expectOneKmedLine(r);
    expect(Array.from(line).length).toBeLessThanOrEqual('kmed: '.length + MAX_LINE);
    // Unit: folding, escaping and the ellipsis.
    expect(boundLine('a\nb\r\n  c\u001b[31m')).toBe('a b c\\x1b[31m');
    expect(boundLine('가'.repeat(5000))).toBe('가'.repeat(MAX_LINE - 1) + '…');
    console.log(`cli-faults: bounded lines: a ${r.stderr.length}-character stderr for a 1000-layer config (bound ${MAX_LINE} + prefix)`);
  });

  it('library errors name library options; the CLI adds its flags', async () => {
    const messages: KmedError[] = [];
    const grab = async (f: () => unknown) => {
      try {
        await f();
      } catch (error) {
        messages.push(error as KmedError);
        return;
      }
      throw new Error('expected a throw');
    };
    await grab(() => resolveModelDir('question', { model: 'snumin44/medical-biencoder-ko-bert-question', weightsRoot: join(work, 'none') }));
    await grab(() => resolveModelDir('context', { model: join(work, 'no', 'such', 'dir') }));
    await grab(() => selectModelFiles('me/bin-only', 'main', [{ path: 'pytorch_model.bin', size: 1 } as never]));
    const existing = join(work, 'exists.idx');
    writeFileSync(existing, 'x');
    await grab(() => buildIndex({ corpus: CORPUS, out: existing, dimension: 4, embed: async () => [], meta: {} as never }));
    const flags = ['--question-model DIR', '--context-model DIR', '--revision', '--force'];
    messages.forEach((error, i) => {
      expect(error.message, 'a library message quotes no CLI flag').not.toMatch(/(^|[\s(`])--[a-z]/);
      expect(withFlagHints(error)).toContain(flags[i]);
      expect(reportFor(error, ['node', 'kmed'], []).line).toContain(flags[i]);
    });
    console.log(`cli-faults: library messages: ${messages.length} errors (MODEL_NOT_FOUND x2, HUB_NO_SAFETENSORS, INDEX_EXISTS) free of CLI flags; the CLI line adds ${flags.join(', ')}`);
  });

  it('system errors of every kind are worded with path, errno and advice', () => {
    const codes = ['ENOENT', 'EISDIR', 'ENOTDIR', 'EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EEXIST', 'ENOTEMPTY', 'EMFILE', 'ENFILE', 'EIO', 'ELOOP', 'ENAMETOOLONG', 'EBUSY', 'EWHATEVER'];
    for (const code of codes) {
      const error = Object.assign(new Error(`${code}: something, open '/x/y'`), { code, syscall: 'open', path: '/x/y' });
      const known = fileSystemError(error);
      expect(known.message).toMatch(new RegExp(`^/x/y: .*\\(${code}\\); \\w`));
      expect(reportFor(error, ['node', 'kmed'], []).line).toBe(known.message);
    }
    const noPath = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    expect(reportFor(noPath, ['node', 'kmed', 'index', '--out', '/d/i.idx'], []).line).toBe(
      '/d/i.idx: no space left on the device (ENOSPC); free some space or choose a location on another disk (during write)',
    );
    console.log(`cli-faults: system error wording: ${codes.length + 1} errno cases`);
  });
});

function execFileSafe(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, args, { env, stdio: 'pipe' });
    return { status: 0, stderr: '' };
  } catch (error) {
    const e = error as { status: number | null; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString('utf8') };
  }
}
