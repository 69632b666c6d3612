// Owns: the systems bench/search.ts measures, behind one face — build from the rows, save to a file,
// open the file cold, answer a query with a beam `ef` — for kmed's graph index and its native peers
// (usearch's HNSW, hnswlib-node), plus the exact searches (kmed's resident scan, usearch's
// exactSearch). Peers come from bench/package.json (`npm run bench:install`); a peer that is not
// installed is reported as missing, not faked.
// Does not own: the data, timing or tables (bench/search.ts).
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { fileSource } from '../../src/node/fs/file-source.js';
import { annPath, writeAnnFile } from '../../src/node/indexing/ann-file.js';
import { openAnnSearch } from '../../src/search/ann/ann-index.js';
import type { AnnSearch } from '../../src/search/ann/ann-search.js';
import { VectorIndex } from '../../src/search/vector-index.js';

export interface GraphSettings {
  M: number;
  efConstruction: number;
  threads: number;
}

/** A graph index under test. */
export interface AnnSystem {
  readonly name: string;
  /** Threads its build used. */
  readonly buildThreads: number;
  /** Build from the rows and save to its file. */
  build(): Promise<void>;
  /** Open the saved file (a fresh object: cold). */
  open(): Promise<void>;
  /** Row ids of the k best for `q` (unit length), beam `ef`. */
  query(q: Float32Array, k: number, ef: number): ArrayLike<number>;
  /** Bytes the opened index holds in memory as the system reports or as its layout implies. */
  indexBytes(): number;
  close(): void;
}

const benchRequire = createRequire(new URL('../package.json', import.meta.url));

/** A peer module from bench/node_modules, or undefined with the reason. */
export function loadPeer<T>(name: string): { module?: T; missing?: string } {
  try {
    return { module: benchRequire(name) as T };
  } catch (error) {
    return { missing: `${name} is not installed (npm run bench:install): ${(error as Error).message.split('\n')[0]}` };
  }
}

/** kmed's graph (INDEX.ann beside the index file), searched through an AnnSearch session. */
export class KmedGraph implements AnnSystem {
  readonly name = 'kmed hnsw';
  readonly buildThreads: number;
  private session: AnnSearch | undefined;
  private graphBytes = 0;

  constructor(
    private readonly indexPath: string,
    private readonly settings: GraphSettings,
  ) {
    this.buildThreads = settings.threads;
  }

  async build(): Promise<void> {
    rmSync(annPath(this.indexPath), { force: true });
    const r = await writeAnnFile(this.indexPath, { M: this.settings.M, efConstruction: this.settings.efConstruction, threads: this.settings.threads, force: true });
    this.graphBytes = r.graphBytes;
  }

  async open(): Promise<void> {
    // Both files are read whole into the heap: the bench asks for rows only, never texts.
    const source = fileSource(this.indexPath, 'index');
    const graph = fileSource(annPath(this.indexPath), 'graph index');
    try {
      this.session = await openAnnSearch(VectorIndex.open(source), graph, { threads: 1 });
    } finally {
      graph.close();
      source.close();
    }
  }

  query(q: Float32Array, k: number, ef: number): ArrayLike<number> {
    return this.session!.search(q, k, { ef }).map((h) => h.index);
  }

  /** Exact top-k through the same resident rows. */
  exact(q: Float32Array, k: number): number[] {
    return this.session!.search(q, k, { exact: true }).map((h) => h.index);
  }

  /** Heap bytes in use by the session (the arena's top): rows, graph, the exact scan's batch buffers. */
  indexBytes(): number {
    return this.session!.graph.backend.mark();
  }

  /** Bytes of the graph alone (levels, lists, upper_at). */
  graphOnlyBytes(): number {
    return this.graphBytes;
  }

  get rowsSession(): AnnSearch {
    return this.session!;
  }

  close(): void {
    this.session?.dispose();
    this.session = undefined;
  }
}

interface UsearchModule {
  Index: new (config: Record<string, unknown>) => {
    add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
    search(vectors: Float32Array, k: number, threads: number): { keys: BigUint64Array };
    save(path: string): void;
    view(path: string): void;
    load(path: string): void;
    memoryUsage?(): number;
  };
  exactSearch(dataset: Float32Array, queries: Float32Array, dimensions: number, count: number, metric: string, threads?: number): { keys: BigUint64Array };
}

