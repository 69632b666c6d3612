// Owns: a deterministic stand-in for an encoder in index tests: FNV-1a of the text seeds an
// xorshift stream of `dimension` floats, so the same text always gets the same vector and the
// tests need no model. Does not own anything a real encoder does (no normalisation, no meaning).

export function fakeVector(text: string, dimension: number): Float32Array {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193) >>> 0;
  const v = new Float32Array(dimension);
  for (let d = 0; d < dimension; d++) {
    h ^= h << 13; h >>>= 0; h ^= h >>> 17; h ^= h << 5; h >>>= 0;
    v[d] = h / 2 ** 31 - 1;
  }
  return v;
}
