// Owns: the index file behind POST /v1/search while the server runs, so that a search is only ever
// answered from bytes that were verified. An index reads its vectors and texts from the file on
// demand, and remembers which blocks it has verified, so a file edited in place after the start
// would otherwise be served unchecked. Before and after each search the file is looked at (stat
// of the path: device, inode, size, mtime, ctime; and of a descriptor held open on the served
// file, whose ctime alone changes when a rename unlinks it, so there size and mtime):
//   - unchanged: served;
//   - replaced (a new file renamed over the path, the open descriptor's file untouched): the old
//     index, still intact, keeps answering while the new file is opened and verified in the
//     background; then it takes over in one step and the old one is closed once its last search
//     ends. Should the new file not verify, the old one goes on answering (state 'stale', as a
//     server keeps its old configuration when a reload fails) until a good file replaces it;
//   - edited in place (the open descriptor's file changed): 503 + Retry-After until the file on
//     the path verifies again (a reload is tried whenever its stat changes), never a 200.
// Verifying means what the start does: the index is opened, checked against the loaded models,
// and its search session opened (which reads and checksums every block). The graph beside it
// (INDEX.ann), when there is one, belongs to the version: it is opened with the index, checked
// against it (fingerprint) and read whole into the session, so a new or rebuilt graph file is a
// change like the index's own and is taken up by a reload (until then the old pair answers).
// Does not own the index format or its checks (../../search/vector-index.ts, through its public
// opening API), the models (models.ts) or HTTP (app.ts).
import { closeSync, constants, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { searchSession, type BiEncoder, type SearchHit } from '../../bi-encoder.js';
import type { AnnQueryOptions } from '../../search/ann/ann-search.js';
import { KmedError } from '../../errors/errors.js';
import type { Metric } from '../../search/similarity.js';
import { VectorIndex } from '../../search/vector-index.js';
import { fileSource, type FileByteSource } from '../fs/file-source.js';
import { annPath, openAnnFile } from '../indexing/ann-file.js';
import { HttpError } from './http-error.js';

/** One opened and verified version of the file. */
interface Generation {
  source: FileByteSource;
  index: VectorIndex;
  /** A descriptor on the same file as `source`, held to stat it after a rename (see openGeneration). */
  watch: number;
  /** Its stat when opened. */
  opened: Stats;
  /** The graph file beside it (INDEX.ann) when there was one, and that path's stamp when opened. */
  graph: FileByteSource | undefined;
  graphStamp: string;
  /** Searches running on it; a retired generation is closed when this reaches 0. */
  leases: number;
  retired: boolean;
  /** Its file was changed in place: its bytes can no longer be trusted. */
  broken: boolean;
}

/** ok: the file is the version served; reloading: a changed file is being verified while the
 *  intact old version answers; stale: the changed file did not verify, the old version answers;
 *  changed: the served file was edited in place and its new version is being verified (503);
 *  invalid: it was edited in place and does not verify (503). */
export type IndexState = 'ok' | 'reloading' | 'stale' | 'changed' | 'invalid';

export interface ReloadEvent {
  path: string;
  ok: boolean;
  passages?: number;
  /** The reason a reload failed (an IndexError's or file error's message: names file and byte). */
  error?: string;
}

export class ServedIndex {
  readonly path: string;
  #gen: Generation;
  #bi: BiEncoder | undefined;
  #reloading: Promise<void> | undefined;
  /** The stat of the last file a reload was tried on, and why it failed (undefined: it did not). */
  #tried: { identity: string; error?: KmedError } | undefined;
  readonly #onReload: (event: ReloadEvent) => void;

  /** Opens `path` now (throws the index's error at once); `onReload` hears of every reload. */
  constructor(path: string, onReload: (event: ReloadEvent) => void = () => {}) {
    this.path = path;
    this.#onReload = onReload;
    this.#gen = openGeneration(path);
  }

  /** The index being served (the last verified version of the file). */
  get index(): VectorIndex {
    return this.#gen.index;
  }

  get state(): IndexState {
    const failed = this.#tried?.error !== undefined && this.#reloading === undefined;
    if (this.#gen.broken) return failed ? 'invalid' : 'changed';
    return this.#reloading ? 'reloading' : failed ? 'stale' : 'ok';
  }

  /** Check the index against the loaded models and open its search session (reading and
   *  checksumming every block); from now on changes are verified against `bi` too. */
  async attach(bi: BiEncoder): Promise<void> {
    if (this.#gen.graph) bi.useGraph(this.#gen.index, this.#gen.graph);
    await bi.openIndex(this.#gen.index);
    this.#bi = bi;
  }

  /**
   * The k best passages for `vector`, from a verified index: throws HttpError 503 (with
   * Retry-After) while the file on disk differs from every verified version still intact.
   */
  async search(vector: Float32Array, k: number, options: { metric: Metric } & AnnQueryOptions): Promise<SearchHit[]> {
    const { metric, ...query } = options;
    const bi = this.#bi;
    if (bi === undefined) throw new KmedError('SERVER_INTERNAL', 'the index is not attached to the models yet');
    this.#look();
    const gen = this.#gen;
    gen.leases++;
    try {
      let hits: SearchHit[] = [];
      try {
        const session = await bi.openIndex(gen.index, { metric });
        hits = searchSession(session, gen.index, vector, k, query);
      } catch (error) {
        // A block that fails its checksum now was verified before: the file changed under us.
        if (!isIndexFault(error)) throw error;
        gen.broken = true;
      }
      // Texts were read from the file during the search: if it changed meanwhile, they may be new.
      if (!gen.broken && changed(gen, statOrUndefined(this.path))) gen.broken = true;
      if (gen.broken) {
        if (gen === this.#gen) this.#look();
        throw this.#unavailable(statOrUndefined(this.path) !== undefined);
      }
      return hits;
    } finally {
      gen.leases--;
      this.#closeIfDone(gen);
    }
  }

  /** Close the served file (and a reload's, once it ends). */
  close(): void {
    this.#gen.retired = true;
    this.#closeIfDone(this.#gen);
  }

  /** Compare the file with the served version; start a reload when they differ; throw 503 while
   *  the served version cannot be trusted. */
  #look(): void {
    const gen = this.#gen;
    const stat = statOrUndefined(this.path);
    if (!gen.broken && changed(gen, stat)) gen.broken = true;
    const graphNow = stampOf(annPath(this.path));
    const served = !gen.broken && stat !== undefined && sameFile(stat, gen.opened) && graphNow === gen.graphStamp;
    if (served) this.#tried = undefined; // the files on the path are the ones served
    const now = stat && `${identity(stat)}|${graphNow}`;
    if (!served && now !== undefined && this.#reloading === undefined && now !== this.#tried?.identity) {
      this.#reloading = this.#reload(now).finally(() => (this.#reloading = undefined));
    }
    if (gen.broken) throw this.#unavailable(stat !== undefined);
  }

  /** The 503 while no trustworthy version can answer. */
  #unavailable(present: boolean): HttpError {
    const failure = this.#reloading === undefined ? this.#tried?.error : undefined;
    return new HttpError(
      503,
      failure ? 'SERVER_INDEX_INVALID' : 'SERVER_INDEX_CHANGED',
      failure
        ? `the index file changed on disk and does not verify (${failure.message}); replace it with a good index: the server reloads it when it changes`
        : present
          ? 'the index file changed on disk; the new version is being verified: retry shortly'
          : 'the index file changed on disk and is now missing: put a good index back at its path',
      'server_error',
      null,
      1,
    );
  }

  async #reload(identityTried: string): Promise<void> {
    this.#tried = { identity: identityTried };
    let next: Generation | undefined;
    try {
      next = openGeneration(this.path);
      // Verified against the same models as at the start, every block read and checksummed; a
      // graph that is not this index's is refused here (ANN_INDEX_MISMATCH), so the old pair goes on.
      if (next.graph) this.#bi!.useGraph(next.index, next.graph);
      await this.#bi!.openIndex(next.index);
      if (changed(next, statOrUndefined(this.path))) {
        throw new KmedError('FILE_CHANGED', `${this.path}: the file changed again while it was being verified`);
      }
    } catch (error) {
      if (next) this.#discard(next);
      const e = error instanceof KmedError ? error : new KmedError('SERVER_INTERNAL', String((error as Error)?.message ?? error));
      this.#tried = { identity: identityTried, error: e };
      this.#onReload({ path: this.path, ok: false, error: e.message });
      return;
    }
    const old = this.#gen;
    this.#gen = next;
    this.#tried = undefined;
    old.retired = true;
    this.#closeIfDone(old);
    this.#onReload({ path: this.path, ok: true, passages: next.index.count });
  }

  #closeIfDone(gen: Generation): void {
    if (gen.retired && gen.leases === 0) this.#discard(gen);
  }

  #discard(gen: Generation): void {
    this.#bi?.closeIndex(gen.index);
    gen.source.close();
    gen.graph?.close();
    closeSync(gen.watch);
  }
}

