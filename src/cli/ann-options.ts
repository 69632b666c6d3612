// Owns: the graph-index options of `kmed index` (--ann, --ann-m, --ann-ef-construction, --ann-seed,
// --metric) and running a graph build for an index file from the command line: progress bar, the
// closing line (or JSON), and what the build needs checked first.
// Does not own: the build or the file (../node/indexing/ann-file.ts, ../search/ann/).
import { InvalidArgumentError, type Command } from 'commander';
import { positiveInt } from './model-options.js';

export interface AnnFlags {
  ann?: 'hnsw';
  annM?: number;
  annEfConstruction?: number;
  annSeed?: number;
  metric?: string;
  threads?: number;
  json?: boolean;
}

/** Adds the graph options to `kmed index`. */
export function addAnnOptions(command: Command): Command {
  return command
    .option('--ann <structure>', 'also build a graph index beside the index (INDEX.ann) for fast approximate search: hnsw', (value: string) => {
      if (value !== 'hnsw') throw new InvalidArgumentError(`expected hnsw, got '${value}'`);
      return value;
    })
    .option('--ann-m <n>', 'graph links per node (layer 0 keeps twice as many; default 16)', positiveInt)
    .option('--ann-ef-construction <n>', 'beam width while building the graph (default 200): larger is slower and better', positiveInt)
    .option('--ann-seed <n>', 'seed of the node levels (default 0); the same index and settings build the same bytes', (value: string) => {
      if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new InvalidArgumentError(`expected an integer from 0 to 4294967295, got '${value}'`);
      return Number(value);
    })
    .option('--metric <metric>', 'the scores the graph is built for: cosine or dot (default cosine; searches must use the same)');
}

/** Build and write the graph of the index file `indexPath` (replacing one only with `force`). */
export async function buildGraphFile(indexPath: string, flags: AnnFlags, force: boolean): Promise<void> {
  const { writeAnnFile } = await import('../node/indexing/ann-file.js');
  const { createProgress } = await import('../node/progress.js');
  const { checkMetric } = await import('../search/similarity.js');
  const { basename } = await import('node:path');
  const metric = checkMetric(flags.metric ?? 'cosine');
  let progress: ReturnType<typeof createProgress> | undefined;
  let shown = 0;
  const started = Date.now();
  try {
    const result = await writeAnnFile(indexPath, {
      M: flags.annM,
      efConstruction: flags.annEfConstruction,
      seed: flags.annSeed,
      metric,
      threads: flags.threads,
      force,
      onProgress({ linked, total }) {
        progress ??= createProgress({ label: `${basename(indexPath)} graph`, total, unit: 'items', itemName: 'rows', startedAt: started });
        progress.advance(linked - shown);
        shown = linked;
      },
    });
    progress?.stop();
    progress = undefined;
    const seconds = (Date.now() - started) / 1000;
    const { M, efConstruction, seed } = result.settings;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ ann: result.out, rows: result.rows, M, ef_construction: efConstruction, seed, metric, bytes: result.bytes, threads: result.threads, seconds }) + '\n');
    } else {
      process.stdout.write(`${result.out}: HNSW graph of ${result.rows} rows (M ${M}, ef-construction ${efConstruction}, seed ${seed}, ${metric}), ` +
        `${result.bytes} bytes, ${result.threads} thread${result.threads === 1 ? '' : 's'} (${seconds.toFixed(1)} s)\n`);
    }
  } finally {
    progress?.stop('stopped');
  }
}
