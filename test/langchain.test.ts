// kmed-dpr/langchain with the tiny encoders: embedQuery is the question encoder and embedDocuments
// the context encoder (bit for bit), and LangChain's in-memory vector store (MemoryVectorStore, now
// in @langchain/classic) filled through KmedEmbeddings ranks the fixture passages as
// BiEncoder.search does over an index of the same passages, with the same cosine scores.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Embeddings } from '@langchain/core/embeddings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmedEmbeddings } from '../src/langchain/index.js';
import { BiEncoder } from '../src/node/bi-encoder.js';
import { fileSource } from '../src/node/fs/file-source.js';
import { VectorIndex } from '../src/search/vector-index.js';

const Q = 'test/fixtures/tiny-question';
const C = 'test/fixtures/tiny-context';
const queries = readFileSync('test/fixtures/corpus/queries.txt', 'utf8').split('\n').filter((l) => l !== '');
const passages = readFileSync('test/fixtures/corpus/passages.txt', 'utf8').split('\n').filter((l) => l !== '');
const dir = mkdtempSync(join(tmpdir(), 'kmed-langchain-'));
let bi: BiEncoder;

beforeAll(async () => {
  bi = await BiEncoder.fromDirectories({ question: Q, context: C });
});
afterAll(() => {
  bi?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const bits = (v: ArrayLike<number>) => Buffer.from(Float32Array.from(v).buffer).toString('hex');

describe('KmedEmbeddings (kmed-dpr/langchain)', () => {
  it('is a LangChain Embeddings: queries through the question encoder, documents through the context encoder', async () => {
    const embeddings = new KmedEmbeddings({ biEncoder: bi, chunkSize: 3 });
    expect(embeddings).toBeInstanceOf(Embeddings);
    const q = await embeddings.embedQuery(queries[0]);
    expect(bits(q)).toBe(bits((await bi.encodeQueries([queries[0]]))[0]));
    const docs = await embeddings.embedDocuments(passages.slice(0, 7)); // 3 chunks of at most 3
    const offline = await bi.encodePassages(passages.slice(0, 7));
    expect(docs.map(bits)).toEqual(offline.map(bits));
    // The split matters: the same text gives different vectors on the two sides.
    expect(bits(await embeddings.embedQuery(passages[0]))).not.toBe(bits(docs[0]));
    expect(() => new KmedEmbeddings({} as never)).toThrow(/needs \{ biEncoder \}/);
    expect(() => new KmedEmbeddings({ biEncoder: bi, chunkSize: 0 })).toThrow(/chunkSize/);
  });

  it('MemoryVectorStore ranks passages exactly as BiEncoder.search over an index of them', async () => {
    const CLI = 'dist/cli/main.js';
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    const indexPath = join(dir, 'p.kidx');
    const built = spawnSync(process.execPath, [CLI, 'index', '--question-model', Q, '--context-model', C, '--corpus', 'test/fixtures/corpus/passages.txt', '--out', indexPath], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const store = await MemoryVectorStore.fromTexts(passages, passages.map((_, i) => ({ line: i + 1 })), new KmedEmbeddings({ biEncoder: bi }));
    const source = fileSource(indexPath);
    try {
      const index = VectorIndex.open(source);
      expect(index.count).toBe(passages.length);
      for (const query of queries) {
        const ours = await store.similaritySearchWithScore(query, 5);
        const reference = await bi.search(query, index, 5);
        expect(ours.map(([doc]) => doc.pageContent)).toEqual(reference.map((h) => h.text));
        expect(ours.map(([doc]) => String(doc.metadata.line))).toEqual(reference.map((h) => h.id));
        // LangChain's cosine runs in f64 on the widened vectors, ours in f32 SIMD: same to ~1e-6.
        ours.forEach(([, score], i) => expect(Math.abs(score - reference[i].score)).toBeLessThan(1e-5));
      }
    } finally {
      source.close();
    }
  });
});
