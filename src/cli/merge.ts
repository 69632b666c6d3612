// Owns: `kmed merge SHARDS... --out INDEX` — joins the files of a `kmed index --shard I/N` run into
// one index, byte-identical to a single-process build, after checking that they are one corpus's
// shards, built alike, covering every passage exactly once. Loads no model.
// Does not own the merge (../node/index-merge.ts).
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('merge')
    .description('join the shard files of `kmed index --shard I/N` into one index (the same bytes as a single kmed index run)')
    .argument('<shards...>', 'shard files (any order)')
    .requiredOption('--out <index>', 'index file to write')
    .option('--force', 'replace an existing index file (once the new one is complete)')
    .option('--json', 'print the result as JSON')
    .action(async (shards: string[], flags: { out: string; force?: boolean; json?: boolean }) => {
      const { mergeShards } = await import('../node/indexing/index-merge.js');
      const started = performance.now();
      const result = await mergeShards(shards, flags.out, { force: flags.force });
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) {
        process.stdout.write(JSON.stringify({ ...result, seconds }) + '\n');
      } else {
        process.stdout.write(`${result.out}: ${result.count} passages from ${result.shards} shards, ${result.bytes} bytes (${seconds.toFixed(1)} s)\n`);
      }
    });
}
