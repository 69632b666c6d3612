// The official library's own test cases (huggingface/safetensors at 0.8.0: safetensors/src/tensor.rs
// `mod tests`, bindings/python/tests/test_simple.py and test_pt_comparison.py), ported case by case
// with the library's expectation: the same bytes, accepted or refused. A refusal must be a
// SafetensorsError whose code belongs to the library's error variant (table FAMILY). Byte-exact
// writer cases give our writer the tensors in the order the library's writer would emit them
// (it sorts by dtype alignment, then name; ours keeps the caller's order, which is a writer policy,
// not part of the format). Then probes of the validation rules the library enforces (issue 10).
// Not ported: slicing API, mmap/file-handle, torch device and multithreading tests (no such API here).
import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource, type ByteSource } from '../src/formats/byte-source.js';
import {
  parseSafetensorsHeader,
  readTensorF32,
  SafetensorsError,
  serializeSafetensors,
  writeSafetensors,
  type SafetensorsHeader,
  type TensorToWrite,
} from '../src/formats/safetensors.js';

/** The library's error variants and the codes that stand for each here. */
const FAMILY = {
  HeaderTooSmall: ['SAFETENSORS_TRUNCATED'],
  HeaderTooLarge: ['SAFETENSORS_HEADER_TOO_LARGE'],
  InvalidHeaderLength: ['SAFETENSORS_HEADER_PAST_END'],
  InvalidHeader: ['SAFETENSORS_HEADER_NOT_UTF8'],
  InvalidHeaderDeserialization: [
    'SAFETENSORS_HEADER_NOT_JSON', 'SAFETENSORS_HEADER_NOT_OBJECT', 'SAFETENSORS_BAD_METADATA', 'SAFETENSORS_BAD_ENTRY',
    'SAFETENSORS_UNKNOWN_DTYPE', 'SAFETENSORS_BAD_SHAPE', 'SAFETENSORS_BAD_OFFSETS',
  ],
  InvalidOffset: ['SAFETENSORS_BAD_OFFSETS', 'SAFETENSORS_OVERLAP', 'SAFETENSORS_GAP'],
  ValidationOverflow: ['SAFETENSORS_SHAPE_OVERFLOW'],
  MisalignedSlice: ['SAFETENSORS_MISALIGNED'],
  TensorInvalidInfo: ['SAFETENSORS_BYTE_LENGTH_MISMATCH'],
  MetadataIncompleteBuffer: ['SAFETENSORS_OFFSET_OUT_OF_RANGE', 'SAFETENSORS_TRAILING_BYTES'],
  // The writer's refusals (TensorView::new / serialize / TensorSpec).
  WriterRefuses: ['SAFETENSORS_BYTE_LENGTH_MISMATCH', 'SAFETENSORS_UNKNOWN_DTYPE', 'SAFETENSORS_HEADER_TOO_LARGE', 'SAFETENSORS_MISALIGNED'],
} as const;
type Family = keyof typeof FAMILY;

/** Bytes of a Rust/Python byte-string literal's content (every char < 256). */
const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => {
  const code = c.charCodeAt(0);
  if (code > 255) throw new Error(`not a byte: ${c}`);
  return code;
});
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
};
const zeros = (n: number): Uint8Array => new Uint8Array(n);
/** A safetensors file from header text (length prefix computed) and data. */
const file = (header: string, data: Uint8Array = zeros(0), length?: bigint): Uint8Array => {
  const json = new TextEncoder().encode(header);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  return concat(prefix, json, data);
};
const parse = (bytes: Uint8Array): SafetensorsHeader => parseSafetensorsHeader(bytesSource(bytes, 'case.safetensors'));

interface Case {
  /** Upstream test (file::function) or probe name. */
  name: string;
  run: () => void;
}

