// Owns: KmedEmbeddings, a LangChain.js `Embeddings` over a kmed BiEncoder, with DPR's split:
// `embedQuery` uses the question encoder and `embedDocuments` the context encoder (a plain
// embeddings model uses one encoder for both; here the two sides differ on purpose). Vectors are
// the encoders' float32 outputs widened to numbers, unchanged.
// Deliberately not routed through LangChain's AsyncCaller: it retries failed calls (6 times, with
// back-off), which only delays a local, deterministic error such as a disposed encoder.
// Does not own loading the models (BiEncoder.fromDirectories / fromFiles do) or any vector store.
import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { checkOptions, type AssertTrue, type SameKeys } from '../options/check-options.js';
import type { OPTION_GROUPS } from '../options/option-keys.js';

export interface KmedEmbeddingsParams extends EmbeddingsParams {
  /** The loaded bi-encoder (kmed-dpr's BiEncoder.fromDirectories on Node, fromFiles anywhere, or a
   *  WorkerBiEncoder). */
  biEncoder: {
    encodeQueries(texts: string[]): Promise<Float32Array[]>;
    encodePassages(texts: string[]): Promise<Float32Array[]>;
  };
  /** Documents per call to the context encoder (default 64): bounds the vectors held at once
   *  while a long list is embedded; does not change any vector. */
  chunkSize?: number;
}

// The declared option keys (options/option-keys.ts) must be exactly this interface's keys.
type _KmedEmbeddingsParamKeys = AssertTrue<SameKeys<KmedEmbeddingsParams, typeof OPTION_GROUPS.langchain>>;

export class KmedEmbeddings extends Embeddings {
  readonly biEncoder: KmedEmbeddingsParams['biEncoder'];
  readonly chunkSize: number;

  constructor(params: KmedEmbeddingsParams) {
    const { biEncoder, chunkSize, ...rest } = checkOptions('KmedEmbeddings', params);
    super(rest);
    if (biEncoder == null || typeof biEncoder.encodeQueries !== 'function' || typeof biEncoder.encodePassages !== 'function') {
      throw new TypeError('KmedEmbeddings needs { biEncoder }: a loaded kmed-dpr BiEncoder');
    }
    const size = chunkSize ?? 64;
    if (!Number.isInteger(size) || size < 1) throw new TypeError(`KmedEmbeddings chunkSize must be a positive integer, got ${size}`);
    this.biEncoder = biEncoder;
    this.chunkSize = size;
  }

  /** The question encoder's vector for a search query. */
  async embedQuery(text: string): Promise<number[]> {
    const [vector] = await this.biEncoder.encodeQueries([text]);
    return Array.from(vector);
  }

  /** The context encoder's vectors for passages to be stored, in order. */
  async embedDocuments(documents: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < documents.length; i += this.chunkSize) {
      for (const vector of await this.biEncoder.encodePassages(documents.slice(i, i + this.chunkSize))) out.push(Array.from(vector));
    }
    return out;
  }
}
