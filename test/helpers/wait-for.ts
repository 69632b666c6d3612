// Owns: waiting for an observable state in tests (a checkpoint on disk, a child's exit) by polling,
// instead of sleeping a fixed time and hoping the state was reached. The limit only stops a hang:
// it is generous and never what a test asserts. Does not own what is waited for.

/** Resolves once `condition()` is true; rejects naming `what` after `limitMs`. */
export async function waitFor(condition: () => boolean, what: string, limitMs = 120_000, everyMs = 5): Promise<void> {
  const until = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
