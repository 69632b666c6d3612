// Owns: argument checks for the graph kernels (assembly/hnsw.ts), the counterpart of guard.ts for
// the contract's graph* methods. A graph call names a descriptor in the heap, so the checks read it:
// its sizes must be sane and consistent (count ≤ capacity, M0 ≥ M, the entry a linked node) and
// every array it names — rows, levels, link lists — must lie inside the live arena; each call's own
// buffers are then checked like any kernel's (inside the arena, outputs apart from inputs). The
// link step's group records and sources are read too: every id they hold must be a linked node.
// What is not re-checked per call is the contents of the link lists and levels: the graph's build
// writes them, and a graph read from a file is checked whole when it is loaded (src/search/ann/).
// Does not own: the layout (graph-layout.ts), the arithmetic, or the generic checks (guard-checks.ts).
import type { ArgumentChecks, Region } from './guard-checks.js';
import {
  G,
  GRAPH_DESCRIPTOR_BYTES,
  LEVEL_CAP,
  LINK_RECORD_BYTES,
  MAX_GRAPH_ROWS,
  MAX_M,
  NONE,
  insertRowBytes,
  level0Bytes,
  linkGroupBytes,
  searchSlotBytes,
  upperBytes,
} from './graph-layout.js';
import { KernelError } from './kernel-error.js';
import type { RawGraphKernels } from './reference-graph.js';

/** A descriptor's fields, read and checked, and the regions it names. */
interface Descriptor {
  dim: number;
  capacity: number;
  count: number;
  m: number;
  m0: number;
  efc: number;
  regions: Region[];
  /** The arrays a build writes (link lists; the descriptor itself). */
  lists: Region[];
}

