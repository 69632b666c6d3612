// Owns: fetching a hub model for the Node entry's fromPretrained (Node, Deno, Bun): the store
// defaults to the Hugging Face cache folder (hub-cache.ts; `cacheDir` overrides it), hashing uses
// node:crypto (several times faster than the portable SHA-256 on hundreds of megabytes), and the
// result is the snapshot folder, which Encoder.fromDirectory loads with the weights streamed from
// disk rather than read into memory. Does not own the load policy (../../hub/snapshot.ts).
import { noCache } from '../../hub/cache.js';
import type { PretrainedOptions } from '../../hub/load.js';
import { fetchSnapshot, type ModelSnapshot } from '../../hub/snapshot.js';
import { HfFileCache } from './hub-cache.js';
import { nodeSha256 } from './resumable-download.js';

/** The snapshot of `repo` in the cache `options` name, and its folder when that cache is on disk. */
export async function fetchNodeSnapshot(repo: string, options: PretrainedOptions): Promise<{ snapshot: ModelSnapshot; dir?: string }> {
  const cache = options.cache === false ? false : (options.cache ?? new HfFileCache(options.cacheDir));
  const snapshot = await fetchSnapshot(repo, options, cache === false ? noCache() : cache, {
    createSha256: nodeSha256,
  });
  return { snapshot, dir: cache instanceof HfFileCache ? cache.snapshotDir(repo, snapshot.commit) : undefined };
}
