// Owns: writing a synthetic index of N random vectors (stored as unit rows) (D dims, seeded xorshift, ids "p<i>",
// short texts) straight to disk in the real format, through the same IndexFileWriter the builder
// uses, in 4 MiB pieces (memory stays flat whatever N) — or of the rows a caller makes (bench/search.ts's
// clustered vectors). For the index benches only; not a test.
import { IndexFileWriter } from '../src/node/indexing/index-file-writer.js';
import type { IndexMeta, ScanDtype } from '../src/search/vector-index.js';

export const SYNTHETIC_META: IndexMeta = {
  context_model: { name: 'synthetic-context', fingerprint: 'sha256:' + '0'.repeat(64) },
  question_model: null,
  pooling: 'pooler',
  max_length: 512,
  corpus: { name: 'random-unit-vectors' },
};

/** A seeded stream of floats in [-1, 1). */
export function randomFloats(seed: number): (dst: Float32Array) => void {
  let s = seed >>> 0 || 1;
  return (dst) => {
    for (let i = 0; i < dst.length; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      dst[i] = s / 2 ** 31 - 1;
    }
  };
}

/** Fills dst with rows [row0, row0 + rows) of a synthetic matrix (rows × dimension floats). */
export type RowFill = (dst: Float32Array, row0: number, rows: number) => void;

/** Write an index of `count` rows: random vectors (seeded), or the rows `fill` makes; `meta` names
 *  the models (a synthetic one by default); `scan` adds f16 or int8 scan rows. */
export async function writeSyntheticIndex(
  path: string,
  count: number,
  dimension: number,
  seed = 1,
  { fill, meta = SYNTHETIC_META, scan = null }: { fill?: RowFill; meta?: IndexMeta; scan?: ScanDtype | null } = {},
): Promise<void> {
  const enc = new TextEncoder();
  const idOf = (i: number) => enc.encode(`p${i}`);
  const textOf = (i: number) => enc.encode(`synthetic passage ${i}`);
  let stringsLength = 0;
  for (let i = 0; i < count; i++) stringsLength += idOf(i).length + textOf(i).length;
  const writer = await IndexFileWriter.create(`${path}.tmp`, meta, dimension, count, stringsLength, scan);
  const random = randomFloats(seed);
  const rowsPer = Math.max(1, Math.floor((4 << 20) / (dimension * 4)));
  const rows = new Float32Array(rowsPer * dimension);
  for (let r0 = 0; r0 < count; r0 += rowsPer) {
    const n = Math.min(rowsPer, count - r0);
    const view = rows.subarray(0, n * dimension);
    if (fill) fill(view, r0, n);
    else random(view);
    await writer.rows(view); // stored as unit rows and norms
  }
  const PER = 1 << 16;
  const offsets = Buffer.alloc(PER * 16);
  let s = 0;
  for (let i0 = 0; i0 < count; i0 += PER) {
    const n = Math.min(PER, count - i0);
    for (let i = 0; i < n; i++) {
      offsets.writeBigUInt64LE(BigInt(s), i * 16);
      s += idOf(i0 + i).length;
      offsets.writeBigUInt64LE(BigInt(s), i * 16 + 8);
      s += textOf(i0 + i).length;
    }
    await writer.write('offsets', offsets.subarray(0, n * 16));
  }
  const last = Buffer.alloc(8);
  last.writeBigUInt64LE(BigInt(s));
  await writer.write('offsets', last);
  for (let i0 = 0; i0 < count; i0 += PER) {
    const parts: Uint8Array[] = [];
    for (let i = i0; i < Math.min(count, i0 + PER); i++) parts.push(idOf(i), textOf(i));
    await writer.write('strings', Buffer.concat(parts));
  }
  await writer.finish(path);
}
