// Owns: the `kmed-dpr/langchain` entry (package.json exports "./langchain"): the LangChain.js
// adapter only, so `@langchain/core` (an optional peer dependency) is loaded by those who import
// this entry and by no one else. One line per module, like ../index.ts.
export { KmedEmbeddings, type KmedEmbeddingsParams } from './embeddings.js';
