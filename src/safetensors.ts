// Owns: the safetensors file format — parsing and validating the header, reading one tensor as
// f32 (widening F16/BF16), and a streaming writer. Format: u64 little-endian header length N,
// N bytes of UTF-8 JSON (`__metadata__`: string map; per tensor {dtype, shape, data_offsets}),
// then the data; offsets are relative to the data start.
// Does not own: which tensors a BERT needs or where they go in the heap (weights.ts), nor where the
// bytes come from (byte-source.ts, node/file-source.ts).
//
// Every malformed input is a SafetensorsError naming the file, the tensor and the offsets: the
// header is untrusted, so nothing in it is used before it has been checked against the file size.
import type { ByteSource } from './byte-source.js';
import { KmedError } from './errors.js';

export class SafetensorsError extends KmedError {}

/** A header larger than this is refused before it is read (real BERT headers are ~20 KB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Element size in bits of every dtype safetensors defines. Only F32, F16 and BF16 are read. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
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
  shape: number[];
  /** data_offsets[0], relative to `dataStart`. */
  begin: number;
  /** data_offsets[1], relative to `dataStart`. */
  end: number;
}

export interface SkippedTensor {
  name: string;
  dtype: string;
  shape: number[];
  note: string;
}

export interface SafetensorsHeader {
  /** The source's name, for messages. */
  fileName: string;
  /** Tensors that can be read as f32 (F32, F16, BF16), by name. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section (8 + N). */
  dataStart: number;
  /** Well-formed tensors of a dtype we do not read (e.g. I64 position_ids), in file order. */
  skipped: SkippedTensor[];
}

