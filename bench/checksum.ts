// Owns: the measurement behind the index checksum choice (issue 10): CRC-32C (slicing-by-8) against
// xxHash64 (64-bit lanes emulated on u32 halves), both hand-written in src/formats/checksum.ts, over the
// same 64 MiB of random bytes, interleaved, median of 7 runs each; node:crypto's sha256 (native)
// is printed as a reference point, not a candidate (it is not available to runtime-neutral code).
// Run: npx tsx bench/checksum.ts
import { createHash } from 'node:crypto';
import { crc32c, xxhash64 } from '../src/formats/checksum.js';
import { median } from './median.js';

const MB = 1 << 20;
const bytes = new Uint8Array(64 * MB);
for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));

const peers: Array<[string, () => unknown]> = [
  ['crc32c (TS)', () => crc32c(bytes)],
  ['xxhash64 (TS)', () => xxhash64(bytes)],
  ['sha256 (node:crypto, native)', () => createHash('sha256').update(bytes).digest('hex')],
];
const times = new Map<string, number[]>(peers.map(([n]) => [n, []]));
for (const [, f] of peers) f(); // warm-up (tier-up)
for (let run = 0; run < 7; run++) {
  for (const [name, f] of peers) {
    const t = performance.now();
    f();
    times.get(name)!.push(performance.now() - t);
  }
}
const base = median(times.get('crc32c (TS)')!);
console.log('| checksum | median ms / 64 MiB | GB/s | time vs crc32c |');
console.log('|---|---|---|---|');
for (const [name] of peers) {
  const m = median(times.get(name)!);
  console.log(`| ${name} | ${m.toFixed(1)} | ${(bytes.length / m / 1e6).toFixed(2)} | ${(m / base).toFixed(2)}x |`);
}
