// The index file: round trip, every kind of damage is a typed IndexError naming file and offset,
// the streaming builder resumes after an interruption (clean stop, crash, torn write) to the same
// bytes as an uninterrupted run, refuses changed corpora/models, and an index from other models is
// refused at search time. Embedding here is a deterministic hash of the text (the builder is
// encoder-agnostic); the end-to-end path with the tiny encoders is in cli-product.test.ts.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkIndexCompatibility } from '../src/bi-encoder.js';
import { KmedError } from '../src/errors/errors.js';
import { buildIndex, partialPath, type IndexBuildOptions } from '../src/node/indexing/index-builder.js';
import { xxh32 } from '../src/formats/checksum.js';
import { normalized } from '../src/search/similarity.js';
import { IndexError, SECTIONS, serializeIndex, VectorIndex, type IndexLayout, type IndexMeta } from '../src/search/vector-index.js';
import { fakeVector as fakeVectorOf } from './helpers/fake-encoder.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 8;
const meta: IndexMeta = {
  context_model: { name: 'ctx', fingerprint: 'sha256:' + 'a'.repeat(64) },
  question_model: { name: 'q', fingerprint: 'sha256:' + 'b'.repeat(64) },
  pooling: 'pooler',
  max_length: 512,
};

const fakeVector = (text: string) => fakeVectorOf(text, D);
const fakeEmbed = async (texts: string[]) => texts.map(fakeVector);

function sampleEntries(n: number) {
  const ids = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `문서-${i}` : String(i)));
  const texts = Array.from({ length: n }, (_, i) => (i === 1 ? '' : `passage ${i}: 고혈압 😀 ${'x'.repeat(i)}`));
  return { meta, dimension: D, vectors: texts.map((t, i) => fakeVector(t + i)), ids, texts };
}

function expectIndexError(fn: () => unknown, code: string, mention: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(IndexError);
    expect((error as IndexError).code).toBe(code);
    expect((error as Error).message).toMatch(mention);
    return;
  }
  throw new Error(`expected IndexError ${code}`);
}

/** Recompute every checksum of `b` for `layout` (the good file's), so a test can reach the checks
 *  that sit behind them: a damaged field with a matching CRC. */
function reseal(b: Uint8Array, layout: IndexLayout): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(104, xxh32(b, 128, layout.vectorsOffset), true);
  for (const name of SECTIONS) {
    const s = layout.sections[name];
    for (let k = 0; k < s.blocks; k++) {
      const from = s.start + k * layout.blockSize;
      v.setUint32(layout.checksumsOffset + 4 * (s.firstBlock + k), xxh32(b, from, Math.min(from + layout.blockSize, s.start + s.length)), true);
    }
  }
  v.setUint32(108, xxh32(b, layout.checksumsOffset, layout.fileLength), true);
  v.setUint32(124, xxh32(b, 0, 124), true);
}

