// kmed serve with a graph beside its index: `kmed serve --index INDEX` opens INDEX.ann and
// /v1/search answers through it — the same passages and scores as `kmed search` through the same
// graph — with `exact: true` the same as `kmed search --exact`, and `ef` validated like every field.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';

const CLI = 'dist/cli/main.js';
const MODELS = ['--question-model', 'test/fixtures/tiny-question', '--context-model', 'test/fixtures/tiny-context'];
const dir = mkdtempSync(join(tmpdir(), 'kmed-serve-ann-'));
const INDEX = join(dir, 'c.kidx');
let child: ChildProcess | undefined;
let url = '';

beforeAll(async () => {
  const built = await runCli(['index', '--corpus', 'test/fixtures/corpus/corpus.txt', '--out', INDEX, '--ann', 'hnsw', '--ann-m', '6', '--ann-ef-construction', '24', ...MODELS], { timeoutMs: 120_000 });
  expect(built.code, built.stderr).toBe(0);
  child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--index', INDEX, ...MODELS], { stdio: ['ignore', 'pipe', 'pipe'], env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMED_'))) });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 60_000);
    child!.stdout!.on('data', (d) => {
      out += d;
      const m = /^kmed: listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child!.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  for (let i = 0; i < 1200 && (await fetch(`${url}/ready`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
}, 180_000);
afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (body: unknown) => {
  const r = await fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as any };
};

describe('kmed serve --index with INDEX.ann', () => {
  it('/v1/search goes through the graph (ef too), or exactly when asked, as kmed search does', async () => {
    const query = '당뇨병 초기 증상';
    for (const [body, flags] of [[{}, []], [{ ef: 12 }, ['--ef', '12']], [{ exact: true }, ['--exact']]] as const) {
      const r = await post({ query, k: 5, ...body });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const cli = await runCli(['search', '--index', INDEX, '--query', query, '-k', '5', '--json', ...flags, ...MODELS], { timeoutMs: 60_000 });
      expect(cli.code, cli.stderr).toBe(0);
      const offline = JSON.parse(cli.stdout) as Array<{ id: string; score: number }>;
      expect(r.json.data.map((h: any) => [h.id, h.score])).toEqual(offline.map((h) => [h.id, h.score]));
    }
  }, 120_000);

  it('refuses a bad ef with a 400 naming the field', async () => {
    const r = await post({ query: 'x', k: 3, ef: 0 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toMatch(/ef/);
  });
});
