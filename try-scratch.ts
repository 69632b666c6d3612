import { createBackend } from './src/kernels/index.js';
import { HeapGraph } from './src/search/ann/heap-graph.js';
import { buildHnswGraph } from './src/search/ann/build.js';
import { drawLevels } from './src/search/ann/levels.js';
import { searchSlotBytes } from './src/kernels/graph-layout.js';
import { createHash } from 'node:crypto';

function rng(seed: number) { let s = seed >>> 0; return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
const N = +process.argv[2] || 2000, D = +process.argv[3] || 32, C = 20;
const r = rng(1);
const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const cent = Array.from({ length: C }, () => Float32Array.from({ length: D }, gauss));
const data = new Float32Array(N * D);
for (let i = 0; i < N; i++) { const c = cent[Math.floor(r() * C)]; let n = 0; for (let d = 0; d < D; d++) { const v = c[d] + 0.5 * gauss(); data[i * D + d] = v; n += v * v; } n = Math.sqrt(n); for (let d = 0; d < D; d++) data[i * D + d] /= n; }

async function build(kind: 'wasm' | 'reference', threads = 1) {
  const be = await createBackend(kind, { threads });
  const vec = be.alloc(N * D * 4);
  be.f32(vec, N * D).set(data);
  const settings = { M: +(process.env.M ?? 8), efConstruction: +(process.env.EFC ?? 64), seed: 7 };
  const g = new HeapGraph(be, vec, N, D, settings, drawLevels(N, settings.M, settings.seed));
  const t = performance.now();
  buildHnswGraph(g);
  const ms = performance.now() - t;
  const h = createHash('sha256'); for (const s of ['levels', 'level0', 'upper'] as const) h.update(g.bytes(s));
  return { be, g, vec, ms, hash: h.digest('hex').slice(0, 16) };
}
const w = await build('wasm');
console.log('wasm', w.ms.toFixed(0), 'ms', w.hash, w.g.state());
const w2 = await build('wasm', 2);
console.log('wasm 2 threads', w2.ms.toFixed(0), 'ms', w2.hash, w2.be.threads);
if (N <= 3000) { const rf = await build('reference'); console.log('ref', rf.ms.toFixed(0), 'ms', rf.hash); }
// recall
const nq = 200, k = 10, ef = 64;
const be = w.be;
const q = be.alloc(nq * D * 4), ids = be.alloc(nq * k * 4), sc = be.alloc(nq * k * 4), scr = be.alloc(4 * searchSlotBytes(N, Math.max(ef, k)));
const qv = be.f32(q, nq * D);
for (let i = 0; i < nq; i++) qv.set(data.subarray(((i * 7919) % N) * D, ((i * 7919) % N + 1) * D), i * D);
for (let i = 0; i < nq * D; i++) qv[i] += 0.05 * gauss();
be.graphSearch(w.g.descriptor, q, nq, k, ef, ids, sc, scr, 4);
const got = new Uint32Array(be.memory.buffer, ids, nq * k);
let hit = 0;
for (let i = 0; i < nq; i++) {
  const s: [number, number][] = [];
  for (let j = 0; j < N; j++) { let d = 0; for (let x = 0; x < D; x++) d += qv[i * D + x] * data[j * D + x]; s.push([d, j]); }
  s.sort((a, b) => b[0] - a[0]);
  const truth = new Set(s.slice(0, k).map((x) => x[1]));
  for (let r2 = 0; r2 < k; r2++) if (truth.has(got[i * k + r2])) hit++;
}
console.log('recall@10', hit / (nq * k));
w2.be.dispose();
