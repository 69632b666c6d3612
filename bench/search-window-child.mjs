// Owns: one measured search in a fresh process for bench/search-window.ts (plain node on dist/, so
// the RSS column is the engine's and not a TypeScript loader's): open the index, one session in
// the given mode, two searches of a random unit query; prints one JSON line with the times, the
// peak RSS, or the error. Usage: node bench/search-window-child.mjs PATH resident|streaming
import { openSearchSession } from '../dist/bi-encoder.js';
import { fileSource } from '../dist/node/fs/file-source.js';
import { VectorIndex } from '../dist/search/vector-index.js';

const [path, mode] = process.argv.slice(2);
const out = { mode };
const t0 = performance.now();
try {
  const index = VectorIndex.open(fileSource(path));
  out.openMs = performance.now() - t0;
  const q = new Float32Array(index.dimension);
  let s = 99;
  for (let i = 0; i < q.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    q[i] = s / 2 ** 31 - 1;
  }
  let t = performance.now();
  const session = await openSearchSession(index, { mode });
  out.sessionMs = performance.now() - t;
  t = performance.now();
  const first = session.search(q, 10);
  out.firstSearchMs = performance.now() - t;
  t = performance.now();
  session.search(q, 10);
  out.secondSearchMs = performance.now() - t;
  out.top1 = first[0];
  session.dispose();
} catch (error) {
  out.error = `${error?.constructor?.name}: ${String(error?.message ?? error).slice(0, 200)}`;
}
out.maxRssMiB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(out));
