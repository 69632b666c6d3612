// Owns: the record of where a file `kmed download` put into a model folder came from, kept as
// Python's huggingface_hub keeps it for `hf download --local-dir` (huggingface_hub/_local_folder.py):
//   {dir}/.cache/huggingface/download/{path}.metadata   three lines: commit, etag, Unix time (s)
//   {dir}/.cache/huggingface/.gitignore                 '*', so a folder inside a git checkout stays clean
// The etag is the file's LFS sha256 or git blob id; the commit is the one the revision resolved to.
// Written atomically (temp + rename). Does not own the download (hub-download.ts).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DownloadError } from './download-error.js';

/** What the record says of one file. */
export interface LocalDownloadRecord {
  commit: string;
  etag: string;
  /** When it was written, in seconds since 1970 (as Python writes time.time()). */
  timestamp: number;
}

/** The record file of `path` (a repo path, '/'-separated) in model folder `dir`. */
export function metadataPath(dir: string, path: string): string {
  return join(dir, '.cache', 'huggingface', 'download', ...`${path}.metadata`.split('/'));
}

/** Records that `path` in `dir` holds the blob `etag` of `commit`. Throws DownloadError DEST_WRITE_FAILED. */
export async function writeLocalDownloadRecord(dir: string, path: string, commit: string, etag: string): Promise<void> {
  const file = metadataPath(dir, path);
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const huggingface = join(dir, '.cache', 'huggingface');
    await mkdir(dirname(file), { recursive: true });
    if (!existsSync(join(huggingface, '.gitignore'))) await writeFile(join(huggingface, '.gitignore'), '*\n');
    await writeFile(tmp, `${commit}\n${etag}\n${Date.now() / 1000}\n`);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new DownloadError('DEST_WRITE_FAILED', `cannot write ${file} (${(error as Error).message})`, { cause: error });
  }
}

/** The record of `path` in `dir`, or undefined when there is none or it is not three valid lines. */
export async function readLocalDownloadRecord(dir: string, path: string): Promise<LocalDownloadRecord | undefined> {
  let text: string;
  try {
    text = await readFile(metadataPath(dir, path), 'utf8');
  } catch {
    return undefined;
  }
  const [commit, etag, time] = text.split('\n').map((line) => line.trim());
  const timestamp = Number(time);
  if (!/^[0-9a-f]{40}$/.test(commit ?? '') || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag ?? '') || !Number.isFinite(timestamp)) return undefined;
  return { commit, etag, timestamp };
}
