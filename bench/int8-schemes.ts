// Owns: the comparison of int8 quantization schemes per Linear role on the golden texts, before any
// kernel is written: each scheme is simulated on the f32 forward pass (weights quantized then
// dequantized per output channel as they are read; each Linear's input rows quantized then
// dequantized per row just before the f32 Linear), and the minimum pooler cosine against f32 over
// every golden text (tiny models and the synthetic full-size one) is printed per scheme. The integer
// kernels compute the same products exactly, so the simulation differs from them only by f32
// summation order (far below the quantization error). Does not own: the kernels (assembly/quant.ts)
// or the enforced bar (test/int8.test.ts).
//
//   npx tsx bench/int8-schemes.ts
import { readFileSync } from 'node:fs';
import { bertForward } from '../src/model/bert.js';
import type { BertParams } from '../src/model/bert-params.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig, type BertConfig } from '../src/model/config.js';
import { createBackend, type KernelBackend } from '../src/kernels/index.js';
import { syntheticTensorSource } from '../src/model/synthetic.js';
import { loadBertParamsFromTensors, safetensorsTensorSource } from '../src/model/weights.js';
import type { TensorSource } from '../src/formats/tensor-source.js';
import { cosine } from '../src/search/similarity.js';

/** Linear roles: Q, K, V, attention output, intermediate, FFN-out, pooler. */
type Role = 'q' | 'k' | 'v' | 'ao' | 'i' | 'o' | 'p';
const ROLES: Role[] = ['q', 'k', 'v', 'ao', 'i', 'o', 'p'];

/** Weight format: symmetric per output channel with 127 (w8) or 63 (w7) levels each side, or w7
 *  with one scale per group of 32 inputs of a channel (w7g32). */
type WeightFormat = 'w8' | 'w7' | 'w7g32';
/** Row format: symmetric 12-bit (2047 levels), symmetric int8 (127), asymmetric 7-bit ([0, 127]
 *  over [min(x, 0), max(x, 0)] with a zero point), or none. */
type RowFormat = 'i12' | 's8' | 'u7';
type Scheme = Record<Role, [WeightFormat, RowFormat]>;

function roleOf(name: string): Role | undefined {
  if (!name.endsWith('.weight')) return undefined;
  if (name.includes('attention.self.query')) return 'q';
  if (name.includes('attention.self.key')) return 'k';
  if (name.includes('attention.self.value')) return 'v';
  if (name.includes('attention.output.dense')) return 'ao';
  if (name.includes('intermediate.dense')) return 'i';
  if (name.includes('output.dense')) return 'o';
  if (name.includes('pooler.dense')) return 'p';
  return undefined;
}

const f = Math.fround;
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Quantize then dequantize row [at, at + n) of a in place, symmetric with `levels` each side. */
function fakeSym(a: Float32Array, at: number, n: number, levels: number): void {
  let m = 0;
  for (let k = 0; k < n; k++) m = Math.max(m, Math.abs(a[at + k]));
  if (!(m >= 1e-30)) return;
  const inv = f(levels / m);
  const scale = f(m / levels);
  for (let k = 0; k < n; k++) a[at + k] = Math.max(-levels, Math.min(levels, roundHalfEven(f(a[at + k] * inv)))) * scale;
}

/** The same, asymmetric on [0, 127] over [min(x, 0), max(x, 0)] (assembly/quant.ts's 7-bit rows). */
function fakeU7(a: Float32Array, at: number, n: number): void {
  let lo = 0, hi = 0;
  for (let k = 0; k < n; k++) {
    lo = Math.min(lo, a[at + k]);
    hi = Math.max(hi, a[at + k]);
  }
  const range = f(hi - lo);
  if (!(range >= 1e-30)) return;
  const inv = f(127 / range);
  const scale = f(range / 127);
  const zp = Math.min(127, Math.max(0, roundHalfEven(f(-lo * inv))));
  for (let k = 0; k < n; k++) a[at + k] = (Math.min(127, Math.max(0, roundHalfEven(f(a[at + k] * inv)) + zp)) - zp) * scale;
}

