// Owns: `kmed merge` — joining the shard files of one corpus (`kmed index --shard I/N`) into one
// index, byte-identical to what a single `kmed index` of the corpus writes. Before writing, the
// shards must agree on everything but their slice (models, pooling, max length, dtype, corpus name
// and sha256, dimension) and cover the corpus's passages exactly once: N files, shard numbers 0..N-1
// each once, each holding exactly its slice [floor(P·I/N), floor(P·(I+1)/N)). Every byte copied is
// verified against the shard's checksums on the way. Exclusive (`OUT.lock`) and atomic (temp file,
// fsync, rename) like a build.
// Also owns ShardSet, the check that several index files are the shards of one corpus, which
// searching them without merging (kmed search --index A --index B) shares.
// Does not own the format (../vector-index.ts) or the writer (index-builder.ts IndexFileWriter).
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KmedError } from '../../errors/errors.js';
import { VectorIndex, type IndexMeta, type SectionName } from '../../search/vector-index.js';
import { fileSource, type FileByteSource } from '../fs/file-source.js';
import { acquireLock, shardRange } from './index-builder.js';
import { IndexFileWriter } from './index-file-writer.js';

export class IndexMergeError extends KmedError {}

/** The meta of a whole-corpus index made from these shards: `shard` dropped, keys in order. */
export function unshardedMeta(meta: IndexMeta): IndexMeta {
  const { shard: _shard, ...rest } = meta;
  return rest;
}

/**
 * Checks that `indexes` are shards of one corpus built alike and together cover its passages
 * exactly once; returns them sorted by shard number.
 */
export function checkShardSet(indexes: VectorIndex[]): VectorIndex[] {
  if (indexes.length === 0) throw new IndexMergeError('MERGE_NO_SHARDS', 'no shard files given');
  const notShard = indexes.find((x) => !x.meta.shard);
  if (notShard) {
    throw new IndexMergeError('MERGE_NOT_A_SHARD', `${notShard.name} is not a shard (it was built without --shard): only the files of one kmed index --shard I/N run can be merged`);
  }
  const first = indexes[0];
  const same = JSON.stringify(unshardedMeta(first.meta));
  const of = first.meta.shard!.of;
  const total = first.meta.shard!.total;
  for (const x of indexes) {
    const shard = x.meta.shard!;
    if (x.scan !== first.scan) {
      throw new IndexMergeError('MERGE_MISMATCH', `${x.name} holds ${x.scan ?? 'no'} scan rows but ${first.name} ${first.scan ?? 'none'}: build every shard with the same --row-dtype`);
    }
    if (x.dimension !== first.dimension) {
      throw new IndexMergeError('MERGE_MISMATCH', `${x.name} holds ${x.dimension}-dimensional vectors but ${first.name} ${first.dimension}: shards of one index must come from one model`);
    }
    if (JSON.stringify(unshardedMeta(x.meta)) !== same) {
      throw new IndexMergeError('MERGE_MISMATCH', `${x.name} and ${first.name} were built differently (models, settings or corpus): ${describeDifference(first.meta, x.meta)}`);
    }
    if (shard.of !== of || shard.total !== total) {
      throw new IndexMergeError('MERGE_MISMATCH', `${x.name} is shard ${shard.index}/${shard.of} of ${shard.total} passages but ${first.name} is of ${of} shards of ${total}: all shards must come from one --shard I/N run`);
    }
    const expected = shardRange(total, shard.index, shard.of);
    if (shard.first !== expected.first || x.count !== expected.end - expected.first) {
      throw new IndexMergeError('MERGE_COVERAGE', `${x.name} (shard ${shard.index}/${of}) holds passages [${shard.first}, ${shard.first + x.count}) but that shard is [${expected.first}, ${expected.end})`);
    }
  }
  const byIndex = new Map<number, VectorIndex>();
  for (const x of indexes) {
    const twin = byIndex.get(x.meta.shard!.index);
    if (twin) throw new IndexMergeError('MERGE_COVERAGE', `${x.name} and ${twin.name} are both shard ${x.meta.shard!.index}/${of}: each passage must come once`);
    byIndex.set(x.meta.shard!.index, x);
  }
  const missing = Array.from({ length: of }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new IndexMergeError('MERGE_COVERAGE', `shard${missing.length > 1 ? 's' : ''} ${missing.slice(0, 20).join(', ')} of ${of} missing: the corpus's ${total} passages must be covered exactly once`);
  }
  return Array.from({ length: of }, (_, i) => byIndex.get(i)!);
}

