// The weights path end to end: the safetensors writer/reader round trip, F16/BF16 widening (every
// float16 bit pattern checked against an independent decoding), every malformed-file case giving a
// typed SafetensorsError with its code (plus a mutation fuzz: never any other exception), and
// loadBertParams on the tiny fixtures, with values checked against the file read independently.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource, type ByteSource } from '../src/formats/byte-source.js';
import { parseBertConfig, type BertConfig } from '../src/model/config.js';
import type { KernelBackend } from '../src/kernels/backend.js';
import { fileSource, FileSourceError } from '../src/node/fs/file-source.js';
import {
  f16BitsToF32Bits,
  parseSafetensorsHeader,
  readTensorF32,
  SafetensorsError,
  serializeSafetensors,
  type TensorToWrite,
} from '../src/formats/safetensors.js';
import { createBackend } from '../src/kernels/index.js';
import { createReferenceBackend } from '../src/kernels/reference.js';
import { loadBertParams } from '../src/model/weights.js';

// ---- helpers -------------------------------------------------------------------------------

/**
 * A minimal KernelBackend for loading only: a bump arena over a WebAssembly.Memory, and a
 * packLinear that transposes [OUT, IN] -> [IN, OUT] so the test can tell a packed weight from a
 * raw copy (and catch OUT/IN swapped).
 */
function loadOnlyBackend(): KernelBackend & { unpack(ptr: number, OUT: number, IN: number): Float32Array } {
  const memory = new WebAssembly.Memory({ initial: 1 });
  let top = 16;
  const f32 = (ptr: number, n: number): Float32Array => new Float32Array(memory.buffer, ptr, n);
  const unsupported = (): never => {
    throw new Error('not part of the load-only test backend');
  };
  return {
    name: 'load-only-test-double',
    memory,
    alloc(bytes) {
      const ptr = top;
      top += Math.ceil(bytes / 16) * 16;
      const need = top - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / 65536));
      return ptr;
    },
    mark: () => top,
    release(m) {
      top = m;
    },
    f32,
    packedLinearBytes: (OUT, IN) => OUT * IN * 4,
    packLinear(dst, src, OUT, IN) {
      const s = f32(src, OUT * IN);
      const d = f32(dst, OUT * IN);
      for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) d[i * OUT + o] = s[o * IN + i];
    },
    unpack(ptr, OUT, IN) {
      const d = f32(ptr, OUT * IN);
      const out = new Float32Array(OUT * IN);
      for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) out[o * IN + i] = d[i * OUT + o];
      return out;
    },
    linear: unsupported,
    matmulNT: unsupported,
    matmulNN: unsupported,
    softmaxRows: unsupported,
    layerNorm: unsupported,
    addInPlace: unsupported,
    gelu: unsupported,
    tanh: unsupported,
    dotRows: unsupported,
  };
}

/** A safetensors file from a header given as-is (object or raw string) and data bytes. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthField?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectCode(fn: () => unknown, code: string, ...mentions: string[]): SafetensorsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected SafetensorsError ${code}`).toBeInstanceOf(SafetensorsError);
  const err = caught as SafetensorsError;
  expect(err.code).toBe(code);
  for (const m of mentions) expect(err.message).toContain(m);
  return err;
}

const parse = (bytes: Uint8Array, name = 'test.safetensors') => parseSafetensorsHeader(bytesSource(bytes, name));

/** Independent float16 decoding by the definition: (-1)^s · 2^(e-15) · 1.m, subnormals 2^-14 · 0.m. */
function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The file's own header, parsed by the test itself (not by the code under test). */
function independentHeader(bytes: Buffer): { start: number; entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { start: 8 + n, entries: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) };
}