function fakeRows(a: Float32Array, rows: number, IN: number, fmt: RowFormat): void {
  for (let r = 0; r < rows; r++) {
    if (fmt === 'u7') fakeU7(a, r * IN, IN);
    else fakeSym(a, r * IN, IN, fmt === 'i12' ? 2047 : 127);
  }
}

/** `src` with every Linear weight quantized per output channel (row of the [OUT, IN] tensor). */
function quantizedSource(src: TensorSource, shapes: Map<string, readonly number[]>, scheme: Scheme): TensorSource {
  const fix = (name: string, dst: Float32Array) => {
    const role = roleOf(name);
    const shape = shapes.get(name);
    if (!role || !shape || shape.length !== 2) return;
    const IN = shape[1];
    const w = scheme[role][0];
    const group = w === 'w7g32' ? 32 : IN;
    for (let r = 0; r < dst.length / IN; r++) {
      for (let g = 0; g < IN; g += group) fakeSym(dst, r * IN + g, Math.min(group, IN - g), w === 'w8' ? 127 : 63);
    }
  };
  return {
    name: src.name,
    names: () => src.names(),
    info: (n: string) => src.info(n),
    read(name: string, dst: Float32Array) {
      src.read(name, dst);
      fix(name, dst);
    },
    readRange: src.readRange && ((name: string, start: number, dst: Float32Array) => {
      src.readRange!(name, start, dst);
      fix(name, dst);
    }),
  } as TensorSource;
}

/** `be` with each Linear's input rows quantized per row by its role's row format. */
function quantizingBackend(be: KernelBackend, roles: Map<number, Role>, scheme: Scheme, scratch: number): KernelBackend {
  return new Proxy(be, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop !== 'linear') return typeof v === 'function' ? v.bind(target) : v;
      return (out: number, x: number, w: number, bias: number, T: number, IN: number, OUT: number) => {
        const role = roles.get(w);
        if (!role) throw new Error(`no role for weight at ${w}`);
        const rows = target.f32(scratch, T * IN);
        rows.set(target.f32(x, T * IN));
        fakeRows(rows, T, IN, scheme[role][1]);
        target.linear(out, scratch, w, bias, T, IN, OUT);
      };
    },
  });
}

function rolesOf(p: BertParams): Map<number, Role> {
  const m = new Map<number, Role>();
  for (const l of p.layers) {
    m.set(l.query.weight, 'q').set(l.key.weight, 'k').set(l.value.weight, 'v');
    m.set(l.attentionOutput.weight, 'ao').set(l.intermediate.weight, 'i').set(l.output.weight, 'o');
  }
  m.set(p.pooler.weight, 'p');
  return m;
}


interface Model {
  label: string;
  config: BertConfig;
  source: () => TensorSource;
  seqs: number[][];
  /** f32 poolers to compare with (ours for the tiny models, PyTorch's for the synthetic one). */
  f32: ArrayLike<number>[];
}

async function poolers(config: BertConfig, source: TensorSource, seqs: number[][], scheme?: Scheme): Promise<Float32Array[]> {
  const be = await createBackend('wasm', { simd: 'baseline' });
  const shapes = new Map(source.names().map((n) => [n, source.info(n)!.shape] as const));
  const params = scheme ? loadBertParamsFromTensors(quantizedSource(source, shapes, scheme), config, be, {}) : loadBertParamsFromTensors(source, config, be, {});
  const maxT = Math.max(...seqs.map((s) => s.length));
  const scratch = be.alloc(maxT * config.intermediate_size * 4);
  const run = scheme ? quantizingBackend(be, rolesOf(params), scheme, scratch) : be;
  const out = seqs.map((ids) => bertForward(run, params, config, { B: 1, T: ids.length, inputIds: Int32Array.from(ids), tokenTypeIds: new Int32Array(ids.length), lengths: [ids.length] }).poolerOutput.slice());
  be.dispose();
  return out;
}