describe('index file format', () => {
  it('round-trips header, rows (unit length, with their norms), ids and texts', () => {
    const entries = sampleEntries(37);
    entries.vectors[5] = new Float32Array(D); // a zero vector stays zero, norm 0
    const bytes = serializeIndex(entries);
    const index = VectorIndex.fromBytes(bytes, 'mem.kidx');
    expect(index.count).toBe(37);
    expect(index.dimension).toBe(D);
    expect(index.meta).toEqual(meta);
    expect(index.scan).toBe(null);
    for (let i = 0; i < 37; i++) {
      expect(index.entry(i)).toEqual({ id: entries.ids[i], text: entries.texts[i] });
      const v = entries.vectors[i] as Float32Array;
      expect(Array.from(index.vector(i))).toEqual(Array.from(normalized(v)));
      expect(index.norm(i)).toBe(Math.fround(Math.sqrt(v.reduce((a, x) => a + x * x, 0))));
    }
    expect(Array.from(index.vector(5))).toEqual(new Array(D).fill(0));
    const block = new Float32Array(5 * D);
    index.readVectors(block, 30, 5);
    expect(Array.from(block.subarray(D, 2 * D))).toEqual(Array.from(normalized(entries.vectors[31])));
    expect(() => index.readVectors(block, 33, 5)).toThrow(IndexError);
    expect(() => index.text(37)).toThrow(IndexError);
  });

  it('holds an empty index', () => {
    const index = VectorIndex.fromBytes(serializeIndex({ meta, dimension: D, vectors: [], ids: [], texts: [] }));
    expect(index.count).toBe(0);
  });

  it('reports every truncation as INDEX_TRUNCATED naming the file', () => {
    const bytes = serializeIndex(sampleEntries(5));
    for (const cut of [0, 10, 63, 64, 100, bytes.length - 1]) {
      expectIndexError(() => VectorIndex.fromBytes(bytes.subarray(0, cut), 'cut.kidx'), 'INDEX_TRUNCATED', /^cut\.kidx: /);
    }
  });

  it('names the offset of a bad magic, version, checksum, layout field, offsets entry or vector', () => {
    const good = serializeIndex(sampleEntries(5));
    const layout = VectorIndex.fromBytes(good).layout;
    const damaged = (edit: (b: Uint8Array, v: DataView) => void, sealed = true) => {
      const b = good.slice();
      edit(b, new DataView(b.buffer));
      if (sealed) reseal(b, layout);
      return () => VectorIndex.fromBytes(b, 'bad.kidx');
    };
    expectIndexError(damaged((b) => (b[0] = 0x50)), 'INDEX_BAD_MAGIC', /bytes 0\.\.8/);
    for (const old of [1, 2]) {
      expectIndexError(damaged((_, v) => v.setUint32(8, old, true)), 'INDEX_OLD_VERSION', new RegExp(`version ${old} .*older kmed.*kmed index --corpus CORPUS --out bad\\.kidx --force`));
    }
    expectIndexError(damaged((_, v) => v.setUint32(8, 4, true)), 'INDEX_UNSUPPORTED_VERSION', /offset 8.*newer kmed/);
    expectIndexError(damaged((_, v) => v.setUint32(12, 9, true), false), 'INDEX_CHECKSUM', /header .*offset 124/);
    expectIndexError(damaged((_, v) => v.setUint32(12, 0, true)), 'INDEX_CORRUPT', /offset 12/);
    expectIndexError(damaged((_, v) => v.setUint32(32, 7, true)), 'INDEX_CORRUPT', /scan-rows code 7 at offset 32/);
    expectIndexError(damaged((_, v) => v.setBigUint64(40, 80n, true)), 'INDEX_CORRUPT', /vectors offset at offset 40/);
    expectIndexError(damaged((_, v) => v.setBigUint64(48, 80n, true)), 'INDEX_CORRUPT', /norms offset at offset 48/);
    expectIndexError(damaged((b) => b.fill(0x7b, 128, 134), false), 'INDEX_CHECKSUM', /metadata .*offset 104/);
    expectIndexError(damaged((b) => b.fill(0x7b, 128, 134)), 'INDEX_BAD_META', /offset 128/);
    const offsetsAt = layout.offsetsOffset;
    // The offsets table is checked on first use (a string read, verify, a search session), not at open.
    const use = (open: () => VectorIndex, how: (x: VectorIndex) => unknown) => () => how(open());
    expectIndexError(use(damaged((_, v) => v.setBigUint64(offsetsAt + 3 * 8, 1n, true), false), (x) => x.id(4)), 'INDEX_CHECKSUM', /offsets block 0/);
    expectIndexError(use(damaged((_, v) => v.setBigUint64(offsetsAt + 3 * 8, 1n, true)), (x) => x.verify()), 'INDEX_CORRUPT', new RegExp(`byte ${offsetsAt + 24}`));
    expectIndexError(use(damaged((_, v) => v.setBigUint64(offsetsAt, 5n, true)), (x) => x.text(2)), 'INDEX_CORRUPT', new RegExp(`byte ${offsetsAt}\\b`));
    const vectorsAt = layout.vectorsOffset;
    const nan = damaged((_, v) => v.setFloat32(vectorsAt + (2 * D + 3) * 4, NaN, true))() as VectorIndex;
    expectIndexError(() => nan.vector(0), 'INDEX_CORRUPT', new RegExp(`vector 2 .* byte ${vectorsAt + (2 * D + 3) * 4}`));
    const normsAt = layout.normsOffset;
    const inf = damaged((_, v) => v.setFloat32(normsAt + 3 * 4, Infinity, true))() as VectorIndex;
    expectIndexError(() => inf.norm(0), 'INDEX_CORRUPT', new RegExp(`norm of passage 3 .* byte ${normsAt + 12}`));
    const flipped = damaged((b) => (b[vectorsAt + 5] ^= 4), false)() as VectorIndex; // opens: vectors are checked on read
    expectIndexError(() => flipped.vector(4), 'INDEX_CHECKSUM', new RegExp(`vectors block 0 \\(bytes ${vectorsAt}\\.\\..*xxHash32`));
    expectIndexError(() => flipped.verify(), 'INDEX_CHECKSUM', /vectors block 0/);
    const badUtf8 = damaged((b) => (b[layout.stringsOffset] = 0xff))() as VectorIndex;
    expectIndexError(() => badUtf8.id(0), 'INDEX_CORRUPT', /not valid UTF-8/);
    expectIndexError(() => badUtf8.verify(), 'INDEX_CORRUPT', /not valid UTF-8/);
    expect(() => VectorIndex.fromBytes(good).verify()).not.toThrow();
  });

  it('refuses every flipped bit before the damaged byte is used, with IndexError', () => {
    const good = serializeIndex(sampleEntries(4));
    const limit = VectorIndex.fromBytes(good).layout.stringsOffset;
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let refused = 0;
    for (let trial = 0; trial < 400; trial++) {
      const b = good.slice();
      const at = trial < 200 ? Math.floor(rand() * 64) : Math.floor(rand() * limit);
      b[at] ^= 1 << Math.floor(rand() * 8);
      try {
        const index = VectorIndex.fromBytes(b);
        for (let i = 0; i < index.count; i++) {
          index.entry(i);
          index.vector(i);
          index.norm(i);
        }
      } catch (error) {
        if (!(error instanceof IndexError)) throw error;
        refused++;
      }
    }
    console.log(`flipped-bit fuzz: ${refused}/400 damaged files refused with IndexError`);
    expect(refused).toBe(400);
  });
});

