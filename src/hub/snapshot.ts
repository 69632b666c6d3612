// Owns: getting the files a kmed encoder needs from one hub model repo into a cache, and saying
// where they are — the policy of a load:
//  - a commit hash whose snapshot is cached: no request at all;
//  - `offline` (or HF_HUB_OFFLINE=1): refs/{revision} -> snapshot, never a request; what is missing
//    is named in one error;
//  - a branch or tag online: ONE small request (the model info) revalidates it, because a branch
//    moves; files already held under that commit (or as the same blob) are not fetched again;
//  - the hub unreachable: the snapshot refs/{revision} last resolved to, if complete, is used;
//  - a cached file the store finds modified since it was stored is fetched again online, and is
//    the error offline;
//  - the store may be shared by processes: a blob another one is fetching is waited for.
// Runtime-neutral. Does not own requests (client.ts, transfer.ts) or storage (cache.ts).
import { AbortError } from '../errors/abort-error.js';
import type { Hasher } from '../formats/sha256.js';
import type { CachedFile, HubCache } from './cache.js';
import { fetchRevisionInfo, type RepoFile, type RequestContext } from './client.js';
import { DownloadError, OFFLINE_HINT } from './download-error.js';
import type { HubProgressCallback, SnapshotFileInfo } from './progress.js';
import { resolveHubLimits, type HubLimits } from './limits.js';
import { checkRepoId, checkRevision, defaultEndpoint, envVar, isCommitHash, offlineFromEnv, resolveUrl } from './repo.js';
import { transferBlob } from './transfer.js';

/** Files an encoder cannot load without. */
export const REQUIRED_FILES = ['config.json', 'vocab.txt', 'model.safetensors'] as const;
/** Files an encoder reads when the repo has them. */
export const OPTIONAL_FILES = ['tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json'] as const;

/** How a model is fetched from a hub; every option has a default. The limits (HubLimits: times,
 *  minimum rate, attempts, deadline, listing size) bound every request the load makes. */
export interface HubOptions extends HubLimits {
  /** Branch, tag or commit hash (default 'main'); checked against git's ref-name rules. A commit
   *  hash whose files are cached loads with no request. */
  revision?: string;
  /** Hub base URL (default: HF_ENDPOINT where the runtime has an environment, else https://huggingface.co). */
  endpoint?: string;
  /** Access token for private or gated repos (default: HF_TOKEN where there is an environment). */
  token?: string;
  /** Never touch the network: load from the cache or fail naming what is missing (default: HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Progress: files found, bytes per file and in total, verified, loaded into the heap. */
  onProgress?: HubProgressCallback;
  /** Cancels the load; it rejects with AbortError. Bytes already fetched stay for a resume where the cache can keep them. */
  signal?: AbortSignal;
  /** The fetch to use (default: globalThis.fetch); tests and proxies inject their own. */
  fetch?: typeof fetch;
}

/** The files of one repo at one commit, as held by the cache. */
export interface ModelSnapshot {
  repo: string;
  revision: string;
  commit: string;
  /** Every required file, and the optional ones the repo has, by path. */
  files: Map<string, CachedFile>;
  /** Requests this load made (0 when the cache answered alone). */
  requests: number;
}

/** Runtime extras: a faster SHA-256 (node:crypto). */
export interface SnapshotExtras {
  createSha256?: () => Hasher;
}

