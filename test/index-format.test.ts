// Known answers for the on-disk formats of an index build: a checked-in index file of the format
// this kmed writes (test/fixtures/index/build/small.kidx, format 3) and a checked-in interrupted
// build of it (small.kidx.partial/, checkpoint version 2), with their contents stated independently
// in passages.json. A writer and a reader that change together (a moved field, another checksum, a
// new string layout) keep every round trip green; these files do not change with them:
// - the file is read back to the known ids, texts, unit rows and norms (format 3's byte layout and
//   checksums have their own known answers in index-format-known.test.ts), and the checked-in
//   file of format 2 is refused with the rebuild command;
// - both writers (serializeIndex in memory, buildIndex streaming) given the same input produce
//   exactly that file, byte for byte;
// - a build interrupted after its first checkpoint leaves exactly the checked-in partial, and the
//   checked-in partial resumes (embedding only the passages after it) to exactly the final file.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c } from '../src/formats/checksum.js';
import { buildIndex, partialPath } from '../src/node/indexing/index-builder.js';
import { INDEX_FORMAT_VERSION, serializeIndex, VectorIndex, type IndexMeta } from '../src/search/vector-index.js';
import { fixtureEncoder, INDEX_BUILD_DIR, loadIndexFixture } from './helpers/index-fixture.js';

const fixture = loadIndexFixture();
const FILE = join(INDEX_BUILD_DIR, 'small.kidx');
const PARTIAL = join(INDEX_BUILD_DIR, 'small.kidx.partial');
const FORMAT2_FILE = join(INDEX_BUILD_DIR, '..', 'format2.kidx');
const PARTIAL_FILES = ['checkpoint.json', 'offsets.u64', 'strings.bin', 'vectors.f32'];
const bytes = new Uint8Array(readFileSync(FILE));
const corpusBytes = readFileSync(join(INDEX_BUILD_DIR, 'corpus.jsonl'));
const { createHash } = await import('node:crypto');
const corpusSha256 = createHash('sha256').update(corpusBytes).digest('hex');
// What buildIndex stamps: the given meta, then the corpus's name and hash.
const fullMeta: IndexMeta = { ...fixture.meta, corpus: { name: 'corpus.jsonl', sha256: corpusSha256 } };

const dir = mkdtempSync(join(tmpdir(), 'kmed-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh folder holding a copy of the fixture corpus under its own name. */
function workspace(name: string): { corpus: string; out: string } {
  const root = join(dir, name);
  cpSync(join(INDEX_BUILD_DIR, 'corpus.jsonl'), join(root, 'corpus.jsonl'));
  return { corpus: join(root, 'corpus.jsonl'), out: join(root, 'small.kidx') };
}

const bitsOf = (v: ArrayLike<number>) => Buffer.from(Float32Array.from(v).buffer).toString('hex');

describe('the checked-in index file (format 3, the one this kmed writes)', () => {
  it('is format 3 (its byte layout has its own known answers in index-format-known.test.ts)', () => {
    expect(INDEX_FORMAT_VERSION).toBe(3);
    expect(new TextDecoder('latin1').decode(bytes.subarray(0, 8))).toBe('KMEDIDX\0');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)).toBe(3);
  });

  it('reads back to the known meta, ids, texts, unit rows and norms, and verifies', () => {
    const index = VectorIndex.fromBytes(bytes, 'small.kidx');
    index.verify();
    expect(index.dimension).toBe(fixture.dimension);
    expect(index.count).toBe(fixture.passages.length);
    expect(index.meta).toEqual(fullMeta);
    fixture.passages.forEach((p, i) => {
      expect(index.id(i), `id ${i}`).toBe(p.id);
      expect(index.text(i), `text ${i}`).toBe(p.text);
      // Format 3 stores each row at unit length and its length apart (docs/index-format.md): the
      // length is ‖v‖ taken in float64 and rounded to float32, each value v[d] / ‖v‖ in float64
      // rounded to float32 (a zero row stays zero).
      const norm = Math.sqrt(p.vector.reduce((sum, x) => sum + x * x, 0));
      expect(index.norm(i), `norm ${i}`).toBe(Math.fround(norm));
      expect(bitsOf(index.vector(i)), `vector ${i}`).toBe(bitsOf(p.vector.map((x) => (norm > 0 ? x / norm : x))));
    });
    // -0 keeps its sign bit; a row holding the largest float32 still has a finite float32 length.
    expect(Object.is(index.vector(3)[1], -0)).toBe(true);
    expect(index.norm(4)).toBe(3.4028234663852886e38);
  });

  it('refuses the checked-in file of format 2 with the command that rebuilds it', () => {
    const old = new Uint8Array(readFileSync(FORMAT2_FILE));
    expect(new DataView(old.buffer, old.byteOffset).getUint32(8, true)).toBe(2);
    let error: unknown;
    try {
      VectorIndex.fromBytes(old, 'format2.kidx');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'IndexError' });
    expect((error as Error).message).toMatch(/format2\.kidx/);
    expect((error as Error).message).toMatch(/version 2/);
    expect((error as Error).message).toMatch(/kmed index .*--force/);
  });
});

