// A seeded mutation fuzzer for the whole weights path: a small BERT checkpoint (F32, F16 and BF16
// tensors, an I64 position_ids, a cls.* head, metadata) is mutated 520 ways per run — bit flips,
// byte changes in the header and in the data, truncations, appended bytes, header-length changes,
// JSON edits (shapes, offsets, dtypes, names, duplicates, number forms) and float edits (NaN, ±Inf,
// huge values) — and each mutant is loaded into an Encoder (wasm kernels, f32/f16/int8, word
// embeddings in the heap or read from the file) and embedded. Each must either be refused with a
// typed KmedError, or load and give finite embeddings: never a trap, a hang, an untyped throw or a
// NaN. Counts by outcome and code are printed. KMED_FUZZ_SEED=n reruns another seed.
import { afterAll, describe, expect, it } from 'vitest';
import { bertTensorSpecs } from '../src/model/bert-tensors.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { parseBertConfig } from '../src/model/config.js';
import { Encoder } from '../src/encoder.js';
import { createBackend } from '../src/kernels/index.js';
import { BertTokenizer } from '../src/tokenizer/tokenizer.js';
import { loadBertParams, type LoadOptions } from '../src/model/weights.js';
import { KmedError } from '../src/errors/errors.js';
import { f32BitsToF16Bits } from '../src/kernels/reference-lowp.js';
import { serializeSafetensors, type TensorToWrite } from '../src/formats/safetensors.js';
import { readFileSync } from 'node:fs';

const SEED = Number(process.env.KMED_FUZZ_SEED ?? 20261130);
const MUTANTS = 520;
/** No mutant may make the loader grow the kernel heap past this many times what the unmutated
 *  model needs (a claimed shape or offset must never size an allocation the file cannot back).
 *  Counted in bytes, not timed: a hang is the test timeout's business. */
const MAX_HEAP_GROWTH = 4;

const config = {
  model_type: 'bert', hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 24,
  vocab_size: 48, max_position_embeddings: 16, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0, hidden_act: 'gelu',
};
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'abcdefghijklmnopqrstuvwxyz'.split(''), ...'0123456789'.split('')].join('\n');

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    // xorshift32: enough for picking mutations, and the same on every platform.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** The base checkpoint: every BertModel tensor (mixed dtypes, `bert.` names), plus extras. */
function baseModel(): Uint8Array {
  const r = rng(7);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const tensors: TensorToWrite[] = [{ name: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 16], bytes: new Uint8Array(128) }];
  bertTensorSpecs(config).forEach((spec, i) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, () => (spec.kind === 'layernorm' && spec.name.endsWith('weight') ? 1 : 0) + (r(2001) - 1000) / 4000);
    const name = `bert.${spec.name}`;
    if (i % 3 === 0) {
      tensors.push({ name, dtype: 'F32', shape: spec.shape, data: values });
      return;
    }
    const half = new Uint16Array(n);
    for (let k = 0; k < n; k++) {
      f32[0] = values[k];
      half[k] = i % 3 === 1 ? f32BitsToF16Bits(bits[0]) : bits[0] >>> 16;
    }
    tensors.push({ name, dtype: i % 3 === 1 ? 'F16' : 'BF16', shape: spec.shape, bytes: new Uint8Array(half.buffer) });
  });
  tensors.push({ name: 'cls.predictions.bias', dtype: 'F32', shape: [48], data: new Float32Array(48) });
  return serializeSafetensors(tensors, { format: 'pt' });
}

type Mutation = (f: Uint8Array, r: (n: number) => number) => Uint8Array;

