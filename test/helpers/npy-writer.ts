// Writes .npy files for tests and benches (float32 or float16, C order, format 1.0 as numpy.save
// writes them: the header padded with spaces to a multiple of 64 bytes and ended by '\n'). Not part
// of the library, which only reads .npy (src/formats/npy.ts); test/fixtures/npy/ holds files written
// by numpy itself to check the reader against.
import { writeFileSync } from 'node:fs';
import { f32BitsToF16Bits } from '../../src/kernels/reference-lowp.js';

export function npyHeader(descr: '<f4' | '<f2', shape: number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), 10);
  return out;
}

/** `rows` × `cols` values as a .npy file's bytes (float16: rounded to nearest even). */
export function npyBytes(values: Float32Array, rows: number, cols: number, dtype: 'float32' | 'float16' = 'float32'): Uint8Array {
  const header = npyHeader(dtype === 'float32' ? '<f4' : '<f2', [rows, cols]);
  let data: Uint8Array;
  if (dtype === 'float32') data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  else {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    data = new Uint8Array(Uint16Array.from(bits, (b) => f32BitsToF16Bits(b)).buffer);
  }
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

export function writeNpy(path: string, values: Float32Array, rows: number, cols: number, dtype: 'float32' | 'float16' = 'float32'): void {
  writeFileSync(path, npyBytes(values, rows, cols, dtype));
}
