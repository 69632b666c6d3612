// Scale-out indexing (issue 13 items 3-4): N shard processes run through deploy/kmed-shard.sh (the
// recipe the Kubernetes Indexed Job, GNU parallel and Slurm use) and `kmed merge` give the same
// bytes as one `kmed index`; the shards searched without merging give the merged file's top-k;
// merge refuses gaps, overlaps, foreign shards and non-shards; the deploy/ manifest is a valid
// Kubernetes Job (kubernetes-models' schema validation) that runs that script with
// JOB_COMPLETION_INDEX; and the windowed (streaming) search equals the resident exact search.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { openSearchSession, searchSession, searchSessions } from '../src/bi-encoder.js';
import { createBackend } from '../src/kernels/index.js';
import { buildIndex, type IndexBuildOptions } from '../src/node/indexing/index-builder.js';
import { checkShardSet, mergeShards } from '../src/node/indexing/index-merge.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { IndexSearch } from '../src/search/index-search.js';
import { ExactSearch, StreamingSearch } from '../src/search/similarity.js';
import { VectorIndex, type IndexMeta } from '../src/search/vector-index.js';
import { fakeVector as fakeVectorOf } from './helpers/fake-encoder.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-shards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLI = 'dist/cli/main.js';
const MODELS = '--question-model test/fixtures/tiny-question --context-model test/fixtures/tiny-context';
const D = 8;
const meta: IndexMeta = {
  context_model: { name: 'ctx', fingerprint: 'sha256:' + 'a'.repeat(64) },
  question_model: null,
  pooling: 'pooler',
  max_length: 512,
};

const fakeVector = (text: string) => fakeVectorOf(text, D);

const lines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter((l) => l.trim() !== '');

describe('kmed index --shard + kmed merge, as the deploy recipe runs them', () => {
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, lines.slice(0, 90).map((text, i) => JSON.stringify({ id: `n-${i}`, text })).join('\n') + '\n');

  it('N shard processes + merge: byte-identical to one kmed index; the shards searched unmerged give the same top-k', async () => {
    const N = 3;
    const shardsDir = join(dir, 'shards');
    const env = { ...process.env, CORPUS: corpus, SHARDS_DIR: shardsDir, KMED: `${process.execPath} ${CLI}`, KMED_ARGS: `${MODELS} --batch-size 4` };
    const codes = await Promise.all(Array.from({ length: N }, (_, i) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('sh', ['deploy/kmed-shard.sh', String(i), String(N)], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    })));
    for (const c of codes) expect(c.code, c.stderr).toBe(0);
    const shardFiles = readdirSync(shardsDir).filter((f) => f.endsWith('.kidx')).sort().map((f) => join(shardsDir, f));
    expect(shardFiles).toHaveLength(N);

    const single = join(dir, 'single.kidx');
    const built = spawnSync(process.execPath, [CLI, 'index', ...MODELS.split(' '), '--corpus', corpus, '--out', single, '--batch-size', '8'], { encoding: 'utf8', timeout: 120_000 });
    expect(built.status, built.stderr).toBe(0);
    const merged = join(dir, 'merged.kidx');
    const m = spawnSync(process.execPath, [CLI, 'merge', ...[...shardFiles].reverse(), '--out', merged], { encoding: 'utf8', timeout: 60_000 });
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/90 passages from 3 shards/);
    const cmp = spawnSync('cmp', [single, merged], { encoding: 'utf8' });
    console.log(`shard/merge: ${N} shard processes (deploy/kmed-shard.sh) + kmed merge vs one kmed index: cmp exit ${cmp.status} ${cmp.stdout.trim() || '(identical)'}`);
    expect(cmp.status).toBe(0);

    for (const query of ['고혈압 약 복용', 'chest pain', '소아 발열']) {
      const search = (...indexes: string[]) => spawnSync(process.execPath, [CLI, 'search', ...MODELS.split(' '), ...indexes.flatMap((x) => ['--index', x]), '--query', query, '-k', '7', '--json'], { encoding: 'utf8', timeout: 60_000 });
      const whole = search(merged);
      const parts = search(shardFiles[2], shardFiles[0], shardFiles[1]);
      expect(whole.status, whole.stderr).toBe(0);
      expect(parts.status, parts.stderr).toBe(0);
      expect(parts.stdout).toBe(whole.stdout);
    }
    const missing = spawnSync(process.execPath, [CLI, 'merge', shardFiles[0], shardFiles[2], '--out', join(dir, 'gap.kidx')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^kmed: shard 1 of 3 missing/);
  });
});

