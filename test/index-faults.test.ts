// Fault tests of the index file and its build (issue 10 item 8), each printing its counts:
// - an index mutation fuzzer: single-bit flips in every region (header, meta, vectors, offsets,
//   strings, checksum table) and truncations; every mutant must be refused by open/verify with an
//   IndexError, and by the search path (open + openSearchSession + search) before any result;
// - flipped bits and torn files in `INDEX.partial/` refused on resume, never carried in; a resume
//   with another dtype or question model refused;
// - two `kmed index` processes on one --out: exactly one wins, the other is one `kmed:` line, and
//   the published file is byte-identical to a clean build;
// - `kill -9` of `kmed index` once its checkpoint holds a seeded number of finished passages, three
//   times, each rerun resuming after exactly those passages; the last one byte-identical to a clean build.
// Seeded (KMED_FAULT_SEED overrides) and bounded in time; the CLI parts use the tiny models.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSearchSession, searchSession } from '../src/bi-encoder.js';
import { buildIndex, partialPath, type IndexBuildOptions } from '../src/node/indexing/index-builder.js';
import { IndexError, serializeIndex, VectorIndex, type IndexMeta } from '../src/search/vector-index.js';
import { fakeVector as fakeVectorOf } from './helpers/fake-encoder.js';
import { waitFor } from './helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED = Number(process.env.KMED_FAULT_SEED ?? 20261130);
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

const D = 16;
const meta: IndexMeta = {
  context_model: { name: 'ctx', fingerprint: 'sha256:' + 'a'.repeat(64) },
  question_model: { name: 'q', fingerprint: 'sha256:' + 'b'.repeat(64) },
  pooling: 'pooler',
  max_length: 512,
  dtype: 'f32',
};

const fakeVector = (text: string) => fakeVectorOf(text, D);

describe('index mutation fuzzer', () => {
  // 3000 passages × 16 dims: 3 vector blocks, 1 offsets block, 2 string blocks of 64 KiB.
  const n = 3000;
  const texts = Array.from({ length: n }, (_, i) => `passage ${i} 고혈압 환자의 ${'혈압 '.repeat(i % 7)}관리`);
  const good = serializeIndex({ meta, dimension: D, vectors: texts.map(fakeVector), ids: texts.map((_, i) => `doc-${i}`), texts });
  const layout = VectorIndex.fromBytes(good).layout;
  const regions: Array<[string, number, number]> = [
    ['header', 0, 128],
    ['meta', 128, layout.vectorsOffset],
    ['vectors', layout.vectorsOffset, layout.normsOffset],
    ['norms', layout.normsOffset, layout.offsetsOffset],
    ['offsets', layout.offsetsOffset, layout.stringsOffset],
    ['strings', layout.stringsOffset, layout.checksumsOffset],
    ['checksum table', layout.checksumsOffset, layout.fileLength],
  ];

  /** 'open' | 'verify' | 'search': where the mutant was refused; 'accepted' when it never was. */
  async function judge(bytes: Uint8Array): Promise<{ verify: string; search: string }> {
    let verify = 'accepted';
    try {
      VectorIndex.fromBytes(bytes, 'mutant.kidx').verify();
    } catch (error) {
      if (!(error instanceof IndexError)) throw error;
      verify = (error as IndexError).code;
    }
    // Refused by the search path in both modes: resident (the reference kernels) and streaming
    // (the wasm kernels, rows verified in the heap as they are read).
    const refusals: string[] = [];
    for (const options of [{ kind: 'reference' as const, mode: 'resident' as const }, { mode: 'streaming' as const, windowBytes: 65536 }]) {
      let outcome = 'accepted';
      try {
        const index = VectorIndex.fromBytes(bytes, 'mutant.kidx');
        const session = await openSearchSession(index, options);
        try {
          const hits = searchSession(session, index, fakeVector('질문'), 3);
          if (hits.length === 0) outcome = 'no results';
        } finally {
          session.dispose();
        }
      } catch (error) {
        if (!(error instanceof IndexError)) throw error;
        outcome = 'refused';
      }
      refusals.push(outcome);
    }
    const search = refusals.every((r) => r === 'refused') ? 'refused' : refusals.join('/');
    return { verify, search };
  }

  it('refuses every single-bit flip in every region, both by verify and before any search result', async () => {
    const rand = rng(SEED);
    const rows: string[] = [];
    let total = 0;
    for (const [name, from, to] of regions) {
      // Every bit of the header; a seeded sample of 60 bits elsewhere (the whole region when smaller).
      const positions: number[] = [];
      const bits = (to - from) * 8;
      if (name === 'header' || bits <= 60) for (let b = 0; b < bits; b++) positions.push(from * 8 + b);
      else for (let k = 0; k < 60; k++) positions.push(from * 8 + Math.floor(rand() * bits));
      const codes = new Map<string, number>();
      let refusedByVerify = 0;
      let refusedBySearch = 0;
      for (const bit of positions) {
        const b = good.slice();
        b[bit >> 3] ^= 1 << (bit & 7);
        const { verify, search } = await judge(b);
        if (verify !== 'accepted') refusedByVerify++;
        if (search === 'refused') refusedBySearch++;
        codes.set(verify, (codes.get(verify) ?? 0) + 1);
      }
      total += positions.length;
      rows.push(`| ${name} | ${positions.length} | ${refusedByVerify} | ${refusedBySearch} | ${[...codes].map(([c, k]) => `${c} ${k}`).join(', ')} |`);
      expect(refusedByVerify, `${name}: flips accepted by verify`).toBe(positions.length);
      expect(refusedBySearch, `${name}: flips that let a search return results`).toBe(positions.length);
    }
    console.log(`index bit-flip fuzz (seed ${SEED}), ${total} mutants:\n| region | flips | refused by open/verify | refused before a search result | codes |\n|---|---|---|---|---|\n${rows.join('\n')}`);
  });

  it('refuses every truncation (each length up to 256 bytes, section edges, and a seeded sample)', async () => {
    const rand = rng(SEED + 1);
    const cuts = new Set<number>();
    for (let c = 0; c <= 256; c++) cuts.add(c);
    for (const [, from, to] of regions) for (const c of [from - 1, from, from + 1, to - 1]) if (c >= 0 && c < good.length) cuts.add(c);
    for (let k = 0; k < 100; k++) cuts.add(Math.floor(rand() * good.length));
    let refused = 0;
    const codes = new Map<string, number>();
    for (const cut of cuts) {
      const { verify, search } = await judge(good.subarray(0, cut));
      if (verify !== 'accepted' && search === 'refused') refused++;
      codes.set(verify, (codes.get(verify) ?? 0) + 1);
    }
    console.log(`index truncation fuzz: ${refused}/${cuts.size} truncated files refused (${[...codes].map(([c, k]) => `${c} ${k}`).join(', ')})`);
    expect(refused).toBe(cuts.size);
  });
});

