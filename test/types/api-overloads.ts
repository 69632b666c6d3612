// Owns: the compile-time half of the API habits (run by api-habits.test.ts with tsc --noEmit): the
// overloads give Float32Array for one text and Float32Array[] for an array, on the library and the
// worker; dtype aliases type-check; a wrong dtype or a misspelt option key does not.
// Does not own any run-time behaviour.
import type { BiEncoder, Encoder } from '../../src/index.js';
import type { WorkerBiEncoder, WorkerEncoder } from '../../src/worker/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

export async function overloads(enc: Encoder, bi: BiEncoder, wEnc: WorkerEncoder, wBi: WorkerBiEncoder, texts: string[], either: string | string[]): Promise<void> {
  const one = await enc.embed('a');
  const many = await enc.embed(texts);
  const readonlyMany = await enc.embed(['a', 'b'] as const);
  const unknownCount = await enc.embed(either);
  expectType<Equal<typeof one, Float32Array>>(true);
  expectType<Equal<typeof many, Float32Array[]>>(true);
  expectType<Equal<typeof readonlyMany, Float32Array[]>>(true);
  expectType<Equal<typeof unknownCount, Float32Array | Float32Array[]>>(true);
  const q = await bi.encodeQueries('q', { normalize: true });
  const ps = await bi.encodePassages(texts);
  expectType<Equal<typeof q, Float32Array>>(true);
  expectType<Equal<typeof ps, Float32Array[]>>(true);
  const wOne = await wEnc.embed('a', { normalize: true });
  const wMany = await wEnc.embed(texts);
  const wq = await wBi.encodeQueries('q');
  const wps = await wBi.encodePassages(texts);
  expectType<Equal<typeof wOne, Float32Array>>(true);
  expectType<Equal<typeof wMany, Float32Array[]>>(true);
  expectType<Equal<typeof wq, Float32Array>>(true);
  expectType<Equal<typeof wps, Float32Array[]>>(true);
  for await (const chunk of wBi.encodePassagesStream(texts)) expectType<Equal<typeof chunk.vectors, Float32Array[]>>(true);

  const E = null as unknown as typeof Encoder;
  await E.fromFiles(null as never, { dtype: 'fp32' });
  await E.fromFiles(null as never, { dtype: 'q8' });
  // @ts-expect-error: not a dtype
  await E.fromFiles(null as never, { dtype: 'fp64' });
  // @ts-expect-error: a misspelt option key
  await enc.embed('a', { polling: 'cls' });
}