/** Makes sure `repo`'s encoder files at `options.revision` are in `cache` and returns them. */
export async function fetchSnapshot(repo: string, options: HubOptions, cache: HubCache, extras: SnapshotExtras = {}): Promise<ModelSnapshot> {
  checkRepoId(repo);
  const revision = options.revision ?? 'main';
  checkRevision(revision);
  const limits = resolveHubLimits(options);
  const offline = options.offline ?? offlineFromEnv();
  const emit = options.onProgress ?? (() => {});
  const signal = options.signal;
  if (signal?.aborted) throw new AbortError(`loading ${repo}`, signal.reason);

  // 1. The cache alone: a commit hash (it never moves), or offline (trust the last resolution).
  if (offline || isCommitHash(revision)) {
    const commit = isCommitHash(revision) ? revision : await cache.readRef(repo, revision);
    // Online, a file modified after download is fetched again; offline, it is the error.
    const found = commit === undefined ? undefined : await cachedSnapshot(cache, repo, commit, offline, !offline);
    if (commit !== undefined && found?.complete) return fromCache(repo, revision, commit, found.files, 'cache', emit);
    if (offline) {
      const what =
        commit === undefined
          ? `no commit recorded for revision ${revision} (refs/${revision})`
          : `snapshot ${commit} lacks ${found?.missing.join(', ')}`;
      throw new DownloadError(
        'HUB_NOT_CACHED',
        `offline: ${repo} is not in ${cache.description}: ${what}; load it once with network access, or pass a cacheDir that holds it`,
      );
    }
  }

  // 2. Ask the hub which commit the revision is and which files it has (one request).
  const ctx: RequestContext = {
    endpoint: defaultEndpoint(options.endpoint),
    token: options.token ?? envVar('HF_TOKEN'),
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    signal,
    limits,
  };
  let requests = 0;
  let info;
  try {
    requests++;
    info = await fetchRevisionInfo(repo, revision, ctx);
  } catch (error) {
    if (error instanceof DownloadError && error.code === 'HUB_UNREACHABLE') {
      // As huggingface_hub does: without a network, the snapshot last resolved is still good.
      const commit = isCommitHash(revision) ? revision : await cache.readRef(repo, revision);
      const found = commit === undefined ? undefined : await cachedSnapshot(cache, repo, commit, true, false);
      if (commit !== undefined && found?.complete) return fromCache(repo, revision, commit, found.files, 'cache-fallback', emit, requests);
      throw new DownloadError(error.code, error.message, { url: error.url, cause: error.cause, hint: OFFLINE_HINT });
    }
    throw error;
  }
  const { commit } = info;
  if (revision !== commit) await cache.writeRef(repo, revision, commit);

  // 3. Which files: the required ones must be listed; optional ones the repo lacks are marked so a
  //    later load by commit hash knows without asking.
  const listed = new Map(info.files.map((f) => [f.path, f]));
  const wanted: RepoFile[] = [];
  for (const path of REQUIRED_FILES) {
    const file = listed.get(path);
    if (file) wanted.push(file);
    else if (path === 'model.safetensors') {
      throw new DownloadError(
        'HUB_NO_SAFETENSORS',
        `${repo} at revision ${revision} has no model.safetensors; kmed reads safetensors only ` +
          '(convert the checkpoint with transformers: model.save_pretrained(dir, safe_serialization=True))',
      );
    } else throw new DownloadError('HUB_BAD_LISTING', `${repo} at revision ${revision} has no ${path}, which an encoder needs`);
  }
  for (const path of OPTIONAL_FILES) {
    const file = listed.get(path);
    if (file) wanted.push(file);
    else await cache.markAbsent(repo, commit, path);
  }

  // 4. What the cache already holds: the file under this commit, or the same blob under another.
  const files = new Map<string, CachedFile>();
  const infos: SnapshotFileInfo[] = [];
  for (const file of wanted) {
    let held = await heldFile(cache, repo, commit, file.path);
    if (held && held.size !== file.size) held = undefined;
    held ??= await cache.linkBlob(repo, commit, file.path, file.etag, file.size);
    if (held) files.set(file.path, held);
    infos.push({ path: file.path, size: file.size, cached: held !== undefined });
  }
  const totalBytes = infos.reduce((s, f) => s + f.size, 0);
  let doneBytes = infos.reduce((s, f) => s + (f.cached ? f.size : 0), 0);
  emit({ type: 'files', repo, revision, commit, files: infos, totalBytes, cachedBytes: doneBytes, source: 'hub' });

  // 5. Download the rest, one after another (pinned to the commit, so a moving branch cannot mix
  //    files of two commits). Where the store is shared by processes, one fetches a blob while
  //    the others wait, then link what it stored.
  for (const file of wanted) {
    if (files.has(file.path)) continue;
    const label = `${repo}/${file.path}`;
    const lock = await cache.lockBlob?.(repo, file.etag, signal, limits.deadline);
    try {
      const stored = lock ? await cache.linkBlob(repo, commit, file.path, file.etag, file.size) : undefined;
      if (stored) {
        doneBytes += file.size;
        files.set(file.path, stored);
        emit({ type: 'download', repo, file: file.path, fileBytes: file.size, fileSize: file.size, bytes: doneBytes, totalBytes });
        continue;
      }
      const writer = await cache.openBlob(repo, file.etag, file.size);
      let published: CachedFile;
      try {
        const result = await transferBlob(resolveUrl(ctx.endpoint, repo, commit, file.path), label, file, writer, {
          ...ctx,
          createSha256: extras.createSha256,
          commit,
          onBytes: (position) =>
            emit({ type: 'download', repo, file: file.path, fileBytes: position, fileSize: file.size, bytes: doneBytes + position, totalBytes }),
        });
        requests += result.requests;
        published = await writer.publish(commit, file.path);
      } catch (error) {
        // Verified-bad bytes must not be resumed; bytes cut off by a break or an abort may be.
        const keep = !(error instanceof DownloadError && (error.code === 'CHECKSUM_MISMATCH' || error.code === 'SIZE_MISMATCH'));
        await writer.close(keep).catch(() => {});
        if (error instanceof DownloadError && (error.code === 'HUB_UNREACHABLE' || error.code === 'HUB_INTERRUPTED' || error.code === 'HUB_DEADLINE')) {
          throw new DownloadError(error.code, error.message, { url: error.url, cause: error.cause, hint: OFFLINE_HINT });
        }
        throw error;
      }
      doneBytes += file.size;
      files.set(file.path, published);
      emit({ type: 'verified', repo, file: file.path, size: file.size, sha256: file.sha256, gitBlobId: file.gitBlobId });
    } finally {
      await lock?.release();
    }
  }
  return { repo, revision, commit, files, requests };
}