describe('INDEX.partial/ damage and settings on resume', () => {
  const corpusLines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, 60);
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, corpusLines.join('\n') + '\n');
  const base = (out: string, extra: Partial<IndexBuildOptions> = {}): IndexBuildOptions => ({
    corpus, out, embed: async (t) => t.map(fakeVector), dimension: D, meta, batchSize: 4, ...extra,
  });

  /** Build `out` up to 24 passages and stop there, leaving its .partial/. */
  async function interruptedBuild(out: string): Promise<void> {
    const controller = new AbortController();
    await expect(buildIndex(base(out, { signal: controller.signal, onBatch: ({ done }) => done >= 24 && controller.abort() })))
      .rejects.toMatchObject({ code: 'INDEX_INTERRUPTED' });
  }

  it('refuses a flipped bit in any partial file or the checkpoint, and resumes after nothing is damaged', async () => {
    const reference = join(dir, 'reference.kidx');
    await buildIndex(base(reference));
    const refBytes = readFileSync(reference);
    const rand = rng(SEED + 2);
    const out = join(dir, 'partial.kidx');
    await interruptedBuild(out);
    const partial = partialPath(out);
    const counts: string[] = [];
    for (const file of ['vectors.f32', 'offsets.u64', 'strings.bin', 'checkpoint.json']) {
      const path = join(partial, file);
      const original = readFileSync(path);
      const flips = 12;
      let refused = 0;
      for (let k = 0; k < flips; k++) {
        const b = Buffer.from(original);
        const bit = Math.floor(rand() * b.length * 8);
        b[bit >> 3] ^= 1 << (bit & 7);
        writeFileSync(path, b);
        try {
          await buildIndex(base(out));
          throw new Error(`a flipped bit ${bit} in ${file} was accepted`);
        } catch (error) {
          expect((error as { code?: string }).code, String(error)).toMatch(/^INDEX_(PARTIAL_CORRUPT|RESUME_MISMATCH)$/);
          refused++;
        }
        expect(existsSync(out)).toBe(false);
      }
      writeFileSync(path, original);
      counts.push(`${file} ${refused}/${flips}`);
    }
    console.log(`partial-file bit flips refused on resume: ${counts.join(', ')}`);
    // Undamaged, the same partial resumes to the clean bytes.
    const result = await buildIndex(base(out));
    expect(result.resumedFrom).toBe(24);
    expect(readFileSync(out).equals(refBytes)).toBe(true);
  });

  it('refuses to resume with another dtype, question model, pooling or max length', async () => {
    const out = join(dir, 'settings.kidx');
    await interruptedBuild(out);
    const changes: Array<[Partial<IndexMeta>, RegExp]> = [
      [{ dtype: 'int8' }, /dtype f32 → int8/],
      [{ question_model: { name: 'q2', fingerprint: 'sha256:' + 'c'.repeat(64) } }, /question model q → q2/],
      [{ question_model: null }, /question model q → \(none\)/],
      [{ pooling: 'mean' }, /pooling pooler → mean/],
      [{ max_length: 128 }, /max length 512 → 128/],
    ];
    for (const [change, message] of changes) {
      await expect(buildIndex(base(out, { meta: { ...meta, ...change } }))).rejects.toMatchObject({ code: 'INDEX_RESUME_MISMATCH', message: expect.stringMatching(message) });
    }
    await expect(buildIndex(base(out, { shard: { index: 0, of: 2 } }))).rejects.toMatchObject({ code: 'INDEX_RESUME_MISMATCH', message: expect.stringMatching(/shard none → 0\/2/) });
    console.log(`resume with changed settings: ${changes.length + 1}/${changes.length + 1} refused`);
    expect((await buildIndex(base(out))).resumedFrom).toBe(24);
  });
});

