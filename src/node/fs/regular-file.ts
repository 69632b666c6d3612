// Owns: refusing anything but a regular file (a FIFO, socket, character or block device, folder)
// before it is opened for reading. Opening a FIFO for reading blocks until a writer appears, which
// is forever for a model file or corpus given by mistake, and a device can stream without end; a
// stat() does neither. Symbolic links are followed (a link to a regular file is fine).
// Does not own reading the file or the wording of other file-system failures (fs-errors.ts).
import { fstatSync, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { FileSystemError, fileSystemError } from './fs-errors.js';

/** Throws FileSystemError unless `path` is a regular file. `what` names it for the user, e.g.
 *  'model config' or 'corpus'. */
export function assertRegularFile(path: string, what = 'file'): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw fileSystemError(error, path, `read the ${what}`);
  }
  check(stats, path, what);
}

/** The same as assertRegularFile, without blocking the event loop. */
export async function assertRegularFileAsync(path: string, what = 'file'): Promise<void> {
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw fileSystemError(error, path, `read the ${what}`);
  }
  check(stats, path, what);
}

/** Refuses a folder as standard input (`kmed embed < DIR`), which Node reads as empty: the command
 *  would print nothing and exit 0. A pipe, FIFO, terminal or file is fine there. */
export function assertStdinNotFolder(): void {
  let stats: Stats;
  try {
    stats = fstatSync(0);
  } catch {
    return; // no stdin at all: reading it ends at once, as for an empty input
  }
  if (stats.isDirectory()) {
    throw new FileSystemError('FS_IS_DIRECTORY', undefined, 'stdin is a folder (EISDIR); give the input as a file or a pipe', { errno: 'EISDIR' });
  }
}

function check(stats: Stats, path: string, what: string): void {
  if (stats.isFile()) return;
  if (stats.isDirectory()) {
    throw new FileSystemError('FS_IS_DIRECTORY', path, `${path}: cannot read the ${what}: is a folder, not a file (EISDIR); give the path of a file`, { errno: 'EISDIR' });
  }
  throw new FileSystemError(
    'FS_NOT_REGULAR_FILE',
    path,
    `${path}: cannot read the ${what}: is a ${kind(stats)}, not a regular file; kmed reads only regular files (save the data to one first)`,
  );
}

function kind(stats: Stats): string {
  if (stats.isFIFO()) return 'named pipe (FIFO)';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  return 'special file';
}
