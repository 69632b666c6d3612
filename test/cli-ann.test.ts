// The graph index and retrieval evaluation from the command line, on the tiny encoders and the
// fixture corpus: `kmed index --ann hnsw` writes INDEX.ann and `kmed search` uses it (--ef, --exact)
// with the exact answer here; `kmed index --index INDEX --ann hnsw` adds one (and refuses to replace
// one without --force); a graph left from an index since rebuilt, or damaged, is refused in one
// `kmed:` line; option mistakes are one line; `kmed eval` prints exact and graph metrics, --json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneKmedLine, runCli } from './helpers/run-cli.js';

const FIXTURES = 'test/fixtures';
const models = ['--question-model', join(FIXTURES, 'tiny-question'), '--context-model', join(FIXTURES, 'tiny-context')];
const dir = mkdtempSync(join(tmpdir(), 'kmed-cli-ann-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const index = join(dir, 'c.kidx');
const query = ['--query', '고혈압 약', '-k', '5', '--json', ...models];
const ids = (stdout: string) => (JSON.parse(stdout) as Array<{ id: string }>).map((h) => h.id);

describe('kmed index --ann and kmed search through the graph', () => {
  beforeAll(async () => {
    const r = await runCli(['index', '--corpus', join(FIXTURES, 'corpus', 'corpus.txt'), '--out', index, '--ann', 'hnsw', '--ann-m', '8', '--ann-ef-construction', '48', '--threads', '2', ...models], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/c\.kidx\.ann: HNSW graph of 603 rows \(M 8, ef-construction 48, seed 0, cosine\), \d+ bytes, 2 threads/);
  }, 150_000);

  it('searches through the graph unless --exact, with the exact answer on the fixture', async () => {
    const graph = await runCli(['search', '--index', index, '--query', '고혈압 약', '-k', '3', ...models]);
    expect(graph.code, graph.stderr).toBe(0);
    expect(graph.stdout).toMatch(/603 passages in .*c\.kidx; graph search, ef 100\)/);
    const exact = await runCli(['search', '--index', index, '--query', '고혈압 약', '-k', '3', '--exact', ...models]);
    expect(exact.stdout).toMatch(/; exact\)/);
    const [a, e, wide] = await Promise.all([
      runCli(['search', '--index', index, ...query]),
      runCli(['search', '--index', index, '--exact', ...query]),
      runCli(['search', '--index', index, '--ef', '300', ...query]),
    ]);
    expect(ids(a.stdout)).toEqual(ids(e.stdout));
    expect(ids(wide.stdout)).toEqual(ids(e.stdout));
  }, 60_000);

  it('adds a graph to an index already built, refusing to replace one without --force', async () => {
    const refused = await runCli(['index', '--index', index, '--ann', 'hnsw']);
    expectOneKmedLine(refused, /c\.kidx\.ann exists: pass --force to replace it/);
    const before = readFileSync(`${index}.ann`);
    const again = await runCli(['index', '--index', index, '--ann', 'hnsw', '--ann-m', '8', '--ann-ef-construction', '48', '--threads', '1', '--force'], { timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/1 thread \(/);
    // Deterministic: the same bytes as the 2-thread build of the first run.
    expect(readFileSync(`${index}.ann`).equals(before)).toBe(true);
  }, 90_000);

  it('refuses a damaged graph, and a graph of the index before it was rebuilt, in one line', async () => {
    const copy = join(dir, 'd.kidx');
    writeFileSync(copy, readFileSync(index));
    const graph = readFileSync(`${index}.ann`);
    const damaged = Buffer.from(graph);
    damaged[200] ^= 1;
    writeFileSync(`${copy}.ann`, damaged);
    expectOneKmedLine(await runCli(['search', '--index', copy, ...query]), /d\.kidx\.ann: levels block 0 .* fails its xxHash32/);
    // The index rebuilt (another corpus) with the old graph left beside it.
    const rebuilt = await runCli(['index', '--corpus', join(FIXTURES, 'corpus', 'passages.txt'), '--out', copy, '--force', ...models], { timeoutMs: 60_000 });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    writeFileSync(`${copy}.ann`, graph);
    expectOneKmedLine(await runCli(['search', '--index', copy, ...query]), /this graph was built for another index .* or the index changed since: rebuild it with `kmed index --index .*d\.kidx --ann hnsw --force`/);
    // --exact does not read the graph at all.
    expect((await runCli(['search', '--index', copy, '--exact', ...query])).code).toBe(0);
  }, 90_000);

  it('option mistakes are one line', async () => {
    expectOneKmedLine(await runCli(['index', '--index', index, '--ann', 'faiss']), /expected hnsw, got 'faiss'/);
    expectOneKmedLine(await runCli(['index', '--index', index]), /--index INDEX adds a graph to an index already built: give it with --ann hnsw/);
    expectOneKmedLine(await runCli(['index', '--corpus', join(FIXTURES, 'corpus', 'passages.txt'), '--out', join(dir, 'x.kidx'), '--ann-m', '8', ...models]), /--ann-m, --ann-ef-construction, --ann-seed and --metric set up a graph index: add --ann hnsw/);
    expectOneKmedLine(await runCli(['index', '--ann', 'hnsw']), /kmed index needs --corpus FILE and --out INDEX/);
    expectOneKmedLine(await runCli(['index', '--index', index, '--ann', 'hnsw', '--ann-m', '1', '--force']), /M = 1 must be an integer from 2 to 128/);
    expectOneKmedLine(await runCli(['search', '--index', index, '--exact', '--ef', '10', ...query]), /--ef sets the beam of a graph search, and --exact asks for none/);
    const plain = join(dir, 'plain.kidx');
    expect((await runCli(['index', '--corpus', join(FIXTURES, 'corpus', 'passages.txt'), '--out', plain, ...models], { timeoutMs: 60_000 })).code).toBe(0);
    expectOneKmedLine(await runCli(['search', '--index', plain, '--ef', '10', ...query]), /--ef needs a graph index, and .*plain\.kidx\.ann does not exist: build it with `kmed index --index/);
    expectOneKmedLine(await runCli(['search', '--index', index, '--metric', 'dot', ...query]), /the graph was built for cosine scores, the search asks for dot/);
  }, 120_000);
});

describe('kmed eval', () => {
  const queries = join(dir, 'queries.jsonl');
  const qrels = join(dir, 'qrels.tsv');
  beforeAll(() => {
    writeFileSync(queries, ['{"_id":"q1","text":"고혈압 약"}', '{"_id":"q2","text":"당뇨병 초기 증상"}', '{"_id":"q3","text":"두통"}', ''].join('\n'));
    writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq1\t347\t2\nq1\t74\t1\nq2\t5\t1\nq3\t9\t0\n');
  });

  it('prints exact and graph metrics side by side, and --json', async () => {
    const r = await runCli(['eval', '--index', index, '--queries', queries, '--qrels', qrels, ...models], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/c\.kidx: 2 queries evaluated \(1 judged with no relevant document left out\)/);
    expect(r.stdout).toMatch(/metric\s+exact\s+graph \(ef 100\)/);
    for (const m of ['recall@1', 'recall@10', 'recall@100', 'mrr@10', 'ndcg@10', 'queries/s']) expect(r.stdout).toMatch(new RegExp(`^${m}\\s+[\\d.]+\\s+[\\d.]+$`, 'm'));
    const j = await runCli(['eval', '--index', index, '--queries', queries, '--qrels', qrels, '--json', '--ef', '40', ...models], { timeoutMs: 60_000 });
    const out = JSON.parse(j.stdout) as { queries: number; no_relevant: number; exact: Record<string, number>; ann: Record<string, number> };
    expect(out.queries).toBe(2);
    expect(out.no_relevant).toBe(1);
    expect(out.ann.ef).toBe(40);
    // The graph finds the exact top 100 on 603 passages: the same metrics.
    for (const m of ['recall@1', 'recall@10', 'recall@100', 'mrr@10', 'ndcg@10']) expect(out.ann[m]).toBe(out.exact[m]);
    // q1: 347 (grade 2) ranks first for '고혈압 약' with the tiny models (see docs/ann.md): recall@1 of q1 = 1/2.
    expect(out.exact['recall@1']).toBeGreaterThan(0);
    const exactOnly = JSON.parse((await runCli(['eval', '--index', index, '--queries', queries, '--qrels', qrels, '--json', '--exact', ...models], { timeoutMs: 60_000 })).stdout) as { ann: unknown };
    expect(exactOnly.ann).toBeNull();
  }, 120_000);

  it('takes the queries as vectors (--query-vectors, no model): each query the row of one of its relevant passages', async () => {
    const { VectorIndex } = await import('../src/search/vector-index.js');
    const { fileSource } = await import('../src/node/fs/file-source.js');
    const source = fileSource(index);
    const x = VectorIndex.open(source);
    const rowOf = (id: string) => Array.from({ length: x.count }, (_, i) => i).find((i) => x.id(i) === id)!;
    // q1 → passage 347 (grade 2), q2 → passage 5, q3 → passage 9 (judged, not relevant).
    const rows = ['347', '5', '9'].map((id) => x.vector(rowOf(id)));
    source.close();
    const D = rows[0].length;
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (3, ${D}), }`;
    header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
    const npy = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from(new Uint16Array([header.length]).buffer), Buffer.from(header, 'latin1'),
      Buffer.from(new Float32Array(rows.flatMap((r) => Array.from(r))).buffer)]);
    const file = join(dir, 'q.npy');
    writeFileSync(file, npy);
    const r = await runCli(['eval', '--index', index, '--queries', queries, '--qrels', qrels, '--query-vectors', file, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { exact: Record<string, number>; ann: Record<string, number> };
    // Each query's own passage ranks first: q1 recall@1 = 1/2 (347 of {347, 74}), q2 = 1; MRR@10 = 1.
    expect(out.exact['recall@1']).toBeCloseTo(0.75, 12);
    expect(out.exact['mrr@10']).toBe(1);
    expect(out.ann['recall@1']).toBeCloseTo(0.75, 12);
    const short = join(dir, 'short.npy');
    writeFileSync(short, npy.subarray(0, npy.length - D * 4));
    expectOneKmedLine(await runCli(['eval', '--index', index, '--queries', queries, '--qrels', qrels, '--query-vectors', short]), /short\.npy/);
  }, 60_000);

  it('refuses bad inputs in one line, before loading a model', async () => {
    const bad = join(dir, 'bad.tsv');
    writeFileSync(bad, 'query-id\tcorpus-id\tscore\nq1\t347\n');
    expectOneKmedLine(await runCli(['eval', '--index', index, '--queries', queries, '--qrels', bad, ...models]), /bad\.tsv line 2: expected 3 tab-separated fields/);
    const stray = join(dir, 'stray.tsv');
    writeFileSync(stray, 'q9\t1\t1\n');
    expectOneKmedLine(await runCli(['eval', '--index', index, '--queries', queries, '--qrels', stray, ...models]), /query "q9" is judged but .*queries\.jsonl has no such query/);
    expectOneKmedLine(await runCli(['eval', '--index', index, '--queries', join(dir, 'missing.jsonl'), '--qrels', qrels, ...models]), /missing\.jsonl/);
  }, 60_000);
});