const tmp = mkdtempSync(join(tmpdir(), 'kmed-safetensors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---- round trip ----------------------------------------------------------------------------

describe('writer/reader round trip', () => {
  const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1.25);
  const b = new Float32Array([NaN, Infinity, -0, 1e-45, 3.4028234663852886e38, -7]);
  const tensors: TensorToWrite[] = [
    { name: 'a', dtype: 'F32', shape: [2, 3], data: a },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) },
    // Streamed in chunks of 4 elements (the synthetic model is written this way).
    { name: 'b', dtype: 'F32', shape: [6], data: function* () { yield b.subarray(0, 4); yield b.subarray(4); } },
    { name: 'position_ids', dtype: 'I64', shape: [1, 3], bytes: new Uint8Array(24) },
  ];
  const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'x' });

  it('reads back every tensor bit for bit, with metadata, and skips I64 with a note', () => {
    const header = parse(bytes);
    expect(header.metadata).toEqual({ format: 'pt', note: 'x' });
    expect(header.dataStart % 8).toBe(0);
    expect([...header.tensors.keys()].sort()).toEqual(['a', 'b', 'empty', 'scalar']);
    expect(header.skipped.map((s) => [s.name, s.dtype])).toEqual([['position_ids', 'I64']]);
    expect(header.skipped[0].note).toMatch(/I64/);
    const src = bytesSource(bytes, 'rt');
    for (const [name, want] of [['a', a], ['b', b], ['scalar', new Float32Array([42])], ['empty', new Float32Array(0)]] as const) {
      const got = new Float32Array(want.length);
      readTensorF32(src, header, name, got);
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer.slice(want.byteOffset, want.byteOffset + want.byteLength)));
    }
    expectCode(() => readTensorF32(src, header, 'position_ids', new Float32Array(3)), 'SAFETENSORS_UNSUPPORTED_DTYPE', 'position_ids', 'I64');
    expectCode(() => readTensorF32(src, header, 'nope', new Float32Array(3)), 'SAFETENSORS_MISSING_TENSOR', 'nope');
    expectCode(() => readTensorF32(src, header, 'a', new Float32Array(5)), 'SAFETENSORS_DESTINATION_SIZE', '"a"');
  });

  it('the writer refuses data that does not match the shape', () => {
    expectCode(() => serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }]), 'SAFETENSORS_BYTE_LENGTH_MISMATCH', '"x"');
    expectCode(() => serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(2) }]), 'SAFETENSORS_BYTE_LENGTH_MISMATCH', '"x"');
    expectCode(() => serializeSafetensors([{ name: 'x', dtype: 'Q3', shape: [1], bytes: new Uint8Array(1) }]), 'SAFETENSORS_UNKNOWN_DTYPE', 'Q3');
  });
});

// ---- widening ------------------------------------------------------------------------------

describe('F16 and BF16 widening', () => {
  it('every float16 bit pattern widens exactly (subnormals, ±0, ±inf, NaN), across chunk boundaries', () => {
    const patterns = new Uint16Array(65536).map((_, i) => i);
    const bytes = serializeSafetensors([{ name: 'all', dtype: 'F16', shape: [65536], bytes: new Uint8Array(patterns.buffer) }]);
    const got = new Float32Array(65536);
    readTensorF32(bytesSource(bytes, 'f16'), parse(bytes), 'all', got);
    const gotBits = new Uint32Array(got.buffer);
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = f16Value(h);
      const ok = Number.isNaN(want) ? Number.isNaN(got[h]) && (gotBits[h] & 0x7fffff) >>> 13 === (h & 0x3ff) : Object.is(got[h], want);
      if (!ok && bad++ < 5) console.log(`f16 0x${h.toString(16)}: got ${got[h]} want ${want}`);
    }
    expect(bad).toBe(0);
    // Spot values, stated independently of any formula.
    expect(got[0x3c00]).toBe(1);
    expect(got[0xc000]).toBe(-2);
    expect(got[0x7bff]).toBe(65504);
    expect(got[0x0001]).toBe(5.960464477539063e-8);
    expect(got[0x03ff]).toBe(6.097555160522461e-5);
    expect(Object.is(got[0x8000], -0)).toBe(true);
    expect(got[0xfc00]).toBe(-Infinity);
    expect(f16BitsToF32Bits(0x7e00)).toBe(0x7fc00000);
  });

  it('BF16 values widen to the float32 with the same top 16 bits', () => {
    const bf = new Uint16Array([0x3f80, 0xc020, 0x4049, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x8000]);
    const bytes = serializeSafetensors([{ name: 'w', dtype: 'BF16', shape: [2, 4], bytes: new Uint8Array(bf.buffer) }]);
    const got = new Float32Array(8);
    readTensorF32(bytesSource(bytes, 'bf16'), parse(bytes), 'w', got);
    expect(Array.from(got.subarray(0, 3))).toEqual([1, -2.5, 3.140625]);
    expect(got[3]).toBe(2 ** -133);
    expect(got[4]).toBe(Infinity);
    expect(got[5]).toBe(-Infinity);
    expect(Number.isNaN(got[6])).toBe(true);
    expect(Object.is(got[7], -0)).toBe(true);
  });
});

