// Owns: `downloadModel` — putting one Hugging Face model repo into `weights/<name>/`: resolve the
// revision to a commit and list its files (one request), skip those already present and intact,
// download the rest one after another at that commit (resumable, checked, bounded by the hub
// limits), record each file's commit and etag as `hf download --local-dir` does and the weights'
// sha256 for the fingerprint, and report progress as bytes across the whole repo.
// Node-only (file system, process.env).
// Does not own the HTTP details of listing (hub-client.ts) or of one transfer (resumable-download.ts),
// nor how progress is drawn (the CLI passes a callback; see progress.ts).

import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { DownloadError, withManualCopyHint } from './download-error.js';
import { AbortError } from '../../errors/abort-error.js';
import { resolveHubLimits, type HubLimits } from '../../hub/limits.js';
import { checkRevision } from '../../hub/repo.js';
import { recordWeightsSha256 } from '../model-files/model-fingerprint.js';
import { checkRepoId, listRepoFiles, normalizeEndpoint, resolveUrl, type RepoFile } from './hub-client.js';
import { writeLocalDownloadRecord } from './local-dir-metadata.js';
import { selectModelFiles } from './hub-file-selection.js';
import { downloadFile, isComplete } from './resumable-download.js';

export { DownloadError } from './download-error.js';

/** Where and how `kmed download` fetches a repo. The limits (HubLimits: times, minimum rate,
 *  attempts, deadline, listing size) bound every request, as for fromPretrained. */
export interface DownloadModelOptions extends HubLimits {
  /** Folder that receives `<repo name after the slash>/`; default 'weights'. */
  destRoot?: string;
  /** Branch, tag or commit; default 'main'. A branch or tag is resolved to its commit once, and
   *  every file is fetched at that commit. */
  revision?: string;
  /** Hub base URL; default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Access token for private or gated repos; default HF_TOKEN. */
  token?: string;
  onProgress?: (event: DownloadProgress) => void;
  /** Fetch every listed file, other weight formats too (default: safetensors and the small files only). */
  allFiles?: boolean;
  /** Stops the download (AbortError); the bytes of the file in flight stay in its `.part` for a resume. */
  signal?: AbortSignal;
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
  /** Bytes of `file` on disk so far (a resumed `.part` counts), and its size (0 for 'listed'). */
  fileBytes: number;
  fileSize: number;
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
  /** The commit the revision resolved to; every file was fetched at it (and is recorded under
   *  `.cache/huggingface/download/`, as `hf download --local-dir` does). */
  commit: string;
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
  checkRevision(revision);
  const limits = resolveHubLimits(options);
  const token = options.token ?? (process.env.HF_TOKEN || undefined);
  const signal = options.signal;
  const dir = join(options.destRoot ?? 'weights', repo.slice(repo.indexOf('/') + 1));
  if (signal?.aborted) throw new AbortError(`downloading ${repo}`, signal.reason);

  const { commit, files: listed } = await listRepoFiles(repo, { endpoint, revision, token, limits, signal });
  const files = selectModelFiles(repo, revision, listed, options.allFiles);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  let completedBytes = 0;
  const emit = (event: DownloadProgress['event'], file: RepoFile | undefined, filePosition: number, networkBytes = 0) =>
    options.onProgress?.({
      event,
      repo,
      file: file?.path ?? '',
      doneBytes: completedBytes + filePosition,
      totalBytes,
      networkBytes,
      fileBytes: event === 'file-done' || event === 'file-present' ? (file?.size ?? 0) : filePosition,
      fileSize: file?.size ?? 0,
    });
  emit('listed', undefined, 0);

  const results: DownloadedFile[] = [];
  for (const file of files) {
    const target = targetPath(dir, file);
    const etag = file.sha256 ?? file.gitBlobId ?? '';
    if (await isComplete(target, file)) {
      completedBytes += file.size;
      results.push({ path: file.path, size: file.size, status: 'present', requests: 0 });
      await record(dir, file, target, commit, etag);
      emit('file-present', file, 0);
      continue;
    }
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      throw new DownloadError('DEST_WRITE_FAILED', `cannot create ${dirname(target)} (${(error as Error).message})`, { cause: error });
    }
    emit('file-start', file, 0);
    // Pinned to the commit the listing named: a branch that moves meanwhile cannot mix two commits.
    const transfer = await downloadFile({
      url: resolveUrl(endpoint, repo, commit, file.path),
      dest: target,
      label: `${repo}/${file.path}`,
      size: file.size,
      sha256: file.sha256,
      gitBlobId: file.gitBlobId,
      token,
      limits,
      signal,
      commit,
      onProgress: (position, networkBytes) => emit('bytes', file, position, networkBytes),
    });
    completedBytes += file.size;
    results.push({
      path: file.path,
      size: file.size,
      status: transfer.resumedFrom > 0 ? 'resumed' : 'downloaded',
      requests: transfer.requests,
    });
    await record(dir, file, target, commit, etag);
    emit('file-done', file, 0);
  }
  return { repo, commit, dir, files: results };
}

/** Records where a file in place came from (Python's local-dir metadata), and the weights' verified
 *  sha256 where the fingerprint looks for it, so the first `kmed index` need not hash 440 MB. */
async function record(dir: string, file: RepoFile, target: string, commit: string, etag: string): Promise<void> {
  if (etag !== '') await writeLocalDownloadRecord(dir, file.path, commit, etag);
  if (file.sha256 && file.path === 'model.safetensors') recordWeightsSha256(target, file.sha256);
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
