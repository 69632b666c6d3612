// Known answers for the on-disk formats of an index build (format version 2): a checked-in index
// file (test/fixtures/index/v2/small.kidx) and a checked-in interrupted build of it
// (small.kidx.partial/), with their contents stated independently in passages.json. A writer and
// a reader that change together (a moved field, another checksum, a new string layout) keep every
// round trip green; these files do not change with them:
// - the file is read back to the known ids, texts and bit-exact vectors, and its header fields sit
//   at the offsets the layout table in src/search/vector-index.ts documents, each CRC-32C field
//   equal to the checksum of the bytes it covers;
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
import { CHECKSUM_BLOCK_BYTES, INDEX_FORMAT_VERSION, serializeIndex, VectorIndex, type IndexMeta } from '../src/search/vector-index.js';
import { fixtureEncoder, INDEX_V2_DIR, loadIndexFixture } from './helpers/index-fixture.js';

const fixture = loadIndexFixture();
const FILE = join(INDEX_V2_DIR, 'small.kidx');
const PARTIAL = join(INDEX_V2_DIR, 'small.kidx.partial');
const PARTIAL_FILES = ['checkpoint.json', 'offsets.u64', 'strings.bin', 'vectors.f32'];
const bytes = new Uint8Array(readFileSync(FILE));
const corpusBytes = readFileSync(join(INDEX_V2_DIR, 'corpus.jsonl'));
const { createHash } = await import('node:crypto');
const corpusSha256 = createHash('sha256').update(corpusBytes).digest('hex');
// What buildIndex stamps: the given meta, then the corpus's name and hash.
const fullMeta: IndexMeta = { ...fixture.meta, corpus: { name: 'corpus.jsonl', sha256: corpusSha256 } };

const dir = mkdtempSync(join(tmpdir(), 'kmed-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh folder holding a copy of the fixture corpus under its own name. */
function workspace(name: string): { corpus: string; out: string } {
  const root = join(dir, name);
  cpSync(join(INDEX_V2_DIR, 'corpus.jsonl'), join(root, 'corpus.jsonl'));
  return { corpus: join(root, 'corpus.jsonl'), out: join(root, 'small.kidx') };
}

const bitsOf = (v: ArrayLike<number>) => Buffer.from(Float32Array.from(v).buffer).toString('hex');

describe('index format version 2: the checked-in file', () => {
  it('is version 2, the one this kmed writes (a new version gets its own fixture folder)', () => {
    expect(INDEX_FORMAT_VERSION).toBe(2);
  });

  it('reads back to the known meta, ids, texts and bit-exact vectors, and verifies', () => {
    const index = VectorIndex.fromBytes(bytes, 'small.kidx');
    index.verify();
    expect(index.dimension).toBe(fixture.dimension);
    expect(index.count).toBe(fixture.passages.length);
    expect(index.meta).toEqual(fullMeta);
    fixture.passages.forEach((p, i) => {
      expect(index.id(i), `id ${i}`).toBe(p.id);
      expect(index.text(i), `text ${i}`).toBe(p.text);
      expect(bitsOf(index.vector(i)), `vector ${i}`).toBe(bitsOf(p.vector));
    });
    // -0 keeps its sign bit; the largest float32 and the smallest subnormal survive exactly.
    expect(Object.is(index.vector(3)[1], -0)).toBe(true);
    expect(index.vector(4)[2]).toBe(3.4028234663852886e38);
    expect(index.vector(4)[3]).toBe(2 ** -149);
  });

  it('has every field where the documented layout puts it, each CRC-32C over the bytes it covers', () => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const u64 = (at: number) => Number(view.getBigUint64(at, true));
    const D = fixture.dimension;
    const N = fixture.passages.length;
    const enc = new TextEncoder();
    const metaJson = enc.encode(JSON.stringify(fullMeta));
    const strings = fixture.passages.flatMap((p) => [enc.encode(p.id), enc.encode(p.text)]);
    const S = strings.reduce((n, s) => n + s.length, 0);
    const align16 = (n: number) => Math.ceil(n / 16) * 16;

    expect(new TextDecoder('latin1').decode(bytes.subarray(0, 8))).toBe('KMEDIDX\0');
    expect(view.getUint32(8, true)).toBe(2);
    expect(view.getUint32(12, true)).toBe(D);
    expect(u64(16)).toBe(N);
    expect(view.getUint32(24, true)).toBe(metaJson.length);
    expect(view.getUint32(28, true)).toBe(CHECKSUM_BLOCK_BYTES);
    const vectors = align16(96 + metaJson.length);
    const offsets = vectors + N * D * 4;
    const stringsAt = offsets + (2 * N + 1) * 8;
    const checksums = stringsAt + S;
    // Every section here is smaller than one block: one CRC each.
    const fileLength = checksums + 3 * 4;
    expect([u64(32), u64(40), u64(48), u64(56), u64(64)]).toEqual([vectors, offsets, stringsAt, checksums, fileLength]);
    expect(bytes.length).toBe(fileLength);
    expect([...bytes.subarray(80, 92)]).toEqual(new Array(12).fill(0));
    expect(Buffer.from(bytes.subarray(96, 96 + metaJson.length)).equals(Buffer.from(metaJson))).toBe(true);
    expect([...bytes.subarray(96 + metaJson.length, vectors)].every((b) => b === 0)).toBe(true);

    // Vectors: N rows of D little-endian float32.
    fixture.passages.forEach((p, i) => p.vector.forEach((x, d) => expect(Object.is(view.getFloat32(vectors + (i * D + d) * 4, true), Math.fround(x))).toBe(true)));
    // Offsets: id i start, text i start, ..., and S last; strings: id 0, text 0, id 1, ...
    let s = 0;
    strings.forEach((piece, j) => {
      expect(u64(offsets + j * 8), `offset ${j}`).toBe(s);
      expect(Buffer.from(bytes.subarray(stringsAt + s, stringsAt + s + piece.length)).equals(Buffer.from(piece)), `string ${j}`).toBe(true);
      s += piece.length;
    });
    expect(u64(offsets + 2 * N * 8)).toBe(S);

    // The checksum table: one CRC-32C per section (vectors, offsets, strings), then the header's own.
    const table = [0, 1, 2].map((k) => view.getUint32(checksums + 4 * k, true));
    expect(table).toEqual([crc32c(bytes, 0, vectors, offsets), crc32c(bytes, 0, offsets, stringsAt), crc32c(bytes, 0, stringsAt, checksums)]);
    expect(view.getUint32(72, true)).toBe(crc32c(bytes, 0, 96, vectors));
    expect(view.getUint32(76, true)).toBe(crc32c(bytes, 0, checksums, fileLength));
    expect(view.getUint32(92, true)).toBe(crc32c(bytes, 0, 0, 92));
    // Pinned, so a checksum that changes together with its checker is still caught (CRC-32C of the
    // preamble, whose own known answers are in known-answers.test.ts).
    expect(view.getUint32(92, true).toString(16)).toBe('48ca2652');
  });
});

describe('index format version 2: writers produce exactly the checked-in bytes', () => {
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
