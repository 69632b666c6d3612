// Owns: showing the progress of one long job on stderr — a byte transfer (`kmed download`) or a
// count of items (`kmed index`) — with amount done, rate and ETA. On a terminal it draws a
// `cli-progress` bar; when the stream is not a TTY (CI logs, pipes) it prints a few plain lines
// (every 25 %, or every 30 s) with no control codes. Does not own what is being counted.

import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** Shown first on every line, e.g. the model name. */
  label: string;
  /** Units to reach 100 %; 0 means unknown (no percentage or ETA). */
  total: number;
  /** 'bytes' formats amounts as kB / MB / GB; 'items' as plain counts with `itemName`. */
  unit: 'bytes' | 'items';
  /** Plural noun for items, e.g. 'passages' (default 'items'). */
  itemName?: string;
  /** Defaults to process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Overrides TTY detection (tests; `--no-progress`-style flags). */
  tty?: boolean;
  /** Plain mode: print a line every this many ms even between 25 % steps (default 30 000). */
  plainIntervalMs?: number;
  /** When the counted work began (Date.now() ms), if before this call: the closing rate and the
   *  rate window then include it (a bar drawn only after the first batch must not drop its time). */
  startedAt?: number;
}

export interface Progress {
  /** Counts `n` units just processed; they move the bar and enter the rate. */
  advance(n: number): void;
  /**
   * Credits `n` units that needed no work (a file already present, the resumed part of one); they
   * move the bar but not the rate. Negative `n` takes credit back (a transfer restarted from 0).
   */
  skip(n: number): void;
  /** A short note shown after the numbers, e.g. the file being fetched. */
  setDetail(detail: string): void;
  /**
   * Draws the final state and releases the terminal. Idempotent. `outcome` replaces the closing
   * 'done' line in plain mode (e.g. 'failed' when the job threw).
   */
  stop(outcome?: string): void;
}

// The rate is measured over roughly the last RATE_WINDOW_MS, so the ETA follows a changing speed
// instead of averaging over the whole run.
const RATE_WINDOW_MS = 5_000;
const PLAIN_STEP = 0.25;

/** Starts a progress display (see file header). */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const meter = new RateMeter();
  const state = { done: 0, detail: '' };
  const started = options.startedAt ?? Date.now();
  if (options.startedAt !== undefined) meter.start(options.startedAt);
  const fmt = (n: number): string => formatAmount(n, options.unit, options.itemName);
  const fields = () => {
    const rate = meter.rate();
    const remaining = options.total - state.done;
    let etaText = '--';
    if (options.total > 0) etaText = remaining <= 0 ? '0s' : rate > 0 ? formatDuration(remaining / rate) : '--';
    return {
      label: options.label,
      amount: options.total > 0 ? `${fmt(state.done)}/${fmt(options.total)}` : fmt(state.done),
      rate: rate > 0 ? `${fmt(rate)}/s` : '--/s',
      etaText,
      detail: state.detail,
    };
  };

  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{label} |{bar}| {percentage}% | {amount} | {rate} | ETA {etaText} {detail}',
        hideCursor: true,
        barsize: 30,
        fps: 10,
        // Our own ETA and rate (payload) replace cli-progress' value-buffer ETA.
        etaBuffer: 1,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(options.total, 0), 0, fields());
    let stopped = false;
    const redraw = () => bar.update(state.done, fields());
    return {
      advance(n) {
        state.done += n;
        meter.add(n);
        redraw();
      },
      skip(n) {
        state.done += n;
        redraw();
      },
      setDetail(detail) {
        state.detail = detail;
        redraw();
      },
      stop() {
        if (stopped) return;
        stopped = true;
        redraw();
        bar.stop();
      },
    };
  }

  // Plain lines: the next 25 % step to report, and the time of the last line.
  const interval = options.plainIntervalMs ?? 30_000;
  let nextStep = PLAIN_STEP;
  let lastLine = Date.now();
  let stopped = false;
  const line = (text: string) => {
    stream.write(`${text}\n`);
    lastLine = Date.now();
  };
  const maybePrint = () => {
    const fraction = options.total > 0 ? state.done / options.total : 0;
    const due = Date.now() - lastLine >= interval;
    if (fraction >= nextStep && fraction < 1) {
      while (nextStep <= fraction) nextStep += PLAIN_STEP;
    } else if (!due) {
      return;
    }
    const f = fields();
    const percent = options.total > 0 ? `${Math.floor(fraction * 100)}% ` : '';
    // Rate and ETA only once measurable: a log line is read later, '--' would just be noise there.
    const speed = meter.rate() > 0 ? `, ${f.rate}, ETA ${f.etaText}` : '';
    line(`${f.label}: ${percent}${f.amount}${speed}${f.detail ? ` (${f.detail})` : ''}`);
  };
  line(`${options.label}: ${options.total > 0 ? fmt(options.total) : 'starting'}`);
  return {
    advance(n) {
      state.done += n;
      meter.add(n);
      maybePrint();
    },
    skip(n) {
      state.done += n;
      maybePrint();
    },
    setDetail(detail) {
      state.detail = detail;
    },
    stop(outcome) {
      if (stopped) return;
      stopped = true;
      if (outcome !== undefined) {
        line(`${options.label}: ${outcome} at ${fields().amount}`);
        return;
      }
      const seconds = (Date.now() - started) / 1000;
      const moved = meter.total;
      const average = seconds > 0 && moved > 0 ? `, ${fmt(moved / seconds)}/s` : '';
      line(`${options.label}: done, ${fmt(state.done)} in ${formatDuration(seconds)}${average}`);
    },
  };
}

/** Units processed per second over the recent window. */
class RateMeter {
  total = 0;
  private samples: Array<{ t: number; total: number }> = [];

  /** Count from time `t` (before the first add). */
  start(t: number): void {
    if (this.samples.length === 0) this.samples.push({ t, total: 0 });
  }

  add(n: number): void {
    const now = Date.now();
    if (this.samples.length === 0) this.samples.push({ t: now, total: 0 });
    this.total += n;
    this.samples.push({ t: now, total: this.total });
    // Keep one sample older than the window so the window is always fully covered.
    while (this.samples.length > 2 && now - this.samples[1].t > RATE_WINDOW_MS) this.samples.shift();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.t - first.t) / 1000;
    // Under 0.2 s the quotient is noise (one chunk over a timer tick).
    return seconds >= 0.2 ? (last.total - first.total) / seconds : 0;
  }
}

/** 1234567 bytes -> '1.2 MB'; items -> '1,234 passages'. Decimal units, as the hub shows sizes. */
export function formatAmount(n: number, unit: 'bytes' | 'items', itemName = 'items'): string {
  if (unit === 'items') return `${Math.round(n).toLocaleString('en-US')} ${itemName}`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let i = 0;
  while (Math.abs(value) >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(value)} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Seconds -> '45s', '3m05s', '2h04m'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
