// Owns: the memory and time of searching an index bigger than the wasm heap (issue 13 item 4).
// Writes synthetic indexes of random unit vectors (D = 768) to a temp dir — a small one (N_SMALL,
// default 250,000 = 0.7 GiB of vectors, fits either way) and a big one (N_BIG, default 2,000,000 =
// 5.7 GiB, past the 4 GiB heap) — and runs one search per fresh process (bench/search-window-child.mjs,
// plain node on dist/: `npm run build` first) in both session modes, interleaved, 3 runs each:
//   resident  = the old way: every vector copied into the kernel heap, then dotRows;
//   streaming = the vectors read through a 64 MiB window of the heap on every query.
// Prints median times (session open, first search = with the CRC verification of every block,
// second search) and the median peak RSS. Run: npx tsx bench/search-window.ts [N_BIG] [N_SMALL]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './median.js';
import { writeSyntheticIndex } from './synthetic-index.js';

const N_BIG = Number(process.argv[2] ?? 2_000_000);
const N_SMALL = Number(process.argv[3] ?? 250_000);
const D = 768;
const RUNS = 3;
const dir = mkdtempSync(join(tmpdir(), 'kmed-bench-window-'));
try {
  const sizes = [N_SMALL, N_BIG];
  const paths = new Map<number, string>();
  for (const n of sizes) {
    const path = join(dir, `synthetic-${n}.kidx`);
    const t = performance.now();
    await writeSyntheticIndex(path, n, D, n);
    console.log(`wrote ${n} × ${D} (${((n * D * 4) / 2 ** 30).toFixed(2)} GiB of vectors) in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    paths.set(n, path);
  }
  type Row = { mode: string; openMs?: number; sessionMs?: number; firstSearchMs?: number; secondSearchMs?: number; maxRssMiB: number; error?: string; top1?: unknown };
  const results = new Map<string, Row[]>();
  for (let run = 0; run < RUNS; run++) {
    for (const n of sizes) {
      for (const mode of ['resident', 'streaming']) {
        const key = `${n}|${mode}`;
        // The resident copy of the big index fails the same way every time: once is enough.
        if (n === N_BIG && mode === 'resident' && run > 0) continue;
        const r = spawnSync(process.execPath, ['--max-old-space-size=512', 'bench/search-window-child.mjs', paths.get(n)!, mode], { encoding: 'utf8', timeout: 900_000 });
        const row = JSON.parse(r.stdout.trim().split('\n').pop() || `{"mode":"${mode}","maxRssMiB":0,"error":"exit ${r.status}: ${r.stderr.slice(-200).replace(/"/g, "'")}"}`) as Row;
        if (!results.has(key)) results.set(key, []);
        results.get(key)!.push(row);
        console.error(`run ${run + 1} ${n} ${mode}: ${JSON.stringify(row)}`);
      }
    }
  }
  const med = (rows: Row[], f: (r: Row) => number | undefined) => {
    const xs = rows.map(f).filter((x): x is number => typeof x === 'number');
    return xs.length ? median(xs) : NaN;
  };
  console.log(`\n| index | mode | runs | session open ms | first search ms (verifies CRCs) | second search ms | peak RSS MiB | result |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    for (const mode of ['resident', 'streaming']) {
      const rows = results.get(`${n}|${mode}`)!;
      const err = rows.find((r) => r.error)?.error;
      const fmt = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(0));
      console.log(`| ${n} × ${D} | ${mode} | ${rows.length} | ${fmt(med(rows, (r) => r.sessionMs))} | ${fmt(med(rows, (r) => r.firstSearchMs))} | ${fmt(med(rows, (r) => r.secondSearchMs))} | ${fmt(med(rows, (r) => r.maxRssMiB))} | ${err ?? 'ok'} |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
