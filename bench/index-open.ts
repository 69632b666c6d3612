// Owns: the cost of opening an index (issue 10: `open` must stay well under one query embedding,
// ~100-300 ms) on a synthetic 1M × 768 index written to a temp dir (3 GB; N and D from argv).
// Measures, interleaved, median of 5: VectorIndex.open (preamble, meta and checksum table verified:
// the eager part); the first string read, which loads, verifies and checks the offsets table;
// beside reading the same offsets bytes with no checks at all (the I/O floor of any validation of
// the offsets); and once each: verify of the vectors and strings (the lazy part, paid by the first
// search) and a full verify().
// Run: npx tsx bench/index-open.ts [N=1000000] [D=768]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSource } from '../src/node/fs/file-source.js';
import { VectorIndex } from '../src/search/vector-index.js';
import { median } from './median.js';
import { writeSyntheticIndex } from './synthetic-index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const D = Number(process.argv[3] ?? 768);
const dir = mkdtempSync(join(tmpdir(), 'kmed-bench-open-'));
try {
  const path = join(dir, 'synthetic.kidx');
  let t = performance.now();
  await writeSyntheticIndex(path, N, D);
  console.log(`wrote ${N} × ${D} synthetic index in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const openTimes: number[] = [];
  const offsetsTimes: number[] = [];
  const rawTimes: number[] = [];
  for (let run = 0; run < 6; run++) {
    const src = fileSource(path);
    t = performance.now();
    const index = VectorIndex.open(src);
    const tOpen = performance.now() - t;
    t = performance.now();
    index.id(0);
    const tOffsets = performance.now() - t;
    const offsets = index.layout.sections.offsets;
    const buf = new Uint8Array(offsets.length);
    t = performance.now();
    src.readInto(offsets.start, buf);
    const tRaw = performance.now() - t;
    src.close();
    if (run > 0) { // run 0 warms the page cache and the JIT
      openTimes.push(tOpen);
      offsetsTimes.push(tOffsets);
      rawTimes.push(tRaw);
    }
  }
  const src = fileSource(path);
  const index = VectorIndex.open(src);
  t = performance.now();
  index.verifySection('vectors');
  index.verifySection('strings');
  const lazy = performance.now() - t;
  src.close();
  const src2 = fileSource(path);
  t = performance.now();
  VectorIndex.open(src2).verify();
  const full = performance.now() - t;
  src2.close();
  console.log(`\n| ${N} × ${D} index (${(index.layout.fileLength / 2 ** 30).toFixed(2)} GiB) | ms |`);
  console.log('|---|---|');
  console.log(`| VectorIndex.open, median of 5 (header, meta, ${((index.layout.fileLength - index.layout.checksumsOffset) / 1024).toFixed(0)} KiB checksum table verified) | ${median(openTimes).toFixed(1)} |`);
  console.log(`| first string read after open: ${(index.layout.sections.offsets.length / 2 ** 20).toFixed(1)} MiB offsets table read, verified, checked, median of 5 | ${median(offsetsTimes).toFixed(1)} |`);
  console.log(`| read of the offsets bytes alone, no checks, median of 5 | ${median(rawTimes).toFixed(1)} |`);
  console.log(`| lazy part: verify vectors + strings (once per open, during the first search) | ${lazy.toFixed(0)} |`);
  console.log(`| kmed verify-index equivalent: open + verify() (CRC + finite + UTF-8) | ${full.toFixed(0)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
