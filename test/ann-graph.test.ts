// The graph index (src/search/ann/, assembly/hnsw.ts): the wasm kernels build the bytes their
// TypeScript oracle builds; the same rows and settings build the same bytes on 1, 2 or 3 threads;
// recall@10 against exact search on a clustered set stays above a bound and every node is reachable;
// a graph file is refused with a typed AnnError when it belongs to another index (or the index
// changed), when its bytes are damaged or cut short, and when a link is wrong under good
// checksums; the guards refuse bad kernel calls before they reach WebAssembly.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { createBackend } from '../src/kernels/index.js';
import { G, NONE, searchSlotBytes } from '../src/kernels/graph-layout.js';
import { AnnError } from '../src/search/ann/ann-error.js';
import { buildAnnGraph, openAnnSearch } from '../src/search/ann/ann-index.js';
import { buildHnswGraph } from '../src/search/ann/build.js';
import { GRAPH_HEADER_BYTES, serializeGraph } from '../src/search/ann/graph-file.js';
import { HeapGraph } from '../src/search/ann/heap-graph.js';
import { drawLevels } from '../src/search/ann/levels.js';
import { ExactSearch, topK, type Metric } from '../src/search/similarity.js';
import { serializeIndex, VectorIndex, type IndexMeta } from '../src/search/vector-index.js';
import { openSearchSession } from '../src/search/search-sessions.js';
import { ClusteredVectors } from './helpers/clustered-vectors.js';

const meta: IndexMeta = {
  context_model: { name: 'ctx', fingerprint: 'sha256:' + 'a'.repeat(64) },
  question_model: null,
  pooling: 'pooler',
  max_length: 512,
};

/** An in-memory index of `rows` clustered vectors; `textOf` lets a test change one passage. */
function makeIndex(data: ClusteredVectors, rows: number, textOf = (i: number) => `passage ${i}`): VectorIndex {
  const D = data.spec.dimension;
  const all = data.rows(0, rows);
  return VectorIndex.fromBytes(
    serializeIndex({
      meta,
      dimension: D,
      vectors: Array.from({ length: rows }, (_, i) => all.subarray(i * D, (i + 1) * D)),
      ids: Array.from({ length: rows }, (_, i) => `d${i}`),
      texts: Array.from({ length: rows }, (_, i) => textOf(i)),
    }),
    `index-${rows}`,
  );
}

