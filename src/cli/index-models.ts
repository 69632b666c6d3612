// Owns: what `kmed search` and `kmed eval` check before loading a model: that the index (or every
// shard) was built for the question model given (dimension, pooling, fingerprints where known) and
// with one max length — so a mismatched index is refused before any weights load.
// Does not own: loading the encoder (../node/bi-encoder.ts) or the checks' rules (../bi-encoder.ts).
import type { Pooling } from '../model/pooling.js';
import type { VectorIndex } from '../search/vector-index.js';
import type { ModelFlags } from './model-options.js';

/** The pooling and max length queries must use for `indexes`, after checking their models. */
export async function checkIndexModels(indexes: VectorIndex[], flags: Pick<ModelFlags, 'questionModel' | 'contextModel'>): Promise<{ pooling: Pooling; maxLength: number }> {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { parseBertConfig } = await import('../model/config.js');
  const { checkPooling } = await import('../model/pooling.js');
  const { modelIdentityOfDirectory, resolveModelDir } = await import('../node/bi-encoder.js');
  const { checkIndexCompatibility } = await import('../bi-encoder.js');
  const { IndexError } = await import('../search/vector-index.js');
  const index = indexes[0];
  const questionDir = resolveModelDir('question', { model: flags.questionModel });
  let context = null;
  try {
    context = await modelIdentityOfDirectory(resolveModelDir('context', { model: flags.contextModel }));
  } catch (error) {
    if (flags.contextModel !== undefined) throw error; // default context model absent: not checked
  }
  const question = await modelIdentityOfDirectory(questionDir);
  // Queries are pooled the way the index's passages were (kmed index always uses 'pooler').
  const pooling = checkPooling(index.meta.pooling);
  const configPath = join(questionDir, 'config.json');
  const { hidden_size } = parseBertConfig(readFileSync(configPath, 'utf8'), configPath);
  for (const x of indexes) checkIndexCompatibility(x, { dimension: hidden_size, pooling, question, context });
  if (indexes.some((x) => x.meta.max_length !== index.meta.max_length)) {
    throw new IndexError('INDEX_MODEL_MISMATCH', `${indexes.map((x) => x.name).join(', ')} were embedded with different max lengths: search them one by one`);
  }
  return { pooling, maxLength: index.meta.max_length };
}
