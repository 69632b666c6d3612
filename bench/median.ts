// Owns: the two medians the benches report, in one place (bench/runtimes/bench-core.mjs keeps its own:
// it runs as plain JS in Deno, Bun and the browser).
// - median: the middle value, the mean of the two middle ones for an even count;
// - middleRun: the upper of the two middle values for an even count, i.e. always a run that happened
//   (the benches that print "median (min)" of actual runs).

/** The median of xs (not modified). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The run at the middle of xs sorted (the upper middle one for an even count). */
export function middleRun(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}