describe('refusing an index from other models', () => {
  const index = VectorIndex.fromBytes(serializeIndex(sampleEntries(3)), 'other.kidx');
  const ours = { question: meta.question_model, context: meta.context_model };
  it('accepts the models it was built with', () => {
    expect(() => checkIndexCompatibility(index, { dimension: D, pooling: 'pooler', ...ours })).not.toThrow();
  });
  it('refuses another context or question model, dimension or pooling', () => {
    const other = { name: 'other-ctx', fingerprint: 'sha256:' + 'c'.repeat(64) };
    expectIndexError(() => checkIndexCompatibility(index, { dimension: D, pooling: 'pooler', ...ours, context: other }),
      'INDEX_MODEL_MISMATCH', /other\.kidx was built for context model ctx \(aaaaaaaaaaaa\) but this context model is other-ctx/);
    expectIndexError(() => checkIndexCompatibility(index, { dimension: D, pooling: 'pooler', ...ours, question: other }),
      'INDEX_MODEL_MISMATCH', /question model q/);
    expectIndexError(() => checkIndexCompatibility(index, { dimension: 768, pooling: 'pooler', ...ours }),
      'INDEX_DIMENSION_MISMATCH', /holds 8-dimensional vectors .* gives 768/);
    expectIndexError(() => checkIndexCompatibility(index, { dimension: D, pooling: 'mean', ...ours }),
      'INDEX_POOLING_MISMATCH', /'pooler'-pooled/);
  });
});

