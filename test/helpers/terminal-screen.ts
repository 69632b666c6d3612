// Owns: replaying what a program wrote to a terminal into the lines a user would see at the end —
// enough of a VT100 for progress bars: printable text, CR, LF, ESC 7 / ESC 8 (save / restore the
// cursor), CSI n G (to column n), CSI n A/B/C/D (cursor moves), CSI K / 0K (clear to end of line);
// other CSI sequences (cursor visibility, line wrap) change nothing on screen and are skipped.
// Does not own any assertion (test/cli-product.test.ts uses it to check output order).

/** The screen after `output` was written to an empty terminal, trailing empty lines dropped. */
export function renderScreen(output: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = () => (rows[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const c = output[i];
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      line();
    } else if (c === '\x1b' && output[i + 1] === '7') {
      saved = { row, col };
      i++;
    } else if (c === '\x1b' && output[i + 1] === '8') {
      ({ row, col } = saved);
      i++;
    } else if (c === '\x1b' && output[i + 1] === '[') {
      const m = /^\[(\??)([\d;]*)([A-Za-z])/.exec(output.slice(i + 1));
      if (!m) continue;
      i += m[0].length;
      if (m[1]) continue; // private modes (?25l, ?7l ...): nothing drawn
      const n = m[2] === '' ? 1 : Number(m[2]);
      if (m[3] === 'G') col = Math.max(0, n - 1);
      else if (m[3] === 'A') row = Math.max(0, row - n);
      else if (m[3] === 'B') row += n;
      else if (m[3] === 'C') col += n;
      else if (m[3] === 'D') col = Math.max(0, col - n);
      else if (m[3] === 'K' && (m[2] === '' || m[2] === '0')) line().length = Math.min(line().length, col);
    } else if (c >= ' ' || c === '\t') {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  const screen = rows.map((r) => (r ?? []).join('').trimEnd());
  while (screen.length > 0 && screen[screen.length - 1] === '') screen.pop();
  return screen;
}
