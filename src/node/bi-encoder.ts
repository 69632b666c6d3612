// Owns: finding and loading the two encoders of a bi-encoder on disk (Node only) — a folder, or a
// hub id such as 'snumin44/medical-biencoder-ko-bert-question' resolved to the folder `kmed download`
// fills (weights/medical-biencoder-ko-bert-question/), else to its snapshot in the Hugging Face
// cache (refs/main, as Python left it) — and each model's identity (name + fingerprint) for index
// files. A missing model is one clear error that names `kmed download`. Also the Node
// BiEncoder.fromPretrained (hub ids through the Hugging Face cache, hub-pretrained.ts).
// Does not own the bi-encoder's behaviour (../bi-encoder.ts) or the download itself (hub-download.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BiEncoder as BaseBiEncoder, BiEncoderError, pretrainedRepos, type BiEncoderOptions, type FromEncodersOptions, type PretrainedBiEncoderOptions, type PretrainedIds } from '../bi-encoder.js';
import { throwIfAborted } from '../errors/abort-error.js';
import { bytesSource } from '../formats/byte-source.js';
import type { EncoderOptions, PretrainedEncoderOptions } from '../encoder.js';
import { repoDisplayName } from '../hub/load.js';
import { defaultHubCacheDir, findCachedSnapshot, repoNameOfSnapshot } from './hub/hub-cache.js';
import { fetchNodeSnapshot } from './hub/hub-pretrained.js';
import { modelFingerprint, type ModelIdentity } from '../model-identity.js';
import { Encoder } from './encoder.js';
import { cachedWeightsSha256 } from './model-files/model-fingerprint.js';
import { assertRegularFile } from './fs/regular-file.js';
import { resolveDtype } from '../model/dtype.js';
import { checkOptions, pickOptions, type AssertTrue, type SameKeys } from '../options/check-options.js';
import type { OPTION_GROUPS } from '../options/option-keys.js';

export const DEFAULT_QUESTION_MODEL = 'snumin44/medical-biencoder-ko-bert-question';
export const DEFAULT_CONTEXT_MODEL = 'snumin44/medical-biencoder-ko-bert-context';
/** Where `kmed download` puts model folders (relative to the working directory). */
export const DEFAULT_WEIGHTS_ROOT = 'weights';

export type ModelRole = 'question' | 'context';

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

// The declared option keys (options/option-keys.ts) must be exactly these interfaces' keys.
type _ModelLocationKeys = AssertTrue<SameKeys<ModelLocation, typeof OPTION_GROUPS.modelLocation>>;
type _LocationsKeys = AssertTrue<SameKeys<BiEncoderLocations, typeof OPTION_GROUPS.locations>>;

export interface ModelLocation {
  /** A folder, a hub id, or undefined for the role's default encoder. */
  model?: string;
  /** Root of downloaded folders (default 'weights'). */
  weightsRoot?: string;
  /** The Hugging Face cache searched after weightsRoot (default: HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub). */
  hubCacheDir?: string;
}

/**
 * The folder of a role's model: an existing folder as given; otherwise a hub id maps to
 * `<weightsRoot>/<name after the slash>` when that exists, else to the id's snapshot for refs/main
 * in the Hugging Face cache. Throws BiEncoderError (MODEL_NOT_FOUND) when the folder or its
 * config.json / model.safetensors is missing.
 */