// ---- malformed files -----------------------------------------------------------------------

describe('malformed files give a typed SafetensorsError', () => {
  const good = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const data8 = new Uint8Array(8);

  it('truncated file, header length past the end or absurd', () => {
    expectCode(() => parse(new Uint8Array(5), 'short.st'), 'SAFETENSORS_TRUNCATED', 'short.st', '5 bytes');
    expectCode(() => parse(rawFile(good, data8, 1000n)), 'SAFETENSORS_HEADER_PAST_END', '1000');
    expectCode(() => parse(rawFile(good, data8, 1n << 40n)), 'SAFETENSORS_HEADER_TOO_LARGE');
    expectCode(() => parse(rawFile(good, data8, 0xffffffffffffffffn)), 'SAFETENSORS_HEADER_TOO_LARGE');
    // An empty header is not JSON (the official library: InvalidHeaderDeserialization).
    expectCode(() => parse(rawFile(good, data8, 0n)), 'SAFETENSORS_HEADER_NOT_JSON');
    // Data cut short: the tensor's offsets now run past the end.
    const whole = rawFile(good, data8);
    expectCode(() => parse(whole.subarray(0, whole.length - 3)), 'SAFETENSORS_OFFSET_OUT_OF_RANGE', '"t"', '[0, 8]');
  });

  it('header not UTF-8, not JSON, not an object, bad metadata', () => {
    const bad = rawFile('{"t":1}');
    bad[9] = 0xff;
    expectCode(() => parse(bad), 'SAFETENSORS_HEADER_NOT_UTF8');
    expectCode(() => parse(rawFile('{"t": {"dtype": "F32",')), 'SAFETENSORS_HEADER_NOT_JSON');
    expectCode(() => parse(rawFile([1, 2])), 'SAFETENSORS_HEADER_NOT_OBJECT', 'array');
    expectCode(() => parse(rawFile('null')), 'SAFETENSORS_HEADER_NOT_OBJECT');
    expectCode(() => parse(rawFile({ __metadata__: { format: 3 } })), 'SAFETENSORS_BAD_METADATA', 'format');
  });

  it('entries: missing fields, wrong types, bad shapes, bad offsets, unknown dtype', () => {
    const one = (entry: unknown) => () => parse(rawFile({ w: entry }, data8));
    expectCode(one(3), 'SAFETENSORS_BAD_ENTRY', '"w"');
    expectCode(one({ shape: [2], data_offsets: [0, 8] }), 'SAFETENSORS_BAD_ENTRY', 'dtype');
    expectCode(one({ dtype: 'F32', data_offsets: [0, 8] }), 'SAFETENSORS_BAD_ENTRY', 'shape');
    expectCode(one({ dtype: 'F32', shape: [2] }), 'SAFETENSORS_BAD_ENTRY', 'data_offsets');
    expectCode(one({ dtype: 'F32', shape: '2', data_offsets: [0, 8] }), 'SAFETENSORS_BAD_ENTRY', 'shape');
    expectCode(one({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), 'SAFETENSORS_BAD_SHAPE', '[-2]');
    expectCode(one({ dtype: 'F32', shape: [1.5], data_offsets: [0, 8] }), 'SAFETENSORS_BAD_SHAPE');
    expectCode(one({ dtype: 'F32', shape: [2], data_offsets: [0.5, 8] }), 'SAFETENSORS_BAD_OFFSETS');
    expectCode(one({ dtype: 'F32', shape: [2], data_offsets: [0, 8, 9] }), 'SAFETENSORS_BAD_OFFSETS');
    expectCode(one({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }), 'SAFETENSORS_BAD_OFFSETS', '[8, 0]');
    expectCode(one({ dtype: 'F33', shape: [2], data_offsets: [0, 8] }), 'SAFETENSORS_UNKNOWN_DTYPE', 'F33');
    expectCode(one({ dtype: 'toString', shape: [2], data_offsets: [0, 8] }), 'SAFETENSORS_UNKNOWN_DTYPE', 'toString');
  });

  it('out-of-range offsets, wrong byte length, overlapping tensors', () => {
    expectCode(() => parse(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, data8)), 'SAFETENSORS_OFFSET_OUT_OF_RANGE', '"w"', '[0, 12]');
    expectCode(() => parse(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data8)), 'SAFETENSORS_BYTE_LENGTH_MISMATCH', '"w"', '8 bytes', '12');
    expectCode(() => parse(rawFile({ w: { dtype: 'F16', shape: [1e9, 1e9], data_offsets: [0, 8] } }, data8)), 'SAFETENSORS_BYTE_LENGTH_MISMATCH');
    const overlap = { x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const err = expectCode(() => parse(rawFile(overlap, data8)), 'SAFETENSORS_OVERLAP', '"x"', '"y"');
    expect(err.message).toContain('[4, 8]');
    // Empty tensors and adjacent tensors are fine.
    const fine = { x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, z: { dtype: 'BOOL', shape: [0], data_offsets: [4, 4] } };
    expect(parse(rawFile(fine, data8)).tensors.size).toBe(2);
  });

  it('mutated files never raise anything but SafetensorsError (fuzz, 400 cases)', () => {
    const base = serializeSafetensors([
      { name: 'a.weight', dtype: 'F32', shape: [3, 2], data: new Float32Array(6).fill(0.5) },
      { name: 'b', dtype: 'F16', shape: [4], bytes: new Uint8Array(8).fill(0x3c) },
    ], { format: 'pt' });
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    let parsedOk = 0;
    for (let k = 0; k < 400; k++) {
      const bytes = base.slice(0, k % 10 === 9 ? rnd(base.length) : base.length);
      for (let m = 0; m < 1 + rnd(3); m++) if (bytes.length > 0) bytes[rnd(Math.min(bytes.length, 200))] = rnd(256);
      try {
        const src = bytesSource(bytes, 'fuzz');
        const header = parseSafetensorsHeader(src);
        for (const t of header.tensors.values()) {
          const n = t.shape.reduce((a, b) => a * b, 1);
          if (n < 1e6) readTensorF32(src, header, t.name, new Float32Array(n));
        }
        parsedOk++;
      } catch (error) {
        if (!(error instanceof SafetensorsError)) throw error;
      }
    }
    expect(parsedOk).toBeGreaterThan(0);
  });
});

