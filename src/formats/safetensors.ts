// Owns: the safetensors file format — parsing and validating the header, reading one tensor as
// f32 (widening F16/BF16), and a streaming writer. Format: u64 little-endian header length N,
// N bytes of UTF-8 JSON (`__metadata__`: string map; per tensor {dtype, shape, data_offsets}),
// then the data; offsets are relative to the data start.
// Does not own: which tensors a BERT needs or where they go in the heap (weights.ts), nor where the
// bytes come from (byte-source.ts, node/fs/file-source.ts).
//
// Every malformed input is a SafetensorsError naming the file, the tensor and the offsets: the
// header is untrusted, so nothing in it is used before it has been checked against the file size.
// What is accepted is exactly what the official library (safetensors 0.8.0) accepts; the JSON is
// read by strict-json.ts, never JSON.parse (which takes `2.0` for 2, duplicate keys, lone surrogates).
import type { ByteSource } from './byte-source.js';
import { KmedError, type KmedErrorCode } from '../errors/errors.js';
import { formatShape, quote } from '../errors/quote.js';
import { jsonKind, parseStrictJson, StrictJsonError, type JsonValue } from './strict-json.js';

export class SafetensorsError extends KmedError {}

/** A header larger than this is refused before it is read: the official library's limit
 *  (MAX_HEADER_SIZE in safetensors/src/tensor.rs; real BERT headers are ~20 KB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Element size in bits of every dtype safetensors 0.8.0 defines. Only F32, F16 and BF16 are read;
 *  the rest are checked like any tensor and then skipped. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32,
  I64: 64, U64: 64, F64: 64, C64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

export type ReadableDtype = 'F32' | 'F16' | 'BF16';
const READABLE = new Set<string>(['F32', 'F16', 'BF16']);

export interface TensorInfo {
  name: string;
  dtype: ReadableDtype;
  /** Dimensions as numbers (exact: a readable tensor's dimensions fit its bytes in the file). */
  shape: number[];
  /** data_offsets[0], relative to `dataStart`. */
  begin: number;
  /** data_offsets[1], relative to `dataStart`. */
  end: number;
}

export interface SkippedTensor {
  name: string;
  dtype: string;
  /** Dimensions as numbers; a dimension above 2^53 (legal next to a 0) is rounded. */
  shape: number[];
  note: string;
}

export interface SafetensorsHeader {
  /** The source's name, for messages. */
  fileName: string;
  /** Tensors that can be read as f32 (F32, F16, BF16), by name. */
  tensors: Map<string, TensorInfo>;
  /** `__metadata__` (empty when absent or null). */
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section (8 + N). */
  dataStart: number;
  /** Well-formed tensors of a dtype we do not read (e.g. I64 position_ids), in file order. */
  skipped: SkippedTensor[];
}

function fail(code: KmedErrorCode, message: string, cause?: unknown): never {
  throw new SafetensorsError(code, message, cause === undefined ? undefined : { cause });
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Product of a shape, or Infinity if it is not a safe integer (it then cannot match any length). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}

const U64_MAX = (1n << 64n) - 1n;

/** One tensor entry as the header states it, before the offsets are checked against each other. */
interface Entry {
  name: string;
  dtype: string;
  shape: bigint[];
  begin: bigint;
  end: bigint;
}

/**
 * Read and validate the header of a safetensors file with the official library's rules
 * (safetensors 0.8.0, `SafeTensors::read_metadata`): u64 length N ≤ 100,000,000 and within the file;
 * N bytes of UTF-8 JSON read by serde_json's grammar (strict-json.ts: integers only where integers
 * are due, no duplicate `__metadata__`, no lone surrogates); tensors sorted by data_offsets must
 * tile the data section exactly — first at 0, each beginning where the previous ended, the last
 * ending at the end of the file (no gaps, no overlap, no trailing bytes: that is what keeps
 * polyglot files out and catches a header length off by one); each byte length = product(shape) ×
 * dtype size, with u64 overflow refused.
 */
