// Owns: writing a whole file atomically from byte parts (Node): a temporary name of this process
// beside the target, every part written in order, fsync, rename over the target, then fsync of the
// folder so the rename itself is durable. A reader sees the old file or the new one, never half of
// one; a crash leaves at most a stray `*.tmp-PID` file, which the next write of the same target by
// this process id replaces.
// Does not own: what the bytes are, or locking (two writers of the same bytes may both rename: the
// last wins, and a writer of deterministic bytes needs no more).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileSystemError } from './fs-errors.js';

/** Write `parts` in order as the file `path`, atomically (see the header). `what` names the file. */
export function writeFileAtomic(path: string, parts: ReadonlyArray<Uint8Array>, what = 'file'): void {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const part of parts) {
      // writeSync may write less than asked (large buffers): loop until the part is out.
      for (let done = 0; done < part.length; ) done += writeSync(fd, part, done, Math.min(part.length - done, 1 << 30));
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw fileSystemError(error, path, `write the ${what}`);
  }
  // The rename is durable once the folder's entry is; a folder that cannot be opened or synced
  // (some file systems refuse it) leaves the file written all the same.
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Best effort only: see above.
  }
}
