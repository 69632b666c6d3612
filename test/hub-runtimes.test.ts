// fromPretrained in Node, Deno and Bun (each through the Node entry, dist/node/index.js, which the
// package's exports map gives all three): test/runtimes/hub-check.mjs loads the tiny question
// encoder by hub id from test/helpers/hub-server.ts into a fresh Hugging Face cache folder, then
// again offline. The server's log, split at the script's /__mark request, shows the first load's
// requests and ZERO for the second; the cache must be in Python's layout (refs/main, snapshot symlinks).
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoFromFolder, startHubServer, type HubServer } from './helpers/hub-server.js';
import { FIXTURES, REPO_ROOT, run, runtimeCommand, type CliRuntime } from './runtimes/launch.js';

const Q = 'kmed-test/tiny-question';
const NAMES = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json', 'model.safetensors'];

describe('fromPretrained in each command-line runtime', () => {
  let hub: HubServer;
  let scratch = '';
  beforeAll(async () => {
    hub = await startHubServer({ repos: { [Q]: repoFromFolder(join(FIXTURES, 'tiny-question'), NAMES) } });
    scratch = await mkdtemp(join(tmpdir(), 'kmed-hub-rt-'));
  });
  afterAll(async () => {
    await hub?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it.each(['node', 'deno', 'bun'] as CliRuntime[])('%s: first load downloads, the offline second load makes zero requests', async (runtime) => {
    const cache = await mkdtemp(join(scratch, `${runtime}-`));
    const [command, ...pre] = runtimeCommand(runtime);
    // Deno: the check reads and writes the cache folder and talks to the local server.
    const args = runtime === 'deno' ? [pre[0], '-A'] : pre;
    hub.reset();
    const { code, stdout, stderr } = await run(
      command,
      [...args, join(REPO_ROOT, 'test', 'runtimes', 'hub-check.mjs'), '--lib', join(REPO_ROOT, 'dist', 'node', 'index.js'), '--endpoint', hub.url, '--cache', cache, '--repo', Q],
      REPO_ROOT,
      120_000,
    );
    const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    expect(line, `no JSON line (exit ${code})\nstdout: ${stdout}\nstderr: ${stderr}`).toBeDefined();
    const result = JSON.parse(line!) as { error?: string; same?: boolean };
    expect(result.error, result.error).toBeUndefined();
    expect(result.same).toBe(true);
    const mark = hub.log.findIndex((e) => e.path === '/__mark');
    const firstLoad = hub.log.slice(0, mark).length;
    const secondLoad = hub.log.slice(mark + 1).length;
    console.log(`${runtime}: first load ${firstLoad} requests, second (offline) ${secondLoad}`);
    expect(firstLoad).toBe(8);
    expect(secondLoad).toBe(0);
    const root = join(cache, 'models--kmed-test--tiny-question');
    const commit = hub.repos.get(Q)!.commit;
    expect(await readFile(join(root, 'refs', 'main'), 'utf8')).toBe(commit);
    for (const name of NAMES) expect((await lstat(join(root, 'snapshots', commit, name))).isSymbolicLink()).toBe(true);
  });
});
