// Owns: HeapGraph, an HNSW graph held in a kernel backend's heap over rows already there — its
// settings, the descriptor the graph kernels read (kernels/graph-layout.ts), and its four arrays
// (levels, upper_at, level-0 lists, upper lists) allocated once, each reachable as bytes so a file
// can be written from them and read into them without another copy.
// Does not own: building the links (build.ts), the file format (graph-file.ts), checking a graph
// read from a file (graph-integrity.ts) or searching (ann-search.ts).
import type { KernelBackend, Ptr } from '../../kernels/backend.js';
import { G, GRAPH_DESCRIPTOR_BYTES, MAX_GRAPH_ROWS, MAX_M, NONE, level0Bytes, upperBytes } from '../../kernels/graph-layout.js';
import { AnnError } from './ann-error.js';

/** How a graph is built: links per node (M above layer 0, 2M at layer 0), the beam while
 *  building, and the seed of the node levels. Stored in the graph file. */
export interface HnswSettings {
  M: number;
  efConstruction: number;
  seed: number;
}

/** hnswlib's defaults for M and ef_construction. */
export const DEFAULT_HNSW_SETTINGS: HnswSettings = { M: 16, efConstruction: 200, seed: 0 };

/** Throws AnnError (ANN_BAD_OPTION) unless the settings are integers in range. */
export function checkHnswSettings(s: HnswSettings): HnswSettings {
  const bad = (what: string): never => {
    throw new AnnError('ANN_BAD_OPTION', what);
  };
  if (!Number.isInteger(s.M) || s.M < 2 || s.M > MAX_M) bad(`M = ${s.M} must be an integer from 2 to ${MAX_M}`);
  if (!Number.isInteger(s.efConstruction) || s.efConstruction < 1 || s.efConstruction > 1 << 16) {
    bad(`ef-construction = ${s.efConstruction} must be an integer from 1 to ${1 << 16}`);
  }
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff) bad(`seed = ${s.seed} must be an integer from 0 to 2^32 - 1`);
  return s;
}

/** The arrays of a graph a file holds, in file order (upper_at follows from the levels). */
export type GraphSection = 'levels' | 'level0' | 'upper';
export const GRAPH_SECTIONS: readonly GraphSection[] = ['levels', 'level0', 'upper'];

/** Where the graph's entry is: the first row of the highest level (none when empty). */
export interface GraphEntry {
  entry: number;
  top: number;
}

export class HeapGraph {
  readonly backend: KernelBackend;
  readonly rows: number;
  readonly dimension: number;
  readonly settings: HnswSettings;
  readonly M0: number;
  readonly upperSlots: number;
  /** The descriptor the graph kernels take. */
  readonly descriptor: Ptr;
  private readonly ptrs: Record<GraphSection | 'upper_at', Ptr>;

  /**
   * Allocate a graph over `rows` rows of `dimension` floats at `vectors` (in `backend`'s heap), with
   * the given levels (one byte per row; upper_at follows from them): empty lists (count 0) to build,
   * or, with `linked` (where the entry is), every row linked and the lists left for the caller to
   * fill (a graph file's sections are read straight into `bytes('level0')` and `bytes('upper')`).
   */
  constructor(
    backend: KernelBackend,
    vectors: Ptr,
    rows: number,
    dimension: number,
    settings: HnswSettings,
    levels: Uint8Array,
    linked?: GraphEntry,
  ) {
    checkHnswSettings(settings);
    if (!Number.isInteger(rows) || rows < 0 || rows > MAX_GRAPH_ROWS || levels.length !== rows) {
      throw new AnnError('ANN_BAD_OPTION', `a graph of ${rows} rows (with ${levels.length} levels) is not possible: at most ${MAX_GRAPH_ROWS} rows`);
    }
    this.backend = backend;
    this.rows = rows;
    this.dimension = dimension;
    this.settings = settings;
    this.M0 = 2 * settings.M;
    let slots = 0;
    for (let i = 0; i < rows; i++) slots += levels[i];
    this.upperSlots = slots;
    // Every allocation before any view: growing the heap detaches views.
    this.descriptor = backend.alloc(GRAPH_DESCRIPTOR_BYTES);
    this.ptrs = {
      levels: backend.alloc(rows),
      upper_at: backend.alloc(rows * 4),
      level0: backend.alloc(level0Bytes(rows, this.M0)),
      upper: backend.alloc(upperBytes(slots, settings.M)),
    };
    this.bytes('levels').set(levels);
    const upperAt = new Uint32Array(backend.memory.buffer, this.ptrs.upper_at, rows);
    let at = 0;
    for (let i = 0; i < rows; i++) {
      upperAt[i] = levels[i] === 0 ? NONE : at;
      at += levels[i];
    }
    if (!linked) {
      // The arena hands back memory as it was left: a graph to build starts with empty lists.
      this.bytes('level0').fill(0);
      this.bytes('upper').fill(0);
    }
    const w = new Uint32Array(backend.memory.buffer, this.descriptor, GRAPH_DESCRIPTOR_BYTES / 4);
    w.fill(0);
    w[G.VECTORS] = vectors;
    w[G.DIM] = dimension;
    w[G.CAPACITY] = rows;
    w[G.COUNT] = linked ? rows : 0;
    w[G.M] = settings.M;
    w[G.M0] = this.M0;
    w[G.EF_CONSTRUCTION] = settings.efConstruction;
    w[G.ENTRY] = linked ? linked.entry : NONE;
    w[G.TOP] = linked ? linked.top : 0;
    w[G.LEVELS] = this.ptrs.levels;
    w[G.UPPER_AT] = this.ptrs.upper_at;
    w[G.LEVEL0] = this.ptrs.level0;
    w[G.UPPER] = this.ptrs.upper;
    w[G.UPPER_SLOTS] = slots;
  }

  /** A view of one array's bytes in the heap (valid until the heap grows). */
  bytes(section: GraphSection): Uint8Array {
    return new Uint8Array(this.backend.memory.buffer, this.ptrs[section], this.sectionBytes(section));
  }

  sectionBytes(section: GraphSection): number {
    switch (section) {
      case 'levels':
        return this.rows;
      case 'level0':
        return level0Bytes(this.rows, this.M0);
      case 'upper':
        return upperBytes(this.upperSlots, this.settings.M);
    }
  }

  /** Rows linked so far, the entry node and its level, as the descriptor says. */
  state(): { count: number } & GraphEntry {
    const w = new Uint32Array(this.backend.memory.buffer, this.descriptor, GRAPH_DESCRIPTOR_BYTES / 4);
    return { count: w[G.COUNT], entry: w[G.ENTRY], top: w[G.TOP] };
  }
}