/** usearch's HNSW (f32, inner product on unit rows). Its search beam is fixed when an index object
 *  is made, so each ef opens the saved file again (view: memory-mapped, no copy). */
export class UsearchGraph implements AnnSystem {
  readonly name = 'usearch hnsw';
  readonly buildThreads: number;
  private readonly byEf = new Map<number, InstanceType<UsearchModule['Index']>>();

  constructor(
    private readonly usearch: UsearchModule,
    private readonly rows: Float32Array,
    private readonly dimension: number,
    private readonly path: string,
    private readonly settings: GraphSettings,
  ) {
    this.buildThreads = settings.threads;
  }

  private config(ef: number) {
    return { dimensions: this.dimension, metric: 'ip', quantization: 'f32', connectivity: this.settings.M, expansion_add: this.settings.efConstruction, expansion_search: ef, multi: false };
  }

  async build(): Promise<void> {
    const index = new this.usearch.Index(this.config(64));
    const n = this.rows.length / this.dimension;
    const keys = new BigUint64Array(n);
    for (let i = 0; i < n; i++) keys[i] = BigInt(i);
    index.add(keys, this.rows, this.settings.threads);
    index.save(this.path);
  }

  async open(): Promise<void> {
    this.at(64);
  }

  private at(ef: number) {
    let index = this.byEf.get(ef);
    if (!index) {
      index = new this.usearch.Index(this.config(ef));
      index.view(this.path);
      this.byEf.set(ef, index);
    }
    return index;
  }

  query(q: Float32Array, k: number, ef: number): ArrayLike<number> {
    return Array.from(this.at(ef).search(q, k, 1).keys, Number);
  }

  indexBytes(): number {
    return this.at(64).memoryUsage?.() ?? 0;
  }

  close(): void {
    this.byEf.clear();
  }
}

interface HnswlibModule {
  HierarchicalNSW: new (space: string, dim: number) => {
    initIndex(maxElements: number, m?: number, efConstruction?: number, seed?: number): void;
    addPoint(point: number[], label: number): void;
    setEf(ef: number): void;
    searchKnn(q: number[], k: number): { neighbors: number[] };
    writeIndexSync(path: string): void;
    readIndexSync(path: string): void;
  };
}

/** hnswlib-node (inner product on unit rows). Its binding adds one point per call on the calling
 *  thread, so its build is single-threaded whatever the bench's thread count. */
export class HnswlibGraph implements AnnSystem {
  readonly name = 'hnswlib-node';
  readonly buildThreads = 1;
  private index: InstanceType<HnswlibModule['HierarchicalNSW']> | undefined;
  private ef = -1;

  constructor(
    private readonly hnswlib: HnswlibModule,
    private readonly rows: Float32Array,
    private readonly dimension: number,
    private readonly path: string,
    private readonly settings: GraphSettings,
  ) {}

  async build(): Promise<void> {
    const D = this.dimension;
    const n = this.rows.length / D;
    const index = new this.hnswlib.HierarchicalNSW('ip', D);
    index.initIndex(n, this.settings.M, this.settings.efConstruction, 100);
    for (let i = 0; i < n; i++) index.addPoint(Array.from(this.rows.subarray(i * D, (i + 1) * D)), i);
    index.writeIndexSync(this.path);
  }

  async open(): Promise<void> {
    this.index = new this.hnswlib.HierarchicalNSW('ip', this.dimension);
    this.index.readIndexSync(this.path);
    this.ef = -1;
  }

  query(q: Float32Array, k: number, ef: number): ArrayLike<number> {
    if (ef !== this.ef) {
      this.index!.setEf(Math.max(ef, k));
      this.ef = ef;
    }
    return this.index!.searchKnn(Array.from(q), k).neighbors;
  }

  /** hnswlib's layout: per row the vector, M0 + 1 link words and an 8-byte label. */
  indexBytes(): number {
    const n = this.rows.length / this.dimension;
    return n * (this.dimension * 4 + (2 * this.settings.M + 1) * 4 + 8);
  }

  close(): void {
    this.index = undefined;
  }
}

export type { UsearchModule, HnswlibModule };