async function models(): Promise<Model[]> {
  const out: Model[] = [];
  const tiny = JSON.parse(readFileSync('test/fixtures/tiny-golden.json', 'utf8')) as { models: Record<string, { ids: number[] }[]> };
  for (const model of ['tiny-question', 'tiny-context', 'tiny-odd-f16']) {
    const dir = `test/fixtures/${model}`;
    const config = parseBertConfig(readFileSync(`${dir}/config.json`, 'utf8'), 'config.json');
    const bytes = readFileSync(`${dir}/model.safetensors`);
    const source = () => safetensorsTensorSource(bytesSource(bytes, model));
    const seqs = tiny.models[model].map((m) => m.ids);
    out.push({ label: model, config, source, seqs, f32: await poolers(config, source(), seqs) });
  }
  const golden = JSON.parse(readFileSync('test/fixtures/synthetic-base-golden.json', 'utf8')) as { outputs: Record<string, { ids: number[]; pooler_f32: number[] }[]> };
  const config = parseBertConfig(readFileSync('test/fixtures/synthetic-base-config.json', 'utf8'), 'synthetic-base-config.json');
  for (const seed of ['question', 'context'] as const) {
    const items = golden.outputs[seed];
    out.push({ label: `synthetic ${seed}`, config, source: () => syntheticTensorSource(seed, config), seqs: items.map((it) => it.ids), f32: items.map((it) => it.pooler_f32) });
  }
  return out;
}

/** A scheme from a compact spec: default [w, x] for every role, then per-role overrides. */
function scheme(dflt: [WeightFormat, RowFormat], over: Partial<Scheme> = {}): Scheme {
  return Object.fromEntries(ROLES.map((r) => [r, over[r] ?? dflt])) as Scheme;
}
const W7S8: [WeightFormat, RowFormat] = ['w7', 's8'];
const W8U7: [WeightFormat, RowFormat] = ['w8', 'u7'];
const W8I12: [WeightFormat, RowFormat] = ['w8', 'i12'];
const W8S8: [WeightFormat, RowFormat] = ['w8', 's8'];

const SCHEMES: [string, Scheme][] = [
  ['w8 × i12 everywhere (16-bit path, baseline build)', scheme(W8I12)],
  ['w8 × u7 on FFN-out, w8 × i12 elsewhere', scheme(W8I12, { o: W8U7 })],
  ['w7 × s8 everywhere', scheme(W7S8)],
  ['w8 × u7 everywhere', scheme(W8U7)],
  ['w8 × s8 everywhere (not one relaxed dot)', scheme(W8S8)],
  ['w7 × s8 on Q, K, V, pooler; w8 × u7 on FFN-out; w8 × i12 elsewhere', scheme(W8I12, { q: W7S8, k: W7S8, v: W7S8, p: W7S8, o: W8U7 })],
  ['w7 × s8 on Q, K, V, pooler; w8 × i12 elsewhere', scheme(W8I12, { q: W7S8, k: W7S8, v: W7S8, p: W7S8 })],
  ['w7 × s8 on Q, K, V, intermediate, pooler; w8 × i12 elsewhere', scheme(W8I12, { q: W7S8, k: W7S8, v: W7S8, i: W7S8, p: W7S8 })],
  ['w7 × s8 on FFN-out; w8 × i12 elsewhere', scheme(W8I12, { o: W7S8 })],
  ['w8 × u7 on FFN-out and intermediate; w8 × i12 elsewhere', scheme(W8I12, { o: W8U7, i: W8U7 })],
  ['w7 (one scale per 32 inputs) × s8 everywhere', scheme(['w7g32', 's8'])],
];

const only = process.argv.slice(2).map(Number);
const ms = await models();
console.log('| scheme | ' + ms.map((m) => `${m.label} min cos`).join(' | ') + ' | min |');
console.log('|---|' + ms.map(() => '---:').join('|') + '|---:|');
for (const [i, [label, s]] of SCHEMES.entries()) {
  if (only.length && !only.includes(i)) continue;
  const mins: number[] = [];
  for (const m of ms) {
    const ours = await poolers(m.config, m.source(), m.seqs, s);
    mins.push(Math.min(...ours.map((p, j) => cosine(p, m.f32[j]))));
  }
  console.log(`| ${label} | ${mins.map((c) => c.toFixed(6)).join(' | ')} | ${Math.min(...mins).toFixed(6)} |`);
}