/**
 * Open `path` for serving: the index over a file source, plus a descriptor of our own on the same
 * file (FileByteSource keeps its descriptor to itself) to stat it once a rename has taken the path
 * away from it. Both are opened while the path names one file (same device and inode before and
 * after), so they are the same file.
 */
function openGeneration(path: string): Generation {
  for (let attempt = 0; ; attempt++) {
    const before = statOrUndefined(path);
    // fileSource refuses what is not a regular file before opening it (a FIFO would block).
    const source = fileSource(path, 'index');
    let watch: number | undefined;
    try {
      watch = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
      const opened = fstatSync(watch);
      const after = statOrUndefined(path);
      if (!opened.isFile() || before === undefined || after === undefined || !sameFile(before, opened) || !sameFile(after, opened)) {
        if (attempt >= 3) throw new KmedError('FILE_CHANGED', `${path}: the file keeps being replaced while it is opened`);
        source.close();
        closeSync(watch);
        continue;
      }
      const index = VectorIndex.open(source);
      const graphStamp = stampOf(annPath(path));
      const graph = openAnnFile(path);
      return { source, index, watch, opened, graph, graphStamp, leases: 0, retired: false, broken: false };
    } catch (error) {
      source.close();
      if (watch !== undefined) closeSync(watch);
      throw error;
    }
  }
}

/** Whether the served file's contents may have changed since it was opened. While the path still
 *  names it, any change to its stat counts; once a rename has unlinked it (which changes its ctime
 *  and nothing else), its size and mtime. */
function changed(gen: Generation, path: Stats | undefined): boolean {
  if (path !== undefined && sameFile(path, gen.opened)) return identity(path) !== identity(gen.opened);
  const now = fstatSync(gen.watch);
  return now.size !== gen.opened.size || now.mtimeMs !== gen.opened.mtimeMs;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** What rewriting or replacing a file changes. */
function identity(stat: Stats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/** A file's identity as `identity` gives it, or 'none' when there is no file at `path`. */
function stampOf(path: string): string {
  const stat = statOrUndefined(path);
  return stat ? identity(stat) : 'none';
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function isIndexFault(error: unknown): boolean {
  return error instanceof KmedError && (error.code.startsWith('INDEX_') || error.code.startsWith('FILE_'));
}
