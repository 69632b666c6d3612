// kmed index --vectors / --row-dtype and kmed search --queries / --query-vectors / --mode / --exact as
// a user runs them (node dist/cli/main.js, so `npm run build` first), with the tiny encoders:
// - importing vectors made elsewhere builds the same rows as the model would (its own vectors given
//   back as .npy, f32 and f16), records the file's sha256 and dtype, and refuses a .npy of the wrong
//   shape, dtype, order or with a NaN in one kmed: line naming the file and the row;
// - --queries and --query-vectors print one JSON line per query, equal to --query's hits one by
//   one; --query-vectors needs no model;
// - streaming and resident, f32 and int8/f16 scan rows (re-ranked) give the same hits;
// - the same index twice (same path, a hard link, or a copy) is refused in one line.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VectorIndex } from '../src/search/vector-index.js';
import { writeNpy, npyBytes } from './helpers/npy-writer.js';
import { CLI, expectOneKmedLine } from './helpers/run-cli.js';

const Q = 'test/fixtures/tiny-question';
const C = 'test/fixtures/tiny-context';
const MODELS = ['--question-model', Q, '--context-model', C];
const CORPUS = 'test/fixtures/corpus/passages.txt';
const queries = readFileSync('test/fixtures/corpus/queries.txt', 'utf8').split('\n').filter((l) => l !== '').slice(0, 6);

const dir = mkdtempSync(join(tmpdir(), 'kmed-cli-search-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kmed(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined };
}
const expectOneLineError = (r: ReturnType<typeof kmed>, mention: RegExp) => expectOneKmedLine(r, mention);
type Hit = { id: string; score: number; text: string };
const jsonLines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { query: number; hits: Hit[] });

const built = join(dir, 'built.kidx');
let raw: Float32Array; // the model's own vectors of the corpus, as embedded (rows × 64)
let rows = 0;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  const r = kmed(['index', ...MODELS, '--corpus', CORPUS, '--out', built]);
  expect(r.code, r.stderr).toBe(0);
  const index = VectorIndex.fromBytes(new Uint8Array(readFileSync(built)));
  rows = index.count;
  raw = new Float32Array(rows * index.dimension);
  for (let i = 0; i < rows; i++) {
    const n = index.norm(i);
    index.vector(i).forEach((x, d) => (raw[i * index.dimension + d] = x * n));
  }
}, 120_000);

