// Owns: the browser launcher of the runtime check. Imports the library's neutral entry (the one
// the exports map gives browsers) from the static server, reads fixtures with fetch, runs
// check-core.mjs and publishes the result as window.kmedCheck (and in the page, for a person).
// Does not own: the check (check-core.mjs) or the server (scripts/serve-web.mjs).
import { runCheck } from './check-core.mjs';

const params = new URLSearchParams(location.search);
const threads = Number(params.get('threads') ?? '1');
const spec = params.get('lib') ?? '/dist/index.js';
const out = document.getElementById('out');

function browserVersion() {
  // The user agent has the full version (e.g. HeadlessChrome/156.0.8078.108); brands only the major.
  const full = /Chrom(?:e|ium)\/([\d.]+)/.exec(navigator.userAgent)?.[1];
  return full ?? navigator.userAgentData?.brands?.find((b) => /chrom/i.test(b.brand))?.version ?? navigator.userAgent;
}

async function read(path) {
  const response = await fetch(`/test/fixtures/${path}`);
  if (!response.ok) throw new Error(`GET /test/fixtures/${path}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

try {
  const lib = await import(spec);
  const result = await runCheck({ lib, read, threads, runtime: 'chromium', version: browserVersion() });
  window.kmedCheck = { ...result, lib: spec, crossOriginIsolated: globalThis.crossOriginIsolated === true };
} catch (error) {
  window.kmedCheck = { runtime: 'chromium', version: browserVersion(), error: String(error?.stack ?? error) };
}
out.textContent = JSON.stringify(window.kmedCheck, null, 2);