export function resolveModelDir(role: ModelRole, location: ModelLocation = {}): string {
  const root = location.weightsRoot ?? DEFAULT_WEIGHTS_ROOT;
  const spec = location.model ?? (role === 'question' ? DEFAULT_QUESTION_MODEL : DEFAULT_CONTEXT_MODEL);
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  let dir = spec;
  if (!isDir(spec) && HUB_ID.test(spec)) {
    dir = join(root, spec.slice(spec.indexOf('/') + 1));
    if (!isDir(dir)) dir = findCachedSnapshot(spec, 'main', location.hubCacheDir ?? defaultHubCacheDir()) ?? dir;
  }
  // Library words only (the location option); the CLI adds its own flag (--question-model ...).
  const hint = HUB_ID.test(spec)
    ? `run \`kmed download ${spec}\` (or copy the folder there by hand), or give another model folder as the ${role} model; ` +
      `the Hugging Face cache ${location.hubCacheDir ?? defaultHubCacheDir()} has no snapshot of it either`
    : `give a Hugging Face model folder as the ${role} model (or download the default encoders with \`kmed download\`)`;
  if (existsSync(dir) && !isDir(dir)) {
    throw new BiEncoderError('MODEL_NOT_FOUND', `${role} model ${dir} is a file, not a model folder: ${hint}`);
  }
  if (!isDir(dir)) {
    throw new BiEncoderError('MODEL_NOT_FOUND', `${role} model folder ${dir} not found: ${hint}`);
  }
  for (const file of ['config.json', 'model.safetensors']) {
    if (!existsSync(join(dir, file))) {
      throw new BiEncoderError('MODEL_NOT_FOUND', `${role} model folder ${dir} has no ${file}: ${hint}`);
    }
  }
  return dir;
}

/** Name (the folder's name) and fingerprint of the model in `dir`, without loading its weights.
 *  The weights' sha256 is hashed once and cached next to them (model-fingerprint.ts);
 *  `weightsSha256` (e.g. the LFS sha256 a download verified) skips even that. */
export async function modelIdentityOfDirectory(dir: string, options: { weightsSha256?: string } = {}): Promise<ModelIdentity> {
  assertRegularFile(join(dir, 'config.json'), 'model config');
  const config = readFileSync(join(dir, 'config.json'));
  const weightsPath = join(dir, 'model.safetensors');
  assertRegularFile(weightsPath, 'model weights');
  const { sha256 } = await cachedWeightsSha256(weightsPath, { knownSha256: options.weightsSha256 });
  // A cache snapshot's folder is named by its commit; the model's name is the repo's.
  return { name: repoNameOfSnapshot(dir) ?? basename(resolve(dir)), fingerprint: await modelFingerprint(config, { name: weightsPath, size: statSync(weightsPath).size, readInto: noRead }, { weightsSha256: sha256 }) };
}

/** The weights are never read when their sha256 is given. */
function noRead(): never {
  throw new BiEncoderError('MODEL_NOT_FOUND', 'internal: model.safetensors read although its sha256 was known');
}

/** One encoder of the pair, loaded from its folder, with its identity. */
export async function loadEncoder(
  role: ModelRole,
  location: ModelLocation = {},
  options: BiEncoderOptions = {},
): Promise<{ encoder: Encoder; identity: ModelIdentity; dir: string }> {
  location = checkOptions('loadEncoder location', location);
  options = checkOptions('loadEncoder', options);
  resolveDtype('loadEncoder', options.dtype);
  const dir = resolveModelDir(role, location);
  const identity = await modelIdentityOfDirectory(dir);
  const encoder = await Encoder.fromDirectory(dir, pickOptions<EncoderOptions>('Encoder.fromDirectory', options));
  return { encoder, identity, dir };
}

export interface BiEncoderLocations {
  /** Question encoder: folder or hub id (default snumin44/medical-biencoder-ko-bert-question). */
  question?: string;
  /** Context encoder: folder or hub id (default snumin44/medical-biencoder-ko-bert-context). */
  context?: string;
  /** Root of downloaded folders (default 'weights'). */
  weightsRoot?: string;
}

/** The runtime-neutral BiEncoder plus loading from folders or hub ids. */
export class BiEncoder extends BaseBiEncoder {
  /**
   * Load the question and context encoders from two folders or hub ids (each defaulting to the
   * snumin44/medical-biencoder-ko-bert-* encoder under weights/; see resolveModelDir).
   */
  static fromDirectories(locations: BiEncoderLocations = {}, options: BiEncoderOptions = {}): Promise<BiEncoder> {
    return loadBiEncoder(locations, options);
  }

