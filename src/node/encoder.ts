// Owns: loading an Encoder from a Hugging Face model folder on disk (Node only). Small files are
// read whole; model.safetensors is streamed through fileSource so loading needs about one copy of
// the weights (the heap), not two — less by default: the word-embedding table stays in the file
// ('source' placement), which then stays open until dispose() (or the encoder is collected).
// Does not own parsing or the model (see ../encoder.ts).
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted } from '../errors/abort-error.js';
import { Encoder as BaseEncoder, EncoderError, type EncoderOptions, type PretrainedEncoderOptions } from '../encoder.js';
import { verifySnapshotFiles } from './hub/blob-stamp.js';
import { fetchNodeSnapshot } from './hub/hub-pretrained.js';
import { fileSource, type FileByteSource } from './fs/file-source.js';
import { fileSystemError } from './fs/fs-errors.js';
import { assertRegularFileAsync } from './fs/regular-file.js';
import { useNodeThreads } from './worker-threads.js';
import { resolveDtype } from '../model/dtype.js';
import { checkOptions, pickOptions } from '../options/check-options.js';

// Worker threads for the thread pool come from node:worker_threads where there are no Web Workers.
useNodeThreads();

/** The files fromDirectory reads. */
const MODEL_FILES = ['config.json', 'vocab.txt', 'model.safetensors', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json'];

// An encoder dropped without dispose() must not keep its file descriptor for the process's life.
const openWeightFiles = new FinalizationRegistry<FileByteSource>((file) => file.close());

export class Encoder extends BaseEncoder {
  /**
   * Load from a folder holding config.json, vocab.txt, model.safetensors and, when present,
   * tokenizer_config.json, special_tokens_map.json and tokenizer.json.
   */
  static async fromDirectory(dir: string, options: EncoderOptions = {}): Promise<Encoder> {
    options = checkOptions('Encoder.fromDirectory', options);
    resolveDtype('Encoder.fromDirectory', options.dtype); // before any file is read
    if (!(await exists(dir))) {
      throw new EncoderError('ENCODER_MISSING_FILE', `model folder ${dir} does not exist`);
    }
    if (!(await stat(dir)).isDirectory()) {
      throw new EncoderError('ENCODER_MISSING_FILE', `model folder ${dir} is a file, not a folder (a model folder holds config.json, vocab.txt and model.safetensors)`);
    }
    const required = async (name: string): Promise<Uint8Array> => {
      const path = join(dir, name);
      if (!(await exists(path))) {
        throw new EncoderError('ENCODER_MISSING_FILE', `${path} is missing (a model folder needs config.json, vocab.txt and model.safetensors)`);
      }
      return readRegular(path);
    };
    const optional = async (name: string): Promise<Uint8Array | undefined> => {
      const path = join(dir, name);
      return (await exists(path)) ? readRegular(path) : undefined;
    };
    // A folder of the Hugging Face cache (a snapshot: links into blobs/) is read only once each
    // blob is known to hold what its name states (cheap when stamped; HUB_CACHE_CORRUPT if not).
    await verifySnapshotFiles(MODEL_FILES.map((name) => join(dir, name)));
    const config = await required('config.json');
    const vocab = await required('vocab.txt');
    const weightsPath = join(dir, 'model.safetensors');
    if (!(await exists(weightsPath))) {
      throw new EncoderError('ENCODER_MISSING_FILE', `${weightsPath} is missing (a model folder needs config.json, vocab.txt and model.safetensors)`);
    }
    const [tokenizerConfig, specialTokensMap, tokenizerJson] = await Promise.all([
      optional('tokenizer_config.json'),
      optional('special_tokens_map.json'),
      optional('tokenizer.json'),
    ]);
    const weights = fileSource(weightsPath, 'model weights');
    const placement = options.wordEmbeddings ?? 'source';
    let encoder: Encoder | undefined;
    try {
      encoder = await Encoder.fromFiles({ config, vocab, tokenizerConfig, specialTokensMap, tokenizerJson, weights }, { ...options, wordEmbeddings: placement });
    } finally {
      if (encoder === undefined || placement === 'heap') weights.close();
    }
    if (placement === 'source') {
      encoder.#weightsFile = weights;
      openWeightFiles.register(encoder, weights, encoder);
    }
    return encoder;
  }

  /**
   * Load a model by Hugging Face hub id through the Hugging Face cache folder (HF_HUB_CACHE /
   * HF_HOME, default ~/.cache/huggingface/hub; `cacheDir` overrides it), the one Python's
   * huggingface_hub shares: a model Python already fetched is not fetched again. See the
   * runtime-neutral Encoder.fromPretrained for the options.
   */
  static override async fromPretrained(repoId: string, options: PretrainedEncoderOptions = {}): Promise<Encoder> {
    // (node/bi-encoder.ts's loadPretrainedEncoder does the same and also fingerprints the files.)
    options = checkOptions('Encoder.fromPretrained', options);
    resolveDtype('Encoder.fromPretrained', options.dtype); // before a byte is downloaded
    const { snapshot, dir } = await fetchNodeSnapshot(repoId, options);
    if (dir === undefined) return (await Encoder.fromSnapshot(snapshot, options)).encoder as Encoder;
    throwIfAborted(options.signal, `loading ${repoId}`);
    const started = Date.now();
    const encoder = await Encoder.fromDirectory(dir, pickOptions<EncoderOptions>('Encoder.fromDirectory', options));
    options.onProgress?.({ type: 'loaded', repo: snapshot.repo, commit: snapshot.commit, ms: Date.now() - started });
    return encoder;
  }

  /** The open model.safetensors the word embeddings are read from ('source' placement). */
  #weightsFile: FileByteSource | undefined;

  override dispose(): void {
    super.dispose();
    if (this.#weightsFile) {
      openWeightFiles.unregister(this);
      this.#weightsFile.close();
      this.#weightsFile = undefined;
    }
  }
}

/** A model file read whole, after refusing a folder or a FIFO (which would block the read). */
async function readRegular(path: string): Promise<Uint8Array> {
  await assertRegularFileAsync(path, 'model file');
  try {
    return await readFile(path);
  } catch (error) {
    throw fileSystemError(error, path, 'read the model file');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
