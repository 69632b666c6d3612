// The product commands as a user runs them (node dist/cli/main.js, so `npm run build` first; `npm
// test` does it in pretest), with the tiny encoders: similarity, index over passages.txt, search
// with a query from queries.txt (tables and --json), an index interrupted by Ctrl-C and resumed to
// the same bytes, verify exiting 1 with its table for models that are not the card's, and every
// user error as one `kmed: ...` line with a non-zero exit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderScreen } from './helpers/terminal-screen.js';
import { waitFor } from './helpers/wait-for.js';
import { skipWithout, tool } from './helpers/requirement.js';

const CLI = 'dist/cli/main.js';
const Q = 'test/fixtures/tiny-question';
const C = 'test/fixtures/tiny-context';
const MODELS = ['--question-model', Q, '--context-model', C];
const golden = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')) as {
  texts: string[];
  seed_similarity_f64: number[];
  retrieval: { scores_f64: number[][] };
};
const queries = readFileSync('test/fixtures/corpus/queries.txt', 'utf8').split('\n').filter((l) => l !== '');
const passages = readFileSync('test/fixtures/corpus/passages.txt', 'utf8').split('\n').filter((l) => l !== '');

const dir = mkdtempSync(join(tmpdir(), 'kmed-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kmed(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit code 1 and exactly one line on stderr, starting 'kmed: ', matching `mention`. */
function expectOneLineError(result: ReturnType<typeof kmed>, mention: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kmed: /);
  expect(lines[0]).toMatch(mention);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
});

