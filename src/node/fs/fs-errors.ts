// Owns: turning a Node system error (EISDIR, ENOTDIR, EROFS, EACCES, ENOSPC, EEXIST, EMFILE,
// ENOENT, ...) into a FileSystemError: one KmedError with a stable code whose message names the path,
// says what happened in words and what to do about it. Also owns finding the true cause of a failed
// recursive mkdir, which Node reports as ENOENT even when the folder is read-only.
// Does not own deciding which files to read or write (the callers do), nor refusing non-regular
// files (regular-file.ts).
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KmedError } from '../../errors/errors.js';

export type FileSystemErrorCode =
  | 'FS_NOT_FOUND'
  | 'FS_IS_DIRECTORY'
  | 'FS_NOT_DIRECTORY'
  | 'FS_NOT_REGULAR_FILE'
  | 'FS_READ_ONLY'
  | 'FS_PERMISSION_DENIED'
  | 'FS_NO_SPACE'
  | 'FS_EXISTS'
  | 'FS_NOT_EMPTY'
  | 'FS_TOO_MANY_OPEN_FILES'
  | 'FS_NAME_TOO_LONG'
  | 'FS_SYMLINK_LOOP'
  | 'FS_BUSY'
  | 'FS_IO_ERROR'
  | 'FS_ERROR';

export class FileSystemError extends KmedError {
  override readonly code: FileSystemErrorCode;
  /** The path at fault; undefined when the system did not say (a write on an open descriptor). */
  readonly path: string | undefined;
  /** Node's error code (e.g. 'ENOSPC'), when the error came from the system. */
  readonly errno: string | undefined;

  constructor(code: FileSystemErrorCode, path: string | undefined, message: string, details: { errno?: string; cause?: unknown } = {}) {
    super(code, message, { cause: details.cause });
    this.code = code;
    this.path = path;
    this.errno = details.errno;
  }
}

/** A Node system error: an Error with a string `code` such as 'ENOENT' (and usually `syscall`). */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z0-9]+$/.test((error as NodeJS.ErrnoException).code!);
}

// What each errno means for a user, and what to do. The advice is generic on purpose: callers add
// context through `doing` ("read the model config", "write the index").
const MEANINGS: Record<string, [FileSystemErrorCode, string, string]> = {
  ENOENT: ['FS_NOT_FOUND', 'does not exist', 'check the path'],
  EISDIR: ['FS_IS_DIRECTORY', 'is a folder, not a file', 'give the path of a file'],
  ENOTDIR: ['FS_NOT_DIRECTORY', 'a part of the path is a file, not a folder', 'check the path (a folder name is taken by a file)'],
  EROFS: ['FS_READ_ONLY', 'is on a read-only file system', 'choose a location on a writable disk'],
  EACCES: ['FS_PERMISSION_DENIED', 'permission denied', 'check the permissions of the file and its folder, or choose another location'],
  EPERM: ['FS_PERMISSION_DENIED', 'operation not permitted', 'check the permissions and attributes (e.g. chattr +i) of the file and its folder'],
  ENOSPC: ['FS_NO_SPACE', 'no space left on the device', 'free some space or choose a location on another disk'],
  EDQUOT: ['FS_NO_SPACE', 'disk quota exceeded', 'free some space or choose a location on another disk'],
  EFBIG: ['FS_NO_SPACE', 'file too large for this file system', 'choose a location on another disk'],
  EEXIST: ['FS_EXISTS', 'already exists', 'remove it or choose another path'],
  ENOTEMPTY: ['FS_NOT_EMPTY', 'is a folder that is not empty', 'remove it or choose another path'],
  EMFILE: ['FS_TOO_MANY_OPEN_FILES', 'too many open files in this process', 'raise the limit (ulimit -n) and retry'],
  ENFILE: ['FS_TOO_MANY_OPEN_FILES', 'too many open files on this system', 'close other programs or raise the system limit, and retry'],
  ENAMETOOLONG: ['FS_NAME_TOO_LONG', 'the path is too long', 'choose a shorter path'],
  ELOOP: ['FS_SYMLINK_LOOP', 'too many levels of symbolic links', 'check the symbolic links on the path'],
  EBUSY: ['FS_BUSY', 'is busy (in use by the system or another program)', 'retry when it is free, or choose another path'],
  ETXTBSY: ['FS_BUSY', 'is busy (an executable in use)', 'retry when it is free, or choose another path'],
  EIO: ['FS_IO_ERROR', 'input/output error', 'check the disk (a failing disk or a lost network share)'],
  ENXIO: ['FS_NOT_REGULAR_FILE', 'is a device or socket with nothing behind it', 'give the path of a regular file'],
  ENODEV: ['FS_NOT_REGULAR_FILE', 'is a device, not a file', 'give the path of a regular file'],
  EXDEV: ['FS_ERROR', 'cannot be moved across file systems', 'keep the output and its temporary files on one disk'],
};