function fail(code: string, message: string, cause?: unknown): never {
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

/**
 * Read and validate the header of a safetensors file: lengths, JSON, every entry's fields, offsets
 * within the data, no two tensors overlapping, byte length = product(shape) × dtype size.
 * Gaps between tensors are allowed (harmless); overlaps are not.
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
  if (headerLength < 2) {
    fail('SAFETENSORS_HEADER_NOT_OBJECT', `${file}: header length ${headerLength} is too short for a JSON object`);
  }
  const headerBytes = new Uint8Array(headerLength);
  source.readInto(8, headerBytes);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch (error) {
    fail('SAFETENSORS_HEADER_NOT_UTF8', `${file}: header (bytes 8..${8 + headerLength}) is not valid UTF-8`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail('SAFETENSORS_HEADER_NOT_JSON', `${file}: header (bytes 8..${8 + headerLength}) is not valid JSON: ${(error as Error).message}`, error);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail('SAFETENSORS_HEADER_NOT_OBJECT', `${file}: header is JSON ${Array.isArray(json) ? 'array' : json === null ? 'null' : typeof json}, expected an object`);
  }

  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  const skipped: SkippedTensor[] = [];
  const spans: Array<{ name: string; begin: number; end: number }> = [];

  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        fail('SAFETENSORS_BAD_METADATA', `${file}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail('SAFETENSORS_BAD_METADATA', `${file}: __metadata__["${k}"] is ${typeof v}, expected a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      fail('SAFETENSORS_BAD_ENTRY', `${where}: entry must be an object with dtype, shape, data_offsets`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') fail('SAFETENSORS_BAD_ENTRY', `${where}: "dtype" is ${dtype === undefined ? 'missing' : typeof dtype}, expected a string`);
    if (!Array.isArray(shape)) fail('SAFETENSORS_BAD_ENTRY', `${where}: "shape" is ${shape === undefined ? 'missing' : typeof shape}, expected an array`);
    if (!Array.isArray(offsets)) fail('SAFETENSORS_BAD_ENTRY', `${where}: "data_offsets" is ${offsets === undefined ? 'missing' : typeof offsets}, expected [begin, end]`);
    const bits = DTYPE_BITS[dtype];
    if (bits === undefined || !Object.hasOwn(DTYPE_BITS, dtype)) {
      fail('SAFETENSORS_UNKNOWN_DTYPE', `${where}: unknown dtype "${dtype}"`);
    }
    if (!shape.every(isNonNegativeInteger)) {
      fail('SAFETENSORS_BAD_SHAPE', `${where}: shape ${JSON.stringify(shape)} must be non-negative integers`);
    }
    if (offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
      fail('SAFETENSORS_BAD_OFFSETS', `${where}: data_offsets ${JSON.stringify(offsets)} must be two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) {
      fail('SAFETENSORS_BAD_OFFSETS', `${where}: data_offsets [${begin}, ${end}] begin after end`);
    }
    if (end > dataSize) {
      fail('SAFETENSORS_OFFSET_OUT_OF_RANGE', `${where}: data_offsets [${begin}, ${end}] (file bytes ${dataStart + begin}..${dataStart + end}) run past the end of the data (${dataSize} bytes, file size ${source.size})`);
    }
    const count = numel(shape as number[]);
    const expected = (count * bits) / 8;
    if (end - begin !== expected) {
      fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${Number.isFinite(expected) ? expected : 'more than 2^53'}`);
    }
    spans.push({ name, begin, end });
    if (READABLE.has(dtype)) {
      tensors.set(name, { name, dtype: dtype as ReadableDtype, shape: shape as number[], begin, end });
    } else {
      skipped.push({ name, dtype, shape: shape as number[], note: `dtype ${dtype} is not read (only F32, F16, BF16); skipped` });
    }
  }

  // Overlap check: sort by begin (then end, so empty tensors sit before a tensor at the same begin).
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1];
    const cur = spans[i];
    if (cur.begin < prev.end) {
      fail('SAFETENSORS_OVERLAP', `${file}: tensor "${cur.name}" data_offsets [${cur.begin}, ${cur.end}] overlap tensor "${prev.name}" [${prev.begin}, ${prev.end}]`);
    }
  }
  return { fileName: file, tensors, metadata, dataStart, skipped };
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
    if (skipped) fail('SAFETENSORS_UNSUPPORTED_DTYPE', `${header.fileName}: tensor "${name}" has dtype ${skipped.dtype}, which cannot be read as f32 (only F32, F16, BF16)`);
    fail('SAFETENSORS_MISSING_TENSOR', `${header.fileName}: no tensor "${name}"`);
  }
  readTensorInfoF32(source, header, info, dst);
}

/** readTensorF32 for an already looked-up entry. */
export function readTensorInfoF32(source: ByteSource, header: SafetensorsHeader, info: TensorInfo, dst: Float32Array): void {
  const n = numel(info.shape);
  if (dst.length !== n) {
    fail('SAFETENSORS_DESTINATION_SIZE', `${header.fileName}: tensor "${info.name}" has ${n} elements but the destination holds ${dst.length}`);
  }
  const at = header.dataStart + info.begin;
  if (info.end + header.dataStart > source.size) {
    fail('SAFETENSORS_OFFSET_OUT_OF_RANGE', `${header.fileName}: tensor "${info.name}" ends at byte ${header.dataStart + info.end}, past the file end ${source.size}`);
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
  if (bits === undefined || !Object.hasOwn(DTYPE_BITS, t.dtype)) fail('SAFETENSORS_UNKNOWN_DTYPE', `writing tensor "${t.name}": unknown dtype "${t.dtype}"`);
  if (!t.shape.every(isNonNegativeInteger)) fail('SAFETENSORS_BAD_SHAPE', `writing tensor "${t.name}": shape ${JSON.stringify(t.shape)} must be non-negative integers`);
  const bytes = (numel(t.shape) * bits) / 8;
  if (!Number.isSafeInteger(bytes)) fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `writing tensor "${t.name}": shape ${JSON.stringify(t.shape)} of ${t.dtype} is not a whole number of bytes`);
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
    if (t.name === '__metadata__' || seen.has(t.name)) fail('SAFETENSORS_BAD_ENTRY', `writing tensor "${t.name}": duplicate or reserved name`);
    seen.add(t.name);
    const bytes = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad the JSON with spaces (the format allows it) so the data starts 8-byte aligned.
  const jsonBytes = new TextEncoder().encode(JSON.stringify(header));
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
      if (written > expected) fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `writing tensor "${t.name}": data is longer than shape ${JSON.stringify(t.shape)} (${expected} bytes)`);
      if (bytes.length > 0) sink(bytes);
    };
    if ('bytes' in t) put(t.bytes);
    else {
      const chunks = t.data instanceof Float32Array ? [t.data] : t.data();
      for (const c of chunks) put(f32LeBytes(c));
    }
    if (written !== expected) fail('SAFETENSORS_BYTE_LENGTH_MISMATCH', `writing tensor "${t.name}": data has ${written} bytes, shape ${JSON.stringify(t.shape)} needs ${expected}`);
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