  /**
   * Load both encoders by hub id (default: the snumin44 medical pair) through the Hugging Face
   * cache folder (see the Node Encoder.fromPretrained), one after the other.
   */
  static override async fromPretrained(ids: PretrainedIds = {}, options: PretrainedBiEncoderOptions = {}): Promise<BiEncoder> {
    options = checkOptions('BiEncoder.fromPretrained', options);
    resolveDtype('BiEncoder.fromPretrained', options.dtype); // before a byte is downloaded
    const repos = pretrainedRepos(ids);
    const encoderOptions = pickOptions<PretrainedEncoderOptions>('loadPretrainedEncoder', options);
    const loaded: Array<{ encoder: Encoder; identity: ModelIdentity }> = [];
    try {
      for (const role of ['question', 'context'] as const) {
        loaded.push(await loadPretrainedEncoder(repos[role], encoderOptions, options.names?.[role]));
      }
      const [q, c] = loaded;
      return new this(q.encoder, c.encoder, { ...pickOptions<FromEncodersOptions>('BiEncoder', options), identity: { question: q.identity, context: c.identity } });
    } catch (error) {
      for (const { encoder } of loaded) encoder.dispose();
      throw error;
    }
  }
}

/** One encoder by hub id through the Hugging Face cache (Node Encoder.fromPretrained), with its
 *  identity: `name` (default: the repo name after the slash) and the fingerprint of its files. */
export async function loadPretrainedEncoder(
  repo: string,
  options: PretrainedEncoderOptions = {},
  name?: string,
): Promise<{ encoder: Encoder; identity: ModelIdentity }> {
  options = checkOptions('loadPretrainedEncoder', options);
  resolveDtype('loadPretrainedEncoder', options.dtype); // before a byte is downloaded
  const { snapshot, dir } = await fetchNodeSnapshot(repo, options);
  const displayName = name ?? repoDisplayName(repo);
  if (dir === undefined) {
    const { encoder, contents } = await Encoder.fromSnapshot(snapshot, options);
    try {
      const weightsSha256 = snapshot.files.get('model.safetensors')?.sha256;
      const fingerprint = await modelFingerprint(contents.config, bytesSource(contents.weights, repo), { weightsSha256 });
      return { encoder: encoder as Encoder, identity: { name: displayName, fingerprint } };
    } catch (error) {
      encoder.dispose();
      throw error;
    }
  }
  throwIfAborted(options.signal, `loading ${repo}`);
  const started = Date.now();
  const identity = { ...(await modelIdentityOfDirectory(dir)), name: displayName };
  const encoder = await Encoder.fromDirectory(dir, pickOptions<EncoderOptions>('Encoder.fromDirectory', options));
  options.onProgress?.({ type: 'loaded', repo, commit: snapshot.commit, ms: Date.now() - started });
  return { encoder, identity };
}

/** Same as BiEncoder.fromDirectories. */
export async function loadBiEncoder(locations: BiEncoderLocations = {}, options: BiEncoderOptions = {}): Promise<BiEncoder> {
  locations = checkOptions('BiEncoder.fromDirectories locations', locations);
  options = checkOptions('BiEncoder.fromDirectories', options);
  resolveDtype('BiEncoder.fromDirectories', options.dtype); // before either model is read
  const { weightsRoot } = locations;
  // Resolve both before loading either, so a missing second model fails in milliseconds.
  resolveModelDir('question', { model: locations.question, weightsRoot });
  resolveModelDir('context', { model: locations.context, weightsRoot });
  const q = await loadEncoder('question', { model: locations.question, weightsRoot }, options);
  let c: Awaited<ReturnType<typeof loadEncoder>>;
  try {
    c = await loadEncoder('context', { model: locations.context, weightsRoot }, options);
  } catch (error) {
    q.encoder.dispose();
    throw error;
  }
  try {
    return BiEncoder.fromEncoders(q.encoder, c.encoder, { ...pickOptions<FromEncodersOptions>('BiEncoder', options), identity: { question: q.identity, context: c.identity } });
  } catch (error) {
    q.encoder.dispose();
    c.encoder.dispose();
    throw error;
  }
}