/** Run `fn`, which the library refuses with `family`; ok if it throws a SafetensorsError of that family. */
function refuses(family: Family, fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof SafetensorsError)) throw new Error(`expected a refusal (${family}), got ${caught === undefined ? 'acceptance' : String(caught)}`);
  if (!(FAMILY[family] as readonly string[]).includes(caught.code)) throw new Error(`expected ${family} (${FAMILY[family].join('|')}), got ${caught.code}: ${caught.message}`);
}
function equalBytes(got: Uint8Array, want: Uint8Array): void {
  expect(Array.from(got)).toEqual(Array.from(want));
}
function shapes(h: SafetensorsHeader): Record<string, [string, number[]]> {
  const out: Record<string, [string, number[]]> = {};
  for (const t of h.tensors.values()) out[t.name] = [t.dtype, t.shape];
  for (const t of h.skipped) out[t.name] = [t.dtype, t.shape];
  return out;
}
const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const raw = (name: string, dtype: string, shape: number[], bytes: Uint8Array): TensorToWrite => ({ name, dtype, shape, bytes });

const I32_2x2 = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';

// ---- safetensors/src/tensor.rs ----------------------------------------------------------------

const rustCases: Case[] = [
  {
    name: 'tensor.rs::test_serialization',
    run() {
      const out = serializeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
      equalBytes(out, Uint8Array.from([
        64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
        58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
        0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
      ]));
      parse(out);
    },
  },
  {
    name: 'tensor.rs::test_serialization_fp4',
    run() {
      const out = serializeSafetensors([raw('attn.0', 'F4', [1, 2], zeros(1))]);
      equalBytes(out, Uint8Array.from([
        64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 52, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
        91, 49, 44, 50, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 49, 93, 125, 125, 32, 32, 32, 32, 0,
      ]));
      expect(shapes(parse(out))).toEqual({ 'attn.0': ['F4', [1, 2]] });
    },
  },
  // TensorView::new refuses: on our side the writer, and the reader given such an entry.
  { name: 'tensor.rs::test_serialization_fp4_misaligned (writer)', run: () => refuses('WriterRefuses', () => serializeSafetensors([raw('attn.0', 'F4', [1, 3], zeros(2))])) },
  { name: 'tensor.rs::test_serialization_fp4_misaligned (reader)', run: () => refuses('MisalignedSlice', () => parse(file('{"attn.0":{"dtype":"F4","shape":[1,3],"data_offsets":[0,2]}}', zeros(2)))) },
  { name: 'tensor.rs::test_serialization_fp4_invalid (writer)', run: () => refuses('WriterRefuses', () => serializeSafetensors([raw('attn.0', 'F4', [1, 2], zeros(2))])) },
  { name: 'tensor.rs::test_serialization_fp4_invalid (reader)', run: () => refuses('TensorInvalidInfo', () => parse(file('{"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,2]}}', zeros(2)))) },
  {
    name: 'tensor.rs::test_empty',
    run() {
      const out = serializeSafetensors([]);
      equalBytes(out, Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]));
      expect(parse(out).tensors.size).toBe(0);
    },
  },
  {
    name: 'tensor.rs::test_empty (with metadata)',
    run() {
      const out = serializeSafetensors([], { framework: 'pt' });
      equalBytes(out, Uint8Array.from([
        40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
        116, 34, 125, 125, 32, 32, 32, 32, 32,
      ]));
      expect(parse(out).metadata).toEqual({ framework: 'pt' });
    },
  },
  {
    name: 'tensor.rs::test_serialization_forced_alignement',
    run() {
      const out = serializeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
      equalBytes(out, Uint8Array.from([
        72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
        91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
        32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
      ]));
      const h = parse(out);
      expect(h.dataStart % 4).toBe(0);
      const got = new Float32Array(6);
      readTensorF32(bytesSource(out, 'x'), h, 'attn0', got);
      expect(Array.from(got)).toEqual([0, 1, 2, 3, 4, 5]);
    },
  },
  { name: 'tensor.rs::test_gpt2', run: () => gpt2Like(12) },
  { name: 'tensor.rs::test_gpt2_tiny', run: () => gpt2Like(6) },
  {
    name: 'tensor.rs::test_empty_shapes_allowed',
    run() {
      const h = parse(b('8\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}\x00\x00\x00\x00'));
      expect(shapes(h)).toEqual({ test: ['I32', []] });
    },
  },
  {
    name: 'tensor.rs::test_deserialization',
    run() {
      const h = parse(b(`<\x00\x00\x00\x00\x00\x00\x00${I32_2x2}`.padEnd(8 + 60 + 16, '\x00')));
      expect(shapes(h)).toEqual({ test: ['I32', [2, 2]] });
    },
  },
  {
    name: 'tensor.rs::test_json_attack',
    run() {
      const entries = Array.from({ length: 10 }, (_, i) => `"weight_${i}":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}`);
      refuses('InvalidOffset', () => parse(file(`{${entries.join(',')}}`, zeros(16))));
    },
  },
  {
    name: 'tensor.rs::test_metadata_incomplete_buffer (polyglot tail)',
    run: () => refuses('MetadataIncompleteBuffer', () => parse(concat(file(I32_2x2, zeros(16)), b('extra_bogus_data_for_polyglot_file')))),
  },
  { name: 'tensor.rs::test_metadata_incomplete_buffer (missing 2 bytes)', run: () => refuses('MetadataIncompleteBuffer', () => parse(file(I32_2x2, zeros(14)))) },
  {
    name: 'tensor.rs::test_header_too_large',
    run: () => refuses('HeaderTooLarge', () => parse(b(`<\x00\x00\x00\x00\xff\xff\xff${I32_2x2}`.padEnd(8 + 60 + 16, '\x00')))),
  },
  { name: 'tensor.rs::test_header_too_small', run: () => refuses('HeaderTooSmall', () => parse(b(''))) },
  { name: 'tensor.rs::test_invalid_header_length', run: () => refuses('InvalidHeaderLength', () => parse(b('<\x00\x00\x00\x00\x00\x00\x00'))) },
  { name: 'tensor.rs::test_invalid_header_non_utf8', run: () => refuses('InvalidHeader', () => parse(b('\x01\x00\x00\x00\x00\x00\x00\x00\xff'))) },
  { name: 'tensor.rs::test_invalid_header_not_json', run: () => refuses('InvalidHeaderDeserialization', () => parse(b('\x01\x00\x00\x00\x00\x00\x00\x00{'))) },
  { name: 'tensor.rs::test_whitespace_padded_header', run: () => expect(parse(b('\x06\x00\x00\x00\x00\x00\x00\x00{}\x0D\x20\x09\x0A')).tensors.size).toBe(0) },
  { name: 'tensor.rs::test_whitespace_leading_padded_header', run: () => expect(parse(b('\x06\x00\x00\x00\x00\x00\x00\x00\x09\x0A{}\x0D\x20')).tensors.size).toBe(0) },
  {
    name: 'tensor.rs::test_zero_sized_tensor',
    run() {
      const h = parse(b('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}'));
      expect(shapes(h)).toEqual({ test: ['I32', [2, 0]] });
    },
  },
  { name: 'tensor.rs::test_invalid_info', run: () => refuses('TensorInvalidInfo', () => parse(b('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}'))) },
  {
    name: 'tensor.rs::test_validation_overflow (shape product)',
    run: () => refuses('ValidationOverflow', () => parse(b('O\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}'.padEnd(8 + 79 + 16, '\x00')))),
  },
  {
    name: 'tensor.rs::test_validation_overflow (elements × dtype bits)',
    run: () => refuses('ValidationOverflow', () => parse(b('N\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}'.padEnd(8 + 78 + 16, '\x00')))),
  },
  {
    name: 'tensor.rs::test_invalid_header_size_serialization',
    run: () => refuses('WriterRefuses', () => serializeSafetensors([], { very_large_metadata: 'a'.repeat(100_000_000) })),
  },
  { name: 'tensor.rs::test_indexing (20 seeded metadata)', run: () => arbitraryMetadata(20, 1, false) },
  { name: 'tensor.rs::test_roundtrip (20 seeded metadata)', run: () => arbitraryMetadata(20, 2, true) },
];

