// Benchmark: our BertTokenizer against the peer @huggingface/tokenizers (Tokenizers.js, pure JS)
// loaded from the same tokenizer.json, on test/fixtures/corpus/corpus.txt, in the same process.
// Prints a markdown table (median of RUNS runs, tokens/s, MB/s of UTF-8 input, ratio to the peer)
// and first checks that both give identical ids on every corpus line.
// Run: npm run bench:tokenizer   (or: npx tsx bench/tokenizer.ts [runs])
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { median } from './median.js';

const DIR = 'test/fixtures/tokenizer';
const RUNS = Number(process.argv[2] ?? 9);
const PASSES = 5; // corpus passes per timed run, so one run lasts long enough to time well

const files = {
  vocab: readFileSync(`${DIR}/vocab.txt`),
  tokenizerConfig: readFileSync(`${DIR}/tokenizer_config.json`),
  specialTokensMap: readFileSync(`${DIR}/special_tokens_map.json`),
  tokenizerJson: readFileSync(`${DIR}/tokenizer.json`),
};
const lines = readFileSync('test/fixtures/corpus/corpus.txt', 'utf8').split('\n').filter((l) => l !== '');
const bytes = Buffer.byteLength(lines.join(''), 'utf8');

const ours = BertTokenizer.fromFiles(files);
const peer = new Tokenizer(JSON.parse(files.tokenizerJson.toString('utf8')), JSON.parse(files.tokenizerConfig.toString('utf8')));
const peerIds = (text: string): number[] => peer.encode(text).ids;

// 1. Agreement on every line.
let agree = 0;
let firstDiff = '';
for (const line of lines) {
  const a = Array.from(ours.encode(line, { maxLength: Infinity }).ids);
  const b = peerIds(line);
  if (a.length === b.length && a.every((id, k) => id === b[k])) agree++;
  else if (firstDiff === '') firstDiff = `${JSON.stringify(line).slice(0, 120)}\n  ours ${a.slice(0, 20)}\n  peer ${b.slice(0, 20)}`;
}

// 2. Timing. Each function tokenizes the corpus once and returns the number of ids.
function passOurs(tok: BertTokenizer): number {
  let n = 0;
  for (const line of lines) n += tok.encode(line, { maxLength: Infinity }).ids.length;
  return n;
}
function passPeer(): number {
  let n = 0;
  for (const line of lines) n += peerIds(line).length;
  return n;
}
interface Row {
  name: string;
  ms: number[];
  tokens: number;
}
const rows: Row[] = [
  { name: '@huggingface/tokenizers 0.2.0 (peer)', ms: [], tokens: 0 },
  { name: 'kmed BertTokenizer (warm word cache)', ms: [], tokens: 0 },
  { name: 'kmed BertTokenizer (cold: new tokenizer per run)', ms: [], tokens: 0 },
];
const time = (fn: () => number): [number, number] => {
  const t0 = performance.now();
  let n = 0;
  for (let p = 0; p < PASSES; p++) n += fn();
  return [performance.now() - t0, n];
};
for (let i = 0; i < 2; i++) { passPeer(); passOurs(ours); } // warm-up: JIT both
for (let r = 0; r < RUNS; r++) {
  // Alternate the order so neither side always runs right after a GC-heavy neighbour.
  const order = r % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
  for (const k of order) {
    let ms: number;
    let n: number;
    if (k === 0) [ms, n] = time(passPeer);
    else if (k === 1) [ms, n] = time(() => passOurs(ours));
    else {
      // Cold: a fresh tokenizer (built outside the timing) for each pass, so every word is a
      // cache miss the first time it appears in the run.
      const fresh = Array.from({ length: PASSES }, () => BertTokenizer.fromFiles(files));
      let p = 0;
      [ms, n] = time(() => passOurs(fresh[p++]));
    }
    rows[k].ms.push(ms);
    rows[k].tokens = n;
  }
}

const peerMs = median(rows[0].ms);
console.log(`\nTokenizer throughput on corpus.txt: ${lines.length} lines, ${(bytes / 1024).toFixed(1)} KiB UTF-8, ` +
  `${rows[1].tokens / PASSES} ids per pass; ${PASSES} passes per run, median of ${RUNS} runs; Node ${process.version}\n`);
console.log('| tokenizer | median ms / run | tokens/s | MB/s | speed vs peer |');
console.log('|---|---:|---:|---:|---:|');
for (const row of rows) {
  const ms = median(row.ms);
  const tps = row.tokens / (ms / 1000);
  const mbs = (bytes * PASSES) / 1e6 / (ms / 1000);
  console.log(`| ${row.name} | ${ms.toFixed(1)} | ${(tps / 1e6).toFixed(2)} M | ${mbs.toFixed(2)} | ${(peerMs / ms).toFixed(2)}x |`);
}
console.log(`\nAgreement with the peer: ${agree}/${lines.length} lines give identical ids${agree === lines.length ? '' : `; first difference:\n  ${firstDiff}`}`);
console.log(`Peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
if (agree !== lines.length) process.exitCode = 1;
