// Owns: the static half of the runtime-neutrality audit (issue 6, item 1). Walks every module that
// the neutral entry (src/index.ts) reaches through static imports and fails, naming the file and
// line, on anything a browser cannot load: a static import of a Node built-in (`node:fs`, `fs`,
// `worker_threads` …), an import of src/node/ or src/cli/, or Node-only globals (`Buffer`,
// `__dirname`, `require(`). Dynamic `import('node:…')` is allowed: it is how the core reads
// kernels.wasm on Node, guarded at run time. The dynamic half (actually running in a browser) is
// runtime-matrix.test.ts.
// Does not own: fixing what it finds.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './runtimes/launch.js';

const SRC = join(REPO_ROOT, 'src');
const NODE_BUILTINS = new Set(builtinModules);
// Static `import … from '…'` / `export … from '…'` / side-effect `import '…'` (not `import(`, and
// not `import type` / `export type`, which TypeScript erases).
const STATIC_IMPORT = /^\s*(?:import|export)\s(?!type\s)(?:[^'"();]*?\sfrom\s)?\s*['"]([^'"]+)['"]/gm;
const NODE_GLOBALS = [/\bBuffer\./, /\bBuffer\(/, /\b__dirname\b/, /\b__filename\b/, /\brequire\(/];

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"\\])\/\/.*$/gm, '$1');
}

function lineOf(code: string, index: number): number {
  return code.slice(0, index).split('\n').length;
}

/** Every src/ module reachable from `entry` by static imports, with the problems found. */
function audit(entry: string): { files: string[]; problems: string[] } {
  const seen = new Set<string>();
  const problems: string[] = [];
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = stripComments(readFileSync(file, 'utf8'));
    const where = (i: number) => `${relative(REPO_ROOT, file)}:${lineOf(code, i)}`;
    for (const m of code.matchAll(STATIC_IMPORT)) {
      const spec = m[1];
      if (spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0])) {
        problems.push(`${where(m.index!)} statically imports the Node built-in '${spec}'`);
        continue;
      }
      if (!spec.startsWith('.')) {
        problems.push(`${where(m.index!)} imports the package '${spec}' (the core has no runtime dependencies)`);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const rel = relative(SRC, target);
      if (rel.startsWith('node/') || rel.startsWith('cli/')) {
        problems.push(`${where(m.index!)} imports the Node-only adapter src/${rel}`);
        continue;
      }
      if (!existsSync(target)) {
        problems.push(`${where(m.index!)} imports '${spec}', which does not exist`);
        continue;
      }
      queue.push(target);
    }
    for (const pattern of NODE_GLOBALS) {
      const m = pattern.exec(code);
      if (m) problems.push(`${where(m.index)} uses the Node-only global '${m[0]}'`);
    }
  }
  return { files: [...seen].map((f) => relative(REPO_ROOT, f)).sort(), problems };
}

describe('runtime neutrality of the core', () => {
  it('nothing the neutral entry reaches needs Node', () => {
    const entry = join(SRC, 'index.ts');
    expect(existsSync(entry), 'src/index.ts (the neutral entry) is missing').toBe(true);
    const { files, problems } = audit(entry);
    console.log(`neutral entry reaches ${files.length} modules; ${problems.length} problem(s)`);
    expect(problems).toEqual([]);
    // The audit must actually have walked something beyond the entry.
    expect(files.length).toBeGreaterThan(3);
  });

  it('the audit catches a static node: import and a reach into src/node/', () => {
    // Honest test of the checker itself, on code held in memory.
    const code =
      "import { readFile } from 'node:fs/promises';\nimport type { Stats } from 'node:fs';\n" +
      "export { x } from '../node/encoder.js';\n// import 'node:os';\nconst y = await import('node:fs');\n";
    const specs = [...stripComments(code).matchAll(STATIC_IMPORT)].map((m) => m[1]);
    expect(specs).toEqual(['node:fs/promises', '../node/encoder.js']);
  });
});
