// Owns: the whole-graph check of a graph read from a file, before any search may use it (the
// kernels trust link ids: an id past the rows would read outside them). For every node and each of
// its layers: a count within the list's capacity, and links that are rows of the index, not the
// node itself, not repeated, and nodes that have that layer. One pass over the lists, O(links).
// Does not own: the checksums (graph-file.ts verifies the bytes first: this finds a graph that a
// bug wrote wrong, or bytes damaged and re-checksummed) or reachability, a matter of quality that
// the tests measure (test/ann-graph.test.ts).
import type { KmedErrorCode } from '../../errors/errors.js';
import { AnnError } from './ann-error.js';
import type { GraphSection, HeapGraph } from './heap-graph.js';

/**
 * Throws AnnError (ANN_CORRUPT) at the first bad list of `graph`, naming the node, the layer and
 * the byte (fileOffset maps a byte of a section to the file's).
 */
export function checkGraphLinks(graph: HeapGraph, fileOffset: (section: GraphSection, byte: number) => number, name: string): void {
  const { rows, M0 } = graph;
  const { M } = graph.settings;
  const levels = graph.bytes('levels');
  const fail = (code: KmedErrorCode, section: GraphSection, word: number, message: string): never => {
    throw new AnnError(code, `${name}: ${message} (byte ${fileOffset(section, word * 4)}): the file is damaged; rebuild it with \`kmed index --index INDEX --ann hnsw --force\``);
  };
  // seen[x] = 1 + the node whose list last named x: a repeat within one list is caught in O(1).
  const seen = new Uint32Array(rows);
  const check = (section: GraphSection, lists: Uint32Array, at: number, node: number, layer: number, cap: number, stamp: number): void => {
    const n = lists[at];
    if (n > cap) fail('ANN_CORRUPT', section, at, `node ${node} has ${n} links at layer ${layer}, more than its ${cap}`);
    for (let e = 1; e <= n; e++) {
      const x = lists[at + e];
      if (x >= rows) fail('ANN_CORRUPT', section, at + e, `node ${node} links to node ${x} at layer ${layer}, past the ${rows} rows`);
      if (x === node) fail('ANN_CORRUPT', section, at + e, `node ${node} links to itself at layer ${layer}`);
      if (levels[x] < layer) fail('ANN_CORRUPT', section, at + e, `node ${node} links to node ${x} at layer ${layer}, above that node's level ${levels[x]}`);
      if (seen[x] === stamp) fail('ANN_CORRUPT', section, at + e, `node ${node} links to node ${x} twice at layer ${layer}`);
      seen[x] = stamp;
    }
  };
  // Views of the heap (no copy: level 0 alone is 4 % of the rows' bytes).
  const words = (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const level0 = words(graph.bytes('level0'));
  const upper = words(graph.bytes('upper'));
  // Stamps: each (node, layer) list gets its own, so `seen` is never cleared.
  let stamp = 0;
  let slot = 0;
  for (let i = 0; i < rows; i++) {
    check('level0', level0, i * (1 + M0), i, 0, M0, ++stamp);
    for (let l = 1; l <= levels[i]; l++, slot++) check('upper', upper, slot * (1 + M), i, l, M, ++stamp);
  }
}
