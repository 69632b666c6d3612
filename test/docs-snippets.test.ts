// Owns: running the code blocks of README.md and docs/*.md, so a snippet that stops working fails
// `npm test` instead of misleading a reader. Also checks that docs/cli.md names every `kmed`
// subcommand and option that `kmed --help` lists. Does not own what the snippets demonstrate: each
// subject's own test checks its behaviour in depth; here a block must run, exit 0 and, when an
// output block follows it, print those lines.
//
// The rules a block follows (docs/README.md states them for writers):
// - ```ts / ```typescript run with tsx, ```js / ```javascript / ```mjs with node, as ES modules in
//   which `import … from 'kmed-dpr'` resolves to the built package (dist/, so `npm run build`
//   first; `npm test` does it). ```sh / ```bash / ```shell run with `bash -eo pipefail`, where
//   `kmed` is the built CLI (dist/cli/main.js). The ts blocks must also type-check together
//   (tsc --noEmit, strict, NodeNext) against the package's .d.ts files.
// - Every block of one markdown file runs in order in one sandbox: a temporary folder that looks
//   like a clone (each top-level entry of the repository linked into it) but whose own files are
//   new, so a block that writes `notes.kidx` writes into the sandbox, never into the repository,
//   and a later block of the same file finds it. Nothing reaches the network: HF_ENDPOINT points at
//   a closed port and the hub cache is the sandbox's.
// - A block that is not meant to run (an output sample, a command needing the real 442 MB weights,
//   the network or minutes of time) carries `no-run` in its info string (```sh no-run: reason) or
//   an HTML comment `<!-- no-run: reason -->` on the line above. Any other block of a language
//   this test cannot run fails the test: every block is either run or visibly exempt.
// - A block whose info string is `text output` (or `output`), right after a runnable block, is
//   that block's expected stdout: each of its non-empty lines must appear in the output, in order
//   (after trimming; `…` in a line matches any text). Output blocks are listed, not run.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipTestWithout } from './helpers/requirement.js';

const ROOT = resolve('.');
const CLI = join(ROOT, 'dist/cli/main.js');
const BLOCK_TIMEOUT_MS = 120_000;

type Kind = 'ts' | 'js' | 'sh' | 'output' | 'no-run' | 'unknown';

interface Block {
  file: string; // relative to the repository root
  line: number; // 1-based line of the opening fence
  info: string;
  kind: Kind;
  reason: string; // why a no-run block does not run ('' when none is given)
  code: string;
  expected?: Block; // the output block that follows a runnable block
}

const LANGS: Record<string, Kind> = {
  ts: 'ts', typescript: 'ts',
  js: 'js', javascript: 'js', mjs: 'js',
  sh: 'sh', bash: 'sh', shell: 'sh',
};

/** The fenced code blocks of one markdown file (``` or ~~~, any indentation, as CommonMark). */
export function parseBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, rest] = open;
    const info = rest.trim();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const comment = above >= 0 ? /^\s*<!--\s*no-run\b:?\s*(.*?)\s*-->\s*$/.exec(lines[above]) : null;
    const words = info.split(/\s+/).filter(Boolean);
    const lang = (words[0] ?? '').toLowerCase();
    const noRunAt = words.findIndex((w) => /^no-run\b/.test(w));
    let kind: Kind;
    let reason = '';
    if (noRunAt >= 0 || comment) {
      kind = 'no-run';
      reason = noRunAt >= 0
        ? words.slice(noRunAt).join(' ').replace(/^no-run:?\s*/, '')
        : comment![1];
    } else if (words.includes('output') || lang === 'output') {
      kind = 'output';
    } else {
      kind = LANGS[lang] ?? 'unknown';
    }
    blocks.push({ file, line: i + 1, info, kind, reason, code: body.join('\n') + '\n' });
    i = j;
  }
  // Attach each output block to the runnable block right before it.
  for (let b = 1; b < blocks.length; b++) {
    if (blocks[b].kind === 'output' && ['ts', 'js', 'sh'].includes(blocks[b - 1].kind)) blocks[b - 1].expected = blocks[b];
  }
  return blocks;
}

