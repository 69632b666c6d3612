// Owns: a ByteSource over a file on disk (Node only), read piece by piece with positioned reads so
// a 440 MB checkpoint is never held in memory as a whole — the loader copies each tensor straight
// from the file into the heap. Does not own parsing (safetensors.ts) or deciding what to read.
import { closeSync, constants, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import type { ByteSource } from '../../formats/byte-source.js';
import { KmedError } from '../../errors/errors.js';
import { fileSystemError } from './fs-errors.js';
import { assertRegularFile } from './regular-file.js';

export class FileSourceError extends KmedError {}

export interface FileByteSource extends ByteSource {
  /** Close the file descriptor; later reads throw FILE_CLOSED. Safe to call twice. */
  close(): void;
}

/** Largest single readSync (Node refuses reads over 2 GiB; smaller steps also keep progress fair). */
const MAX_READ = 1 << 30;

/** Open `path` for positioned reads. Throws FileSourceError (FILE_OPEN_FAILED, its cause a
 *  FileSystemError) naming the path when it is not a regular file (checked before opening: a FIFO
 *  would block the open) or cannot be opened. `what` names the file for the user. */
export function fileSource(path: string, what = 'file'): FileByteSource {
  let fd: number | undefined;
  let size: number;
  let opened: BigIntStats;
  try {
    assertRegularFile(path, what);
    // O_NONBLOCK: should a FIFO replace the file after the check, the open still returns at once
    // (it changes nothing for a regular file), and the fstat below refuses it.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const stat = fstatSync(fd, { bigint: true });
    // Checked again on the open descriptor: the path may have been replaced since the stat.
    if (!stat.isFile()) throw new FileSourceError('FILE_OPEN_FAILED', `${path}: cannot open for reading: not a regular file`);
    size = Number(stat.size);
    opened = stat;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    if (error instanceof FileSourceError) throw error;
    const why = fileSystemError(error, path, `open the ${what} for reading`);
    throw new FileSourceError('FILE_OPEN_FAILED', why.message, { cause: why });
  }
  let open = true;
  return {
    name: path,
    size,
    readInto(offset, dst) {
      if (!open) throw new FileSourceError('FILE_CLOSED', `${path}: read after close`);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + dst.length > size) {
        throw new FileSourceError('FILE_READ_OUT_OF_RANGE', `${path}: read of ${dst.length} bytes at offset ${offset} is outside the file (${size} bytes)`);
      }
      let done = 0;
      while (done < dst.length) {
        let n: number;
        try {
          n = readSync(fd!, dst, done, Math.min(dst.length - done, MAX_READ), offset + done);
        } catch (error) {
          const why = fileSystemError(error, path, `read the ${what} at byte ${offset + done}`);
          throw new FileSourceError('FILE_READ_FAILED', why.message, { cause: error });
        }
        if (n === 0) {
          throw new FileSourceError('FILE_TRUNCATED', `${path}: file ended at byte ${offset + done}, expected ${size} bytes (changed while reading?)`);
        }
        done += n;
      }
    },
    checkUnchanged() {
      if (!open) throw new FileSourceError('FILE_CLOSED', `${path}: read after close`);
      let now: BigIntStats;
      try {
        now = fstatSync(fd!, { bigint: true });
      } catch (error) {
        throw new FileSourceError('FILE_READ_FAILED', `${path}: cannot stat the open file: ${(error as Error).message}`, { cause: error });
      }
      const change = contentChange(opened, now);
      if (change !== undefined) {
        throw new FileSourceError('FILE_CHANGED', `${path}: the file changed since the model was loaded (${change}); its word embeddings are read from it on demand, so reload the model`);
      }
      // A name change only (renamed, unlinked, replaced by another file): the bytes read are the same.
      opened = now;
    },
    close() {
      if (open) {
        open = false;
        closeSync(fd!);
      }
    },
  };
}

/**
 * How the open file's content may have changed between two fstat()s of its descriptor, or
 * undefined when it cannot have. The descriptor keeps reading the same inode whatever happens to
 * the path, so another process publishing a file of the same name by rename (a cache filling from
 * two processes) changes nothing we read — though the old inode's ctime moves, as its link count
 * drops. A write in place moves size or mtime; a writer that puts mtime back (touch -r) cannot
 * put ctime back, so a ctime change with no link-count change to explain it counts as a change
 * too (as does a chmod: a false alarm on the safe side).
 */
function contentChange(before: BigIntStats, now: BigIntStats): string | undefined {
  if (now.size !== before.size) return `size was ${before.size}, now ${now.size}`;
  if (now.mtimeNs !== before.mtimeNs) return `modified at ${iso(now.mtimeNs)}, loaded when modified at ${iso(before.mtimeNs)}`;
  if (now.ctimeNs !== before.ctimeNs && now.nlink === before.nlink) return `its ctime moved to ${iso(now.ctimeNs)} while its size and mtime stayed (a write that put the mtime back, or a chmod)`;
  return undefined;
}

function iso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}
