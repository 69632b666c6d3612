// The progress display: plain lines (no control codes, a handful) when the stream is not a TTY,
// a cli-progress bar when it is; byte and item formatting.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatAmount, formatDuration } from '../src/node/progress.js';

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY: boolean; text: () => string; columns: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  stream.text = () => chunks.join('');
  return stream;
}

describe('createProgress', () => {
  it('prints a few plain lines without control codes when not on a TTY', () => {
    const stream = sink(false);
    const progress = createProgress({ label: 'model', total: 4_000_000, unit: 'bytes', stream });
    progress.skip(1_000_000); // e.g. a resumed .part: moves the bar, not the rate
    for (let i = 0; i < 300; i++) progress.advance(10_000);
    progress.setDetail('model.safetensors');
    progress.stop();
    progress.stop(); // idempotent
    const lines = stream.text().trimEnd().split('\n');
    expect(stream.text()).not.toMatch(/[\x1b\r]/);
    expect(lines[0]).toBe('model: 4.0 MB');
    expect(lines.slice(1, -1)).toEqual(['model: 25% 1.0 MB/4.0 MB', 'model: 50% 2.0 MB/4.0 MB', 'model: 75% 3.0 MB/4.0 MB']);
    expect(lines.at(-1)).toMatch(/^model: done, 4\.0 MB in \d/);
  });

  it('names a stop that is not a completion', () => {
    const stream = sink(false);
    const progress = createProgress({ label: 'passages', total: 10, unit: 'items', itemName: 'passages', stream });
    progress.advance(3);
    progress.stop('failed');
    expect(stream.text().trimEnd().split('\n').at(-1)).toBe('passages: failed at 3 passages/10 passages');
  });

  it('draws a cli-progress bar on a TTY', () => {
    const stream = sink(true);
    const progress = createProgress({ label: 'index', total: 200, unit: 'items', itemName: 'passages', stream });
    progress.advance(200);
    progress.stop();
    const text = stream.text();
    expect(text).toContain('\x1b'); // cursor control: the bar redraws in place
    expect(text).toContain('index |');
    expect(text).toContain('100% | 200 passages/200 passages');
  });
});

describe('formatting', () => {
  it('formats bytes in decimal units and durations compactly', () => {
    expect(formatAmount(999, 'bytes')).toBe('999 B');
    expect(formatAmount(1_500, 'bytes')).toBe('1.5 kB');
    expect(formatAmount(442_500_000, 'bytes')).toBe('443 MB');
    expect(formatAmount(12_345, 'items', 'passages')).toBe('12,345 passages');
    expect(formatDuration(4.25)).toBe('4.3s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(7_440)).toBe('2h04m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--');
  });
});