const headerLength = (f: Uint8Array): number => Number(new DataView(f.buffer, f.byteOffset).getBigUint64(0, true));
const withLength = (f: Uint8Array, n: bigint): Uint8Array => {
  const out = f.slice();
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
};
/** Rebuild the file with header text `json` (length field right) and the old data section. */
const withHeader = (f: Uint8Array, json: string): Uint8Array => {
  const head = new TextEncoder().encode(json);
  const data = f.subarray(8 + headerLength(f));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
};
const headerJson = (f: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> =>
  JSON.parse(new TextDecoder().decode(f.subarray(8, 8 + headerLength(f))));
const pickTensor = (h: Record<string, unknown>, r: (n: number) => number): string => {
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  return names[r(names.length)];
};

const MUTATIONS: Record<string, Mutation> = {
  'bit flip': (f, r) => {
    const out = f.slice();
    const at = r(out.length);
    out[at] ^= 1 << r(8);
    return out;
  },
  'header byte': (f, r) => {
    const out = f.slice();
    out[8 + r(headerLength(f))] = r(256);
    return out;
  },
  'data byte': (f, r) => {
    const out = f.slice();
    const start = 8 + headerLength(f);
    out[start + r(out.length - start)] = r(256);
    return out;
  },
  truncation: (f, r) => f.slice(0, r(f.length)),
  'appended bytes': (f, r) => {
    const out = new Uint8Array(f.length + 1 + r(64));
    out.set(f);
    return out;
  },
  'header length': (f, r) => {
    const n = BigInt(headerLength(f));
    const deltas = [-1n, 1n, -8n, 8n, -n, BigInt(f.length), 100_000_001n, (1n << 64n) - 1n, BigInt(r(1 << 30))];
    const v = n + deltas[r(deltas.length)];
    return withLength(f, v < 0n ? 0n : v & ((1n << 64n) - 1n));
  },
  'json: shape': (f, r) => {
    const h = headerJson(f);
    const t = pickTensor(h, r);
    const shape = h[t].shape;
    const text = JSON.stringify(h);
    const edits = [
      () => JSON.stringify({ ...h, [t]: { ...h[t], shape: shape.length ? shape.map((d, i) => (i === 0 ? d + 1 : d)) : [2] } }),
      () => JSON.stringify({ ...h, [t]: { ...h[t], shape: [...shape].reverse() } }),
      () => JSON.stringify({ ...h, [t]: { ...h[t], shape: [...shape, 1] } }),
      () => JSON.stringify({ ...h, [t]: { ...h[t], shape: [0, ...shape] } }),
      () => text.replace(`"${t}":{"dtype":"${h[t].dtype}","shape":[${shape.join(',')}]`, `"${t}":{"dtype":"${h[t].dtype}","shape":[${shape.map((d) => `${d}.0`).join(',')}]`),
      () => JSON.stringify({ ...h, [t]: { ...h[t], shape: [-1] } }),
      () => JSON.stringify({ ...h, [t]: { ...h[t], shape: [1e30] } }),
    ];
    return withHeader(f, edits[r(edits.length)]());
  },
  'json: offsets': (f, r) => {
    const h = headerJson(f);
    const t = pickTensor(h, r);
    const [b, e] = h[t].data_offsets;
    const choices: Array<[number, number]> = [[b + 1, e + 1], [b, e - 2], [b - 2, e - 2], [e, b], [0, e - b], [b, e + 4]];
    return withHeader(f, JSON.stringify({ ...h, [t]: { ...h[t], data_offsets: choices[r(choices.length)] } }));
  },
  'json: dtype': (f, r) => {
    const h = headerJson(f);
    const t = pickTensor(h, r);
    const dtypes = ['F32', 'F16', 'BF16', 'I64', 'I8', 'F64', 'F8_E4M3FNUZ', 'F4', 'F33', 'f32', ''];
    return withHeader(f, JSON.stringify({ ...h, [t]: { ...h[t], dtype: dtypes[r(dtypes.length)] } }));
  },
  'json: names': (f, r) => {
    const h = headerJson(f);
    const t = pickTensor(h, r);
    const text = JSON.stringify(h);
    const edits = [
      () => text.replace(`"${t}"`, `"${t}x"`),
      () => text.replace(`"${t}"`, `"${t.replace(/^bert\./, '')}"`),
      () => text.replace(/encoder\.layer\.1\./, 'encoder.layer.2.'),
      () => text.replace(`"${t}":`, '"__metadata__":'),
      () => `{"__metadata__":{"a":"b"},${text.slice(1)}`,
      () => text.replace(`"${t}"`, '"\\ud800"'),
      () => text.replace(/^\{/, `{"${t}":${JSON.stringify(h[t])},`),
      () => JSON.stringify(Object.fromEntries(Object.entries(h).filter(([k]) => k !== t))),
    ];
    return withHeader(f, edits[r(edits.length)]());
  },
  'json: text': (f, r) => {
    const text = new TextDecoder().decode(f.subarray(8, 8 + headerLength(f)));
    const at = r(text.length);
    const inserts = [' ', ',', '}', '"', '\\', '0', '-', 'e', '\u0000', '\ufeff', '{', '[', 'null'];
    const edits = [
      () => text.slice(0, at) + inserts[r(inserts.length)] + text.slice(at),
      () => text.slice(0, at) + text.slice(at + 1),
      () => text.trimEnd() + ' '.repeat(r(3)),
      () => ' '.repeat(1 + r(8)) + text.trimEnd(),
    ];
    return withHeader(f, edits[r(edits.length)]());
  },
  'float value': (f, r) => {
    const h = headerJson(f);
    const names = Object.keys(h).filter((k) => k !== '__metadata__' && ['F32', 'F16', 'BF16'].includes(h[k].dtype));
    const t = names[r(names.length)];
    const { dtype, data_offsets: [b, e] } = h[t];
    const size = dtype === 'F32' ? 4 : 2;
    const count = (e - b) / size;
    if (count === 0) return f.slice();
    const out = f.slice();
    const at = 8 + headerLength(f) + b + size * r(count);
    const view = new DataView(out.buffer);
    const values = [NaN, Infinity, -Infinity, 3e38, -3e38, 1e20, 65504, 1e-40];
    const v = values[r(values.length)];
    if (size === 4) view.setFloat32(at, v, true);
    else {
      const tmp = new Float32Array([v]);
      const bits = new Uint32Array(tmp.buffer)[0];
      view.setUint16(at, dtype === 'F16' ? f32BitsToF16Bits(bits) : bits >>> 16, true);
    }
    return out;
  },
};

describe('safetensors mutation fuzz (load + embed)', () => {
  const base = baseModel();
  const outcomes = new Map<string, number>();
  const byKind = new Map<string, Map<string, number>>();
  let module: WebAssembly.Module;
  let baseHeapBytes = 0;
  const parsedConfig = parseBertConfig(JSON.stringify(config));
  const tokenizer = BertTokenizer.fromFiles({ vocab });
  afterAll(() => {
    const accepted = outcomes.get('accepted') ?? 0;
    console.log(`safetensors fuzz (seed ${SEED}): ${MUTANTS} mutants, ${accepted} accepted with finite embeddings, ${MUTANTS - accepted} refused with a typed error`);
    for (const [k, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(42)} ${n}`);
    for (const [kind, m] of byKind) console.log(`  [${kind}] ${[...m].map(([k, n]) => `${k.replace(/^refused /, '')}: ${n}`).join(', ')}`);
  });

  it('the unmutated model loads and embeds finitely (so the fuzz starts from a valid file)', async () => {
    module = new WebAssembly.Module(readFileSync('build/kernels.wasm'));
    const backend = await createBackend('wasm', { wasmBytes: module, threads: 1 });
    const enc = new Encoder({ config: parsedConfig, tokenizer, backend, params: loadBertParams(bytesSource(base, 'base.safetensors'), parsedConfig, backend, { dtype: 'f32', wordEmbeddings: 'heap' }) });
    const [v] = await enc.embedIds([[2, 5, 6, 7, 3], [2, 30, 3], [2, 39, 38, 37, 36, 35, 34, 3]]);
    expect(v.every(Number.isFinite)).toBe(true);
    baseHeapBytes = backend.memory.buffer.byteLength;
    enc.dispose();
  });

  it(`${MUTANTS} seeded mutants: each refused with a KmedError or loaded with finite outputs`, async () => {
    const r = rng(SEED);
    const kinds = Object.keys(MUTATIONS);
    const untyped: string[] = [];
    for (let m = 0; m < MUTANTS; m++) {
      const kind = kinds[m % kinds.length];
      const mutant = MUTATIONS[kind](base, r);
      const options: LoadOptions = { dtype: (['f32', 'f16', 'int8'] as const)[r(3)], wordEmbeddings: r(2) ? 'heap' : 'source' };
      let outcome: string;
      let heapBytes = 0;
      try {
        // Encoder.fromFiles' own steps, with the config and tokenizer (not under test) built once.
        const backend = await createBackend('wasm', { wasmBytes: module, threads: 1 });
        let enc: Encoder;
        try {
          enc = new Encoder({ config: parsedConfig, tokenizer, backend, params: loadBertParams(bytesSource(mutant, 'mutant.safetensors'), parsedConfig, backend, options) });
        } catch (error) {
          heapBytes = backend.memory.buffer.byteLength;
          backend.dispose();
          throw error;
        }
        try {
          const out = await enc.embedIds([[2, 5, 6, 7, 3], [2, 30, 3], [2, 39, 38, 37, 36, 35, 34, 3]], { pooling: (['pooler', 'cls', 'mean'] as const)[r(3)] });
          if (!out.every((v) => v.length === 16 && v.every(Number.isFinite))) untyped.push(`mutant ${m} (${kind}): a non-finite embedding was returned`);
          outcome = 'accepted';
        } finally {
          heapBytes = backend.memory.buffer.byteLength;
          enc.dispose();
        }
      } catch (error) {
        if (error instanceof KmedError) outcome = `refused ${error.code}`;
        else {
          outcome = 'UNTYPED';
          untyped.push(`mutant ${m} (${kind}): ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`.slice(0, 300));
        }
      }
      if (heapBytes > MAX_HEAP_GROWTH * baseHeapBytes) untyped.push(`mutant ${m} (${kind}): grew the heap to ${heapBytes} bytes (the valid model needs ${baseHeapBytes})`);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const k = byKind.get(kind) ?? new Map<string, number>();
      k.set(outcome, (k.get(outcome) ?? 0) + 1);
      byKind.set(kind, k);
    }
    expect(untyped).toEqual([]);
    // A fuzz that refuses everything (or nothing) tests little: both outcomes must occur.
    expect(outcomes.get('accepted') ?? 0).toBeGreaterThan(20);
    expect(MUTANTS - (outcomes.get('accepted') ?? 0)).toBeGreaterThan(100);
  });
});