describe('kmed similarity', () => {
  it('prints the card-style table and, with --json, the golden seed similarities', () => {
    const args = ['similarity', ...MODELS, '--query', golden.texts[0], ...golden.texts.slice(1, 4).flatMap((p) => ['--passage', p])];
    const json = kmed(...args, '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { query: string; scores: { passage: string; score: number }[] };
    expect(parsed.query).toBe(golden.texts[0]);
    parsed.scores.forEach((s, i) => {
      expect(s.passage).toBe(golden.texts[1 + i]);
      expect(Math.abs(s.score - golden.seed_similarity_f64[i])).toBeLessThanOrEqual(1e-5);
    });
    const table = kmed(...args);
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toBe(`query: ${golden.texts[0]}`);
    expect(rows).toHaveLength(5);
    rows.slice(2).forEach((row, i) => expect(row).toContain(golden.seed_similarity_f64[i].toFixed(4)));
  });
});

describe('kmed index + kmed search', () => {
  const index = join(dir, 'passages.kidx');
  const topTen = (q: number) =>
    golden.retrieval.scores_f64[q].map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 10).map(([, i]) => i);

  it('indexes passages.txt and returns the golden top-10 for queries from queries.txt', () => {
    const built = kmed('index', ...MODELS, '--corpus', 'test/fixtures/corpus/passages.txt', '--out', index, '--batch-size', '8');
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/40 passages × 64 dims/);
    expect(built.stderr).toMatch(/done, 40 passages/); // the progress display ran (plain lines off a TTY)
    for (const q of [1, 17, 39]) {
      const r = kmed('search', ...MODELS, '--index', index, '--query', queries[q], '--json');
      expect(r.code, r.stderr).toBe(0);
      const hits = JSON.parse(r.stdout) as { id: string; score: number; text: string }[];
      // .txt ids are line numbers: passage p is line p + 1.
      expect(hits.map((h) => Number(h.id) - 1)).toEqual(topTen(q));
      hits.forEach((h) => {
        expect(h.text).toBe(passages[Number(h.id) - 1]);
        expect(Math.abs(h.score - golden.retrieval.scores_f64[q][Number(h.id) - 1])).toBeLessThanOrEqual(1e-5);
      });
      expect(Object.keys(hits[0])).toEqual(['id', 'score', 'text']);
    }
    const table = kmed('search', ...MODELS, '--index', index, '--query', queries[0], '-k', '3');
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows).toHaveLength(5); // query line, header, 3 hits
    expect(rows[2]).toMatch(new RegExp(`^1\\s+\\d\\.\\d{4}\\s+${topTen(0)[0] + 1}\\s`));
  });

  it('resumes an index interrupted by Ctrl-C to the same bytes as an uninterrupted run', async () => {
    // 200 lines of corpus.txt in batches of one: long enough (about a second) to interrupt.
    const corpus = join(dir, 'corpus-200.txt');
    writeFileSync(corpus, readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').slice(0, 200).join('\n') + '\n');
    const whole = join(dir, 'whole.kidx');
    const args = (out: string) => [CLI, 'index', ...MODELS, '--corpus', corpus, '--out', out, '--batch-size', '1'];
    expect(spawnSync(process.execPath, args(whole)).status).toBe(0);

    const out = join(dir, 'interrupted.kidx');
    const child = spawn(process.execPath, args(out), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // Interrupt as soon as the first checkpoint is on disk.
    const checkpoint = join(`${out}.partial`, 'checkpoint.json');
    await waitFor(() => existsSync(checkpoint) || child.exitCode !== null, 'the first checkpoint');
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/kmed: interrupted after (\d+) passages; progress is saved in .*interrupted\.kidx\.partial\/: rerun the same command/);
    const doneBefore = Number(/interrupted after (\d+)/.exec(stderr)![1]);
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(200);
    expect(existsSync(out)).toBe(false);

    const resumed = spawnSync(process.execPath, args(out), { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming ${out}.partial/ after ${doneBefore} passages`);
    expect(resumed.stdout).toMatch(new RegExp(`200 passages .* resumed after ${doneBefore}`));
    expect(readFileSync(out).equals(readFileSync(whole))).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('kill -INT without a terminal stops at once: the batch in flight is abandoned, the checkpoint stays, a rerun gives the same bytes', async () => {
    // Batches of 200 of the 603 passages: one takes ~0.5 s or more on the tiny model, so the signal,
    // sent as soon as the first checkpoint is on disk, lands while the second batch is embedded.
    const corpus = 'test/fixtures/corpus/corpus.txt';
    const args = (out: string) => [CLI, 'index', ...MODELS, '--corpus', corpus, '--out', out, '--batch-size', '200'];
    const whole = join(dir, 'whole-603.kidx');
    expect(spawnSync(process.execPath, args(whole)).status).toBe(0);
    const out = join(dir, 'killed.kidx');
    const child = spawn(process.execPath, args(out), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = 0;
    let lineMs = NaN;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (Number.isNaN(lineMs) && stderr.includes('progress is saved')) lineMs = Date.now() - sent;
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const checkpoint = join(`${out}.partial`, 'checkpoint.json');
    for (let i = 0; i < 6000 && !existsSync(checkpoint) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 5));
    sent = Date.now();
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    const ms = Date.now() - sent;
    console.log(`kmed index, kill -INT during a 200-passage batch (tiny model): the saved line after ${lineMs} ms, exit 130 after ${ms} ms`);
    // Not "after 400": the second batch was not finished first.
    expect(stderr).toMatch(/kmed: interrupted after 200 passages; progress is saved in .*killed\.kidx\.partial\/: rerun the same command/);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^kmed: interrupted after 200 passages/);
    // Well under a second to the line; the exit (the encoder thread ended) follows it.
    expect(lineMs).toBeLessThan(1000);
    expect(ms).toBeLessThan(2000);
    const resumed = spawnSync(process.execPath, args(out), { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming ${out}.partial/ after 200 passages`);
    expect(readFileSync(out).equals(readFileSync(whole))).toBe(true);
  });

  // `script` (util-linux) gives the command a pseudo-terminal.
  it.skipIf(skipWithout(tool('script', ['script', '--version'], 'apt-get install -y bsdutils')))('Ctrl-C on a terminal: the bar\'s last state, then the one "progress is saved" line, and nothing drawn after it', async () => {
    const out = join(dir, 'tty.kidx');
    const cmd = [process.execPath, ...[CLI, 'index', ...MODELS, '--corpus', 'test/fixtures/corpus/corpus.txt', '--out', out, '--batch-size', '8']].map((a) => `'${a}'`).join(' ');
    // `script` runs the command on a pseudo-terminal; a 0x03 written to it is the terminal's Ctrl-C.
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const checkpoint = join(`${out}.partial`, 'checkpoint.json');
    for (let i = 0; i < 6000 && !existsSync(checkpoint) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100)); // a few bars drawn
    child.stdin.write('\x03');
    expect(await exited, screen).toBe(130);
    // What the user sees at the end, cursor moves and redraws applied: the bar in its last state,
    // then the one line, last.
    const lines = renderScreen(screen);
    console.log(`the terminal after Ctrl-C:\n  ${lines.join('\n  ')}`);
    const last = lines.at(-1)!;
    expect(last, lines.join('\n')).toMatch(/^kmed: interrupted after (\d+) passages; progress is saved in .*tty\.kidx\.partial\/: rerun the same command to continue$/);
    expect(lines.filter((l) => l.startsWith('kmed: ')), 'one kmed line').toEqual([last]);
    const count = /after (\d+) passages/.exec(last)![1];
    expect(lines.at(-2), 'the bar, just above the line, at the count the line states').toMatch(new RegExp(`\\| ${count} passages/603 passages \\|`));
    expect(lines.filter((l) => /passages\/603 passages/.test(l)), 'one bar on screen').toHaveLength(1);
    // Nothing is written after the line (no late frame, no cursor move).
    expect(screen.slice(screen.indexOf(last) + last.length)).toBe('\r\n');
  });

  it('refuses an index made with another context model or dimension', () => {
    const foreign = join(dir, 'foreign.kidx');
    expect(kmed('index', '--question-model', Q, '--context-model', Q, '--corpus', 'test/fixtures/corpus/passages.txt', '--out', foreign).code).toBe(0);
    expectOneLineError(kmed('search', ...MODELS, '--index', foreign, '--query', 'x'),
      /foreign\.kidx was built for context model tiny-question \(\w+\) but this context model is tiny-context/);
    const odd = join(dir, 'odd.kidx');
    const F = 'test/fixtures/tiny-odd-f16';
    expect(kmed('index', '--question-model', F, '--context-model', F, '--corpus', 'test/fixtures/corpus/passages.txt', '--out', odd).code).toBe(0);
    expectOneLineError(kmed('search', ...MODELS, '--index', odd, '--query', 'x'), /holds 36-dimensional vectors .* gives 64/);
  });
});

