// Owns: the `kmed-dpr/worker` entry — the worker-backed encoders for pages that must stay
// responsive, plus the neutral entry's exports (file helpers, indexes, errors) so one import serves.
// Only re-exports, one line per module.
export * from '../index.js';
export { WorkerBiEncoder, WorkerEncoder, WorkerIndex, type WorkerOptions } from './client.js';
