// Known answers for the index format (version 3): three checked-in files (test/fixtures/index/,
// no scan rows, f16 and int8 scan rows) built from a fixed input. The writers — serializeIndex in
// memory and IndexFileWriter on disk — must reproduce each byte for byte; the reader must return the
// known header fields, ids, texts, unit rows, norms and scan rows, stated here by hand; the header
// and block checksums must be the values the reference xxHash32 (libxxhash 0.8, via python3 ctypes)
// gives for those bytes; a search of them gives the hand-computed scores; and older versions (1, 2)
// are refused with the command that rebuilds them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSearchSession, searchSession } from '../src/bi-encoder.js';
import { IndexFileWriter } from '../src/node/indexing/index-file-writer.js';
import { encodeStrings, serializeIndex } from '../src/search/index-encoder.js';
import { IndexError, VectorIndex } from '../src/search/vector-index.js';
import { KNOWN_FILES, knownEntries } from './fixtures/index/known-input.js';

const dir = mkdtempSync(join(tmpdir(), 'kmed-known-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (file: string) => new Uint8Array(readFileSync(join('test/fixtures/index', file)));
const f = Math.fround;

/** Header fields at 40..96 and the preamble's xxHash32 (libxxhash over bytes 0..124), per file. */
const KNOWN_LAYOUT: Record<string, { offsets: number[]; headerHash: number }> = {
  'known-v3.kidx': { offsets: [512, 640, 656, 656, 656, 728, 787, 803], headerHash: 0x0e566ad2 },
  'known-v3-f16.kidx': { offsets: [512, 640, 656, 720, 720, 792, 851, 871], headerHash: 0xf78efcdc },
  'known-v3-int8.kidx': { offsets: [512, 640, 656, 688, 704, 776, 835, 859], headerHash: 0x20b4be95 },
};
/** libxxhash's XXH32 of the 128 bytes of unit rows (the vectors section, one block). */
const VECTORS_HASH = 0x886dac6f;

const UNIT = [
  [f(0.6), f(0.8), 0, 0, 0, 0, 0, 0],
  [-1, 0, 0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
  new Array(8).fill(f(0.5 / Math.SQRT2)),
];
const NORMS = [5, 2, 0, f(Math.SQRT2)];

describe('index format 3: known files', () => {
  for (const [file, scan] of KNOWN_FILES) {
    it(`${file}: serializeIndex and IndexFileWriter reproduce it byte for byte`, async () => {
      const known = fixture(file);
      expect(Buffer.from(serializeIndex(knownEntries(scan))).equals(Buffer.from(known)), 'serializeIndex').toBe(true);
      const entries = knownEntries(scan);
      const { offsets, strings } = encodeStrings(entries.ids, entries.texts);
      const out = join(dir, file);
      const writer = await IndexFileWriter.create(`${out}.tmp`, entries.meta, 8, 4, strings.length, scan);
      await writer.rows(Float32Array.from(entries.vectors.slice(0, 3).flat() as number[]));
      await writer.rows(Float32Array.from(entries.vectors[3] as number[]));
      await writer.write('offsets', offsets);
      await writer.write('strings', strings);
      await writer.finish(out);
      expect(Buffer.from(readFileSync(out)).equals(Buffer.from(known)), 'IndexFileWriter').toBe(true);
    });

    it(`${file}: the reader returns the known header, checksums, ids, texts, rows, norms and scan rows`, () => {
      const bytes = fixture(file);
      const view = new DataView(bytes.buffer);
      expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('KMEDIDX\0');
      expect([view.getUint32(8, true), view.getUint32(12, true), Number(view.getBigUint64(16, true)), view.getUint32(28, true), view.getUint32(32, true)])
        .toEqual([3, 8, 4, 65536, scan === null ? 0 : scan === 'f16' ? 1 : 2]);
      const known = KNOWN_LAYOUT[file];
      expect(Array.from({ length: 8 }, (_, i) => Number(view.getBigUint64(40 + 8 * i, true)))).toEqual(known.offsets);
      expect(view.getUint32(124, true)).toBe(known.headerHash);
      expect(view.getUint32(known.offsets[6], true), 'checksum table entry 0 (the vectors block)').toBe(VECTORS_HASH);
      const index = VectorIndex.fromBytes(bytes, file);
      index.verify();
      expect(index.scan).toBe(scan);
      expect(index.meta).toEqual(knownEntries(scan).meta);
      expect([0, 1, 2, 3].map((i) => index.entry(i))).toEqual([
        { id: 'p0', text: '고혈압 진단.' }, { id: '문서-1', text: 'gastric ulcer' }, { id: 'p2', text: '' }, { id: 'p3', text: 'renal cyst 😀' },
      ]);
      for (let i = 0; i < 4; i++) {
        expect(Array.from(index.vector(i)), `row ${i}`).toEqual(UNIT[i]);
        expect(index.norm(i), `norm ${i}`).toBe(NORMS[i]);
      }
      if (scan === 'f16') {
        const halves = new Uint8Array(64);
        index.readSection('scan', 0, halves);
        const h = new Uint16Array(halves.buffer);
        // numpy: np.float32([0.6, 0.8, -1, 1/√8]).astype(np.float16).view(np.uint16)
        expect([h[0], h[1], h[8], h[24], h[31], h[16]]).toEqual([14541, 14950, 48128, 13736, 13736, 0]);
      }
      if (scan === 'int8') {
        const values = new Int8Array(32);
        index.readSection('scan', 0, new Uint8Array(values.buffer));
        expect(Array.from(values)).toEqual([95, 127, 0, 0, 0, 0, 0, 0, -127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 127, 127, 127, 127, 127, 127, 127]);
        const scales = new Float32Array(4);
        index.readSection('scales', 0, new Uint8Array(scales.buffer));
        expect(Array.from(scales)).toEqual([f(f(0.8) / 127), f(1 / 127), 0, f(f(0.5 / Math.SQRT2) / 127)]);
      }
    });

    it(`${file}: search gives the hand-computed cosine and dot scores`, async () => {
      const index = VectorIndex.fromBytes(fixture(file), file);
      const query = [1, 0, 0, 0, 0, 0, 0, 0];
      for (const [metric, want] of [
        ['cosine', [['p0', f(0.6)], ['p3', f(0.5 / Math.SQRT2)], ['p2', 0], ['문서-1', -1]]],
        ['dot', [['p0', f(f(0.6) * 5)], ['p3', f(f(0.5 / Math.SQRT2) * f(Math.SQRT2))], ['p2', 0], ['문서-1', -2]]],
      ] as const) {
        for (const mode of ['resident', 'streaming'] as const) {
          const session = await openSearchSession(index, { metric, mode });
          try {
            const hits = searchSession(session, index, query, 4).map((h) => [h.id, h.score]);
            expect(hits, `${metric} ${mode}`).toEqual(want);
          } finally {
            session.dispose();
          }
        }
      }
    });
  }

  it('refuses format versions 1 and 2 with the command that rebuilds them', () => {
    const bytes = fixture('known-v3.kidx');
    for (const version of [1, 2]) {
      const old = bytes.slice();
      new DataView(old.buffer).setUint32(8, version, true);
      try {
        VectorIndex.fromBytes(old, 'old.kidx');
        throw new Error(`version ${version} was accepted`);
      } catch (error) {
        expect(error).toBeInstanceOf(IndexError);
        expect((error as IndexError).code).toBe('INDEX_OLD_VERSION');
        expect((error as Error).message).toMatch(new RegExp(`old\\.kidx: index format version ${version} was written by an older kmed .*rebuild it with \`kmed index --corpus CORPUS --out old\\.kidx --force\``));
      }
    }
  });
});
