// Owns: the TypeScript consumer matrix — a small project per moduleResolution (node10, node16,
// nodenext, bundler) × module kind (ESM, CommonJS) that imports each public entry of an installed
// 'kmed-dpr' and asserts its types (the Node entry's fromDirectory on 'kmed-dpr' and
// 'kmed-dpr/node', none on 'kmed-dpr/web', the worker classes, the LangChain embeddings) — and the
// per-entry verdict read back from tsc's errors. Used by pack.test.ts against the packed tarball.
// Does not own: installing the package, or running anything (types only).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ENTRIES = ['kmed-dpr', 'kmed-dpr/node', 'kmed-dpr/web', 'kmed-dpr/worker', 'kmed-dpr/langchain'] as const;
export type Entry = (typeof ENTRIES)[number];

export interface ConsumerCell {
  resolution: 'node10' | 'node16' | 'nodenext' | 'bundler';
  kind: 'esm' | 'cjs';
  module: string;
  /** consumer.ts / .mts / .cts: the extension decides ESM or CommonJS under node16/nodenext. */
  file: string;
  /** How the CommonJS consumer loads the package: `require` (a static import TypeScript turns
   *  into require(), so require(esm)) or `import()` (node16: TypeScript, like Node 16, has no
   *  require(esm)). */
  load: 'import' | 'require' | 'import()';
}

export const CELLS: ConsumerCell[] = [
  { resolution: 'node10', kind: 'esm', module: 'esnext', file: 'consumer.ts', load: 'import' },
  { resolution: 'node10', kind: 'cjs', module: 'commonjs', file: 'consumer.ts', load: 'require' },
  { resolution: 'node16', kind: 'esm', module: 'node16', file: 'consumer.mts', load: 'import' },
  { resolution: 'node16', kind: 'cjs', module: 'node16', file: 'consumer.cts', load: 'import()' },
  { resolution: 'nodenext', kind: 'esm', module: 'nodenext', file: 'consumer.mts', load: 'import' },
  { resolution: 'nodenext', kind: 'cjs', module: 'nodenext', file: 'consumer.cts', load: 'require' },
  { resolution: 'bundler', kind: 'esm', module: 'esnext', file: 'consumer.ts', load: 'import' },
  { resolution: 'bundler', kind: 'cjs', module: 'preserve', file: 'consumer.cts', load: 'require' },
];

/** Source lines, each tagged with the entry it checks (so a tsc error line names the entry). */
function consumerLines(cell: ConsumerCell): Array<[Entry | null, string]> {
  const lines: Array<[Entry | null, string]> = [];
  const add = (entry: Entry | null, ...src: string[]) => src.forEach((s) => lines.push([entry, s]));
  if (cell.load === 'import()') {
    // CommonJS without require(esm): values through import(), types from the module's value.
    add(null, 'export async function check(): Promise<void> {');
    add('kmed-dpr', "  const kmed = await import('kmed-dpr');", "  const a: Promise<InstanceType<typeof kmed.Encoder>> = kmed.Encoder.fromDirectory('model');", '  void a;', '  void kmed.BiEncoder.fromDirectories;');
    add('kmed-dpr/node', "  const node = await import('kmed-dpr/node');", '  void node.buildIndex;', "  void node.Encoder.fromDirectory('model');");
    add('kmed-dpr/web', "  const web = await import('kmed-dpr/web');", '  // @ts-expect-error the neutral entry takes bytes, not paths', "  web.Encoder.fromDirectory('model');", '  void web.BiEncoder.fromFiles;');
    add('kmed-dpr/worker', "  const worker = await import('kmed-dpr/worker');", '  void worker.WorkerBiEncoder; void worker.WorkerEncoder;');
    add('kmed-dpr/langchain', "  const lc = await import('kmed-dpr/langchain');", '  const q: (e: InstanceType<typeof lc.KmedEmbeddings>) => Promise<number[]> = (e) => e.embedQuery("x");', '  void q;');
    add(null, '}');
    return lines;
  }
  add('kmed-dpr', "import { Encoder, BiEncoder } from 'kmed-dpr';");
  add('kmed-dpr/node', "import * as node from 'kmed-dpr/node';");
  add('kmed-dpr/web', "import * as web from 'kmed-dpr/web';");
  add('kmed-dpr/worker', "import * as worker from 'kmed-dpr/worker';");
  add('kmed-dpr/langchain', "import { KmedEmbeddings } from 'kmed-dpr/langchain';");
  // ESM only: in a CommonJS file '@langchain/core' resolves to its CommonJS declarations, a
  // different class from the ESM one kmed-dpr extends (the dual-package hazard; at run time too).
  if (cell.kind === 'esm') add('kmed-dpr/langchain', "import type { Embeddings } from '@langchain/core/embeddings';");
  add('kmed-dpr', "export const a: Promise<Encoder> = Encoder.fromDirectory('model');", 'export const b: Promise<BiEncoder> = BiEncoder.fromDirectories();');
  add('kmed-dpr/node', 'export const c: typeof node.buildIndex = node.buildIndex;', "export const c2: Promise<node.Encoder> = node.Encoder.fromDirectory('model');");
  add('kmed-dpr/web', '// @ts-expect-error the neutral entry takes bytes, not paths', "web.Encoder.fromDirectory('model');", 'export const d: typeof web.BiEncoder.fromFiles = BiEncoder.fromFiles;');
  add('kmed-dpr/worker', 'export const e: typeof worker.WorkerBiEncoder = worker.WorkerBiEncoder;');
  add('kmed-dpr/langchain', cell.kind === 'esm' ? 'export const f = (k: KmedEmbeddings): Embeddings => k;' : 'export const f = (k: KmedEmbeddings): Promise<number[]> => k.embedQuery("x");');
  return lines;
}

/** Write the cell's project under `dir` (node_modules is found by walking up). */
export function writeConsumer(dir: string, cell: ConsumerCell): Array<Entry | null> {
  mkdirSync(dir, { recursive: true });
  const lines = consumerLines(cell);
  writeFileSync(join(dir, cell.file), lines.map(([, s]) => s).join('\n') + '\n');
  // No @types/node: the package's types must stand on their own. node10 is deprecated in
  // TypeScript 6 (still supported): ignoreDeprecations keeps the warning from failing the run.
  const compilerOptions = {
    noEmit: true, strict: true, skipLibCheck: true, types: [], target: 'es2022', lib: ['es2022', 'dom'],
    module: cell.module, moduleResolution: cell.resolution, ...(cell.resolution === 'node10' ? { ignoreDeprecations: '6.0' } : {}),
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [cell.file] }));
  return lines.map(([entry]) => entry);
}

/** Per entry: undefined (types right) or the first tsc error on its lines; errors elsewhere go to '*'. */
export function verdicts(cell: ConsumerCell, lineEntries: Array<Entry | null>, tscOutput: string): Map<Entry | '*', string> {
  const out = new Map<Entry | '*', string>();
  for (const m of tscOutput.matchAll(/^(\S+?)\((\d+),\d+\): (error TS\d+: .*)$/gm)) {
    const entry = m[1] === cell.file ? lineEntries[Number(m[2]) - 1] ?? '*' : '*';
    if (!out.has(entry)) out.set(entry, m[3]);
  }
  if (!out.size && /error/.test(tscOutput)) out.set('*', tscOutput.trim().split('\n')[0]);
  return out;
}