const CLI = 'dist/cli/main.js';
const MODELS = ['--question-model', 'test/fixtures/tiny-question', '--context-model', 'test/fixtures/tiny-context'];

describe('kmed index processes: concurrent builds and kill -9', () => {
  const lines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter((l) => l.trim() !== '').slice(0, 120);
  const corpus = join(dir, 'cli-corpus.txt');
  writeFileSync(corpus, lines.join('\n') + '\n');
  const args = (out: string, batch = '2') => [CLI, 'index', ...MODELS, '--corpus', corpus, '--out', out, '--batch-size', batch];
  let clean: Buffer;

  function run(out: string): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args(out), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it('builds the clean reference', () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
    const r = spawnSync(process.execPath, args(join(dir, 'clean.kidx'), '8'), { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    clean = readFileSync(join(dir, 'clean.kidx'));
  });

  it('two builds of one --out at once: exactly one wins, the other is one kmed: line, the file is the clean bytes', async () => {
    const trials = 3;
    const outcomes: string[] = [];
    for (let t = 0; t < trials; t++) {
      const out = join(dir, `race-${t}.kidx`);
      const [a, b] = await Promise.all([run(out), run(out)]);
      const wins = [a, b].filter((r) => r.code === 0);
      const loser = [a, b].find((r) => r.code !== 0);
      expect(wins, `${a.stderr}\n${b.stderr}`).toHaveLength(1);
      expect(loser!.code).toBe(1);
      const errorLines = loser!.stderr.trim().split('\n').filter((l) => l.startsWith('kmed:'));
      expect(errorLines, loser!.stderr).toHaveLength(1);
      expect(errorLines[0]).toMatch(/being built by (process \d+ on \S+|another process) \(lock|already exists/);
      expect(readFileSync(out).equals(clean)).toBe(true);
      expect(existsSync(`${out}.lock`) || existsSync(partialPath(out))).toBe(false);
      outcomes.push(errorLines[0].includes('being built') ? 'locked' : 'exists');
    }
    console.log(`concurrent builds: ${trials}/${trials} trials with exactly one winner and clean bytes; loser saw: ${outcomes.join(', ')}`);
  });

  it('kill -9 after finished batches, then resume: each run starts where the last checkpoint ended, byte-identical to the clean build', async () => {
    // Batches of one (a checkpoint per passage). Each run is killed once the checkpoint on disk
    // holds at least its target (seeded, increasing), watched on the file system; the next run must
    // say it resumes after exactly the passages that checkpoint holds, and so must the last one.
    const rand = rng(SEED + 3);
    const out = join(dir, 'killed.kidx');
    const partial = partialPath(out);
    const checkpointCount = (): number => {
      try {
        return JSON.parse(readFileSync(join(partial, 'checkpoint.json'), 'utf8')).count;
      } catch {
        return 0; // not written yet (or being replaced: rename is atomic, so only "not yet")
      }
    };
    const total = lines.length;
    const seen: string[] = [];
    let kept = 0;
    for (const share of [0.15, 0.45, 0.75]) {
      const target = kept + 1 + Math.floor(rand() * share * (total - kept));
      const child = spawn(process.execPath, args(out, '1'), { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const closed = new Promise<number | null>((r) => child.on('close', r));
      let exited = false;
      void closed.then(() => (exited = true));
      await waitFor(() => checkpointCount() >= target || exited, `a checkpoint of ${target} passages`);
      child.kill('SIGKILL');
      const code = await closed;
      expect(code, `the run ended before its checkpoint reached ${target}: ${stderr}`).toBeNull();
      if (kept > 0) expect(stderr, 'the killed run must have resumed').toContain(`kmed: resuming ${partial}/ after ${kept} passages`);
      else expect(stderr).not.toContain('resuming');
      const now = checkpointCount();
      expect(now).toBeGreaterThanOrEqual(target);
      expect(existsSync(out)).toBe(false);
      seen.push(`killed at ${now} (target ${target})`);
      kept = now;
    }
    const r = spawnSync(process.execPath, [...args(out), '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`kmed: resuming ${partial}/ after ${kept} passages`);
    expect(JSON.parse(r.stdout)).toMatchObject({ count: total, resumed_from: kept });
    const identical = readFileSync(out).equals(clean);
    console.log(`kill -9 during kmed index: ${seen.join(', ')} of ${total}; the last run resumed after ${kept}: ${identical ? 'byte-identical' : 'DIFFERENT'}`);
    expect(identical).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('killed.kidx.'))).toEqual([]);
  });
});
