// Owns: the graph file beside an index file on disk (Node) — its path (`INDEX.ann`), building it
// for an index file and writing it atomically (refusing to replace one without `force`), and
// opening it as a byte source when it is there.
// Does not own: the format or the build (src/search/ann/), the index file (src/search/vector-index.ts).
import { existsSync } from 'node:fs';
import { AnnError } from '../../search/ann/ann-error.js';
import { buildAnnGraph, type AnnBuildOptions, type AnnBuildSummary } from '../../search/ann/ann-index.js';
import { VectorIndex } from '../../search/vector-index.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { fileSource, type FileByteSource } from '../fs/file-source.js';

/** Where the graph of index `indexPath` lives. */
export function annPath(indexPath: string): string {
  return `${indexPath}.ann`;
}

/** The graph file of `indexPath` opened for reading, or undefined when there is none. */
export function openAnnFile(indexPath: string): FileByteSource | undefined {
  const path = annPath(indexPath);
  return existsSync(path) ? fileSource(path, 'graph index') : undefined;
}

/**
 * Build the graph of the index file `indexPath` and write it to annPath(indexPath) atomically.
 * Refuses (ANN_BAD_OPTION) to replace an existing graph unless `force`.
 */
export async function writeAnnFile(indexPath: string, options: AnnBuildOptions & { force?: boolean }): Promise<AnnBuildSummary & { out: string }> {
  const out = annPath(indexPath);
  if (existsSync(out) && !options.force) {
    throw new AnnError('ANN_BAD_OPTION', `${out} exists: pass --force to replace it (the index ${indexPath} is not changed either way)`);
  }
  const source = fileSource(indexPath, 'index');
  try {
    const index = VectorIndex.open(source);
    const summary = await buildAnnGraph(index, options, (parts) => writeFileAtomic(out, parts, 'graph index'));
    return { ...summary, out };
  } finally {
    source.close();
  }
}
