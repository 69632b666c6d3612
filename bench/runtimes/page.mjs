// Owns: the browser launcher of the runtime benchmark: imports the neutral entry from /dist/,
// fetches the model folder from /model/ (mounted by bench/runtimes.ts), runs bench-core.mjs and
// publishes window.kmedBench.
import { runBench } from './bench-core.mjs';

const q = new URLSearchParams(location.search);
const version = /Chrom(?:e|ium)\/([\d.]+)/.exec(navigator.userAgent)?.[1] ?? navigator.userAgent;
async function read(name) {
  const r = await fetch(`/model/${name}`);
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`/model/${name}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
try {
  const lib = await import('/dist/index.js');
  const result = await runBench({
    lib,
    read,
    threads: Number(q.get('threads') ?? 1),
    T: Number(q.get('T') ?? 128),
    reps: Number(q.get('reps') ?? 5),
    simd: q.get('simd') ?? 'auto',
    runtime: 'chromium',
    version,
  });
  window.kmedBench = { ...result, crossOriginIsolated: globalThis.crossOriginIsolated === true };
} catch (error) {
  window.kmedBench = { runtime: 'chromium', version, error: String(error?.stack ?? error) };
}
document.getElementById('out').textContent = JSON.stringify(window.kmedBench, null, 2);
