// Owns: what bench:e2e's tables share between the Node tables (../e2e.ts) and the Chromium section
// (chromium.ts): how a rate or a time is printed, and the f32 parity bar both apply.
// Does not own: the tables themselves.

/** f32 engines agree when every value is within the fixtures' target for one engine against float64. */
export const PARITY_TOLERANCE = 1e-4;

/** 3 significant digits or so: 1234 → "1234", 12.34 → "12.3", 1.234 → "1.23". */
export const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