// ---- loading BERT checkpoints --------------------------------------------------------------

const fixture = (name: string) => `test/fixtures/${name}`;
const configOf = (name: string): BertConfig => parseBertConfig(readFileSync(`${fixture(name)}/config.json`, 'utf8'), `${name}/config.json`);

/** The real scalar reference backend (packLinear is a plain copy there), with the same unpack helper. */
function referenceBackend(): KernelBackend & { unpack(ptr: number, OUT: number, IN: number): Float32Array } {
  const b = createReferenceBackend();
  return Object.assign(Object.create(b) as KernelBackend, { unpack: (ptr: number, OUT: number, IN: number) => b.f32(ptr, OUT * IN).slice() }) as KernelBackend & { unpack(ptr: number, OUT: number, IN: number): Float32Array };
}

/**
 * The wasm backend, whose packed layout is its own business: a weight is read back through the
 * backend's own `linear` applied to the identity matrix (out[t, o] = W[o, t], exact: one product
 * by 1.0 plus zeros).
 */
async function wasmBackend(): Promise<KernelBackend & { unpack(ptr: number, OUT: number, IN: number): Float32Array }> {
  const b = await createBackend('wasm');
  const unpack = (w: number, OUT: number, IN: number): Float32Array => {
    const mark = b.mark();
    const x = b.alloc(IN * IN * 4);
    const bias = b.alloc(OUT * 4);
    const out = b.alloc(IN * OUT * 4);
    b.f32(x, IN * IN).fill(0);
    for (let i = 0; i < IN; i++) b.f32(x, IN * IN)[i * IN + i] = 1;
    b.f32(bias, OUT).fill(0);
    b.linear(out, x, w, bias, IN, IN, OUT);
    const y = b.f32(out, IN * OUT);
    const W = new Float32Array(OUT * IN);
    for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) W[o * IN + i] = y[i * OUT + o];
    b.release(mark);
    return W;
  };
  return Object.assign(Object.create(b) as KernelBackend, { unpack }) as KernelBackend & { unpack: typeof unpack };
}