describe('writers produce exactly the checked-in bytes', () => {
  it('serializeIndex (the in-memory writer) given the known contents', () => {
    const written = serializeIndex({
      meta: fullMeta,
      dimension: fixture.dimension,
      vectors: fixture.passages.map((p) => p.vector),
      ids: fixture.passages.map((p) => p.id),
      texts: fixture.passages.map((p) => p.text),
    });
    expect(Buffer.from(written).equals(Buffer.from(bytes))).toBe(true);
  });

  it('buildIndex (the streaming builder) given the corpus and the known vectors', async () => {
    const { corpus, out } = workspace('build');
    const encoder = fixtureEncoder(fixture);
    const result = await buildIndex({ corpus, out, embed: encoder.embed, dimension: fixture.dimension, meta: fixture.meta, batchSize: fixture.batchSize });
    expect(result.resumedFrom).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('INDEX.partial/ checkpoint format version 2: the checked-in interrupted build', () => {
  it('an interrupted build leaves exactly the checked-in partial files', async () => {
    const { corpus, out } = workspace('interrupt');
    const controller = new AbortController();
    const error = await buildIndex({
      corpus, out, embed: fixtureEncoder(fixture).embed, dimension: fixture.dimension, meta: fixture.meta, batchSize: fixture.batchSize,
      signal: controller.signal, onBatch: ({ done }) => done >= fixture.partialPassages && controller.abort(),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INDEX_INTERRUPTED' });
    expect(readdirSync(partialPath(out)).sort()).toEqual(PARTIAL_FILES);
    for (const name of PARTIAL_FILES) {
      expect(readFileSync(join(partialPath(out), name)).equals(readFileSync(join(PARTIAL, name))), name).toBe(true);
    }
  });

  it('holds the documented checkpoint: passages, byte counts and a CRC-32C of each file, sealed by its own CRC', () => {
    const cp = JSON.parse(readFileSync(join(PARTIAL, 'checkpoint.json'), 'utf8'));
    const files = { vectors: 'vectors.f32', offsets: 'offsets.u64', strings: 'strings.bin' } as const;
    expect(cp).toMatchObject({
      kind: 'kmed-index-checkpoint', version: 2, count: fixture.partialPassages, dimension: fixture.dimension,
      corpus: { name: 'corpus.jsonl', format: 'jsonl', bytes: corpusBytes.length, sha256: corpusSha256, passages: fixture.passages.length },
      range: { first: 0, end: fixture.passages.length }, shard: null, meta: fixture.meta,
    });
    for (const [key, name] of Object.entries(files)) {
      const content = readFileSync(join(PARTIAL, name));
      expect(cp.bytes[key], name).toBe(content.length);
      expect(cp.crc[key], name).toBe(crc32c(content));
    }
    // The first passages in index layout: their vectors, their id/text offsets, their strings.
    const done = fixture.passages.slice(0, fixture.partialPassages);
    expect(readFileSync(join(PARTIAL, 'vectors.f32')).equals(Buffer.from(Float32Array.from(done.flatMap((p) => p.vector)).buffer))).toBe(true);
    expect(readFileSync(join(PARTIAL, 'strings.bin'), 'utf8')).toBe(done.map((p) => p.id + p.text).join(''));
    const { checksum, ...rest } = cp;
    expect(checksum).toBe(crc32c(new TextEncoder().encode(JSON.stringify(rest))));
  });

  it('resumes from the checked-in partial to exactly the checked-in file, embedding only the passages after it', async () => {
    const { corpus, out } = workspace('resume');
    cpSync(PARTIAL, partialPath(out), { recursive: true });
    const encoder = fixtureEncoder(fixture);
    const result = await buildIndex({ corpus, out, embed: encoder.embed, dimension: fixture.dimension, meta: fixture.meta, batchSize: fixture.batchSize });
    expect(result.resumedFrom).toBe(fixture.partialPassages);
    expect(encoder.calls.flat()).toEqual(fixture.passages.slice(fixture.partialPassages).map((p) => p.text));
    expect(readFileSync(out).equals(Buffer.from(bytes))).toBe(true);
  });
});