/** Each non-empty expected line must match an output line, in order; `…` matches any text. */
export function missingLines(expected: string, actual: string): string[] {
  const want = expected.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const got = actual.split('\n').map((l) => l.trim());
  const missing: string[] = [];
  let at = 0;
  for (const line of want) {
    const pattern = new RegExp('^' + line.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    const found = got.findIndex((g, k) => k >= at && pattern.test(g));
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

const markdownFiles = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const blocksByFile = markdownFiles.map((file) => ({ file, blocks: parseBlocks(file, readFileSync(file, 'utf8')) }));

/** A folder that looks like a clone to the snippets, with its own files: see the header. */
function makeSandbox(): string {
  const box = mkdtempSync(join(tmpdir(), 'kmed-docs-'));
  for (const entry of readdirSync(ROOT)) {
    if (entry === 'node_modules' || entry === '.git') continue;
    // weights/ is where downloads land: the sandbox gets an empty one, never the repository's.
    if (entry === 'weights') {
      mkdirSync(join(box, entry));
      continue;
    }
    symlinkSync(join(ROOT, entry), join(box, entry));
  }
  // node_modules of its own (tools write caches there), holding links to the repository's packages.
  const modules = join(box, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  for (const entry of readdirSync(join(ROOT, 'node_modules/.bin'))) {
    symlinkSync(join(ROOT, 'node_modules/.bin', entry), join(modules, '.bin', entry));
  }
  const kmed = join(modules, '.bin/kmed');
  writeFileSync(kmed, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(kmed, 0o755);
  mkdirSync(join(box, '.snippets'));
  return box;
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }

/** Runs one block in the sandbox; its whole process group is ended afterwards (servers a block
 *  left behind included). */
function runBlock(block: Block, box: string, index: number): Promise<Run> {
  const base = join(box, '.snippets', `block-${index}`);
  let command: string[];
  if (block.kind === 'ts') {
    writeFileSync(`${base}.ts`, block.code);
    command = [process.execPath, join(ROOT, 'node_modules/tsx/dist/cli.mjs'), `${base}.ts`];
  } else if (block.kind === 'js') {
    writeFileSync(`${base}.mjs`, block.code);
    command = [process.execPath, `${base}.mjs`];
  } else {
    writeFileSync(`${base}.sh`, block.code);
    command = ['bash', '-eo', 'pipefail', `${base}.sh`];
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('KMED_') && !key.startsWith('HF_') && !key.startsWith('VITEST') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  Object.assign(env, {
    PATH: `${join(box, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
    HF_ENDPOINT: 'http://127.0.0.1:9', // a closed port: a snippet that needs the network fails at once
    HF_HUB_CACHE: join(box, '.hf-cache'),
    NO_COLOR: '1',
  });
  return runCommand(command, box, env);
}

/** Runs one command in `cwd`, its whole process group ended afterwards (servers a block left
 *  behind included) or after BLOCK_TIMEOUT_MS. */
function runCommand(command: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(command[0], command.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    let timedOut = false;
    const killGroup = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } };
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, BLOCK_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      done({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const sandboxes: string[] = [];

/** Programs a shell block may use that a machine with only Node and npm can lack (bash, coreutils,
 *  grep, sed and diffutils are part of every Debian install), with the command that adds each. */
const OPTIONAL_TOOLS = [{ tool: 'curl', install: 'apt-get install -y curl' }];

function missingTools(blocks: Block[]): typeof OPTIONAL_TOOLS {
  return OPTIONAL_TOOLS.filter(({ tool }) =>
    blocks.some((b) => b.kind === 'sh' && new RegExp(`(^|[\\s;|&(])${tool}\\s`, 'm').test(b.code)) &&
    spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
}

/** Pages whose blocks run at the same time: two, for a 2-core machine (each block is one process). */
const RUN_SLOTS = 2;
let freeSlots = RUN_SLOTS;
const waiting: Array<() => void> = [];
async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (freeSlots === 0) await new Promise<void>((go) => waiting.push(go));
  else freeSlots--;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else freeSlots++;
  }
}
afterAll(() => {
  for (const box of sandboxes) rmSync(box, { recursive: true, force: true });
  const exempt = blocksByFile.flatMap(({ blocks }) => blocks.filter((b) => b.kind === 'no-run'));
  const outputs = blocksByFile.flatMap(({ blocks }) => blocks.filter((b) => b.kind === 'output'));
  const ran = blocksByFile.flatMap(({ blocks }) => blocks.filter((b) => ['ts', 'js', 'sh'].includes(b.kind)));
  const list = exempt.map((b) => `  ${b.file}:${b.line} \`\`\`${b.info}${b.reason && !b.info.includes(b.reason) ? ` (${b.reason})` : ''}`);
  console.log(
    `docs snippets: ${ran.length} runnable blocks, ${outputs.length} output blocks checked against them, ` +
      `${exempt.length} marked no-run:\n${list.join('\n')}`,
  );
});

describe('docs snippets', () => {
  it('the package is built (npm run build; npm test does it first)', () => {
    expect(existsSync(CLI), `${CLI} is missing: run \`npm run build\``).toBe(true);
  });

  for (const { file, blocks } of blocksByFile) {
    it(`${file}: every block is runnable, an output sample, or marked no-run`, () => {
      const unknown = blocks.filter((b) => b.kind === 'unknown');
      expect(
        unknown.map((b) => `${file}:${b.line} \`\`\`${b.info}: a language this test cannot run; mark it \`\`\`${b.info || 'text'} no-run: <why> (or <!-- no-run: why --> above it)`),
      ).toEqual([]);
      const orphans = blocks.filter((b) => b.kind === 'output' && !blocks.some((r) => r.expected === b));
      expect(orphans.map((b) => `${file}:${b.line}: an output block must follow a runnable block`)).toEqual([]);
    });
  }

  // TypeScript readers copy the ts blocks into a typed project: they must type-check too (strict,
  // NodeNext, against the built package's .d.ts), not only run under tsx, which strips types.
  const tsBlocks = blocksByFile.flatMap(({ blocks }) => blocks.filter((b) => b.kind === 'ts'));
  it.concurrent(`the ${tsBlocks.length} ts blocks type-check (tsc --noEmit --strict)`, async () => {
    await withSlot(async () => {
      const box = makeSandbox();
      sandboxes.push(box);
      const dir = join(box, '.typecheck');
      mkdirSync(dir);
      const names = new Map<string, Block>();
      for (const block of tsBlocks) {
        const name = `${block.file.replace(/[^a-zA-Z0-9]+/g, '-')}-${block.line}.ts`;
        names.set(name, block);
        writeFileSync(join(dir, name), block.code);
      }
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'],
          types: ['node'], strict: true, noEmit: true, skipLibCheck: true,
        },
        include: ['*.ts'],
      }));
      const run = await runCommand([process.execPath, join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], box);
      // Name each error by its page and line, not by the temporary file.
      const errors = run.stdout.replace(/^([\w./-]+\.ts)\((\d+),(\d+)\)/gm, (whole, name: string, line: string) => {
        const block = names.get(name.replace(/^.*\//, ''));
        return block ? `${block.file}:${block.line + Number(line)}` : whole;
      });
      expect(run.code, `ts blocks that do not type-check:\n${errors}${run.stderr}`).toBe(0);
    });
  });

  // One test per page: its blocks run in order in one sandbox (a block may use what an earlier one
  // wrote); pages run side by side (it.concurrent, in one suite), at most RUN_SLOTS at a time.
  for (const { file, blocks } of blocksByFile) {
    const runnable = blocks.filter((b) => ['ts', 'js', 'sh'].includes(b.kind));
    if (runnable.length === 0) continue;
    const lines = runnable.map((b) => b.line).join(', ');
    it.concurrent(`${file}: the blocks at lines ${lines} run in order${runnable.some((b) => b.expected) ? ' and print their output blocks' : ''}`, async (context) => {
      // Skipped with one line, or failed under CI=true (test/helpers/requirement.ts).
      for (const t of missingTools(runnable)) {
        skipTestWithout(context, { what: t.tool, missing: `${file}: its shell blocks need ${t.tool}, which is not installed`, fix: t.install });
      }
      await withSlot(async () => {
        const box = makeSandbox();
        sandboxes.push(box);
        for (const block of runnable) {
          const run = await runBlock(block, box, blocks.indexOf(block));
          const where = `${file}:${block.line}`;
          const report = `${where} (sandbox ${box})\n--- code\n${block.code}--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;
          expect(run.timedOut, `${where} ran past ${BLOCK_TIMEOUT_MS / 1000} s\n${report}`).toBe(false);
          expect(run.code, `${where} exited with ${run.code ?? run.signal}\n${report}`).toBe(0);
          if (block.expected) {
            expect(missingLines(block.expected.code, run.stdout), `${where}: lines of the output block at ${file}:${block.expected.line} not printed\n${report}`).toEqual([]);
          }
        }
      });
    });
  }
});

describe('docs/cli.md covers the CLI', () => {
  const help = (args: string[]) =>
    new Promise<string>((done, fail) => {
      const child = spawn(process.execPath, [CLI, ...args, '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`kmed ${args.join(' ')} --help exited ${code}`))));
    });

  it.concurrent('names every subcommand and every option of `kmed <command> --help`', async () => {
    const doc = readFileSync('docs/cli.md', 'utf8');
    const top = await help([]);
    const commands = [...top.split('Commands:')[1].matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(5);
    const helps = await Promise.all(commands.map((command) => help([command])));
    const missing: string[] = [];
    for (const [c, command] of commands.entries()) {
      // The command's section: from its heading to the next `## ` heading.
      const start = doc.indexOf(`## \`kmed ${command}`);
      if (start < 0) {
        missing.push(`no "## \`kmed ${command}" section`);
        continue;
      }
      const next = doc.indexOf('\n## ', start + 1);
      const section = doc.slice(start, next < 0 ? undefined : next);
      const options = [...helps[c].matchAll(/^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]);
      for (const option of new Set(options)) {
        if (option !== '--help' && !section.includes(option)) missing.push(`kmed ${command} ${option}`);
      }
    }
    expect(missing, 'add these to docs/cli.md').toEqual([]);
  });
});
