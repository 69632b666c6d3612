// Owns: what `fromPretrained` needs beyond the download, runtime-neutral: its options type, the
// store a load uses when the caller names none (the Cache API where the runtime has one, else
// nothing kept), and turning a snapshot's cached files into the contents Encoder.fromFiles takes.
// Does not own the load policy (snapshot.ts) or building the encoder (../encoder.ts).
import { CacheApiStore, hasCacheApi } from './browser-cache.js';
import { NoCache, type HubCache } from './cache.js';
import type { HubOptions, ModelSnapshot } from './snapshot.js';
import { DownloadError } from './download-error.js';
import type { AssertTrue, SameKeys } from '../options/check-options.js';
import type { OPTION_GROUPS } from '../options/option-keys.js';

/** Hub options plus where the files are kept. */
export interface PretrainedOptions extends HubOptions {
  /** A store of your own, or `false` to keep nothing (every load downloads). Default: the
   *  Hugging Face cache folder in Node, Deno and Bun; the Cache API in browsers. */
  cache?: HubCache | false;
  /** Node/Deno/Bun: the cache folder (default HF_HUB_CACHE, else HF_HOME/hub, else
   *  ~/.cache/huggingface/hub). Browsers: the name of the CacheStorage cache (default 'kmed-dpr-hub'). */
  cacheDir?: string;
}

// The declared option keys (options/option-keys.ts) must be exactly this interface's keys.
type _PretrainedOptionKeys = AssertTrue<SameKeys<PretrainedOptions, typeof OPTION_GROUPS.pretrained>>;

/** The store for a load in a runtime without a file system (see PretrainedOptions.cache). Its
 *  first refused operation, if any, reaches `onProgress` as the load's one `cache-failed` event. */
export function neutralCache(options: PretrainedOptions): HubCache {
  if (options.cache === false) return new NoCache();
  if (options.cache) return options.cache;
  if (!hasCacheApi()) return new NoCache();
  let reported = false;
  return new CacheApiStore(options.cacheDir, undefined, {
    onFailure(failure) {
      if (reported) return;
      reported = true;
      options.onProgress?.({ type: 'cache-failed', ...failure });
    },
  });
}

/** The contents of a snapshot's files in the shape Encoder.fromFiles takes. */
export interface SnapshotContents {
  config: Uint8Array;
  vocab: Uint8Array;
  tokenizerConfig?: Uint8Array;
  specialTokensMap?: Uint8Array;
  tokenizerJson?: Uint8Array;
  weights: Uint8Array;
}

/** Reads every file of `snapshot` (the weights too: in a browser they must be in memory to load). */
export async function snapshotContents(snapshot: ModelSnapshot): Promise<SnapshotContents> {
  const read = async (path: string) => snapshot.files.get(path)?.bytes();
  const [config, vocab, weights] = await Promise.all([read('config.json'), read('vocab.txt'), read('model.safetensors')]);
  // fetchSnapshot guarantees the three; a custom cache that loses one between calls is caught here.
  if (!config || !vocab || !weights) throw new DownloadError('HUB_NOT_CACHED', `${snapshot.repo}@${snapshot.commit}: the cache lost a required file; load again to fetch it`);
  return {
    config,
    vocab,
    weights,
    tokenizerConfig: await read('tokenizer_config.json'),
    specialTokensMap: await read('special_tokens_map.json'),
    tokenizerJson: await read('tokenizer.json'),
  };
}

/** The display name a hub model gets in index files: the repo name after the slash (the same name
 *  its `kmed download` folder has, so indexes built either way agree). */
export function repoDisplayName(repo: string): string {
  return repo.slice(repo.indexOf('/') + 1);
}