/** gpt2_like(n_heads): GPT-2's tensor list in F32 written and read back. The data (~500 MB of zeros)
 *  is never held: the writer streams into a sink that keeps only the header, and the reader sees a
 *  source of that size whose data bytes are zeros. */
function gpt2Like(heads: number): void {
  const desc: Array<[string, number[]]> = [['wte', [50257, 768]], ['wpe', [1024, 768]]];
  for (let i = 0; i < heads; i++) {
    desc.push([`h.${i}.ln_1.weight`, [768]], [`h.${i}.ln_1.bias`, [768]], [`h.${i}.attn.bias`, [1, 1, 1024, 1024]], [`h.${i}.attn.c_attn.weight`, [768, 2304]], [`h.${i}.attn.c_attn.bias`, [2304]], [`h.${i}.attn.c_proj.weight`, [768, 768]], [`h.${i}.attn.c_proj.bias`, [768]], [`h.${i}.ln_2.weight`, [768]], [`h.${i}.ln_2.bias`, [768]], [`h.${i}.mlp.c_fc.weight`, [768, 3072]], [`h.${i}.mlp.c_fc.bias`, [3072]], [`h.${i}.mlp.c_proj.weight`, [3072, 768]], [`h.${i}.mlp.c_proj.bias`, [768]]);
  }
  desc.push(['ln_f.weight', [768]], ['ln_f.bias', [768]]);
  const chunk = new Float32Array(1 << 16);
  const tensors: TensorToWrite[] = desc.map(([name, shape]) => ({
    name,
    dtype: 'F32',
    shape,
    data: function* () {
      for (let left = shape.reduce((a, c) => a * c, 1); left > 0; left -= chunk.length) yield chunk.subarray(0, Math.min(left, chunk.length));
    },
  }));
  let head: Uint8Array | undefined;
  let size = 0;
  writeSafetensors((c) => {
    if (!head) head = c.slice();
    size += c.length;
  }, tensors);
  const source: ByteSource = {
    name: `gpt2_like(${heads})`,
    size,
    readInto(offset, dst) {
      dst.fill(0);
      if (offset < head!.length) dst.set(head!.subarray(offset, offset + dst.length));
    },
  };
  const h = parseSafetensorsHeader(source);
  expect(h.tensors.size).toBe(desc.length);
  expect(h.tensors.get('h.0.attn.bias')!.shape).toEqual([1, 1, 1024, 1024]);
}

