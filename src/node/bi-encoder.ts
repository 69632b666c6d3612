// Owns: finding and loading the two encoders of a bi-encoder on disk (Node only) — a folder, or a
// hub id such as 'snumin44/medical-biencoder-ko-bert-question' resolved to the folder `kmed download`
// fills (weights/medical-biencoder-ko-bert-question/) — and each model's identity (name +
// fingerprint) for index files. A missing model is one clear error that names `kmed download`.
// Does not own the bi-encoder's behaviour (../bi-encoder.ts) or the download itself (hub-download.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BiEncoder as BaseBiEncoder, BiEncoderError, type BiEncoderOptions } from '../bi-encoder.js';
import { modelFingerprint, type ModelIdentity } from '../model-identity.js';
import { Encoder } from './encoder.js';
import { fileSource } from './file-source.js';
import { assertRegularFile } from './regular-file.js';

export const DEFAULT_QUESTION_MODEL = 'snumin44/medical-biencoder-ko-bert-question';
export const DEFAULT_CONTEXT_MODEL = 'snumin44/medical-biencoder-ko-bert-context';
/** Where `kmed download` puts model folders (relative to the working directory). */
export const DEFAULT_WEIGHTS_ROOT = 'weights';

export type ModelRole = 'question' | 'context';

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export interface ModelLocation {
  /** A folder, a hub id, or undefined for the role's default encoder. */
  model?: string;
  /** Root of downloaded folders (default 'weights'). */
  weightsRoot?: string;
}

/**
 * The folder of a role's model: an existing folder as given; otherwise a hub id maps to
 * `<weightsRoot>/<name after the slash>`. Throws BiEncoderError (MODEL_NOT_FOUND) when the
 * folder or its config.json / model.safetensors is missing.
 */
export function resolveModelDir(role: ModelRole, location: ModelLocation = {}): string {
  const root = location.weightsRoot ?? DEFAULT_WEIGHTS_ROOT;
  const spec = location.model ?? (role === 'question' ? DEFAULT_QUESTION_MODEL : DEFAULT_CONTEXT_MODEL);
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  let dir = spec;
  if (!isDir(spec) && HUB_ID.test(spec)) dir = join(root, spec.slice(spec.indexOf('/') + 1));
  // Library words only (the location option); the CLI adds its own flag (--question-model ...).
  const hint = HUB_ID.test(spec)
    ? `run \`kmed download ${spec}\` (or copy the folder there by hand), or give another model folder as the ${role} model`
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

/** Name (the folder's name) and fingerprint of the model in `dir`, without loading its weights. */
export async function modelIdentityOfDirectory(dir: string): Promise<ModelIdentity> {
  assertRegularFile(join(dir, 'config.json'), 'model config');
  const config = readFileSync(join(dir, 'config.json'));
  const weights = fileSource(join(dir, 'model.safetensors'), 'model weights');
  try {
    return { name: basename(resolve(dir)), fingerprint: await modelFingerprint(config, weights) };
  } finally {
    weights.close();
  }
}

/** One encoder of the pair, loaded from its folder, with its identity. */
export async function loadEncoder(
  role: ModelRole,
  location: ModelLocation = {},
  options: BiEncoderOptions = {},
): Promise<{ encoder: Encoder; identity: ModelIdentity; dir: string }> {
  const dir = resolveModelDir(role, location);
  const identity = await modelIdentityOfDirectory(dir);
  const { pooling: _p, maxLength: _m, batchSize: _b, names: _n, ...encoderOptions } = options;
  const encoder = await Encoder.fromDirectory(dir, encoderOptions);
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
}

/** Same as BiEncoder.fromDirectories. */
export async function loadBiEncoder(locations: BiEncoderLocations = {}, options: BiEncoderOptions = {}): Promise<BiEncoder> {
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
    return BiEncoder.fromEncoders(q.encoder, c.encoder, { ...options, identity: { question: q.identity, context: c.identity } });
  } catch (error) {
    q.encoder.dispose();
    c.encoder.dispose();
    throw error;
  }
}
