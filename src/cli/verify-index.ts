// Owns: `kmed verify-index INDEX` — checks a whole index file: header, metadata, checksum table,
// every xxHash32 block of every section (rows, norms, scan rows, offsets, strings), every vector finite and every id and text
// valid UTF-8 (VectorIndex.verify). Prints one summary line (or --json) and exits 0; a damaged
// file is one `kmed:` line naming what and where, exit 1. Loads no model.
// Does not own the format or the checks themselves (../vector-index.ts).
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('verify-index')
    .description('check every byte of an index file against its checksums (and every vector, id and text) without loading a model')
    .argument('<index>', 'index file made by kmed index or kmed merge')
    .option('--json', 'print the result as JSON')
    .action(async (path: string, flags: { json?: boolean }) => {
      const { existsSync } = await import('node:fs');
      const { IndexError, VectorIndex } = await import('../search/vector-index.js');
      const { fileSource } = await import('../node/fs/file-source.js');
      if (!existsSync(path)) throw new IndexError('INDEX_NOT_FOUND', `index ${path} not found`);
      const started = performance.now();
      const source = fileSource(path);
      try {
        const index = VectorIndex.open(source);
        index.verify();
        const seconds = (performance.now() - started) / 1000;
        const shard = index.meta.shard ? `, shard ${index.meta.shard.index}/${index.meta.shard.of}` : '';
        if (flags.json) {
          process.stdout.write(JSON.stringify({ index: path, ok: true, count: index.count, dimension: index.dimension, bytes: source.size, meta: index.meta, seconds }) + '\n');
        } else {
          process.stdout.write(`${path}: ok, ${index.count} passages × ${index.dimension} dims, ${source.size} bytes${shard}, ` +
            `context model ${index.meta.context_model.name}, every checksum matches (${seconds.toFixed(2)} s)\n`);
        }
      } finally {
        source.close();
      }
    });
}