/** proptest's arbitrary_metadata: 1..20 tensors of random dtype and shape (1..8 dims of 1..8), the
 *  misaligned ones (sub-byte totals) dropped, laid out back to back. `roundtrip`: write, read back,
 *  same names, dtypes, shapes and bytes. Otherwise (test_indexing): every tensor is found. */
function arbitraryMetadata(cases: number, seed: number, roundtrip: boolean): void {
  const dtypes: Array<[string, number]> = [['BOOL', 8], ['F4', 4], ['F6_E3M2', 6], ['F6_E2M3', 6], ['F8_E5M2', 8], ['F8_E4M3', 8], ['U8', 8], ['I8', 8], ['I16', 16], ['U16', 16], ['I32', 32], ['U32', 32], ['I64', 64], ['U64', 64], ['F16', 16], ['BF16', 16], ['F32', 32], ['F64', 64], ['C64', 64]];
  let s = seed;
  const rnd = (n: number): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % n);
  for (let c = 0; c < cases; c++) {
    const tensors: TensorToWrite[] = [];
    let offset = 0;
    const count = 1 + rnd(19);
    for (let t = 0; t < count; t++) {
      const [dtype, bits] = dtypes[rnd(dtypes.length)];
      const shape = Array.from({ length: 1 + rnd(7) }, () => 1 + rnd(7));
      const nbits = shape.reduce((a, d) => a * d, 1) * bits;
      if (nbits % 8 !== 0) continue;
      const bytes = Uint8Array.from({ length: nbits / 8 }, (_, k) => (offset + k) & 0xff);
      offset += bytes.length;
      tensors.push(raw(`t.${t}`, dtype, shape, bytes));
    }
    const out = serializeSafetensors(tensors);
    const h = parse(out);
    const want: Record<string, [string, number[]]> = {};
    for (const t of tensors) want[t.name] = [t.dtype, [...t.shape]];
    expect(shapes(h)).toEqual(want);
    if (!roundtrip) continue;
    // The bytes of each tensor, found through the parsed offsets.
    const at = new Map([...h.tensors.values(), ...h.skipped.map((k) => ({ ...k, begin: -1, end: -1 }))].map((t) => [t.name, t]));
    for (const t of tensors) {
      if (!('bytes' in t)) continue;
      const info = h.tensors.get(t.name);
      if (info) equalBytes(out.subarray(h.dataStart + info.begin, h.dataStart + info.end), t.bytes);
      expect(at.has(t.name)).toBe(true);
    }
  }
}

