// Owns: the known contents of the checked-in index fixtures (test/fixtures/index/build/passages.json:
// meta, dimension, and per passage its id, text and float32 vector) and the stand-in encoder that
// returns exactly those vectors, shared by test/index-format.test.ts and the script that wrote the
// fixtures (test/fixtures/index/make-build.ts). Does not own the format (src/search/vector-index.ts)
// or the builder (src/node/indexing/index-builder.ts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IndexMeta } from '../../src/search/vector-index.js';

export const INDEX_BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'index', 'build');

export interface IndexFixture {
  dimension: number;
  /** Passages per embedding call (and per checkpoint) of the build that wrote the files. */
  batchSize: number;
  /** Passages the checked-in partial holds. */
  partialPassages: number;
  /** The meta given to the builder (it adds `corpus`). */
  meta: Omit<IndexMeta, 'corpus' | 'shard'>;
  passages: Array<{ id: string; text: string; vector: number[] }>;
}

export function loadIndexFixture(): IndexFixture {
  return JSON.parse(readFileSync(join(INDEX_BUILD_DIR, 'passages.json'), 'utf8')) as IndexFixture;
}

/** An encoder that knows only the fixture's texts; records every batch it was asked for. */
export function fixtureEncoder(fixture: IndexFixture): { embed: (texts: string[]) => Promise<Float32Array[]>; calls: string[][] } {
  const byText = new Map(fixture.passages.map((p) => [p.text, Float32Array.from(p.vector)]));
  const calls: string[][] = [];
  const embed = async (texts: string[]) => {
    calls.push(texts);
    return texts.map((t) => {
      const v = byText.get(t);
      if (!v) throw new Error(`the fixture encoder has no vector for ${JSON.stringify(t)}`);
      return v.slice();
    });
  };
  return { embed, calls };
}