describe('merge checks and library search over shards', () => {
  const corpus = join(dir, 'lib.txt');
  writeFileSync(corpus, lines.slice(0, 50).join('\n') + '\n');
  const base = (out: string, extra: Partial<IndexBuildOptions> = {}): IndexBuildOptions => ({
    corpus, out, embed: async (t) => t.map(fakeVector), dimension: D, meta, batchSize: 3, ...extra,
  });

  it('merges 1, 4 and 7 shards (7 > passages/8) to the single build bytes and refuses bad sets', async () => {
    const single = join(dir, 'lib-single.kidx');
    await buildIndex(base(single));
    const reference = readFileSync(single);
    for (const N of [1, 4, 7]) {
      const files: string[] = [];
      for (let i = 0; i < N; i++) {
        const out = join(dir, `lib-${N}-${i}.kidx`);
        await buildIndex(base(out, { shard: { index: i, of: N } }));
        files.push(out);
      }
      const merged = join(dir, `lib-merged-${N}.kidx`);
      await mergeShards(files, merged);
      expect(readFileSync(merged).equals(reference), `${N} shards`).toBe(true);
    }
    const four = [0, 1, 2, 3].map((i) => join(dir, `lib-4-${i}.kidx`));
    const out = join(dir, 'bad.kidx');
    await expect(mergeShards(four.slice(1), out)).rejects.toMatchObject({ code: 'MERGE_COVERAGE', message: expect.stringMatching(/shard 0 of 4 missing/) });
    await expect(mergeShards([...four, four[2]], out)).rejects.toMatchObject({ code: 'MERGE_COVERAGE', message: expect.stringMatching(/both shard 2\/4/) });
    await expect(mergeShards([...four.slice(0, 3), join(dir, 'lib-7-3.kidx')], out)).rejects.toMatchObject({ code: 'MERGE_MISMATCH' });
    await expect(mergeShards([single], out)).rejects.toMatchObject({ code: 'MERGE_NOT_A_SHARD' });
    const other = join(dir, 'other-model-3.kidx');
    await buildIndex(base(other, { shard: { index: 3, of: 4 }, meta: { ...meta, max_length: 128 } }));
    await expect(mergeShards([...four.slice(0, 3), other], out)).rejects.toMatchObject({ code: 'MERGE_MISMATCH', message: expect.stringMatching(/max_length differ/) });
    const edited = join(dir, 'lib-edited.txt');
    writeFileSync(edited, lines.slice(0, 50).join('\n') + '\nextra\n');
    const foreign = join(dir, 'foreign-3.kidx');
    await buildIndex(base(foreign, { corpus: edited, shard: { index: 3, of: 4 } }));
    await expect(mergeShards([...four.slice(0, 3), foreign], out)).rejects.toMatchObject({ code: 'MERGE_MISMATCH' });
    await expect(mergeShards(four, single)).rejects.toMatchObject({ code: 'INDEX_EXISTS' });

    // Searching the 4 shards (library) = searching the merged file, for several queries and k.
    const open = (p: string) => VectorIndex.open(fileSource(p));
    const shards = checkShardSet(four.map(open).reverse());
    const whole = open(join(dir, 'lib-merged-4.kidx'));
    const wholeSession = await openSearchSession(whole);
    const parts = await Promise.all(shards.map(async (index) => ({ index, session: await openSearchSession(index) })));
    for (const q of ['a', '고혈압', 'fever 38.5']) {
      for (const k of [1, 5, 50, 100]) {
        expect(searchSessions(parts, fakeVector(q), k)).toEqual(searchSession(wholeSession, whole, fakeVector(q), k));
      }
    }
    wholeSession.dispose();
    for (const p of parts) p.session.dispose();
  });
});