interface CachedSnapshot {
  /** Every required file held, and every optional one held or known absent (offline: held or not). */
  complete: boolean;
  files: Map<string, CachedFile>;
  missing: string[];
}

/** What `cache` holds of `commit`. Offline, an optional file neither held nor marked absent is
 *  taken as absent (a snapshot Python fetched file by file may lack one the repo has). `repair`: a
 *  file modified since it was stored counts as missing (it will be fetched again); otherwise its
 *  HUB_CACHE_CORRUPT error is thrown. */
async function cachedSnapshot(cache: HubCache, repo: string, commit: string, offline: boolean, repair: boolean): Promise<CachedSnapshot> {
  const files = new Map<string, CachedFile>();
  const missing: string[] = [];
  for (const path of [...REQUIRED_FILES, ...OPTIONAL_FILES]) {
    const file = repair ? await heldFile(cache, repo, commit, path) : await cache.getFile(repo, commit, path);
    if (file) files.set(path, file);
    else if ((REQUIRED_FILES as readonly string[]).includes(path) || !(offline || (await cache.isAbsent(repo, commit, path)))) missing.push(path);
  }
  return { complete: missing.length === 0, files, missing };
}

/** `path` of `commit` as the cache holds it, or undefined when it is absent or was modified since
 *  it was stored (then it is fetched again, and the new blob replaces the modified one). */
async function heldFile(cache: HubCache, repo: string, commit: string, path: string): Promise<CachedFile | undefined> {
  try {
    return await cache.getFile(repo, commit, path);
  } catch (error) {
    if (error instanceof DownloadError && error.code === 'HUB_CACHE_CORRUPT') return undefined;
    throw error;
  }
}

function fromCache(
  repo: string,
  revision: string,
  commit: string,
  files: Map<string, CachedFile>,
  source: 'cache' | 'cache-fallback',
  emit: HubProgressCallback,
  requests = 0,
): ModelSnapshot {
  const infos = [...files].map(([path, f]) => ({ path, size: f.size, cached: true }));
  const totalBytes = infos.reduce((s, f) => s + f.size, 0);
  emit({ type: 'files', repo, revision, commit, files: infos, totalBytes, cachedBytes: totalBytes, source });
  return { repo, revision, commit, files, requests };
}
