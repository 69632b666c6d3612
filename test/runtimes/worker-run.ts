// Owns: the shape of one run that test/runtimes/worker.mjs reports (window.kmedWorker.runs), shared
// by test/worker.test.ts and bench/worker.ts. Does not own the page or what is asserted or timed.

export interface WorkerPageRun {
  label: string;
  /** Main-thread tasks a message ping-pong ran while the embed was in flight. */
  turns: number;
  ms: number;
  longestTask: number;
  longTasks: number;
  longestTimerGap: number;
  finite: boolean;
  /** The first values of the first vector (runs must agree bitwise). */
  first: number[];
}
