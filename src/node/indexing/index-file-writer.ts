// Owns: IndexFileWriter, writing one index file (format 3) to disk through an IndexEncoder — each
// section at its own place as it is fed (rows, offsets, strings, or whole sections copied from
// another index), then the checksum table and the header — into a temp file that is fsync'd and
// renamed over the target, so the target is never half-written. Shared by the builder, `kmed merge`
// and the benches' synthetic indexes, so every file is written by the same code.
// Does not own: the bytes (../../search/index-encoder.ts), the layout (../../search/index-layout.ts),
// or what is fed (index-builder.ts, index-merge.ts).
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KmedError } from '../../errors/errors.js';
import { IndexEncoder, type IndexWrite } from '../../search/index-encoder.js';
import type { IndexLayout, IndexMeta, ScanDtype, SectionName } from '../../search/index-layout.js';
import { fileSystemError, isSystemError } from '../fs/fs-errors.js';

export class IndexWriteError extends KmedError {}

export class IndexFileWriter {
  private readonly target: FileHandle;
  private readonly tmp: string;
  private readonly encoder: IndexEncoder;

  private constructor(target: FileHandle, tmp: string, encoder: IndexEncoder) {
    this.target = target;
    this.tmp = tmp;
    this.encoder = encoder;
  }

  /** Start writing an index of `count` passages of `dimension` (strings block of `stringsLength`
   *  bytes, optional scan rows) into `tmp`. */
  static async create(tmp: string, meta: IndexMeta, dimension: number, count: number, stringsLength: number, scan: ScanDtype | null = null): Promise<IndexFileWriter> {
    const encoder = new IndexEncoder(meta, dimension, count, stringsLength, scan);
    let target: FileHandle;
    try {
      target = await open(tmp, 'w');
    } catch (error) {
      throw writeFailed(error, tmp, 'create');
    }
    return new IndexFileWriter(target, tmp, encoder);
  }

  get layout(): IndexLayout {
    return this.encoder.layout;
  }

  /** The next passages' vectors as embedded (rows × dimension floats; overwritten with unit rows). */
  async rows(raw: Float32Array): Promise<void> {
    await this.put(this.encoder.rows(raw));
  }

  /** Append bytes to `section` (offsets, strings; or a whole section of another index's layout). */
  async write(section: SectionName, bytes: Uint8Array): Promise<void> {
    await this.put([this.encoder.section(section, bytes)]);
  }

  private async put(writes: IndexWrite[]): Promise<void> {
    for (const { at, bytes } of writes) {
      try {
        await this.target.write(bytes, 0, bytes.length, at);
      } catch (error) {
        throw writeFailed(error, this.tmp, 'write');
      }
    }
  }

  /** Table, header, fsync, rename to `out` (and fsync of its folder). Returns the file size. */
  async finish(out: string): Promise<number> {
    try {
      await this.put(this.encoder.finish());
      await this.target.sync();
    } finally {
      await this.target.close();
    }
    try {
      await rename(this.tmp, out);
    } catch (error) {
      throw writeFailed(error, out, `move ${this.tmp} to`);
    }
    syncDirectory(dirname(resolve(out)));
    const size = (await stat(out)).size;
    if (size !== this.layout.fileLength) {
      throw new IndexWriteError('INDEX_WRITE_FAILED', `assembled ${size} bytes for ${out}, expected ${this.layout.fileLength}`);
    }
    return size;
  }

  async abort(): Promise<void> {
    try {
      await this.target.close();
    } catch {
      // closed already
    }
    await rm(this.tmp, { force: true });
  }
}

/** fsync a folder so a rename in it survives a power cut (best effort: not every OS allows it). */
export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}

/** A failed write: a system error (ENOSPC, EROFS, EACCES, EISDIR …) is worded by fs-errors.ts, which
 *  names the path, the errno and what to do; anything else is INDEX_WRITE_FAILED (or `code`). */
export function writeFailed(error: unknown, path: string, doing: string, code: 'INDEX_WRITE_FAILED' | 'INDEX_LOCK_FAILED' = 'INDEX_WRITE_FAILED'): KmedError {
  if (isSystemError(error)) return fileSystemError(error, path, doing);
  return new IndexWriteError(code, `${path}: cannot ${doing}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