// ---- bindings/python/tests ---------------------------------------------------------------------

const I32_SAVED = b(`@\x00\x00\x00\x00\x00\x00\x00${I32_2x2}    `);
const pyCases: Case[] = [
  {
    name: 'test_simple.py::test_serialization',
    run() {
      const data = new Int32Array(4);
      equalBytes(serializeSafetensors([raw('test', 'I32', [2, 2], new Uint8Array(data.buffer))]), concat(I32_SAVED, zeros(16)));
      data[3] = 1;
      const out = serializeSafetensors([raw('test', 'I32', [2, 2], new Uint8Array(data.slice().buffer))]);
      equalBytes(out, concat(I32_SAVED, zeros(12), b('\x01\x00\x00\x00')));
      parse(out);
    },
  },
  { name: 'test_simple.py::test_deserialization', run: () => expect(shapes(parse(concat(b(`<\x00\x00\x00\x00\x00\x00\x00${I32_2x2}`), zeros(16))))).toEqual({ test: ['I32', [2, 2]] }) },
  {
    name: 'test_simple.py::test_deserialization_metadata',
    run() {
      const h = parse(concat(b('f\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       '), zeros(16)));
      expect(h.metadata).toEqual({ framework: 'pt' });
    },
  },
  {
    name: 'test_simple.py::test_serialization_forces_alignment',
    run() {
      const out = serializeSafetensors([raw('test1', 'I32', [2, 2], zeros(16)), raw('test2', 'F16', [2, 2], zeros(8))]);
      equalBytes(out, concat(b('\x80\x00\x00\x00\x00\x00\x00\x00{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}      '), zeros(24)));
      expect(out.indexOf(0, 8)).toBe(136);
      parse(out);
    },
  },
  {
    name: 'test_simple.py::test_serialization_metadata',
    run() {
      const out = serializeSafetensors([raw('test1', 'I32', [2, 2], zeros(16))], { framework: 'pt' });
      equalBytes(out, concat(b('`\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}} '), zeros(16)));
      expect(out.indexOf(0, 8)).toBe(104);
      expect(parse(out).metadata).toEqual({ framework: 'pt' });
    },
  },
  {
    name: 'test_simple.py::test_numpy_example',
    run() {
      const out = serializeSafetensors([raw('a', 'F64', [2, 2], zeros(32)), raw('b', 'U8', [2, 3], zeros(6))]);
      expect(shapes(parse(out))).toEqual({ a: ['F64', [2, 2]], b: ['U8', [2, 3]] });
    },
  },
  { name: 'test_simple.py::test_numpy_bool', run: () => expect(shapes(parse(serializeSafetensors([raw('a', 'BOOL', [], zeros(1))])))).toEqual({ a: ['BOOL', []] }) },
  { name: 'test_simple.py::test_exception', run: () => refuses('WriterRefuses', () => serializeSafetensors([raw('test', 'nonsense', [1], zeros(0))])) },
  {
    name: 'test_pt_comparison.py::test_serialization (BF16)',
    run() {
      const bytes = b('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}    \x10@\x80?\x80?\x80?');
      equalBytes(serializeSafetensors([raw('test', 'BF16', [2, 2], b('\x10@\x80?\x80?\x80?'))]), bytes);
      const got = new Float32Array(4);
      readTensorF32(bytesSource(bytes, 'bf16'), parse(bytes), 'test', got);
      expect(Array.from(got)).toEqual([2.25, 1, 1, 1]);
    },
  },
  {
    name: 'test_pt_comparison.py::test_odd_dtype',
    run() {
      const out = serializeSafetensors([raw('test', 'BF16', [2, 2], zeros(8)), raw('test2', 'F16', [2, 2], zeros(8)), raw('test3', 'BOOL', [2, 2], b('\x01\x00\x00\x00')), raw('test4', 'C64', [2, 2], zeros(32))]);
      expect(shapes(parse(out))).toEqual({ test: ['BF16', [2, 2]], test2: ['F16', [2, 2]], test3: ['BOOL', [2, 2]], test4: ['C64', [2, 2]] });
    },
  },
  {
    name: 'test_pt_comparison.py::test_complex',
    run() {
      const head = b('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"C64","shape":[2,2],"data_offsets":[0,32]}}    ');
      const data = concat(zeros(24), b('\x00\x00\x80\xbf\x00\x00\x80?'));
      equalBytes(serializeSafetensors([raw('test', 'C64', [2, 2], data)]), concat(head, data));
      expect(parse(concat(head, zeros(32))).skipped.map((t) => t.dtype)).toEqual(['C64']);
    },
  },
  ...([['e4m3fn', 'F8_E4M3'], ['e5m2', 'F8_E5M2'], ['e8m0', 'F8_E8M0']] as const).map(([name, dtype]): Case => ({
    name: `test_pt_comparison.py::test_odd_dtype_fp8_${name}`,
    run: () => expect(shapes(parse(serializeSafetensors([raw('test', dtype, [1], b('\xb0'))])))).toEqual({ test: [dtype, [1]] }),
  })),
  {
    name: 'test_pt_comparison.py::test_odd_dtype_fp8_fnuz',
    run: () => expect(shapes(parse(serializeSafetensors([raw('test1', 'F8_E4M3FNUZ', [1], b('\x40')), raw('test2', 'F8_E5M2FNUZ', [1], b('\x40'))])))).toEqual({ test1: ['F8_E4M3FNUZ', [1]], test2: ['F8_E5M2FNUZ', [1]] }),
  },
  {
    name: 'test_pt_comparison.py::test_odd_dtype_fp4',
    run: () => expect(shapes(parse(serializeSafetensors([raw('test1', 'F8_E8M0', [1], zeros(1)), raw('test2', 'F4', [2, 2], zeros(2))])))).toEqual({ test1: ['F8_E8M0', [1]], test2: ['F4', [2, 2]] }),
  },
  {
    name: 'test_pt_comparison.py::test_zero_sized',
    run() {
      const out = serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [2, 0], data: new Float32Array(0) }]);
      const got = new Float32Array(0);
      readTensorF32(bytesSource(out, 'z'), parse(out), 'test', got);
      expect(parse(out).tensors.get('test')!.shape).toEqual([2, 0]);
    },
  },
  {
    name: 'test_pt_comparison.py::test_multiple_zero_sized',
    run: () => expect(parse(serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [2, 0], data: new Float32Array(0) }, { name: 'test2', dtype: 'F32', shape: [2, 0], data: new Float32Array(0) }])).tensors.size).toBe(2),
  },
  {
    name: 'test_pt_comparison.py::test_disjoint_tensors_shared_storage',
    run: () => expect(parse(serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [9, 10], data: new Float32Array(90) }, { name: 'test2', dtype: 'F32', shape: [1, 10], data: new Float32Array(10) }])).tensors.size).toBe(2),
  },
  {
    name: 'test_pt_comparison.py::test_in_memory',
    run: () => equalBytes(serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [2, 2], data: new Float32Array(4) }]), concat(b(`@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}    `), zeros(16))),
  },
  {
    name: 'test_pt_comparison.py::test_deserialization_slice',
    run() {
      const out = serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
      const h = parse(out);
      expect(h.tensors.get('test')).toMatchObject({ dtype: 'F32', shape: [1, 2, 3] });
      const got = new Float32Array(6);
      readTensorF32(bytesSource(out, 's'), h, 'test', got);
      // [:, :, 1:2] of the library's test: elements (0, 0, 1) and (0, 1, 1).
      equalBytes(concat(f32Bytes([got[1]]), f32Bytes([got[4]])), b('\x00\x00\x80?\x00\x00\x80@'));
    },
  },
  {
    name: 'test_pt_comparison.py::test_deserialization_metadata',
    run() {
      const plain = serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array(6) }]);
      expect(parse(plain).metadata).toEqual({});
      expect(parse(serializeSafetensors([{ name: 'test', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array(6) }], { Something: 'more' })).metadata).toEqual({ Something: 'more' });
    },
  },
];

