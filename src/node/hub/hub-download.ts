// Owns: `downloadModel` — putting one Hugging Face model repo into `weights/<name>/`: list its files,
// skip those already present and intact, download the rest one after another (resumable, checked),
// and report progress as bytes across the whole repo. Node-only (file system, process.env).
// Does not own the HTTP details of listing (hub-client.ts) or of one transfer (resumable-download.ts),
// nor how progress is drawn (the CLI passes a callback; see progress.ts).

import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { DownloadError, withManualCopyHint } from './download-error.js';
import { checkRepoId, listRepoFiles, normalizeEndpoint, resolveUrl, type RepoFile } from './hub-client.js';
import { selectModelFiles } from './hub-file-selection.js';
import { downloadFile, isComplete } from './resumable-download.js';

export { DownloadError } from './download-error.js';

export interface DownloadModelOptions {
  /** Folder that receives `<repo name after the slash>/`; default 'weights'. */
  destRoot?: string;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
  /** Hub base URL; default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Access token for private or gated repos; default HF_TOKEN. */
  token?: string;
  onProgress?: (event: DownloadProgress) => void;
  /** Time allowed for the hub to answer a request (listing, or a file's response headers); default 20 s. */
  timeoutMs?: number;
  /** Time a file transfer may send nothing before it is retried; default 60 s. */
  stallTimeoutMs?: number;
  /** Retries of a transfer that breaks off without progress; default 4. */
  retries?: number;
  /** First pause between retries, doubled each time; default 1 s. */
  retryDelayMs?: number;
  /** Fetch every listed file, other weight formats too (default: safetensors and the small files only). */
  allFiles?: boolean;
}

export interface DownloadProgress {
  /**
   * 'listed': totals are known. 'file-start' / 'file-done': one file begins / is in place.
   * 'file-present': a file was already there and intact. 'bytes': bytes moved.
   */
  event: 'listed' | 'file-start' | 'bytes' | 'file-done' | 'file-present';
  repo: string;
  /** Path inside the repo of the file concerned ('' for 'listed'). */
  file: string;
  /** Bytes of the repo in place or on disk so far, and the repo's total. */
  doneBytes: number;
  totalBytes: number;
  /** Bytes that just came over the network (only for 'bytes'; resumed or skipped bytes are not). */
  networkBytes: number;
}

export interface DownloadedFile {
  path: string;
  size: number;
  /** 'present': already there; 'downloaded': fetched whole; 'resumed': continued from a `.part`. */
  status: 'present' | 'downloaded' | 'resumed';
  /** HTTP requests it took (more than 1 after a broken transfer). */
  requests: number;
}

export interface DownloadModelResult {
  repo: string;
  /** The model folder, e.g. 'weights/medical-biencoder-ko-bert-question'. */
  dir: string;
  files: DownloadedFile[];
}

/** Downloads the files kmed needs (see hub-file-selection.ts) of model repo `repo` (e.g. 'snumin44/medical-biencoder-ko-bert-question'). */
export async function downloadModel(repo: string, options: DownloadModelOptions = {}): Promise<DownloadModelResult> {
  try {
    return await downloadModelFiles(repo, options);
  } catch (error) {
    throw withManualCopyHint(error);
  }
}

async function downloadModelFiles(repo: string, options: DownloadModelOptions): Promise<DownloadModelResult> {
  checkRepoId(repo);
  const endpoint = normalizeEndpoint(options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co');
  const revision = options.revision ?? 'main';
  const token = options.token ?? (process.env.HF_TOKEN || undefined);
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = join(options.destRoot ?? 'weights', repo.slice(repo.indexOf('/') + 1));

  const listed = await listRepoFiles(repo, { endpoint, revision, token, timeoutMs });
  const files = selectModelFiles(repo, revision, listed, options.allFiles);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  let completedBytes = 0;
  const emit = (event: DownloadProgress['event'], file: string, filePosition: number, networkBytes = 0) =>
    options.onProgress?.({ event, repo, file, doneBytes: completedBytes + filePosition, totalBytes, networkBytes });
  emit('listed', '', 0);

  const results: DownloadedFile[] = [];
  for (const file of files) {
    const target = targetPath(dir, file);
    if (await isComplete(target, file)) {
      completedBytes += file.size;
      results.push({ path: file.path, size: file.size, status: 'present', requests: 0 });
      emit('file-present', file.path, 0);
      continue;
    }
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      throw new DownloadError('DEST_WRITE_FAILED', `cannot create ${dirname(target)} (${(error as Error).message})`, { cause: error });
    }
    emit('file-start', file.path, 0);
    const transfer = await downloadFile({
      url: resolveUrl(endpoint, repo, revision, file.path),
      dest: target,
      label: `${repo}/${file.path}`,
      size: file.size,
      sha256: file.sha256,
      gitBlobId: file.gitBlobId,
      token,
      timeoutMs,
      stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
      retries: options.retries ?? 4,
      retryDelayMs: options.retryDelayMs ?? 1_000,
      onProgress: (position, networkBytes) => emit('bytes', file.path, position, networkBytes),
    });
    completedBytes += file.size;
    results.push({
      path: file.path,
      size: file.size,
      status: transfer.resumedFrom > 0 ? 'resumed' : 'downloaded',
      requests: transfer.requests,
    });
    emit('file-done', file.path, 0);
  }
  return { repo, dir, files: results };
}

/** Where a listed file goes; hub-client already rejected '..' and absolute paths, this re-checks. */
function targetPath(dir: string, file: RepoFile): string {
  const root = resolve(dir);
  const target = resolve(root, ...file.path.split('/'));
  if (!target.startsWith(root + sep)) {
    throw new DownloadError('HUB_BAD_LISTING', `listed file '${file.path}' would land outside ${dir}`);
  }
  return join(dir, ...file.path.split('/'));
}