describe('windowed search', () => {
  it('StreamingSearch (windows of 1, 7 and 64 rows) gives exactly the resident ExactSearch scores and top-k', async () => {
    const rows = 1000;
    const dim = 24;
    const m = new Float32Array(rows * dim);
    let s = 7;
    for (let i = 0; i < m.length; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      m[i] = s / 2 ** 31 - 1;
    }
    m.fill(0.25, 10 * dim, 13 * dim); // three equal rows: ties resolve by row in both
    const read = (dst: Float32Array, row0: number, n: number) => dst.set(m.subarray(row0 * dim, (row0 + n) * dim));
    for (const metric of ['cosine', 'dot'] as const) {
      const exact = ExactSearch.create(await createBackend('wasm'), rows, dim, read, { metric, ownsBackend: true });
      for (const windowRows of [1, 7, 64]) {
        const streaming = new StreamingSearch(await createBackend('wasm'), rows, dim, read, { metric, ownsBackend: true, windowBytes: windowRows * dim * 4 });
        expect(streaming.windowRows).toBe(windowRows);
        for (const qi of [0, 10, 500]) {
          const q = m.subarray(qi * dim, (qi + 1) * dim);
          expect(Array.from(streaming.scoreAll(q))).toEqual(Array.from(exact.scoreAll(q)));
          for (const k of [1, 3, 20, 1000]) expect(streaming.search(q, k)).toEqual(exact.search(q, k));
        }
        streaming.dispose();
      }
      exact.dispose();
    }
  });

  it('openSearchSession streams past the resident limit, with the same hits', async () => {
    const texts = lines.slice(0, 200);
    const { serializeIndex } = await import('../src/search/vector-index.js');
    const index = VectorIndex.fromBytes(serializeIndex({ meta, dimension: D, vectors: texts.map(fakeVector), ids: texts.map((_, i) => `d${i}`), texts }));
    const resident = await openSearchSession(index, { mode: 'resident' });
    const auto = await openSearchSession(index, { residentLimitBytes: 1000, windowBytes: 10 * D * 4 });
    expect((auto as IndexSearch).mode).toBe('streaming');
    expect((resident as IndexSearch).mode).toBe('resident');
    for (const q of ['심근경색', 'x']) expect(searchSession(auto, index, fakeVector(q), 10)).toEqual(searchSession(resident, index, fakeVector(q), 10));
    resident.dispose();
    auto.dispose();
  });
});

describe('deploy/ manifest', () => {
  it('is a valid PersistentVolumeClaim + Indexed Job + merge Job running deploy/kmed-shard.sh with JOB_COMPLETION_INDEX', () => {
    const docs = parseAllDocuments(readFileSync('deploy/kmed-index-job.yaml', 'utf8')).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['PersistentVolumeClaim', 'Job', 'Job']);
    new PersistentVolumeClaim(docs[0]).validate();
    const shards = new Job(docs[1]);
    shards.validate();
    new Job(docs[2]).validate();
    const spec = shards.spec!;
    expect(spec.completionMode).toBe('Indexed');
    const command = spec.template.spec!.containers[0].command!.join(' ');
    expect(command).toMatch(/kmed-shard\.sh "\$JOB_COMPLETION_INDEX" (\d+)/);
    // The shard count in the command is the Job's completions, and the merge takes those files.
    const n = Number(/kmed-shard\.sh "\$JOB_COMPLETION_INDEX" (\d+)/.exec(command)![1]);
    expect(spec.completions).toBe(n);
    expect(docs[2].spec.template.spec.containers[0].command.join(' ')).toContain(`shard-*-of-${n}.kidx`);
    // A broken manifest is refused by the same validator (the check can fail).
    expect(() => new Job({ ...docs[1], spec: { ...docs[1].spec, completions: 'eight' } }).validate()).toThrow(/completions/);
    console.log(`deploy/kmed-index-job.yaml: ${docs.length} documents valid against the Kubernetes schema (kubernetes-models), ${n} indexed completions`);
  });
});