/** The graph file's bytes; checks the build ran on the threads asked for. */
async function graphFile(index: VectorIndex, options: Parameters<typeof buildAnnGraph>[1]): Promise<Uint8Array> {
  let bytes = new Uint8Array(0);
  const summary = await buildAnnGraph(index, options, (parts) => {
    bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
  });
  expect(summary.threads).toBe(options.threads ?? 1);
  return bytes;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function expectAnnError(promise: Promise<unknown> | (() => unknown), code: string, mention: RegExp) {
  const run = typeof promise === 'function' ? Promise.resolve().then(promise) : promise;
  return run.then(
    () => expect.unreachable(`expected ${code}`),
    (error: unknown) => {
      expect(error).toBeInstanceOf(AnnError);
      expect((error as AnnError).code).toBe(code);
      expect((error as Error).message).toMatch(mention);
    },
  );
}

describe('graph kernels: wasm against the TypeScript oracle', () => {
  // 19 dimensions: the 16-float steps, one 4-float step and a 3-float tail all run.
  const data = new ClusteredVectors({ dimension: 19, centroids: 8, spread: 1, seed: 5 });
  const index = makeIndex(data, 400);
  const settings = { M: 5, efConstruction: 20, seed: 9 };

  it('builds the same bytes and finds the same neighbours with the same scores', async () => {
    const [reference, wasm] = await Promise.all([
      graphFile(index, { ...settings, kind: 'reference' }),
      graphFile(index, { ...settings, kind: 'wasm' }),
    ]);
    expect(wasm.length).toBeGreaterThan(GRAPH_HEADER_BYTES);
    expect(sha(wasm)).toBe(sha(reference));
    const queries = Array.from({ length: 20 }, (_, i) => data.rows(i, 1, 1));
    const results = await Promise.all(
      (['reference', 'wasm'] as const).map(async (kind) => {
        const session = await openAnnSearch(index, bytesSource(wasm, 'g.ann'), { kind, ef: 12 });
        try {
          return session.searchMany(queries, 7);
        } finally {
          session.dispose();
        }
      }),
    );
    expect(results[1]).toEqual(results[0]);
    expect(results[0].every((hits) => hits.length === 7)).toBe(true);
  });
});

describe('graph build determinism', () => {
  const data = new ClusteredVectors({ dimension: 24, centroids: 10, spread: 1.2, seed: 1 });
  const index = makeIndex(data, 1200);
  const settings = { M: 8, efConstruction: 40, seed: 3 };

  it('builds the same bytes twice and on 1, 2 and 3 threads; another seed builds others', async () => {
    const one = sha(await graphFile(index, { ...settings, threads: 1 }));
    expect(sha(await graphFile(index, { ...settings, threads: 1 }))).toBe(one);
    expect(sha(await graphFile(index, { ...settings, threads: 2 }))).toBe(one);
    expect(sha(await graphFile(index, { ...settings, threads: 3 }))).toBe(one);
    expect(sha(await graphFile(index, { ...settings, seed: 4, threads: 2 }))).not.toBe(one);
  }, 120_000);
});

describe('graph quality', () => {
  const D = 32;
  const data = new ClusteredVectors({ dimension: D, centroids: 30, spread: 1.5, seed: 7 });
  const rows = 3000;
  const index = makeIndex(data, rows);

  it('recall@10 against exact search is at least 0.95 at ef 64, and every node is reachable at layer 0', async () => {
    const bytes = await graphFile(index, { M: 12, efConstruction: 80 });
    const session = await openAnnSearch(index, bytesSource(bytes, 'g.ann'), { ef: 64 });
    try {
      const queries = Array.from({ length: 200 }, (_, i) => data.rows(i, 1, 1));
      const approx = session.searchMany(queries, 10);
      let found = 0;
      queries.forEach((q, i) => {
        const truth = new Set(topK(session.scoreAll(q), 10).map((h) => h.index));
        found += approx[i].filter((h) => truth.has(h.index)).length;
      });
      const recall = found / (10 * queries.length);
      console.log(`recall@10 = ${recall.toFixed(4)} (${rows} rows, ${D} dims, M 12, ef_construction 80, ef 64)`);
      expect(recall).toBeGreaterThanOrEqual(0.95);
      // Exact answers through the same session are exact.
      expect(session.search(queries[0], 10, { exact: true })).toEqual(topK(session.scoreAll(queries[0]), 10));

      // Reachability: breadth-first over the level-0 lists from the entry.
      const g = session.graph;
      const { entry } = g.state();
      const lists = new Uint32Array(g.bytes('level0').slice().buffer);
      const seen = new Uint8Array(rows);
      const queue = [entry];
      seen[entry] = 1;
      for (let h = 0; h < queue.length; h++) {
        const at = queue[h] * (1 + g.M0);
        for (let e = 1; e <= lists[at]; e++) {
          const x = lists[at + e];
          if (!seen[x]) {
            seen[x] = 1;
            queue.push(x);
          }
        }
      }
      expect(queue.length).toBe(rows);
    } finally {
      session.dispose();
    }
  }, 120_000);
});

describe('a graph for dot scores', () => {
  it('is built over the rows as embedded (unit rows scaled back by their norms) and finds the exact dot top 10', async () => {
    const D = 24;
    const data = new ClusteredVectors({ dimension: D, centroids: 8, spread: 1, seed: 11 });
    const rows = 800;
    const all = data.rows(0, rows);
    // Norms from 1 to 5: under dot, a long row outranks a closer short one.
    const vectors = Array.from({ length: rows }, (_, i) => all.subarray(i * D, (i + 1) * D).map((x) => x * (1 + (i % 5))));
    const index = VectorIndex.fromBytes(serializeIndex({ meta, dimension: D, vectors, ids: vectors.map((_, i) => `d${i}`), texts: vectors.map((_, i) => `t${i}`) }), 'dot-index');
    const bytes = await graphFile(index, { M: 8, efConstruction: 64, metric: 'dot' });
    await expectAnnError(openAnnSearch(index, bytesSource(bytes, 'g.ann')), 'ANN_METRIC_MISMATCH', /built for dot scores, the search asks for cosine/);
    const session = await openAnnSearch(index, bytesSource(bytes, 'g.ann'), { metric: 'dot', ef: 64 });
    const exact = await openSearchSession(index, { metric: 'dot' });
    try {
      const queries = Array.from({ length: 50 }, (_, i) => data.rows(i, 1, 1));
      let found = 0;
      for (const q of queries) {
        const truth = exact.search(q, 10);
        // The graph session's exact answer is the index session's, row for row.
        expect(session.search(q, 10, { exact: true }).map((h) => h.index)).toEqual(truth.map((h) => h.index));
        const ids = new Set(truth.map((h) => h.index));
        found += session.search(q, 10).filter((h) => ids.has(h.index)).length;
      }
      expect(found / 500).toBeGreaterThanOrEqual(0.9);
    } finally {
      session.dispose();
      exact.dispose();
    }
  }, 60_000);
});

describe('graph files that must be refused', () => {
  const data = new ClusteredVectors({ dimension: 16, centroids: 6, spread: 1, seed: 2 });
  const index = makeIndex(data, 300);
  const settings = { M: 6, efConstruction: 24 };
  const built = graphFile(index, settings);
  const open = (bytes: Uint8Array, target: VectorIndex = index, metric: Metric = 'cosine') =>
    openAnnSearch(target, bytesSource(bytes, 'g.ann'), { metric });

  it('opens a good one', async () => {
    const session = await open(await built);
    expect(session.search(data.rows(0, 1), 3)).toHaveLength(3);
    session.dispose();
  });

  it('a graph built for another index, or for this one before it changed', async () => {
    const other = makeIndex(new ClusteredVectors({ ...data.spec, seed: 99 }), 300);
    await expectAnnError(open(await built, other), 'ANN_INDEX_MISMATCH', /g\.ann: this graph was built for another index .* than index-300/);
    // One passage's text changed: same rows, same vectors, another index.
    const changed = makeIndex(data, 300, (i) => (i === 17 ? 'edited' : `passage ${i}`));
    await expectAnnError(open(await built, changed), 'ANN_INDEX_MISMATCH', /or the index changed since: rebuild it with `kmed index --index index-300 --ann hnsw --force`/);
  });

  it('a graph searched with another metric', async () => {
    await expectAnnError(open(await built, index, 'dot'), 'ANN_METRIC_MISMATCH', /built for cosine scores, the search asks for dot/);
  });

  it('damaged bytes: header, a list, the checksum table; cut short; too long; not a graph; a newer version', async () => {
    const good = await built;
    const flip = (at: number) => {
      const b = good.slice();
      b[at] ^= 0x40;
      return b;
    };
    await expectAnnError(open(flip(30)), 'ANN_CHECKSUM', /the header \(bytes 0\.\.124\) fails its xxHash32/);
    const level0Start = GRAPH_HEADER_BYTES + Math.ceil(300 / 16) * 16;
    await expectAnnError(open(flip(level0Start + 40)), 'ANN_CHECKSUM', new RegExp(`level0 block 0 \\(bytes ${level0Start}\\.\\.`));
    await expectAnnError(open(flip(good.length - 2)), 'ANN_CHECKSUM', /the checksum table .* fails its xxHash32/);
    await expectAnnError(open(good.subarray(0, good.length - 1)), 'ANN_TRUNCATED', /says the file is \d+ bytes but it is \d+ \(truncated\)/);
    await expectAnnError(open(good.subarray(0, 60)), 'ANN_TRUNCATED', /60 bytes is too short/);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    await expectAnnError(open(longer), 'ANN_CORRUPT', /says the file is \d+ bytes but it is \d+/);
    await expectAnnError(open(new TextEncoder().encode('KMEDIDX\0 not a graph at all, an index')), 'ANN_BAD_MAGIC', /not a kmed graph index/);
    const newer = good.slice();
    new DataView(newer.buffer).setUint32(8, 2, true);
    await expectAnnError(open(newer), 'ANN_UNSUPPORTED_VERSION', /version 2 .*upgrade kmed/);
  });

  it('a wrong link under good checksums: past the rows, to itself, twice, above its level', async () => {
    const backend = await createBackend('wasm');
    const read = (dst: Float32Array, row0: number, n: number) => index.readVectors(dst, row0, n);
    const exact = ExactSearch.create(backend, index.count, index.dimension, read);
    const s = { ...settings, seed: 0 };
    const levels = drawLevels(index.count, s.M, s.seed);
    const graph = new HeapGraph(backend, exact.heapRows.ptr, index.count, index.dimension, s, levels);
    buildHnswGraph(graph);
    const lists = () => new Uint32Array(backend.memory.buffer, graph.bytes('level0').byteOffset, graph.bytes('level0').length / 4);
    const node = 5;
    const at = node * (1 + graph.M0);
    const saved = lists().slice(at, at + 1 + graph.M0);
    expect(saved[0]).toBeGreaterThanOrEqual(2);
    const variant = (edit: (l: Uint32Array) => void) => {
      lists().set(saved, at);
      edit(lists());
      return serializeGraph(graph, 'cosine', index.fingerprint());
    };
    await expectAnnError(open(variant((l) => (l[at + 1] = 300))), 'ANN_CORRUPT', /node 5 links to node 300 at layer 0, past the 300 rows \(byte \d+\)/);
    await expectAnnError(open(variant((l) => (l[at + 1] = node))), 'ANN_CORRUPT', /node 5 links to itself at layer 0/);
    await expectAnnError(open(variant((l) => (l[at + 2] = l[at + 1]))), 'ANN_CORRUPT', /node 5 links to node \d+ twice at layer 0/);
    await expectAnnError(open(variant((l) => (l[at] = graph.M0 + 1))), 'ANN_CORRUPT', new RegExp(`node 5 has ${graph.M0 + 1} links at layer 0, more than its ${graph.M0}`));
    // An upper-layer link to a node of level 0.
    const upperNode = levels.findIndex((l) => l >= 1);
    const low = levels.findIndex((l) => l === 0);
    const upper = () => new Uint32Array(backend.memory.buffer, graph.bytes('upper').byteOffset, graph.bytes('upper').length / 4);
    const slot = levels.subarray(0, upperNode).reduce((n, l) => n + l, 0) * (1 + s.M);
    lists().set(saved, at);
    const keep = upper().slice(slot, slot + 2);
    upper()[slot] = Math.max(1, upper()[slot]);
    upper()[slot + 1] = low;
    await expectAnnError(open(serializeGraph(graph, 'cosine', index.fingerprint())), 'ANN_CORRUPT', new RegExp(`node ${upperNode} links to node ${low} at layer 1, above that node's level 0`));
    upper().set(keep, slot);
    // Restored: accepted again (the variants above were refused for what they changed).
    (await open(serializeGraph(graph, 'cosine', index.fingerprint()))).dispose();
    exact.dispose();
    backend.dispose();
  });
});

describe('graph kernel guards', () => {
  it('refuse a bad descriptor, a pointer outside the heap, and link records naming unlinked nodes', async () => {
    const data = new ClusteredVectors({ dimension: 8, centroids: 3, spread: 1, seed: 1 });
    const backend = await createBackend('wasm');
    const rows = 50;
    const vectors = backend.alloc(rows * 8 * 4);
    backend.f32(vectors, rows * 8).set(data.rows(0, rows));
    const graph = new HeapGraph(backend, vectors, rows, 8, { M: 4, efConstruction: 8, seed: 0 }, drawLevels(rows, 4, 0));
    buildHnswGraph(graph);
    const scratch = backend.alloc(searchSlotBytes(rows, 8));
    const ids = backend.alloc(4 * 4);
    const scores = backend.alloc(4 * 4);
    expect(() => backend.graphSearch(graph.descriptor, vectors, 1, 4, 8, ids, scores, scratch, 1)).not.toThrow();
    expect(new Uint32Array(backend.memory.buffer, ids, 4)[0]).not.toBe(NONE);
    expect(() => backend.graphSearch(graph.descriptor, vectors, 1, 4, 8, ids, scores, 1 << 30, 1)).toThrow(/scratch .* is outside the heap's live arena/);
    expect(() => backend.graphSearch(graph.descriptor, vectors, 1, 4, 8, ids, ids, scratch, 1)).toThrow(/overlaps/);
    const entry = graph.state().entry;
    new Uint32Array(backend.memory.buffer, graph.descriptor, 16)[G.ENTRY] = rows + 3;
    expect(() => backend.graphSearch(graph.descriptor, vectors, 1, 4, 8, ids, scores, scratch, 1)).toThrow(/graph descriptor: entry 53/);
    const records = backend.alloc(12);
    const reqs = backend.alloc(4);
    const link = backend.alloc(1024);
    new Uint32Array(backend.memory.buffer, graph.descriptor, 16)[G.ENTRY] = entry;
    new Uint32Array(backend.memory.buffer, records, 3).set([rows, 0, 1]);
    expect(() => backend.graphLink(graph.descriptor, 0, reqs, records, 1, link)).toThrow(/group 0 \(node 50, sources \[0, 1\)\) does not name linked nodes/);
    backend.dispose();
  });
});
