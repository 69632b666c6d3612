// Owns: the two encoders behind the server — finding them at start (so a wrong folder fails before
// the server listens), loading them in the background (GET /ready says when), the names a request's
// `model` may use (the aliases 'question' / 'context', the folder or hub id as given, the folder's
// name, and the default hub ids), tokenizing exactly as an offline `embed` does, and one
// DynamicBatcher per encoder. Also the optional index for /v1/search (and its graph, INDEX.ann, when
// there is one: searches then go through it), opened and validated at start
// and checked against the loaded models once they are ready.
// Does not own HTTP (app.ts) or batching itself (batcher.ts).
import { basename, resolve } from 'node:path';
import { BiEncoder } from '../../bi-encoder.js';
import type { ModelIdentity } from '../../model-identity.js';
import { VectorIndex } from '../../search/vector-index.js';
import { DEFAULT_CONTEXT_MODEL, DEFAULT_QUESTION_MODEL, loadEncoder, resolveModelDir, type ModelRole } from '../bi-encoder.js';
import type { Encoder } from '../encoder.js';
import { fileSource, type FileByteSource } from '../fs/file-source.js';
import { openAnnFile } from '../indexing/ann-file.js';
import { DynamicBatcher, type BatcherOptions } from './batcher.js';

export interface ModelSpec {
  questionModel?: string;
  contextModel?: string;
  dtype?: 'f32' | 'f16' | 'int8';
  threads?: number;
  /** Truncation length in tokens (default 512, as for `kmed embed`). */
  maxLength?: number;
  /** Index file for /v1/search. */
  index?: string;
}

export type ModelState = 'loading' | 'ready' | 'failed';

interface Loaded {
  encoder: Encoder;
  identity: ModelIdentity;
  batcher: DynamicBatcher;
}

export class ServerModels {
  state: ModelState = 'loading';
  failure: unknown;
  /** Resolves when both encoders are loaded (and the index checked); rejects on failure. */
  readonly loaded: Promise<void>;
  /** Canonical name of each role's model (reported back in responses). */
  readonly names: Record<ModelRole, string>;
  readonly index: VectorIndex | null;
  readonly maxLength: number;
  #aliases = new Map<string, ModelRole>();
  #roles: Partial<Record<ModelRole, Loaded>> = {};
  #bi: BiEncoder | undefined;
  #indexSource: FileByteSource | undefined;
  /** The index's graph (INDEX.ann) when it has one: /v1/search goes through it. */
  #graphSource: FileByteSource | undefined;

  /** Checks the folders and the index now (throws at once on a wrong path), then loads in the background. */
  constructor(spec: ModelSpec, batcher: (role: ModelRole) => BatcherOptions) {
    const dirs = {
      question: resolveModelDir('question', { model: spec.questionModel }),
      context: resolveModelDir('context', { model: spec.contextModel }),
    };
    this.maxLength = spec.maxLength ?? 512;
    this.names = { question: '', context: '' };
    for (const role of ['question', 'context'] as const) {
      const given = (role === 'question' ? spec.questionModel : spec.contextModel) ?? (role === 'question' ? DEFAULT_QUESTION_MODEL : DEFAULT_CONTEXT_MODEL);
      const folder = basename(resolve(dirs[role]));
      // A hub id names the model better than the folder it was downloaded to; a folder by its name.
      this.names[role] = dirs[role] === given ? folder : given;
      for (const name of [role, given, folder, this.names[role], dirs[role]]) {
        const other = this.#aliases.get(name);
        // The same folder for both roles: the name is ambiguous, so only the aliases pick a role.
        if (other !== undefined && other !== role) this.#aliases.delete(name);
        else this.#aliases.set(name, role);
      }
    }
    this.#aliases.set('question', 'question');
    this.#aliases.set('context', 'context');
    if (spec.index !== undefined) {
      this.#indexSource = fileSource(spec.index);
      try {
        this.index = VectorIndex.open(this.#indexSource);
        this.#graphSource = openAnnFile(spec.index);
      } catch (error) {
        this.#indexSource.close();
        throw error;
      }
    } else {
      this.index = null;
    }
    this.loaded = this.#load(spec, batcher);
    this.loaded.catch(() => {}); // observed through `state` / `failure` as well
  }

  async #load(spec: ModelSpec, batcher: (role: ModelRole) => BatcherOptions): Promise<void> {
    try {
      const options = { dtype: spec.dtype, threads: spec.threads };
      for (const role of ['question', 'context'] as const) {
        const { encoder, identity } = await loadEncoder(role, { model: role === 'question' ? spec.questionModel : spec.contextModel }, options);
        this.#roles[role] = { encoder, identity, batcher: new DynamicBatcher(encoder, batcher(role)) };
      }
      const q = this.#roles.question!;
      const c = this.#roles.context!;
      this.#bi = BiEncoder.fromEncoders(q.encoder, c.encoder, { identity: { question: q.identity, context: c.identity }, maxLength: this.maxLength });
      // Refuse an index built for other models now, not on the first search (search checks the
      // index's models, dimension and pooling); this also opens its search session once.
      if (this.index) {
        if (this.#graphSource) this.#bi.useGraph(this.index, this.#graphSource);
        const [probe] = await q.encoder.embedIds([Int32Array.from(q.encoder.tokenizer.encode('', { maxLength: 2 }).ids)]);
        await this.#bi.search(probe, this.index, 1);
      }
      this.state = 'ready';
    } catch (error) {
      this.state = 'failed';
      this.failure = error;
      throw error;
    }
  }

  /** The role a request's `model` names, or undefined. */
  role(model: string): ModelRole | undefined {
    return this.#aliases.get(model);
  }

  /** Every accepted name of each role (for error messages and GET /v1/models). */
  get accepted(): string[] {
    return [...this.#aliases.keys()];
  }

  get dimension(): number {
    return this.#need('question').encoder.dimension;
  }

  get biEncoder(): BiEncoder {
    if (!this.#bi) throw new Error('models not loaded');
    return this.#bi;
  }

  /** Token ids of each text, exactly as `Encoder.embed` makes them (same tokenizer, same truncation). */
  tokenize(role: ModelRole, texts: string[], maxLength = this.maxLength): Int32Array[] {
    const { encoder } = this.#need(role);
    maxLength = Math.min(maxLength, encoder.config.max_position_embeddings);
    return texts.map((text) => Int32Array.from(encoder.tokenizer.encode(text, { maxLength }).ids));
  }

  embed(role: ModelRole, ids: Int32Array[]): Promise<Float32Array[]> {
    return this.#need(role).batcher.submit(ids);
  }

  queueDepth(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const role of ['question', 'context'] as const) out[role] = this.#roles[role]?.batcher.queueDepth ?? 0;
    return out;
  }

  async drain(): Promise<void> {
    await Promise.all(Object.values(this.#roles).map((r) => r.batcher.drain()));
  }

  dispose(): void {
    if (this.#bi) this.#bi.dispose();
    else for (const r of Object.values(this.#roles)) r.encoder.dispose();
    this.#indexSource?.close();
    this.#graphSource?.close();
  }

  #need(role: ModelRole): Loaded {
    const loaded = this.#roles[role];
    if (!loaded) throw new Error(`${role} model not loaded`);
    return loaded;
  }
}