function describeDifference(a: IndexMeta, b: IndexMeta): string {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('shard');
  const differing = [...keys].filter((k) => JSON.stringify((a as unknown as Record<string, unknown>)[k]) !== JSON.stringify((b as unknown as Record<string, unknown>)[k]));
  return `${differing.join(', ')} differ`;
}

export interface MergeResult {
  out: string;
  count: number;
  shards: number;
  bytes: number;
}

const CHUNK = 4 << 20;

/** Merge shard files into `out` (see the file header). */
export async function mergeShards(paths: string[], out: string, options: { force?: boolean } = {}): Promise<MergeResult> {
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new IndexMergeError('INDEX_OUT_IS_DIRECTORY', `--out ${out} is a directory: give the path of the index file to write`);
  }
  if (existsSync(out) && !options.force) {
    throw new IndexMergeError('INDEX_EXISTS', `${out} already exists: pass --force to replace it, or choose another --out`);
  }
  const sources: FileByteSource[] = [];
  try {
    const indexes = paths.map((p) => {
      if (!existsSync(p)) throw new IndexMergeError('INDEX_NOT_FOUND', `shard ${p} not found`);
      const source = fileSource(p);
      sources.push(source);
      return VectorIndex.open(source);
    });
    const shards = checkShardSet(indexes);
    // The offsets are rebased below: checked first (in order, in bounds), not only checksummed.
    for (const x of shards) x.verifySection('offsets');
    const release = acquireLock(out);
    try {
      const meta = unshardedMeta(shards[0].meta);
      const D = shards[0].dimension;
      const count = shards.reduce((n, x) => n + x.count, 0);
      const stringsLength = shards.reduce((n, x) => n + x.layout.stringsLength, 0);
      const writer = await IndexFileWriter.create(join(dirname(out), `.${basenameOf(out)}.merge-${process.pid}.tmp`), meta, D, count, stringsLength, shards[0].scan);
      try {
        const buf = new Uint8Array(CHUNK);
        const copy = async (x: VectorIndex, section: SectionName) => {
          const length = x.layout.sections[section].length;
          for (let at = 0; at < length; at += CHUNK) {
            const piece = buf.subarray(0, Math.min(CHUNK, length - at));
            x.readSection(section, at, piece);
            await writer.write(section, piece);
          }
        };
        // The per-row sections are the same bytes in a merged file as in the shards, in shard order.
        for (const section of ['vectors', 'norms', 'scan', 'scales'] as const) for (const x of shards) await copy(x, section);
        // Offsets: each shard's table without its closing entry, rebased by the strings before it.
        let base = 0;
        const view = new DataView(buf.buffer);
        for (const x of shards) {
          const entries = 2 * x.count;
          for (let e0 = 0; e0 < entries; e0 += CHUNK / 8) {
            const n = Math.min(CHUNK / 8, entries - e0);
            const piece = buf.subarray(0, n * 8);
            x.readSection('offsets', e0 * 8, piece);
            for (let e = 0; e < n; e++) {
              const v = view.getUint32(e * 8 + 4, true) * 4294967296 + view.getUint32(e * 8, true) + base;
              view.setBigUint64(e * 8, BigInt(v), true);
            }
            await writer.write('offsets', piece);
          }
          base += x.layout.stringsLength;
        }
        const last = new Uint8Array(8);
        new DataView(last.buffer).setBigUint64(0, BigInt(base), true);
        await writer.write('offsets', last);
        for (const x of shards) await copy(x, 'strings');
        const bytes = await writer.finish(out);
        return { out, count, shards: shards.length, bytes };
      } catch (error) {
        await writer.abort();
        throw error;
      }
    } finally {
      release();
    }
  } finally {
    for (const s of sources) s.close();
  }
}

function basenameOf(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