/**
 * The FileSystemError for a Node system error. `path` overrides the error's own path (callers know
 * which file they meant); `doing` says what was attempted, e.g. 'read the model config'.
 * A KmedError is returned unchanged; anything else that is not a system error becomes FS_ERROR.
 */
export function fileSystemError(error: unknown, path?: string, doing?: string): KmedError {
  if (error instanceof KmedError) return error;
  if (!isSystemError(error)) {
    return new FileSystemError('FS_ERROR', path, `${path ? `${path}: ` : ''}${doing ? `cannot ${doing}: ` : ''}${String((error as Error)?.message ?? error)}`, { cause: error });
  }
  let cause: NodeJS.ErrnoException = error;
  let at = path ?? blamedPath(error);
  if (error.code === 'ENOENT' && error.syscall === 'mkdir' && error.path !== undefined) {
    const real = trueMkdirFailure(error.path);
    if (real) {
      cause = real;
      at = real.path ?? at;
    }
  }
  const errno = cause.code!;
  let [code, what, advice] = MEANINGS[errno] ?? ['FS_ERROR', cause.message.replace(/^E[A-Z0-9]+: /, ''), 'check the path and retry'];
  if (errno === 'EEXIST' && cause.syscall === 'mkdir') {
    // A recursive mkdir only fails with EEXIST when the path is taken by something not a folder.
    [code, what, advice] = ['FS_NOT_DIRECTORY', 'is a file where a folder is needed', 'remove it or choose another path'];
  }
  return new FileSystemError(code, at, `${at ? `${at}: ` : ''}${doing ? `cannot ${doing}: ` : ''}${what} (${errno}); ${advice}`, { errno, cause: error });
}

/** The path a system error is about. For a rename that fails because of its destination (a folder
 *  in the way, an existing or non-empty target), that is the destination. */
function blamedPath(error: NodeJS.ErrnoException): string | undefined {
  const dest = (error as NodeJS.ErrnoException & { dest?: string }).dest;
  if (dest !== undefined && ['EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY'].includes(error.code!)) return dest;
  return error.path;
}

/**
 * Why `mkdir(path, { recursive: true })` failed with ENOENT. Node reports ENOENT for a recursive
 * mkdir under a read-only or forbidden folder, which sends users looking for a missing path. Below
 * the nearest existing ancestor, a plain mkdir of the first missing folder reports the real errno.
 * Returns undefined when nothing better is found (the plain mkdir succeeded: then it is removed again).
 */
export function trueMkdirFailure(path: string): NodeJS.ErrnoException | undefined {
  let missing = path;
  for (let parent = dirname(missing); !existsSync(parent); parent = dirname(missing)) {
    if (parent === missing) return undefined; // reached the root without finding an existing folder
    missing = parent;
  }
  try {
    mkdirSync(missing);
  } catch (error) {
    return isSystemError(error) ? error : undefined;
  }
  rmdirSync(missing);
  return undefined;
}

/** mkdir -p that reports the true cause as a FileSystemError naming the folder. */
export function makeDirectory(dir: string, doing = 'create the folder'): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw fileSystemError(error, undefined, doing);
  }
}