describe('loadBertParams', () => {
  it.each([
    ['reference backend', async () => referenceBackend()],
    ['wasm backend', wasmBackend],
    ['transposing test double', async () => loadOnlyBackend()],
  ])('tiny-question (F32, plain names) from a file, %s: values equal the file, Linear weights packed', async (_, makeBackend) => {
    const path = `${fixture('tiny-question')}/model.safetensors`;
    const raw = readFileSync(path);
    const { start, entries } = independentHeader(raw);
    const at = (name: string, i: number) => raw.readFloatLE(start + entries[name].data_offsets[0] + 4 * i);
    const config = configOf('tiny-question');
    const backend = await makeBackend();
    const src = fileSource(path);
    const params = (() => {
      try {
        return loadBertParams(src, config, backend);
      } finally {
        src.close();
      }
    })();
    const C = config.hidden_size;
    const word = backend.f32(params.wordEmbeddings, config.vocab_size * C);
    for (const i of [0, 1, 777, config.vocab_size * C - 1]) expect(word[i]).toBe(at('embeddings.word_embeddings.weight', i));
    expect(backend.f32(params.embeddingsLayerNorm.weight, C)[5]).toBe(at('embeddings.LayerNorm.weight', 5));
    const inter = params.layers[1].intermediate;
    expect([inter.outFeatures, inter.inFeatures]).toEqual([config.intermediate_size, C]);
    const w = backend.unpack(inter.weight, inter.outFeatures, inter.inFeatures);
    for (const i of [0, 63, 64, 128 * 64 - 1, 5000]) expect(w[i]).toBe(at('encoder.layer.1.intermediate.dense.weight', i));
    const out = params.layers[0].output;
    const wo = backend.unpack(out.weight, C, config.intermediate_size);
    for (const i of [0, 127, 128, 64 * 128 - 1]) expect(wo[i]).toBe(at('encoder.layer.0.output.dense.weight', i));
    expect(backend.f32(params.pooler.bias, C)[63]).toBe(at('pooler.dense.bias', 63));
    expect(params.summary.tensorCount).toBe(5 + 2 * 16 + 2);
    expect(params.summary.dtypes).toEqual({ F32: 39 });
    expect(params.summary.ignored).toEqual([]);
    expect(() => src.readInto(0, new Uint8Array(1))).toThrow(FileSourceError);
  });

  it('tiny-odd-f16 (F16, bert. prefix), wasm backend: values equal the float16 file widened', async () => {
    const path = `${fixture('tiny-odd-f16')}/model.safetensors`;
    const raw = readFileSync(path);
    const { start, entries } = independentHeader(raw);
    const at = (name: string, i: number) => f16Value(raw.readUInt16LE(start + entries[`bert.${name}`].data_offsets[0] + 2 * i));
    const config = configOf('tiny-odd-f16');
    expect(config.intermediate_size).toBe(50);
    const backend = await wasmBackend();
    const params = loadBertParams(bytesSource(raw, 'tiny-odd-f16/model.safetensors'), config, backend);
    const C = config.hidden_size;
    expect(params.layers).toHaveLength(3);
    const pos = backend.f32(params.positionEmbeddings, 512 * C);
    for (const i of [0, 35, 36, 512 * C - 1]) expect(pos[i]).toBe(at('embeddings.position_embeddings.weight', i));
    const q = backend.unpack(params.layers[2].query.weight, C, C);
    for (const i of [0, 1, 37, C * C - 1]) expect(q[i]).toBe(at('encoder.layer.2.attention.self.query.weight', i));
    const o = backend.unpack(params.layers[1].output.weight, C, 50);
    for (const i of [0, 49, 50, C * 50 - 1]) expect(o[i]).toBe(at('encoder.layer.1.output.dense.weight', i));
    expect(backend.f32(params.layers[2].outputLayerNorm.bias, C)[35]).toBe(at('encoder.layer.2.output.LayerNorm.bias', 35));
    expect(params.summary.dtypes).toEqual({ F16: 5 + 3 * 16 + 2 });
  });

  /** tiny-question's tensors re-written with renamed / dropped / reshaped / extra entries. */
  function rewrite(edit: (name: string, shape: number[]) => { name: string; shape: number[] } | null, extra: TensorToWrite[] = []): Uint8Array {
    const raw = readFileSync(`${fixture('tiny-question')}/model.safetensors`);
    const { start, entries } = independentHeader(raw);
    const out: TensorToWrite[] = [...extra];
    for (const [name, e] of Object.entries(entries)) {
      if (name === '__metadata__') continue;
      const kept = edit(name, e.shape);
      if (!kept) continue;
      const bytes = raw.subarray(start + e.data_offsets[0], start + e.data_offsets[1]);
      const n = kept.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      new Uint8Array(data.buffer).set(bytes.subarray(0, Math.min(bytes.length, n * 4)));
      out.push({ name: kept.name, dtype: 'F32', shape: kept.shape, data });
    }
    return serializeSafetensors(out);
  }

  it('accepts old LayerNorm gamma/beta names with a bert. prefix, ignores extra tensors', () => {
    const bytes = rewrite((n, shape) => ({ name: `bert.${n.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta')}`, shape }), [
      { name: 'cls.predictions.bias', dtype: 'F32', shape: [4], data: new Float32Array(4) },
      { name: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 512], bytes: new Uint8Array(8 * 512) },
    ]);
    const backend = loadOnlyBackend();
    const params = loadBertParams(bytesSource(bytes, 'renamed'), configOf('tiny-question'), backend);
    expect(params.summary.ignored.sort()).toEqual(['bert.embeddings.position_ids', 'cls.predictions.bias']);
    expect(params.summary.skipped.map((s) => s.name)).toEqual(['bert.embeddings.position_ids']);
    const raw = readFileSync(`${fixture('tiny-question')}/model.safetensors`);
    const { start, entries } = independentHeader(raw);
    expect(backend.f32(params.layers[1].attentionLayerNorm.weight, 64)[7]).toBe(raw.readFloatLE(start + entries['encoder.layer.1.attention.output.LayerNorm.weight'].data_offsets[0] + 28));
  });

  it('a missing tensor: one error listing every missing name', () => {
    const bytes = rewrite((n, shape) => (n === 'pooler.dense.bias' || n === 'encoder.layer.1.attention.self.key.weight' ? null : { name: n, shape }));
    expectCode(() => loadBertParams(bytesSource(bytes, 'dropped.safetensors'), configOf('tiny-question'), loadOnlyBackend()), 'SAFETENSORS_MISSING_TENSOR', 'dropped.safetensors', 'pooler.dense.bias', 'encoder.layer.1.attention.self.key.weight', 'missing 2');
  });

  it('a shape that contradicts the config names tensor, actual and expected shape', () => {
    const bytes = rewrite((n, shape) => (n === 'encoder.layer.0.intermediate.dense.weight' ? { name: n, shape: [100, 64] } : { name: n, shape }));
    expectCode(() => loadBertParams(bytesSource(bytes, 'reshaped'), configOf('tiny-question'), loadOnlyBackend()), 'SAFETENSORS_SHAPE_MISMATCH', 'encoder.layer.0.intermediate.dense.weight', '[100, 64]', '[128, 64]');
    // And the other way round: the file is right, the config is not.
    const wrongConfig = { ...configOf('tiny-question'), vocab_size: 10000 };
    const src = fileSource(`${fixture('tiny-question')}/model.safetensors`);
    expectCode(() => loadBertParams(src, wrongConfig, loadOnlyBackend()), 'SAFETENSORS_SHAPE_MISMATCH', 'embeddings.word_embeddings.weight', '[10336, 64]', '[10000, 64]');
    src.close();
  });

  it('a required tensor in an unreadable dtype, and one present under two names', () => {
    const i64 = rewrite((n, shape) => (n === 'pooler.dense.bias' ? null : { name: n, shape }), [{ name: 'pooler.dense.bias', dtype: 'I64', shape: [64], bytes: new Uint8Array(512) }]);
    expectCode(() => loadBertParams(bytesSource(i64, 'i64'), configOf('tiny-question'), loadOnlyBackend()), 'SAFETENSORS_UNSUPPORTED_DTYPE', 'pooler.dense.bias', 'I64');
    const twice = rewrite((n, shape) => ({ name: n, shape }), [{ name: 'bert.pooler.dense.bias', dtype: 'F32', shape: [64], data: new Float32Array(64) }]);
    expectCode(() => loadBertParams(bytesSource(twice, 'twice'), configOf('tiny-question'), loadOnlyBackend()), 'SAFETENSORS_AMBIGUOUS_TENSOR', '"pooler.dense.bias"', '"bert.pooler.dense.bias"');
  });
  it('a read failure part-way gives the heap back and passes the error on', () => {
    const raw = readFileSync(`${fixture('tiny-question')}/model.safetensors`);
    let reads = 0;
    const flaky: ByteSource = {
      name: 'flaky',
      size: raw.length,
      readInto(offset, dst) {
        if (++reads > 12) throw new SafetensorsError('TEST_IO', `flaky: read at ${offset} failed`);
        dst.set(raw.subarray(offset, offset + dst.length));
      },
    };
    const backend = referenceBackend();
    const before = backend.mark();
    expectCode(() => loadBertParams(flaky, configOf('tiny-question'), backend), 'TEST_IO');
    expect(backend.mark()).toBe(before);
  });
});

describe('fileSource', () => {
  it('names the path when the file cannot be opened, and reads across a file written here', () => {
    const missing = join(tmp, 'nope.safetensors');
    expect(() => fileSource(missing)).toThrow(FileSourceError);
    expect(() => fileSource(missing)).toThrow(missing);
    const p = join(tmp, 'bytes.bin');
    writeFileSync(p, Uint8Array.from({ length: 300 }, (_, i) => i & 0xff));
    const src: ByteSource & { close(): void } = fileSource(p);
    const dst = new Uint8Array(10);
    src.readInto(250, dst);
    expect(Array.from(dst)).toEqual([250, 251, 252, 253, 254, 255, 0, 1, 2, 3]);
    expect(() => src.readInto(295, dst)).toThrow(/outside the file/);
    src.close();
    src.close();
  });
});