export function parseSafetensorsHeader(source: ByteSource): SafetensorsHeader {
  const file = source.name;
  if (!Number.isSafeInteger(source.size) || source.size < 8) {
    fail('SAFETENSORS_TRUNCATED', `${file}: ${source.size} bytes, too short for a safetensors file (needs at least the 8-byte header length)`);
  }
  const lenBytes = new Uint8Array(8);
  source.readInto(0, lenBytes);
  const lenView = new DataView(lenBytes.buffer);
  const lo = lenView.getUint32(0, true);
  const hi = lenView.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo; // may be inexact when huge; only compared, never used then
  if (hi !== 0 || headerLength > MAX_HEADER_BYTES) {
    fail('SAFETENSORS_HEADER_TOO_LARGE', `${file}: header length ${hi === 0 ? headerLength : `≈${headerLength}`} at byte 0 exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  }
  if (headerLength > source.size - 8) {
    fail('SAFETENSORS_HEADER_PAST_END', `${file}: header length ${headerLength} at byte 0 runs past the end of the file (bytes 8..${8 + headerLength} of ${source.size})`);
  }
  const headerBytes = new Uint8Array(headerLength);
  source.readInto(8, headerBytes);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch (error) {
    fail('SAFETENSORS_HEADER_NOT_UTF8', `${file}: header (bytes 8..${8 + headerLength}) is not valid UTF-8`, error);
  }
  let json: JsonValue;
  try {
    json = parseStrictJson(text);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    fail('SAFETENSORS_HEADER_NOT_JSON', `${file}: header (bytes 8..${8 + headerLength}) is not valid JSON: ${error.reason} at character ${error.index}`, error);
  }
  if (json.kind !== 'object') {
    fail('SAFETENSORS_HEADER_NOT_OBJECT', `${file}: header is JSON ${json.kind}, expected an object`);
  }

  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  const metadata: Record<string, string> = {};
  let sawMetadata = false;
  // Tensor names as serde reads them into a map: a repeated name keeps its last entry.
  const entries = new Map<string, Entry>();
  for (const [name, value] of json.entries) {
    if (name === '__metadata__') {
      if (sawMetadata) fail('SAFETENSORS_BAD_METADATA', `${file}: "__metadata__" appears twice in the header`);
      sawMetadata = true;
      readMetadata(file, value, metadata);
      continue;
    }
    entries.delete(name);
    entries.set(name, readEntry(file, name, value));
  }

  // The library's Metadata::validate: in (begin, end) order, each tensor begins where the previous
  // ended, and holds exactly its shape's bytes.
  const sorted = [...entries.values()].sort((a, b) => cmp(a.begin, b.begin) || cmp(a.end, b.end));
  let at = 0n;
  let prev: Entry | undefined;
  for (const e of sorted) {
    const where = `${file}: tensor ${quote(e.name)}`;
    const offsets = `data_offsets [${e.begin}, ${e.end}]`;
    if (e.end < e.begin) fail('SAFETENSORS_BAD_OFFSETS', `${where}: ${offsets} begin after end`);
    if (e.begin < at) {
      fail('SAFETENSORS_OVERLAP', `${where}: ${offsets} overlap tensor ${quote(prev!.name)} [${prev!.begin}, ${prev!.end}]`);
    }
    if (e.begin > at) {
      const after = prev ? `tensor ${quote(prev.name)} ends at ${at}` : 'the data section begins at 0';
      fail('SAFETENSORS_GAP', `${where}: ${offsets} leave bytes ${at}..${e.begin} of the data unused (${after}); the official library refuses gaps`);
    }
    let count = 1n;
    for (const d of e.shape) {
      count *= d;
      if (count > U64_MAX) fail('SAFETENSORS_SHAPE_OVERFLOW', `${where}: shape ${formatShape(e.shape)} has more than 2^64 elements`);
    }
    const bits = count * BigInt(DTYPE_BITS[e.dtype]);
    if (bits > U64_MAX) fail('SAFETENSORS_SHAPE_OVERFLOW', `${where}: shape ${formatShape(e.shape)} of ${e.dtype} has more than 2^64 bits`);
    if (bits % 8n !== 0n) fail('SAFETENSORS_MISALIGNED', `${where}: shape ${formatShape(e.shape)} of ${e.dtype} is not a whole number of bytes`);
    if (e.end - e.begin !== bits / 8n) {
      fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `${where}: ${offsets} hold ${e.end - e.begin} bytes but shape ${formatShape(e.shape)} of ${e.dtype} needs ${bits / 8n}`);
    }
    at = e.end;
    prev = e;
  }
  if (at !== BigInt(dataSize)) {
    if (at > BigInt(dataSize)) {
      fail('SAFETENSORS_OFFSET_OUT_OF_RANGE', `${file}: tensor ${quote(prev!.name)} data_offsets [${prev!.begin}, ${prev!.end}] (file bytes ${BigInt(dataStart) + prev!.begin}..${BigInt(dataStart) + prev!.end}) run past the end of the data (${dataSize} bytes, file size ${source.size})`);
    }
    fail('SAFETENSORS_TRAILING_BYTES', `${file}: the tensors cover ${at} of the ${dataSize} data bytes; bytes ${dataStart + Number(at)}..${source.size} belong to no tensor (a header length off, or a file with something appended); the official library refuses this`);
  }

  const tensors = new Map<string, TensorInfo>();
  const skipped: SkippedTensor[] = [];
  for (const e of sorted) {
    const shape = e.shape.map(Number);
    const begin = Number(e.begin);
    const end = Number(e.end);
    if (READABLE.has(e.dtype)) tensors.set(e.name, { name: e.name, dtype: e.dtype as ReadableDtype, shape, begin, end });
    else skipped.push({ name: e.name, dtype: e.dtype, shape, note: `dtype ${e.dtype} is not read (only F32, F16, BF16); skipped` });
  }
  return { fileName: file, tensors, metadata, dataStart, skipped };
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `__metadata__`: null (no metadata) or an object of strings (a repeated key keeps its last value). */
function readMetadata(file: string, value: JsonValue, out: Record<string, string>): void {
  if (value.kind === 'null') return;
  if (value.kind !== 'object') fail('SAFETENSORS_BAD_METADATA', `${file}: "__metadata__" is ${jsonKind(value)}, expected an object of strings`);
  for (const [k, v] of value.entries) {
    if (v.kind !== 'string') fail('SAFETENSORS_BAD_METADATA', `${file}: __metadata__[${quote(k)}] is ${jsonKind(v)}, expected a string`);
    // defineProperty: a key such as "__proto__" must stay a plain entry.
    Object.defineProperty(out, k, { value: v.value, enumerable: true, writable: true, configurable: true });
  }
}

/**
 * One tensor entry, read as serde's derived Deserialize reads TensorInfo: an object with dtype,
 * shape and data_offsets (each once; other keys ignored), or the same three as an array; dtype a
 * known name (or serde's enum form {"F32": null}); shape and data_offsets non-negative JSON integers.
 */
function readEntry(file: string, name: string, value: JsonValue): Entry {
  const where = `${file}: tensor ${quote(name)}`;
  let dtype: JsonValue | undefined;
  let shape: JsonValue | undefined;
  let offsets: JsonValue | undefined;
  if (value.kind === 'array') {
    if (value.items.length !== 3) fail('SAFETENSORS_BAD_ENTRY', `${where}: entry is an array of ${value.items.length} items, expected an object with dtype, shape, data_offsets`);
    [dtype, shape, offsets] = value.items;
  } else if (value.kind === 'object') {
    for (const [k, v] of value.entries) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') continue;
      if ((k === 'dtype' ? dtype : k === 'shape' ? shape : offsets) !== undefined) fail('SAFETENSORS_BAD_ENTRY', `${where}: "${k}" appears twice`);
      if (k === 'dtype') dtype = v;
      else if (k === 'shape') shape = v;
      else offsets = v;
    }
  } else {
    fail('SAFETENSORS_BAD_ENTRY', `${where}: entry is ${jsonKind(value)}, expected an object with dtype, shape, data_offsets`);
  }
  if (dtype === undefined) fail('SAFETENSORS_BAD_ENTRY', `${where}: "dtype" is missing`);
  if (shape === undefined) fail('SAFETENSORS_BAD_ENTRY', `${where}: "shape" is missing`);
  if (offsets === undefined) fail('SAFETENSORS_BAD_ENTRY', `${where}: "data_offsets" is missing, expected [begin, end]`);

  let dtypeName: string;
  if (dtype.kind === 'string') dtypeName = dtype.value;
  else if (dtype.kind === 'object' && dtype.entries.length === 1 && dtype.entries[0][1].kind === 'null') dtypeName = dtype.entries[0][0];
  else fail('SAFETENSORS_BAD_ENTRY', `${where}: "dtype" is ${jsonKind(dtype)}, expected a string`);
  if (!Object.hasOwn(DTYPE_BITS, dtypeName)) fail('SAFETENSORS_UNKNOWN_DTYPE', `${where}: unknown dtype ${quote(dtypeName)}`);

  if (shape.kind !== 'array') fail('SAFETENSORS_BAD_ENTRY', `${where}: "shape" is ${jsonKind(shape)}, expected an array`);
  const dims = shape.items.map((d) => (d.kind === 'number' ? d.u64 : undefined));
  if (dims.some((d) => d === undefined)) {
    const bad = shape.items.find((d) => d.kind !== 'number' || d.u64 === undefined)!;
    fail('SAFETENSORS_BAD_SHAPE', `${where}: shape ${formatShape(shape.items.map((d) => (d.kind === "number" ? d.text : d.kind)))} must be non-negative JSON integers (found ${jsonKind(bad)})`);
  }

  if (offsets.kind !== 'array') fail('SAFETENSORS_BAD_ENTRY', `${where}: "data_offsets" is ${jsonKind(offsets)}, expected [begin, end]`);
  const ends = offsets.items.map((d) => (d.kind === 'number' ? d.u64 : undefined));
  if (ends.length !== 2 || ends.some((d) => d === undefined)) {
    fail('SAFETENSORS_BAD_OFFSETS', `${where}: data_offsets ${formatShape(offsets.items.map((d) => (d.kind === 'number' ? d.text : d.kind)))} must be two non-negative JSON integers`);
  }
  return { name, dtype: dtypeName, shape: dims as bigint[], begin: ends[0]!, end: ends[1]! };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Bytes read per step when widening F16/BF16 or byte-swapping: small, so memory stays bounded. */
const CHUNK_BYTES = 1 << 16;

let f16Table: Uint32Array | undefined;
/** float32 bit pattern of every float16 bit pattern (256 KiB, built once on first use). */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32Bits(h);
  f16Table = t;
  return t;
}

/** IEEE binary16 -> binary32 bit pattern, exact: subnormals normalised, inf kept, NaN payload kept. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 -> 127
  if (mant === 0) return sign >>> 0;
  // Subnormal mant · 2^-24: shift until the implicit bit appears, lowering the exponent each step.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** Number of elements a tensor holds. */
export function tensorLength(info: { shape: readonly number[] }): number {
  return numel(info.shape);
}

/**
 * Read tensor `name` into `dst` (length must equal the tensor's element count), widening F16/BF16
 * to f32. F32 is copied straight into dst's bytes on little-endian hosts. Extra memory: one 64 KiB
 * chunk at most.
 */
export function readTensorF32(source: ByteSource, header: SafetensorsHeader, name: string, dst: Float32Array): void {
  const info = header.tensors.get(name);
  if (!info) {
    const skipped = header.skipped.find((s) => s.name === name);
    if (skipped) fail('SAFETENSORS_UNSUPPORTED_DTYPE', `${header.fileName}: tensor ${quote(name)} has dtype ${skipped.dtype}, which cannot be read as f32 (only F32, F16, BF16)`);
    fail('SAFETENSORS_MISSING_TENSOR', `${header.fileName}: no tensor ${quote(name)}`);
  }
  readTensorInfoF32(source, header, info, dst);
}

/** readTensorF32 for an already looked-up entry. */
export function readTensorInfoF32(source: ByteSource, header: SafetensorsHeader, info: TensorInfo, dst: Float32Array): void {
  const n = numel(info.shape);
  if (dst.length !== n) {
    fail('SAFETENSORS_DESTINATION_SIZE', `${header.fileName}: tensor ${quote(info.name)} has ${n} elements but the destination holds ${dst.length}`);
  }
  const at = header.dataStart + info.begin;
  if (info.end + header.dataStart > source.size) {
    fail('SAFETENSORS_OFFSET_OUT_OF_RANGE', `${header.fileName}: tensor ${quote(info.name)} ends at byte ${header.dataStart + info.end}, past the file end ${source.size}`);
  }
  if (n === 0) return;
  if (info.dtype === 'F32') {
    if (LITTLE_ENDIAN) {
      source.readInto(at, new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength));
      return;
    }
    forEachChunk(source, at, n * 4, (bytes, view, first) => {
      const start = first / 4;
      for (let k = 0; k < bytes.length / 4; k++) dst[start + k] = view.getFloat32(k * 4, true);
    });
    return;
  }
  // F16 / BF16: write bit patterns through a u32 view so NaN payloads survive.
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  const table = info.dtype === 'F16' ? f16ToF32Table() : undefined;
  forEachChunk(source, at, n * 2, (bytes, view, first) => {
    const start = first / 2;
    const count = bytes.length / 2;
    if (table) for (let k = 0; k < count; k++) out[start + k] = table[view.getUint16(k * 2, true)];
    else for (let k = 0; k < count; k++) out[start + k] = view.getUint16(k * 2, true) << 16;
  });
}

function forEachChunk(
  source: ByteSource,
  at: number,
  length: number,
  visit: (bytes: Uint8Array, view: DataView, firstByte: number) => void,
): void {
  const buf = new Uint8Array(Math.min(CHUNK_BYTES, length));
  const view = new DataView(buf.buffer);
  for (let done = 0; done < length; done += buf.length) {
    const bytes = length - done >= buf.length ? buf : buf.subarray(0, length - done);
    source.readInto(at + done, bytes);
    visit(bytes, view, done);
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

/** One tensor to write. F32 data as a Float32Array, or a function yielding its values in chunks
 *  (so a 100 MB tensor never needs to exist whole); other dtypes as raw little-endian bytes. */
export type TensorToWrite =
  | { name: string; dtype: 'F32'; shape: readonly number[]; data: Float32Array | (() => Iterable<Float32Array>) }
  | { name: string; dtype: string; shape: readonly number[]; bytes: Uint8Array };

function tensorBytes(t: TensorToWrite): number {
  const bits = DTYPE_BITS[t.dtype];
  if (bits === undefined || !Object.hasOwn(DTYPE_BITS, t.dtype)) fail('SAFETENSORS_UNKNOWN_DTYPE', `writing tensor ${quote(t.name)}: unknown dtype ${quote(t.dtype)}`);
  if (!t.shape.every(isNonNegativeInteger)) fail('SAFETENSORS_BAD_SHAPE', `writing tensor ${quote(t.name)}: shape ${formatShape(t.shape)} must be non-negative integers`);
  const bytes = (numel(t.shape) * bits) / 8;
  if (!Number.isSafeInteger(bytes)) fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `writing tensor ${quote(t.name)}: shape ${formatShape(t.shape)} of ${t.dtype} is not a whole number of bytes`);
  return bytes;
}

/**
 * Stream a safetensors file to `sink`, tensors in the given order. The header is built from the
 * shapes first; then each tensor's data is produced and handed over one chunk at a time.
 * Throws SafetensorsError if a tensor's data does not match its shape.
 */
export function writeSafetensors(
  sink: (chunk: Uint8Array) => void,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) fail('SAFETENSORS_BAD_ENTRY', `writing tensor ${quote(t.name)}: duplicate or reserved name`);
    seen.add(t.name);
    const bytes = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad the JSON with spaces (the format allows it) so the data starts 8-byte aligned.
  const jsonBytes = new TextEncoder().encode(JSON.stringify(header));
  if (jsonBytes.length > MAX_HEADER_BYTES) {
    fail('SAFETENSORS_HEADER_TOO_LARGE', `writing: the header would be ${jsonBytes.length} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`);
  }
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20);
  const headView = new DataView(head.buffer);
  headView.setUint32(0, padded % 2 ** 32, true);
  headView.setUint32(4, Math.floor(padded / 2 ** 32), true);
  head.set(jsonBytes, 8);
  sink(head);

  for (const t of tensors) {
    const expected = tensorBytes(t);
    let written = 0;
    const put = (bytes: Uint8Array): void => {
      written += bytes.length;
      if (written > expected) fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `writing tensor ${quote(t.name)}: data is longer than shape ${formatShape(t.shape)} (${expected} bytes)`);
      if (bytes.length > 0) sink(bytes);
    };
    if ('bytes' in t) put(t.bytes);
    else {
      const chunks = t.data instanceof Float32Array ? [t.data] : t.data();
      for (const c of chunks) put(f32LeBytes(c));
    }
    if (written !== expected) fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `writing tensor ${quote(t.name)}: data has ${written} bytes, shape ${formatShape(t.shape)} needs ${expected}`);
  }
}

/** The little-endian bytes of a Float32Array (a view on little-endian hosts, a copy otherwise). */
export function f32LeBytes(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  return out;
}

/** A whole safetensors file in memory (tests, small models). Use writeSafetensors for big ones. */
export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Chunks may be views of caller data that could change later: copy them now.
  writeSafetensors((c) => {
    chunks.push(c.slice());
    total += c.length;
  }, tensors, metadata);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
