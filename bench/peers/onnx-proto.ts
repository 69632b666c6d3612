// Owns: just enough of the ONNX protobuf format (onnx.proto3) to check a torch-exported graph before a
// benchmark trusts it: the graph's inputs and outputs (name, element type, shape) and every
// initializer's name, dims, data type and where its bytes live (inline or external file + offset +
// length). Bench-only code.
// Does not own: running the graph (onnxruntime does), writing weights (onnx-model.ts), or any field
// not listed above — unknown fields are skipped by wire type, so newer exporters still parse.

/** onnx.TensorProto.DataType values this bench meets. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of the tensor (0 when the exporter left it out). */
  elemType: number;
  /** Each dimension: a number (dim_value) or a symbolic name (dim_param, e.g. 'batch_size'). */
  shape: Array<number | string>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
  /** Bytes stored in the model file itself (raw_data or float_data), else null. */
  raw: Uint8Array | null;
  /** Present when data_location = EXTERNAL: the file ('location') and the byte range in it. */
  external: { location: string; offset: number; length: number } | null;
}

export interface OnnxGraphSummary {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializer[];
  opsetVersion: number;
}

/** A malformed model file: the bench stops with a message naming the byte offset. */
export class OnnxProtoError extends Error {
  override name = 'OnnxProtoError';
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

interface Field {
  field: number;
  wire: number;
  /** Varint / fixed values (as a JS number: every value this reader keeps fits 2^53). */
  value: number;
  /** Length-delimited payload. */
  bytes: Uint8Array;
  /** Offset of the payload in the top-level buffer, for error messages. */
  at: number;
}

/** Iterate the fields of one message occupying `buf` (which starts at `base` in the whole file). */
function* fields(buf: Uint8Array, base: number, what: string): Generator<Field> {
  let p = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= buf.length) throw new OnnxProtoError(`${what}: varint runs past the end at byte ${base + p}`);
      const b = buf[p++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new OnnxProtoError(`${what}: varint longer than 10 bytes at byte ${base + p}`);
  };
  const empty = new Uint8Array(0);
  while (p < buf.length) {
    const start = p;
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    switch (wire) {
      case WIRE_VARINT:
        yield { field, wire, value: varint(), bytes: empty, at: base + start };
        break;
      case WIRE_I64: {
        if (p + 8 > buf.length) throw new OnnxProtoError(`${what}: fixed64 past the end at byte ${base + p}`);
        const dv = new DataView(buf.buffer, buf.byteOffset + p, 8);
        p += 8;
        yield { field, wire, value: Number(dv.getBigInt64(0, true)), bytes: empty, at: base + start };
        break;
      }
      case WIRE_LEN: {
        const len = varint();
        if (p + len > buf.length) {
          throw new OnnxProtoError(`${what}: field ${field} of ${len} bytes at byte ${base + p} runs past the end`);
        }
        const at = base + p;
        yield { field, wire, value: len, bytes: buf.subarray(p, p + len), at };
        p += len;
        break;
      }
      case WIRE_I32: {
        if (p + 4 > buf.length) throw new OnnxProtoError(`${what}: fixed32 past the end at byte ${base + p}`);
        const dv = new DataView(buf.buffer, buf.byteOffset + p, 4);
        p += 4;
        yield { field, wire, value: dv.getInt32(0, true), bytes: empty, at: base + start };
        break;
      }
      default:
        throw new OnnxProtoError(`${what}: unsupported wire type ${wire} at byte ${base + start}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Repeated int64 may come packed (one LEN field) or as one varint per element. */
function pushInts(out: number[], f: Field, what: string): void {
  if (f.wire === WIRE_VARINT) {
    out.push(f.value);
    return;
  }
  let p = 0;
  const b = f.bytes;
  while (p < b.length) {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (p >= b.length) throw new OnnxProtoError(`${what}: packed varint past the end at byte ${f.at + p}`);
      const x = b[p++];
      v += (x & 0x7f) * scale;
      if ((x & 0x80) === 0) break;
      scale *= 128;
    }
    out.push(v);
  }
}

function parseValueInfo(buf: Uint8Array, base: number): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, shape: [] };
  for (const f of fields(buf, base, 'ValueInfoProto')) {
    if (f.field === 1 && f.wire === WIRE_LEN) info.name = utf8.decode(f.bytes);
    if (f.field !== 2 || f.wire !== WIRE_LEN) continue; // TypeProto
    for (const t of fields(f.bytes, f.at, 'TypeProto')) {
      if (t.field !== 1 || t.wire !== WIRE_LEN) continue; // tensor_type
      for (const tt of fields(t.bytes, t.at, 'TypeProto.Tensor')) {
        if (tt.field === 1 && tt.wire === WIRE_VARINT) info.elemType = tt.value;
        if (tt.field !== 2 || tt.wire !== WIRE_LEN) continue; // TensorShapeProto
        for (const d of fields(tt.bytes, tt.at, 'TensorShapeProto')) {
          if (d.field !== 1 || d.wire !== WIRE_LEN) continue;
          let dim: number | string = '?';
          for (const dd of fields(d.bytes, d.at, 'Dimension')) {
            if (dd.field === 1 && dd.wire === WIRE_VARINT) dim = dd.value;
            if (dd.field === 2 && dd.wire === WIRE_LEN) dim = utf8.decode(dd.bytes);
          }
          info.shape.push(dim);
        }
      }
    }
  }
  return info;
}

function parseTensor(buf: Uint8Array, base: number): OnnxInitializer {
  const t: OnnxInitializer = { name: '', dims: [], dataType: 0, raw: null, external: null };
  const ext: Record<string, string> = {};
  let dataLocation = 0;
  const floats: number[] = [];
  for (const f of fields(buf, base, 'TensorProto')) {
    switch (f.field) {
      case 1: pushInts(t.dims, f, 'TensorProto.dims'); break;
      case 2: t.dataType = f.value; break;
      case 4: // float_data: packed fixed32 (or one I32 field per element)
        if (f.wire === WIRE_I32) {
          const dv = new DataView(new ArrayBuffer(4));
          dv.setInt32(0, f.value, true);
          floats.push(dv.getFloat32(0, true));
        } else {
          const dv = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
          for (let i = 0; i + 4 <= f.bytes.byteLength; i += 4) floats.push(dv.getFloat32(i, true));
        }
        break;
      case 8: t.name = utf8.decode(f.bytes); break;
      case 9: t.raw = f.bytes; break;
      case 13: { // StringStringEntryProto external_data
        let key = '';
        let value = '';
        for (const e of fields(f.bytes, f.at, 'StringStringEntryProto')) {
          if (e.field === 1) key = utf8.decode(e.bytes);
          if (e.field === 2) value = utf8.decode(e.bytes);
        }
        ext[key] = value;
        break;
      }
      case 14: dataLocation = f.value; break;
      default: break;
    }
  }
  if (t.raw === null && floats.length > 0) t.raw = new Uint8Array(new Float32Array(floats).buffer);
  if (dataLocation === 1) {
    const offset = Number(ext.offset ?? '0');
    const length = Number(ext.length ?? 'NaN');
    if (!ext.location || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
      throw new OnnxProtoError(`initializer '${t.name}' at byte ${base}: external_data needs location, offset and length`);
    }
    t.external = { location: ext.location, offset, length };
  }
  return t;
}

/** Summarise a ModelProto: graph inputs, outputs, initializers and the default-domain opset. */
export function parseOnnxModel(bytes: Uint8Array): OnnxGraphSummary {
  const out: OnnxGraphSummary = { inputs: [], outputs: [], initializers: [], opsetVersion: 0 };
  let sawGraph = false;
  for (const f of fields(bytes, 0, 'ModelProto')) {
    if (f.field === 8 && f.wire === WIRE_LEN) { // OperatorSetIdProto
      let domain = '';
      let version = 0;
      for (const o of fields(f.bytes, f.at, 'OperatorSetIdProto')) {
        if (o.field === 1) domain = utf8.decode(o.bytes);
        if (o.field === 2) version = o.value;
      }
      if (domain === '' || domain === 'ai.onnx') out.opsetVersion = version;
    }
    if (f.field !== 7 || f.wire !== WIRE_LEN) continue; // GraphProto
    sawGraph = true;
    for (const g of fields(f.bytes, f.at, 'GraphProto')) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === 5) out.initializers.push(parseTensor(g.bytes, g.at));
      if (g.field === 11) out.inputs.push(parseValueInfo(g.bytes, g.at));
      if (g.field === 12) out.outputs.push(parseValueInfo(g.bytes, g.at));
    }
  }
  if (!sawGraph) throw new OnnxProtoError('ModelProto has no graph (field 7): not an ONNX model?');
  // Graph inputs may list initializers too (old exporters); keep the real feeds only.
  const inits = new Set(out.initializers.map((i) => i.name));
  out.inputs = out.inputs.filter((i) => !inits.has(i.name));
  return out;
}