describe('kmed verify', () => {
  it('prints our similarities beside the card and exits 1 when they are off (the tiny models are not the card\'s)', () => {
    const r = kmed('verify', ...MODELS);
    expect(r.code).toBe(1);
    for (const [i, card] of ['0.2674', '0.0416', '0.0476'].entries()) {
      const row = r.stdout.split('\n').find((l) => l.startsWith(`${i + 1} `));
      expect(row).toBeDefined();
      const [, ours, shown] = row!.trim().split(/\s+/);
      expect(Math.abs(Number(ours) - golden.seed_similarity_f64[i])).toBeLessThanOrEqual(1e-5);
      expect(shown).toBe(card);
      expect(row).toMatch(/\bNO\b/);
    }
    expectOneLineError(r, /verify failed: 3 of 3 similarities differ from the model card by more than 0\.0005/);
    const json = kmed('verify', ...MODELS, '--json');
    const parsed = JSON.parse(json.stdout) as { ok: boolean; results: { ours: number }[] };
    expect(parsed.ok).toBe(false);
    expect(Math.abs(parsed.results[0].ours - golden.seed_similarity_f64[0])).toBeLessThanOrEqual(1e-5);
  });
});

describe('user errors: one clear line, non-zero exit, nothing lost', () => {
  it('missing models name kmed download; a mismatched pair names both dimensions', () => {
    const missing = join(dir, 'no-weights');
    expectOneLineError(kmed('similarity', '--question-model', 'snumin44/medical-biencoder-ko-bert-question', '--context-model', C, '--query', 'a', '--passage', 'b'),
      /question model folder weights\/medical-biencoder-ko-bert-question not found: run `kmed download/);
    expectOneLineError(kmed('verify', '--question-model', missing, '--context-model', C), /question model folder .*no-weights not found/);
    expectOneLineError(kmed('similarity', '--question-model', Q, '--context-model', 'test/fixtures/tiny-odd-f16', '--query', 'a', '--passage', 'b'),
      /gives 64-dimensional vectors but the context encoder \(tiny-odd-f16\) gives 36/);
    const noWeights = join(dir, 'half-model');
    spawnSync('mkdir', ['-p', noWeights]);
    writeFileSync(join(noWeights, 'config.json'), readFileSync(join(Q, 'config.json')));
    expectOneLineError(kmed('similarity', '--question-model', noWeights, '--context-model', C, '--query', 'a', '--passage', 'b'), /has no model\.safetensors/);
  });

  it('empty corpus, unreadable line, missing corpus or index, damaged index, existing output', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n   \n');
    expectOneLineError(kmed('index', ...MODELS, '--corpus', empty, '--out', join(dir, 'e.kidx')), /empty\.txt has no passages/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"id": 1, "text": "fine"}\n{"id": 2, "text": ');
    expectOneLineError(kmed('index', ...MODELS, '--corpus', bad, '--out', join(dir, 'b.kidx')), /bad\.jsonl line 2: not valid JSON/);
    expectOneLineError(kmed('index', ...MODELS, '--corpus', join(dir, 'none.txt'), '--out', join(dir, 'n.kidx')), /corpus .*none\.txt not found/);
    expect(existsSync(join(dir, 'e.kidx.partial')) || existsSync(join(dir, 'b.kidx.partial'))).toBe(false);

    const index = join(dir, 'passages.kidx');
    const before = readFileSync(index);
    expectOneLineError(kmed('index', ...MODELS, '--corpus', 'test/fixtures/corpus/passages.txt', '--out', index), /already exists: pass --force/);
    expect(readFileSync(index).equals(before)).toBe(true);

    expectOneLineError(kmed('search', ...MODELS, '--index', join(dir, 'none.kidx'), '--query', 'x'), /none\.kidx not found: build one with kmed index/);
    const cut = join(dir, 'cut.kidx');
    writeFileSync(cut, before.subarray(0, before.length - 100));
    expectOneLineError(kmed('search', ...MODELS, '--index', cut, '--query', 'x'), /cut\.kidx: header at offset 96 says the file is \d+ bytes but it is \d+ \(truncated/);
    writeFileSync(cut, Buffer.from('not an index at all, just some bytes to fill the header size ...'));
    expectOneLineError(kmed('search', ...MODELS, '--index', cut, '--query', 'x'), /not a kmed index/);
  });

  it('index outputs: a directory, a stray INDEX.partial file, the corpus itself (also via symlink), a held lock; search: an empty query; verify-index', () => {
    const corpus = join(dir, 'self.txt');
    writeFileSync(corpus, 'one passage\nanother passage\n');
    const outDir = join(dir, 'out-dir');
    mkdirSync(outDir, { recursive: true });
    expectOneLineError(kmed('index', ...MODELS, '--corpus', corpus, '--out', outDir), /out-dir is a directory: give the path of the index file/);
    expectOneLineError(kmed('index', ...MODELS, '--corpus', corpus, '--out', outDir, '--force'), /is a directory/);
    const strayOut = join(dir, 'stray.kidx');
    writeFileSync(`${strayOut}.partial`, 'a file, not a folder');
    expectOneLineError(kmed('index', ...MODELS, '--corpus', corpus, '--out', strayOut), /stray\.kidx\.partial is a file/);
    expectOneLineError(kmed('index', ...MODELS, '--corpus', corpus, '--out', corpus, '--force'), /is the corpus .*self\.txt itself/);
    const link = join(dir, 'link-to-self.txt');
    symlinkSync(corpus, link);
    expectOneLineError(kmed('index', ...MODELS, '--corpus', link, '--out', corpus, '--force'), /is the corpus/);
    expectOneLineError(kmed('index', ...MODELS, '--corpus', corpus, '--out', link, '--force'), /is the corpus/);
    expect(readFileSync(corpus, 'utf8')).toBe('one passage\nanother passage\n');
    // A pair of different dimensions is refused before any passage is embedded (no partial left).
    const pair = join(dir, 'pair.kidx');
    expectOneLineError(kmed('index', '--question-model', Q, '--context-model', 'test/fixtures/tiny-odd-f16', '--corpus', corpus, '--out', pair),
      /question model .*tiny-question gives 64-dimensional vectors but the context model .*tiny-odd-f16 gives 36/);
    expect(existsSync(`${pair}.partial`) || existsSync(pair)).toBe(false);
    // A live holder (this test process) on this host: refused in one line, the lock left alone.
    const locked = join(dir, 'locked.kidx');
    writeFileSync(`${locked}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), started: 'now' }));
    expectOneLineError(kmed('index', ...MODELS, '--corpus', corpus, '--out', locked), new RegExp(`being built by process ${process.pid} on .*lock`));
    expect(existsSync(`${locked}.lock`)).toBe(true);
    // A dead holder on this host: stale, taken over, and removed when the build ends.
    writeFileSync(`${locked}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: 'then' }));
    const took = kmed('index', ...MODELS, '--corpus', corpus, '--out', locked);
    expect(took.code, took.stderr).toBe(0);
    expect(existsSync(`${locked}.lock`)).toBe(false);

    expectOneLineError(kmed('search', ...MODELS, '--index', locked, '--query', '   '), /query is empty/);
    const ok = kmed('verify-index', locked);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/locked\.kidx: ok, 2 passages × 64 dims, \d+ bytes, .*every checksum matches/);
    const bytes = readFileSync(locked);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 30] ^= 0x10; // a string byte
    const bad = join(dir, 'flipped.kidx');
    writeFileSync(bad, flipped);
    expectOneLineError(kmed('verify-index', bad), /flipped\.kidx: (strings block 0 .*fails its checksum \(xxHash32\)|the checksum table)/);
    expectOneLineError(kmed('search', ...MODELS, '--index', bad, '--query', 'passage'), /flipped\.kidx: .*fails its checksum \(xxHash32\)/);
    const old = Buffer.from(bytes);
    old.writeUInt32LE(1, 8);
    writeFileSync(bad, old);
    expectOneLineError(kmed('verify-index', bad), /format version 1 was written by an older kmed .*rebuild it with `kmed index --corpus CORPUS --out .*flipped\.kidx --force`/);
    old.writeUInt32LE(2, 8);
    writeFileSync(bad, old);
    expectOneLineError(kmed('search', ...MODELS, '--index', bad, '--query', 'passage'), /format version 2 was written by an older kmed .*rebuild it with `kmed index --corpus CORPUS --out .*flipped\.kidx --force`/);
  });

  it('times kmed index from before the first batch: the closing rate is passages over the real time', () => {
    // One batch holds the whole corpus: a clock started after the first batch (the old bug) would
    // print "in 0.0s" for all 120 passages.
    const corpus = join(dir, 'clock.txt');
    writeFileSync(corpus, readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, 120).join('\n') + '\n');
    const r = kmed('index', ...MODELS, '--corpus', corpus, '--out', join(dir, 'clock.kidx'), '--batch-size', '120');
    expect(r.code, r.stderr).toBe(0);
    const done = /clock\.txt: done, 120 passages in ([\d.]+)s, ([\d,.]+) passages\/s/.exec(r.stderr);
    expect(done, r.stderr).not.toBeNull();
    const seconds = Number(done![1]);
    const rate = Number(done![2].replace(/,/g, ''));
    expect(seconds).toBeGreaterThan(0);
    // The same figure, up to rounding: the duration is printed to 0.1 s below 10 s (so the real one lies
    // within ±0.05 s of it, a wide range of rates when the run is short) and the rate to a whole one.
    const half = seconds < 10 ? 0.05 : 0.5; // formatDuration: 0.1 s below 10 s, whole seconds above
    expect(rate).toBeGreaterThanOrEqual(120 / (seconds + half) - 0.5);
    expect(rate).toBeLessThanOrEqual(120 / (seconds - half) + 0.5);
    const total = Number(/\(([\d.]+) s\)/.exec(r.stdout)![1]);
    expect(seconds).toBeLessThanOrEqual(total + 0.05);
  });
});
