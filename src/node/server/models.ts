// Owns: the two encoders behind the server — finding them at start (so a wrong folder fails before
// the server listens), loading them in the background (GET /ready says when), the names a request's
// `model` may use (the aliases 'question' / 'context', the folder or hub id as given, the folder's
// name, and the default hub ids), tokenizing exactly as an offline `embed` does, and one
// DynamicBatcher per encoder. Also the optional index for /v1/search (and its graph, INDEX.ann, when
// there is one: searches then go through it), opened and validated at start
// and checked against the loaded models once they are ready (its life while served, reloads
// included, is served-index.ts's).
// Does not own HTTP (app.ts) or batching itself (batcher.ts).
import { basename, resolve } from 'node:path';
import { BiEncoder } from '../../bi-encoder.js';
import type { ModelIdentity } from '../../model-identity.js';
import { DEFAULT_CONTEXT_MODEL, DEFAULT_QUESTION_MODEL, loadEncoder, resolveModelDir, type ModelRole } from '../bi-encoder.js';
import type { Encoder } from '../encoder.js';
import { batcherBounds, DynamicBatcher, type BatcherOptions } from './batcher.js';
import { ServedIndex, type ReloadEvent } from './served-index.js';

export interface ModelSpec {
  questionModel?: string;
  contextModel?: string;
  dtype?: 'f32' | 'f16' | 'int8';
  threads?: number;
  /** Truncation length in tokens (default 512, as for `kmed embed`). */
  maxLength?: number;
  /** Index file for /v1/search. */
  index?: string;
  /** Told of every reload of the index after its file changed on disk. */
  onIndexReload?: (event: ReloadEvent) => void;
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
  /** The index searched by /v1/search (null: none given). */
  readonly index: ServedIndex | null;
  readonly maxLength: number;
  /** The batcher's bounds (the same for both roles; reported at GET /info). */
  readonly batching: ReturnType<typeof batcherBounds>;
  #aliases = new Map<string, ModelRole>();
  #roles: Partial<Record<ModelRole, Loaded>> = {};
  #bi: BiEncoder | undefined;

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
    this.batching = batcherBounds(batcher('question'));
    this.index = spec.index === undefined ? null : new ServedIndex(spec.index, spec.onIndexReload);
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
      // Refuse an index built for other models now, not on the first search (its models,
      // dimension and pooling are checked); this also opens its search session once, reading and
      // checksumming every block.
      if (this.index) await this.index.attach(this.#bi);
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

  /** Vectors of `ids` through the role's batcher; `signal` (the client has gone) drops them from
   *  the queue if they are still waiting. */
  embed(role: ModelRole, ids: Int32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.#need(role).batcher.submit(ids, signal);
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
    this.index?.close();
    if (this.#bi) this.#bi.dispose();
    else for (const r of Object.values(this.#roles)) r.encoder.dispose();
  }

  #need(role: ModelRole): Loaded {
    const loaded = this.#roles[role];
    if (!loaded) throw new Error(`${role} model not loaded`);
    return loaded;
  }
}
