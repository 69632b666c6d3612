// The strict .npy reader (src/formats/npy.ts) against files numpy 2.4 wrote (test/fixtures/npy/:
// float32 and float16 in format versions 1.0, 2.0 and 3.0, and the ones kmed must refuse: Fortran
// order, big-endian, float64, 3-D, a NaN) and against damaged headers: every refusal a typed
// NpyError naming the file (and the row and column of a bad value).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byte-source.js';
import { NpyError, NpyMatrix } from '../src/formats/npy.js';
import { npyBytes, npyHeader } from './helpers/npy-writer.js';

const open = (file: string, allowVector = false) => NpyMatrix.open(bytesSource(new Uint8Array(readFileSync(`test/fixtures/npy/${file}`)), file), { allowVector });
/** What numpy saved: (arange(12).reshape(3, 4) - 5.5) / 4 — exact in float16 too. */
const VALUES = Array.from({ length: 12 }, (_, i) => (i - 5.5) / 4);

function expectNpyError(fn: () => unknown, code: string, mention: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NpyError);
    expect((error as NpyError).code).toBe(code);
    expect((error as Error).message).toMatch(mention);
    return;
  }
  throw new Error(`expected NpyError ${code}`);
}

describe('.npy reader', () => {
  it('reads numpy float32 and float16 files, format versions 1.0, 2.0 and 3.0, and a 1-D vector', () => {
    for (const file of ['f32.npy', 'f16.npy', 'f32-v2.npy', 'f32-v3.npy']) {
      const m = open(file);
      expect([m.rows, m.cols, m.dtype], file).toEqual([3, 4, file === 'f16.npy' ? 'float16' : 'float32']);
      const all = new Float32Array(12);
      m.readRows(all, 0, 3);
      expect(Array.from(all), file).toEqual(VALUES);
      const one = new Float32Array(4);
      m.readRows(one, 2, 1);
      expect(Array.from(one)).toEqual(VALUES.slice(8));
    }
    const v = open('f32-1d.npy', true);
    expect([v.rows, v.cols]).toEqual([1, 4]);
    expectNpyError(() => open('f32-1d.npy'), 'NPY_BAD_SHAPE', /f32-1d\.npy: shape \(4\) is not 2-D/);
  });

  it('refuses Fortran order, big-endian, float64, 3-D and non-finite values, naming the file (and row, column)', () => {
    expectNpyError(() => open('f32-fortran.npy'), 'NPY_FORTRAN_ORDER', /f32-fortran\.npy: fortran_order is true.*C order/);
    expectNpyError(() => open('f32-bigendian.npy'), 'NPY_UNSUPPORTED_DTYPE', /'>f4' .*big-endian/);
    expectNpyError(() => open('f64.npy'), 'NPY_UNSUPPORTED_DTYPE', /'<f8' is not little-endian float32/);
    expectNpyError(() => open('f32-3d.npy'), 'NPY_BAD_SHAPE', /shape \(3, 2, 2\)/);
    const nan = open('f32-nan.npy');
    expectNpyError(() => nan.readRows(new Float32Array(12), 0, 3), 'NPY_NOT_FINITE', /f32-nan\.npy: row 2 .*non-finite value \(NaN\) at column 1 \(byte \d+\)/);
    const ok = new Float32Array(8);
    nan.readRows(ok, 0, 2); // rows before the bad one read fine
    const inf16 = npyBytes(new Float32Array([1, 2, 70000, 4]), 2, 2, 'float16'); // 70000 overflows f16
    expectNpyError(() => NpyMatrix.open(bytesSource(inf16, 'inf.npy')).readRows(new Float32Array(4), 0, 2), 'NPY_NOT_FINITE', /row 1 .*Infinity.*column 0/);
  });

  it('refuses damaged files: magic, version, header syntax, unknown or missing keys, truncated or long data', () => {
    const good = npyBytes(new Float32Array(VALUES), 3, 4);
    const bad = (edit: (b: Uint8Array) => Uint8Array) => () => NpyMatrix.open(bytesSource(edit(good.slice()), 'bad.npy'));
    expectNpyError(bad((b) => (b[0] = 0x92, b)), 'NPY_BAD_MAGIC', /bad\.npy: not a \.npy file/);
    expectNpyError(bad((b) => (b[6] = 4, b)), 'NPY_BAD_HEADER', /version 4\.0/);
    expectNpyError(bad((b) => b.subarray(0, b.length - 4)), 'NPY_SIZE_MISMATCH', /needs 48 bytes .*has 44 \(truncated\?\)/);
    expectNpyError(bad((b) => new Uint8Array([...b, 0, 0, 0, 0])), 'NPY_SIZE_MISMATCH', /has 52/);
    expectNpyError(() => NpyMatrix.open(bytesSource(new Uint8Array(5), 'tiny.npy')), 'NPY_BAD_MAGIC', /too short/);
    const withHeader = (dict: string) => {
      const h = npyHeader('<f4', [3, 4]);
      const text = dict.padEnd(h.length - 11, ' ') + '\n';
      const out = new Uint8Array(h.length + 48);
      out.set(h.subarray(0, 10));
      out.set(new TextEncoder().encode(text), 10);
      return () => NpyMatrix.open(bytesSource(out, 'h.npy'));
    };
    expectNpyError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'extra': 1, }"), 'NPY_BAD_HEADER', /unknown key 'extra'/);
    expectNpyError(withHeader("{'descr': '<f4', 'shape': (3, 4), }"), 'NPY_BAD_HEADER', /'fortran_order' is missing/);
    expectNpyError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'shape': (3, 4)}"), 'NPY_BAD_HEADER', /appears twice/);
    expectNpyError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4), }"), 'NPY_BAD_HEADER', /expected a dimension/);
    expectNpyError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } x"), 'NPY_BAD_HEADER', /text after the dict/);
    expectNpyError(withHeader("['descr', '<f4']"), 'NPY_BAD_HEADER', /expected '\{'/);
  });
});