describe('streaming, resumable index builder', () => {
  const corpusLines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').slice(0, 120);
  // Blank and CRLF lines on purpose: skipped / stripped in both runs alike.
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, '\n' + corpusLines.slice(0, 50).join('\r\n') + '\n\n  \n' + corpusLines.slice(50).join('\n'));
  const base = (out: string, extra: Partial<IndexBuildOptions> = {}): IndexBuildOptions => ({
    corpus, out, embed: fakeEmbed, dimension: D, meta, batchSize: 7, ...extra,
  });

  let reference: Buffer;
  it('builds a valid index in one go', async () => {
    const out = join(dir, 'whole.kidx');
    const result = await buildIndex(base(out));
    reference = readFileSync(out);
    const index = VectorIndex.fromBytes(reference);
    const passages = corpusLines.filter((l) => l.trim() !== '');
    expect(result.count).toBe(passages.length);
    expect(index.count).toBe(passages.length);
    expect(index.text(0)).toBe(passages[0]);
    expect(index.id(0)).toBe('2'); // line 1 is blank: ids are corpus line numbers
    expect(Array.from(index.vector(5))).toEqual(Array.from(normalized(fakeVector(passages[5]))));
    expect(index.norm(5)).toBe(Math.fround(Math.sqrt(fakeVector(passages[5]).reduce((a, x) => a + x * x, 0))));
    expect(index.meta.corpus?.name).toBe('corpus.txt');
    expect(existsSync(partialPath(out))).toBe(false);
  });

  it('resumes after a clean stop (Ctrl-C) to the same bytes', async () => {
    const out = join(dir, 'stopped.kidx');
    const controller = new AbortController();
    const first = buildIndex(base(out, { signal: controller.signal, onBatch: ({ done }) => done >= 21 && controller.abort() }));
    await expect(first).rejects.toMatchObject({ code: 'INDEX_INTERRUPTED', message: expect.stringMatching(/after 21 passages.*rerun/) });
    expect(existsSync(out)).toBe(false);
    let resumed = -1;
    const result = await buildIndex(base(out, { onStart: (s) => (resumed = s.resumed) }));
    expect(resumed).toBe(21);
    expect(result.resumedFrom).toBe(21);
    expect(readFileSync(out).equals(reference)).toBe(true);
  });

  it('resumes after a crash that left a torn write past the checkpoint, even with another batch size', async () => {
    const out = join(dir, 'crashed.kidx');
    const crash = buildIndex(base(out, { onBatch: ({ done }) => { if (done >= 35) throw new Error('simulated crash'); } }));
    await expect(crash).rejects.toThrow('simulated crash');
    // What a kill between "append" and "checkpoint" leaves: bytes no checkpoint vouches for.
    appendFileSync(join(partialPath(out), 'vectors.f32'), Buffer.alloc(100, 0x41));
    appendFileSync(join(partialPath(out), 'strings.bin'), 'half a passage');
    const result = await buildIndex(base(out, { batchSize: 7 }));
    expect(result.resumedFrom).toBe(35);
    expect(readFileSync(out).equals(reference)).toBe(true);
  });

  it('refuses to resume when the corpus prefix or the model changed, and keeps the partial work', async () => {
    const out = join(dir, 'changed.kidx');
    const controller = new AbortController();
    await expect(buildIndex(base(out, { signal: controller.signal, onBatch: () => controller.abort() }))).rejects.toMatchObject({ code: 'INDEX_INTERRUPTED' });
    const otherModel = { ...meta, context_model: { name: 'other', fingerprint: 'sha256:' + 'd'.repeat(64) } };
    await expect(buildIndex(base(out, { meta: otherModel }))).rejects.toMatchObject({
      code: 'INDEX_RESUME_MISMATCH', message: expect.stringMatching(/context model ctx → other/),
    });
    const edited = join(dir, 'edited.txt');
    writeFileSync(edited, readFileSync(corpus, 'utf8').replace('\n', '\nX'));
    await expect(buildIndex(base(out, { corpus: edited }))).rejects.toMatchObject({ code: 'INDEX_RESUME_MISMATCH', message: expect.stringMatching(/changed/) });
    expect(existsSync(join(partialPath(out), 'checkpoint.json'))).toBe(true);
    await buildIndex(base(out));
    expect(readFileSync(out).equals(reference)).toBe(true);
  });

  it('does not overwrite an existing index unless forced, and then only once complete', async () => {
    const out = join(dir, 'whole.kidx');
    await expect(buildIndex(base(out))).rejects.toMatchObject({ code: 'INDEX_EXISTS', message: expect.stringMatching(/already exists: set force to replace it/) });
    const controller = new AbortController();
    await expect(buildIndex(base(out, { force: true, signal: controller.signal, onBatch: () => controller.abort() }))).rejects.toMatchObject({ code: 'INDEX_INTERRUPTED' });
    expect(readFileSync(out).equals(reference)).toBe(true); // the old index is untouched meanwhile
    rmSync(partialPath(out), { recursive: true });
  });

  it('reads .jsonl, and names the line of a bad record before embedding anything; fixing it builds', async () => {
    const jsonl = join(dir, 'corpus.jsonl');
    const good = corpusLines.slice(0, 20).map((text, i) => JSON.stringify({ id: `doc-${i}`, text }));
    writeFileSync(jsonl, [...good.slice(0, 15), '{"id": "x", "txt": "no text"}', ...good.slice(15)].join('\n') + '\n');
    const out = join(dir, 'j.kidx');
    await expect(buildIndex(base(out, { corpus: jsonl, batchSize: 5 }))).rejects.toMatchObject({
      code: 'CORPUS_BAD_LINE', message: expect.stringMatching(/corpus\.jsonl line 16: expected an object/),
    });
    writeFileSync(jsonl, [...good.slice(0, 15), '{not json', ...good.slice(15)].join('\n') + '\n');
    await expect(buildIndex(base(out, { corpus: jsonl, batchSize: 5 }))).rejects.toMatchObject({ message: expect.stringMatching(/line 16: not valid JSON/) });
    expect(existsSync(partialPath(out))).toBe(false); // the whole corpus is checked first
    writeFileSync(jsonl, [...good.slice(0, 15), good[3], ...good.slice(15)].join('\n') + '\n');
    await expect(buildIndex(base(out, { corpus: jsonl, batchSize: 5 }))).rejects.toMatchObject({
      code: 'CORPUS_DUPLICATE_ID', message: expect.stringMatching(/line 16: id "doc-3" is already used on line 4/),
    });
    writeFileSync(jsonl, good.join('\n') + '\n');
    const result = await buildIndex(base(out, { corpus: jsonl, batchSize: 5 }));
    expect(result.resumedFrom).toBe(0);
    const index = VectorIndex.fromBytes(readFileSync(out));
    expect(index.count).toBe(20);
    expect(index.entry(19)).toEqual({ id: 'doc-19', text: corpusLines[19] });
  });

  it('rejects invalid UTF-8 with the line number, an empty corpus, and a missing corpus', async () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from('ok\nfine\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
    await expect(buildIndex(base(join(dir, 'bad.kidx'), { corpus: bad }))).rejects.toMatchObject({ code: 'CORPUS_BAD_LINE', message: expect.stringMatching(/bad\.txt line 3: not valid UTF-8 \(byte 8 of the file\)/) });
    // The offset of the first bad byte, not of the line: an overlong, a surrogate, a lone continuation.
    for (const [bytes, at] of [[[0x41, 0x42, 0xc0, 0x80], 2], [[0xe2, 0x82, 0xac, 0xed, 0xa0, 0x80], 3], [[0x20, 0x80], 1], [[0xf0, 0x9f, 0x98], 0]] as const) {
      writeFileSync(bad, Buffer.concat([Buffer.from('first line\n'), Buffer.from(bytes), Buffer.from('\n')]));
      await expect(buildIndex(base(join(dir, 'bad.kidx'), { corpus: bad }))).rejects.toMatchObject({ message: expect.stringMatching(new RegExp(`line 2: not valid UTF-8 \\(byte ${11 + at} of the file\\)`)) });
    }
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n  \n\t\n');
    const out = join(dir, 'empty.kidx');
    await expect(buildIndex(base(out, { corpus: empty }))).rejects.toMatchObject({ code: 'CORPUS_EMPTY' });
    expect(existsSync(out) || existsSync(partialPath(out))).toBe(false);
    await expect(buildIndex(base(out, { corpus: join(dir, 'nope.txt') }))).rejects.toBeInstanceOf(KmedError);
    await expect(buildIndex(base(out, { corpus: join(dir, 'corpus.csv') }))).rejects.toMatchObject({ code: 'CORPUS_BAD_FORMAT' });
  });

  it('skips a BOM only at the very start of the file; one anywhere else is text', async () => {
    const bom = join(dir, 'bom.txt');
    writeFileSync(bom, '\ufeff첫 줄\n\ufeff둘째 줄\nthird \ufeff line\n');
    const out = join(dir, 'bom.kidx');
    await buildIndex(base(out, { corpus: bom }));
    const index = VectorIndex.fromBytes(readFileSync(out));
    expect([index.text(0), index.text(1), index.text(2)]).toEqual(['첫 줄', '\ufeff둘째 줄', 'third \ufeff line']);
    const jsonl = join(dir, 'bom.jsonl');
    writeFileSync(jsonl, '\ufeff{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n');
    await buildIndex(base(join(dir, 'bom-j.kidx'), { corpus: jsonl }));
    writeFileSync(jsonl, '{"id": "a", "text": "x"}\n\ufeff{"id": "b", "text": "y"}\n');
    await expect(buildIndex(base(join(dir, 'bom-j2.kidx'), { corpus: jsonl }))).rejects.toMatchObject({ message: expect.stringMatching(/line 2: not valid JSON/) });
  });
});