export function guardGraph(c: ArgumentChecks, memory: WebAssembly.Memory, raw: RawGraphKernels): RawGraphKernels {
  const bad = (op: string, what: string): never => {
    throw new KernelError('KERNEL_BAD_SIZE', `${op}: graph descriptor: ${what}`);
  };

  function descriptor(op: string, graph: number): Descriptor {
    const self = c.bytes(op, 'graph', graph, GRAPH_DESCRIPTOR_BYTES, 4);
    const w = new Uint32Array(memory.buffer, graph, GRAPH_DESCRIPTOR_BYTES / 4);
    const dim = w[G.DIM], capacity = w[G.CAPACITY], count = w[G.COUNT], m = w[G.M], m0 = w[G.M0], efc = w[G.EF_CONSTRUCTION];
    const entry = w[G.ENTRY], top = w[G.TOP], slots = w[G.UPPER_SLOTS];
    if (dim < 1 || dim > 65536) bad(op, `dimension ${dim} is outside 1..65536`);
    if (capacity > MAX_GRAPH_ROWS || count > capacity) bad(op, `count ${count} and capacity ${capacity} must satisfy count ≤ capacity < 2^31`);
    if (m < 2 || m > MAX_M || m0 < m || m0 > 2 * MAX_M) bad(op, `M = ${m}, M0 = ${m0} must satisfy 2 ≤ M ≤ ${MAX_M}, M ≤ M0 ≤ ${2 * MAX_M}`);
    if (efc < 1 || efc > 1 << 20) bad(op, `ef_construction = ${efc} is outside 1..${1 << 20}`);
    if ((entry === NONE) !== (count === 0) || (entry !== NONE && entry >= count) || top >= LEVEL_CAP) {
      bad(op, `entry ${entry === NONE ? 'none' : entry} (top level ${top}) does not fit count ${count}`);
    }
    if (slots > capacity * (LEVEL_CAP - 1)) bad(op, `${slots} upper slots for ${capacity} rows`);
    const level0 = c.bytes(op, 'level0', w[G.LEVEL0], level0Bytes(capacity, m0), 4);
    const upper = c.bytes(op, 'upper', w[G.UPPER], upperBytes(slots, m), 4);
    return {
      dim, capacity, count, m, m0, efc,
      regions: [
        self,
        c.bytes(op, 'vectors', w[G.VECTORS], capacity * dim * 4, 4),
        c.bytes(op, 'levels', w[G.LEVELS], capacity, 1),
        c.bytes(op, 'upper_at', w[G.UPPER_AT], capacity * 4, 4),
        level0,
        upper,
      ],
      lists: [self, level0, upper],
    };
  }

  function batch(op: string, d: Descriptor, b0: number, b1: number, linked: boolean): void {
    c.sizes(op, { b0, b1 });
    // Insert and commit take the next rows after the graph's; collect, the rows just committed.
    const ok = linked ? b0 < b1 && b1 === d.count : b0 === d.count && b0 < b1 && b1 <= d.capacity;
    if (!ok) {
      throw new KernelError('KERNEL_BAD_SIZE', `${op}: rows [${b0}, ${b1}) are not the ${linked ? 'last rows linked' : 'next rows to link'} (count ${d.count}, capacity ${d.capacity})`);
    }
  }

  function layerArg(op: string, layer: number): void {
    c.size(op, 'layer', layer);
    if (layer >= LEVEL_CAP) throw new KernelError('KERNEL_BAD_SIZE', `${op}: layer ${layer} is not below ${LEVEL_CAP}`);
  }

  function positive(op: string, values: Record<string, number>): void {
    c.sizes(op, values);
    for (const [label, v] of Object.entries(values)) {
      if (v < 1) throw new KernelError('KERNEL_BAD_SIZE', `${op}: ${label} = ${v} must be at least 1`);
    }
  }

  return {
    graphInsert(graph, b0, b1, out, scratch, slots) {
      const op = 'graphInsert';
      const d = descriptor(op, graph);
      batch(op, d, b0, b1, false);
      positive(op, { slots });
      const o = c.bytes(op, 'out', out, (b1 - b0) * insertRowBytes(d.m), 4);
      const s = c.bytes(op, 'scratch', scratch, slots * searchSlotBytes(d.capacity, d.efc), 16);
      c.disjoint(op, o, s, ...d.regions);
      c.disjoint(op, s, ...d.regions);
      raw.graphInsert(graph, b0, b1, out, scratch, slots);
    },
    graphCommit(graph, b0, b1, out) {
      const op = 'graphCommit';
      const d = descriptor(op, graph);
      batch(op, d, b0, b1, false);
      const o = c.bytes(op, 'out', out, (b1 - b0) * insertRowBytes(d.m), 4);
      for (const list of d.lists) c.disjoint(op, list, o);
      raw.graphCommit(graph, b0, b1, out);
    },
    graphCollect(graph, b0, b1, layer, out, reqs, records, mark) {
      const op = 'graphCollect';
      const d = descriptor(op, graph);
      batch(op, d, b0, b1, true);
      layerArg(op, layer);
      const most = (b1 - b0) * d.m;
      const o = c.bytes(op, 'out', out, (b1 - b0) * insertRowBytes(d.m), 4);
      const q = c.bytes(op, 'reqs', reqs, most * 4, 4);
      const r = c.bytes(op, 'records', records, most * LINK_RECORD_BYTES, 4);
      const k = c.bytes(op, 'mark', mark, d.capacity * 4, 4);
      c.disjoint(op, q, o, r, k, ...d.regions);
      c.disjoint(op, r, o, k, ...d.regions);
      c.disjoint(op, k, o, ...d.regions);
      return raw.graphCollect(graph, b0, b1, layer, out, reqs, records, mark);
    },
    graphLink(graph, layer, reqs, records, groups, scratch) {
      const op = 'graphLink';
      const d = descriptor(op, graph);
      layerArg(op, layer);
      c.size(op, 'groups', groups);
      const r = c.bytes(op, 'records', records, groups * LINK_RECORD_BYTES, 4);
      const rec = new Uint32Array(memory.buffer, records, groups * 3);
      let end = 0;
      for (let g = 0; g < groups; g++) {
        const [t, from, to] = [rec[3 * g], rec[3 * g + 1], rec[3 * g + 2]];
        if (t >= d.count || from > to) throw new KernelError('KERNEL_BAD_SIZE', `${op}: group ${g} (node ${t}, sources [${from}, ${to})) does not name linked nodes`);
        end = Math.max(end, to);
      }
      const q = c.bytes(op, 'reqs', reqs, end * 4, 4);
      const sources = new Uint32Array(memory.buffer, reqs, end);
      for (let i = 0; i < end; i++) {
        if (sources[i] >= d.count) throw new KernelError('KERNEL_BAD_SIZE', `${op}: source ${i} is node ${sources[i]}, not a linked node (count ${d.count})`);
      }
      const s = c.bytes(op, 'scratch', scratch, groups * linkGroupBytes(d.m0), 16);
      c.disjoint(op, s, q, r, ...d.regions);
      for (const list of d.lists) c.disjoint(op, list, q, r);
      raw.graphLink(graph, layer, reqs, records, groups, scratch);
    },
    graphSearch(graph, queries, nq, k, ef, outIds, outScores, scratch, slots) {
      const op = 'graphSearch';
      const d = descriptor(op, graph);
      c.size(op, 'nq', nq);
      positive(op, { k, ef, slots });
      if (Math.max(k, ef) > 1 << 20) throw new KernelError('KERNEL_BAD_SIZE', `${op}: k = ${k}, ef = ${ef}: a beam of more than ${1 << 20}`);
      const qr = c.bytes(op, 'queries', queries, nq * d.dim * 4, 4);
      const ids = c.bytes(op, 'outIds', outIds, nq * k * 4, 4);
      const scores = c.bytes(op, 'outScores', outScores, nq * k * 4, 4);
      const s = c.bytes(op, 'scratch', scratch, slots * searchSlotBytes(d.capacity, Math.max(ef, k)), 16);
      for (const out of [ids, scores, s]) c.disjoint(op, out, qr, ...d.regions);
      c.disjoint(op, ids, scores, s);
      c.disjoint(op, scores, s);
      raw.graphSearch(graph, queries, nq, k, ef, outIds, outScores, scratch, slots);
    },
  };
}
