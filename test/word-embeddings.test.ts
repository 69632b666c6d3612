// The word-embedding placement (EncoderOptions.wordEmbeddings): a table left in model.safetensors
// ('source', fromDirectory's default) gives bitwise the outputs of the table in the heap, for every
// dtype and for an F16 checkpoint; it costs the heap nothing; a file rewritten in place under a
// live encoder is a typed error, never a silent answer; dispose() closes the file.
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSourceError } from '../src/node/fs/file-source.js';
import { Encoder } from '../src/node/encoder.js';

const TEXTS = ['high blood pressure 처방 사례', 'Amlodipine 5mg 1일 1회 처방. 고혈압 진단 후 추적 관찰', 'x'];
const IDS = [[2, 17, 300, 5000, 3], [2, 9, 3]];

describe('word embeddings left in the file', () => {
  for (const model of ['tiny-question', 'tiny-odd-f16']) {
    for (const dtype of ['f32', 'f16', 'int8'] as const) {
      it(`${model}, dtype ${dtype}: 'source' = 'heap', bit for bit, with a smaller heap`, async () => {
        const dir = `test/fixtures/${model}`;
        const heap = await Encoder.fromDirectory(dir, { dtype, wordEmbeddings: 'heap', threads: 1 });
        const source = await Encoder.fromDirectory(dir, { dtype, threads: 1 });
        try {
          for (const pooling of ['pooler', 'mean'] as const) {
            expect(await source.embed(TEXTS, { pooling }), pooling).toEqual(await heap.embed(TEXTS, { pooling }));
          }
          const a = heap.forwardIds(IDS);
          const b = source.forwardIds(IDS);
          expect(b.lastHiddenState).toEqual(a.lastHiddenState);
          expect(b.poolerOutput).toEqual(a.poolerOutput);
          // The arena's top after loading is the parameters' size: the table is not in it.
          const { vocab_size, hidden_size } = heap.config;
          const tableBytes = vocab_size * hidden_size * { f32: 4, f16: 2, int8: 1 }[dtype];
          expect(heap.backend.mark() - source.backend.mark()).toBeGreaterThanOrEqual(tableBytes);
        } finally {
          heap.dispose();
          source.dispose();
        }
      });
    }
  }
});

describe('the file under a live encoder', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kmed-wordemb-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const fixture = 'test/fixtures/tiny-question';
  for (const f of readdirSync(fixture)) copyFileSync(join(fixture, f), join(tmp, f));
  const weights = join(tmp, 'model.safetensors');

  it('a rewrite in place is FILE_CHANGED naming the file; dispose() closes it', async () => {
    const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined);
    const before = fds();
    const enc = await Encoder.fromDirectory(tmp, { threads: 1 });
    if (before !== undefined) expect(fds()).toBe(before + 1);
    const first = await enc.embed(TEXTS);
    expect(await enc.embed(TEXTS)).toEqual(first);
    // Rewrite the header's first byte with itself: the content is the same, but the file was written.
    await new Promise((r) => setTimeout(r, 20)); // so the new mtime differs on coarse clocks
    const fd = openSync(weights, 'r+');
    try {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, 0);
      writeSync(fd, b, 0, 1, 0);
    } finally {
      closeSync(fd);
    }
    const error = await enc.embed(TEXTS).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FileSourceError);
    expect((error as FileSourceError).code).toBe('FILE_CHANGED');
    expect((error as Error).message).toContain(weights);
    enc.dispose();
    if (before !== undefined) expect(fds()).toBe(before);
  });

  it("'heap' keeps nothing open", async () => {
    const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined);
    const before = fds();
    const enc = await Encoder.fromDirectory(tmp, { threads: 1, wordEmbeddings: 'heap' });
    if (before !== undefined) expect(fds()).toBe(before);
    enc.dispose();
  });
});