describe('kmed index --vectors FILE.npy', () => {
  it('imports float32 and float16 vectors: the rows, ids and texts of an embedded build, sha256 and dtype recorded', () => {
    const embedded = VectorIndex.fromBytes(new Uint8Array(readFileSync(built)));
    for (const dtype of ['float32', 'float16'] as const) {
      const npy = join(dir, `vectors-${dtype}.npy`);
      writeNpy(npy, raw, rows, 64, dtype);
      const out = join(dir, `imported-${dtype}.kidx`);
      const r = kmed(['index', '--corpus', CORPUS, '--vectors', npy, '--context-model', C, '--question-model', Q, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).imported_vectors.dtype).toBe(dtype);
      const index = VectorIndex.fromBytes(new Uint8Array(readFileSync(out)));
      index.verify();
      expect(index.meta.imported_vectors).toEqual({ file: `vectors-${dtype}.npy`, sha256: 'sha256:' + createHash('sha256').update(readFileSync(npy)).digest('hex'), dtype });
      expect(index.meta.context_model).toEqual(embedded.meta.context_model);
      expect(index.count).toBe(rows);
      for (const i of [0, 7, rows - 1]) {
        expect(index.entry(i)).toEqual(embedded.entry(i));
        // The .npy holds unit row × norm rounded to f32 (and, float16, to f16): normalised again it is
        // the embedded row within those roundings.
        const want = embedded.vector(i);
        const got = index.vector(i);
        got.forEach((x, d) => expect(Math.abs(x - want[d]), `${dtype} row ${i}`).toBeLessThan(dtype === 'float32' ? 1e-6 : 2e-3));
        expect(Math.abs(index.norm(i) - embedded.norm(i)) / embedded.norm(i)).toBeLessThan(dtype === 'float32' ? 1e-6 : 1e-3);
      }
    }
  }, 120_000);

  it('refuses a .npy of the wrong row count, dimension, dtype or order, or with a NaN, in one line naming file and row', () => {
    const out = join(dir, 'refused.kidx');
    const run = (npy: string) => kmed(['index', '--corpus', CORPUS, '--vectors', npy, '--context-model', C, '--out', out]);
    const short = join(dir, 'short.npy');
    writeNpy(short, raw.subarray(0, (rows - 1) * 64), rows - 1, 64);
    expectOneLineError(run(short), new RegExp(`passages\\.txt holds ${rows} passages but .*short\\.npy ${rows - 1} vectors: row i of the \\.npy must be passage i`));
    const narrow = join(dir, 'narrow.npy');
    writeNpy(narrow, new Float32Array(rows * 32), rows, 32);
    expectOneLineError(run(narrow), /narrow\.npy holds 32-dimensional vectors but the context model .*gives 64/);
    expectOneLineError(run('test/fixtures/npy/f32-fortran.npy'), /f32-fortran\.npy: fortran_order is true/);
    expectOneLineError(run('test/fixtures/npy/f64.npy'), /f64\.npy: dtype '<f8'/);
    const nan = raw.slice();
    nan[5 * 64 + 3] = NaN;
    const bad = join(dir, 'nan.npy');
    writeNpy(bad, nan, rows, 64);
    expectOneLineError(run(bad), /nan\.npy: row 5 \(passage 5\) has a non-finite value \(NaN\) at column 3/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

describe('kmed search: batches, modes, scan rows, duplicate indexes', () => {
  it('--queries and --query-vectors give one JSON line per query, the hits --query gives for each', () => {
    const file = join(dir, 'queries.jsonl');
    writeFileSync(file, queries.map((text) => JSON.stringify({ _id: 'x', text })).join('\n') + '\n\n');
    const batch = kmed(['search', ...MODELS, '--index', built, '--queries', file, '--json', '-k', '5']);
    expect(batch.code, batch.stderr).toBe(0);
    const lines = jsonLines(batch.stdout);
    expect(lines.map((l) => l.query)).toEqual(queries.map((_, i) => i));
    const vectors: Float32Array[] = [];
    queries.forEach((q, i) => {
      const one = kmed(['search', ...MODELS, '--index', built, '--query', q, '--json', '-k', '5']);
      const hits = JSON.parse(one.stdout) as Hit[];
      expect(lines[i].hits.map((h) => h.id), q).toEqual(hits.map((h) => h.id));
      lines[i].hits.forEach((h, j) => expect(Math.abs(h.score - hits[j].score)).toBeLessThanOrEqual(1e-6));
      expect(Object.keys(lines[i].hits[0])).toEqual(['id', 'score', 'text']);
    });
    // The question vectors themselves, as .npy: the same hits, with no model anywhere (cwd has no weights/).
    const qv = spawnSync(process.execPath, [CLI, 'embed', '--model', Q], { input: queries.map((text) => JSON.stringify({ text })).join('\n') + '\n', encoding: 'utf8' });
    expect(qv.status, qv.stderr).toBe(0);
    for (const line of qv.stdout.trim().split('\n')) vectors.push(Float32Array.from(JSON.parse(line).embedding as number[]));
    const npy = join(dir, 'queries.npy');
    const flat = new Float32Array(vectors.length * 64);
    vectors.forEach((v, i) => flat.set(v, i * 64));
    writeNpy(npy, flat, vectors.length, 64);
    // No model on the command line (and none under weights/): none is needed.
    const byVectors = kmed(['search', '--index', built, '--query-vectors', npy, '--json', '-k', '5']);
    expect(byVectors.code, byVectors.stderr).toBe(0);
    const vlines = jsonLines(byVectors.stdout);
    vlines.forEach((l, i) => expect(l.hits.map((h) => h.id)).toEqual(lines[i].hits.map((h) => h.id)));
    // A table per query without --json.
    const table = kmed(['search', '--index', built, '--query-vectors', npy, '-k', '2']);
    expect(table.stdout.match(/^query \d+: vector \d+ of /gm)).toHaveLength(queries.length);
  }, 180_000);

  it('streaming, resident, int8 and f16 scan rows (re-ranked, or --exact) give the same hits', () => {
    // Every index here imports the same rows, so every variant scans bit-identical f32 rows.
    const npy = join(dir, 'scan-vectors.npy');
    writeNpy(npy, raw, rows, 64);
    const plain = join(dir, 'scan-plain.kidx');
    expect(kmed(['index', '--corpus', CORPUS, '--vectors', npy, '--context-model', C, '--out', plain]).code).toBe(0);
    const qfile = join(dir, 'q.npy');
    writeFileSync(qfile, npyBytes(raw.subarray(0, 8 * 64), 8, 64)); // passages as queries
    const reference = jsonLines(kmed(['search', '--index', plain, '--query-vectors', qfile, '--json', '-k', '7', '--mode', 'resident']).stdout);
    expect(reference[0].hits[0].id).toBe('1'); // a passage finds itself
    const variants: string[][] = [['--mode', 'streaming'], ['--metric', 'cosine', '--mode', 'auto']];
    for (const rowDtype of ['int8', 'f16']) {
      const out = join(dir, `scan-${rowDtype}.kidx`);
      const r = kmed(['index', '--corpus', CORPUS, '--vectors', npy, '--context-model', C, '--out', out, '--row-dtype', rowDtype]);
      expect(r.code, r.stderr).toBe(0);
      expect(VectorIndex.fromBytes(new Uint8Array(readFileSync(out))).scan).toBe(rowDtype);
      for (const extra of [[], ['--exact'], ['--mode', 'resident']]) {
        const got = jsonLines(kmed(['search', '--index', out, '--query-vectors', qfile, '--json', '-k', '7', ...extra]).stdout);
        expect(got, `${rowDtype} ${extra.join(' ')}`).toEqual(reference);
      }
      // Only k candidates re-ranked: the scan alone picks them, but every score is the exact one.
      const few = jsonLines(kmed(['search', '--index', out, '--query-vectors', qfile, '--json', '-k', '7', '--rerank', '7']).stdout);
      few.forEach((line, q) => {
        expect(line.hits[0]).toEqual(reference[q].hits[0]);
        for (const hit of line.hits) {
          const same = reference[q].hits.find((h) => h.id === hit.id);
          if (same) expect(hit.score).toBe(same.score);
        }
      });
    }
    for (const extra of variants) expect(jsonLines(kmed(['search', '--index', plain, '--query-vectors', qfile, '--json', '-k', '7', ...extra]).stdout)).toEqual(reference);
  }, 180_000);

  it('refuses the same index twice: one path, a hard link, a copy', () => {
    expectOneLineError(kmed(['search', ...MODELS, '--index', built, '--index', built, '--query', 'x']), /--index .*built\.kidx is the same file as --index .*built\.kidx \(device \d+, inode \d+\): give each index once/);
    const link = join(dir, 'link.kidx');
    linkSync(built, link);
    expectOneLineError(kmed(['search', ...MODELS, '--index', built, '--index', link, '--query', 'x']), /link\.kidx is the same file as --index .*built\.kidx/);
    const copy = join(dir, 'copy.kidx');
    copyFileSync(built, copy);
    expectOneLineError(kmed(['search', ...MODELS, '--index', copy, '--index', built, '--query', 'x']), /built\.kidx holds the same index as --index .*copy\.kidx \(content [0-9a-f]{16}-\d+\)/);
    expectOneLineError(kmed(['search', '--index', built, '--query', 'x', '--queries', copy]), /--query and --queries were both given/);
    expectOneLineError(kmed(['search', '--index', built]), /no query given/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "ok"}\n{"txt": "no"}\n');
    expectOneLineError(kmed(['search', ...MODELS, '--index', built, '--queries', bad]), /bad\.jsonl line 2: expected an object \{"text": string\}/);
    const wide = join(dir, 'wide.npy');
    writeNpy(wide, new Float32Array(2 * 65), 2, 65);
    expectOneLineError(kmed(['search', '--index', built, '--query-vectors', wide]), /wide\.npy holds 65-dimensional vectors but .*built\.kidx 64-dimensional ones/);
  }, 120_000);
});