// ---- probes of the rules the library enforces (issue 10) ---------------------------------------

const T = (dtype: string, shape: string, offsets: string): string => `{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}`;
const probes: Case[] = [
  { name: 'gap between tensors', run: () => refuses('InvalidOffset', () => parse(file(`{"a":${T('U8', '[4]', '[0,4]')},"b":${T('U8', '[4]', '[8,12]')}}`, zeros(12)))) },
  { name: 'first tensor not at 0', run: () => refuses('InvalidOffset', () => parse(file(`{"a":${T('U8', '[4]', '[4,8]')}}`, zeros(8)))) },
  { name: 'unreferenced trailing bytes', run: () => refuses('MetadataIncompleteBuffer', () => parse(file(`{"a":${T('U8', '[4]', '[0,4]')}}`, zeros(5)))) },
  { name: '{} followed by data', run: () => refuses('MetadataIncompleteBuffer', () => parse(file('{}', zeros(1)))) },
  { name: 'header length one short (padding dropped)', run: () => { const f = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]); new DataView(f.buffer).setUint32(0, new DataView(f.buffer).getUint32(0, true) - 1, true); refuses('MetadataIncompleteBuffer', () => parse(f)); } },
  { name: 'header length one long', run: () => { const f = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]); new DataView(f.buffer).setUint32(0, new DataView(f.buffer).getUint32(0, true) + 1, true); refuses('InvalidHeaderDeserialization', () => parse(f)); } },
  { name: 'header length 100,000,000 accepted as a length', run: () => refuses('InvalidHeaderLength', () => parse(file('{}', zeros(0), 100_000_000n))) },
  { name: 'header length 100,000,001 too large', run: () => refuses('HeaderTooLarge', () => parse(file('{}', zeros(0), 100_000_001n))) },
  { name: 'F8_E4M3FNUZ known', run: () => expect(parse(file(`{"a":${T('F8_E4M3FNUZ', '[2]', '[0,2]')}}`, zeros(2))).skipped[0].dtype).toBe('F8_E4M3FNUZ') },
  { name: 'F8_E5M2FNUZ known', run: () => expect(parse(file(`{"a":${T('F8_E5M2FNUZ', '[2]', '[0,2]')}}`, zeros(2))).skipped[0].dtype).toBe('F8_E5M2FNUZ') },
  { name: 'shape 2.0 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[2.0]', '[0,2]')}}`, zeros(2)))) },
  { name: 'shape 4e0 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[4e0]', '[0,4]')}}`, zeros(4)))) },
  { name: 'offset 2.0 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[2]', '[0,2.0]')}}`, zeros(2)))) },
  { name: 'offset 0e5 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[2]', '[0e5,2]')}}`, zeros(2)))) },
  { name: 'shape -0 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[-0]', '[0,0]')}}`))) },
  { name: 'shape 2^64 refused (past u64)', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[18446744073709551616,0]', '[0,0]')}}`))) },
  { name: 'duplicate __metadata__', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"}}'))) },
  { name: 'lone leading surrogate escape', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"__metadata__":{"a":"\\ud800"}}'))) },
  { name: 'lone trailing surrogate escape', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"__metadata__":{"a":"\\udc00x"}}'))) },
  { name: 'paired surrogate escape accepted', run: () => expect(parse(file('{"__metadata__":{"a":"\\ud83d\\ude00"}}')).metadata.a).toBe('😀') },
  { name: '"__metadata__": null means none', run: () => expect(parse(file(`{"__metadata__":null,"a":${T('U8', '[1]', '[0,1]')}}`, zeros(1))).metadata).toEqual({}) },
  { name: 'u64 dimension next to a 0', run: () => expect(parse(file(`{"a":${T('F32', '[0,18446744073709551615]', '[0,0]')}}`)).tensors.get('a')!.shape[0]).toBe(0) },
  { name: 'u64 dimension before 2 then 0 overflows first', run: () => refuses('ValidationOverflow', () => parse(file(`{"a":${T('F32', '[18446744073709551615,2,0]', '[0,0]')}}`))) },
  { name: 'duplicate tensor field', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', zeros(1)))) },
  { name: 'unknown tensor field ignored', run: () => expect(parse(file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[1,{"x":null}]}}', zeros(1))).skipped).toHaveLength(1) },
  // serde's derived Deserialize also reads a struct from a sequence of its fields, and a unit enum
  // variant from a one-key map with a null value; the library therefore accepts these forms.
  { name: 'entry as [dtype, shape, data_offsets] accepted (serde derive)', run: () => expect(parse(file('{"a":["U8",[2],[0,2]]}', zeros(2))).skipped[0]).toMatchObject({ name: 'a', dtype: 'U8', shape: [2] }) },
  { name: 'entry array of 4 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"a":["U8",[2],[0,2],1]}', zeros(2)))) },
  { name: 'dtype {"F32": null} accepted (serde enum form)', run: () => expect(parse(file('{"a":{"dtype":{"F32":null},"shape":[1],"data_offsets":[0,4]}}', zeros(4))).tensors.get('a')!.dtype).toBe('F32') },
  { name: 'dtype {"F32": 1} refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"a":{"dtype":{"F32":1},"shape":[1],"data_offsets":[0,4]}}', zeros(4)))) },
  { name: 'data_offsets of 3 refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[2]', '[0,2,2]')}}`, zeros(2)))) },
  { name: 'duplicate tensor name: the last entry counts', run: () => expect(parse(file(`{"a":${T('U8', '[4]', '[0,4]')},"a":${T('I8', '[2]', '[0,2]')}}`, zeros(2))).skipped[0].dtype).toBe('I8') },
  { name: 'trailing comma refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"__metadata__":{"a":"1"},}'))) },
  { name: 'leading zero refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('U8', '[01]', '[0,1]')}}`, zeros(1)))) },
  { name: 'control character in a string refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"__metadata__":{"a":"x\ty"}}'))) },
  { name: 'BOM before the JSON refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('\ufeff{}'))) },
  { name: 'NUL padding refused', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{}\x00\x00'))) },
  { name: 'nesting 127 deep accepted, 128 refused', run: () => { parse(file(`{"__x":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"y":${'['.repeat(125)}${']'.repeat(125)}}}`)); refuses('InvalidHeaderDeserialization', () => parse(file(`{"__x":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"y":${'['.repeat(126)}${']'.repeat(126)}}}`))); } },
  { name: 'metadata value not a string', run: () => refuses('InvalidHeaderDeserialization', () => parse(file('{"__metadata__":{"a":1}}'))) },
  { name: 'overlapping tensors', run: () => refuses('InvalidOffset', () => parse(file(`{"a":${T('U8', '[4]', '[0,4]')},"b":${T('U8', '[2]', '[2,4]')}}`, zeros(4)))) },
  { name: 'unknown dtype', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('F8', '[1]', '[0,1]')}}`, zeros(1)))) },
  { name: 'lower-case dtype', run: () => refuses('InvalidHeaderDeserialization', () => parse(file(`{"a":${T('f32', '[1]', '[0,4]')}}`, zeros(4)))) },
];

describe('safetensors: the official library\'s test cases and rules', () => {
  const results = { upstream: [0, 0], probes: [0, 0] };
  afterAll(() => {
    console.log(`safetensors upstream cases: ${results.upstream[0]}/${results.upstream[1]}`);
    console.log(`safetensors rule probes: ${results.probes[0]}/${results.probes[1]}`);
  });
  const run = (group: 'upstream' | 'probes', cases: Case[]): void => {
    const failures: string[] = [];
    for (const c of cases) {
      results[group][1]++;
      try {
        c.run();
        results[group][0]++;
      } catch (error) {
        failures.push(`${c.name}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
  };
  it('tensor.rs and bindings/python/tests cases', () => run('upstream', [...rustCases, ...pyCases]));
  it('probes of the library\'s validation rules', () => run('probes', probes));
});
