// Owns: the CLI's last word on any failure — the one `kmed: ...` line on stderr and the exit code.
// A KmedError prints its message (plus the CLI flag a library message cannot know, e.g.
// --question-model); a Node system error (ENOSPC, EISDIR, ...) is worded by ../node/fs-errors.ts; a
// commander option error is one line plus a pointer to --help; anything else is an internal error,
// one line that says how to see the stack (KMED_DEBUG=1), never the stack itself. Every line is
// bounded (MAX_LINE characters, control characters escaped) so a quoted input cannot flood the
// terminal. EPIPE on stdout (`kmed embed | head -1`) ends the process quietly with status 0.
// Does not own the messages themselves (each module words its own errors).
import { CommanderError } from 'commander';
import { KmedError } from '../errors/errors.js';
import { fileSystemError, isSystemError } from '../node/fs/fs-errors.js';

/** Longest line printed for an error, ellipsis included. */
export const MAX_LINE = 1000;

/** The environment variable that adds the stack trace to an internal error. */
export const DEBUG_ENV = 'KMED_DEBUG';

/** One printable line: newlines folded to spaces, other control characters escaped, at most `max`
 *  characters (code points) ending in '…' when cut. */
export function boundLine(text: string, max = MAX_LINE): string {
  const flat = text
    .replace(/\s*[\r\n]+\s*/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const chars = Array.from(flat);
  return chars.length <= max ? flat : chars.slice(0, max - 1).join('') + '…';
}

/** An EPIPE from writing: the reader of our stdout went away (`| head`). */
export function isBrokenPipe(error: unknown): boolean {
  return isSystemError(error) && error.code === 'EPIPE';
}

/** The subcommand named on the command line, if any (for the --help pointer). */
function subcommandOf(argv: readonly string[], names: readonly string[]): string | undefined {
  return argv.slice(2).find((arg) => names.includes(arg));
}

/** The value of --out on the command line: where a write without a path in its error went. */
function outputOf(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith('--out=')) return argv[i].slice('--out='.length);
  }
  return undefined;
}

/** A library error's message with the CLI's flags beside the library options it names (library
 *  messages never quote CLI flags: the library is also used without the CLI). */
export function withFlagHints(error: KmedError): string {
  const m = error.message;
  switch (error.code) {
    case 'INDEX_EXISTS':
      return m.replace('set force to replace it, or choose another output path', 'pass --force to replace it, or choose another --out');
    case 'MODEL_NOT_FOUND':
      return m.replace(/as the (question|context) model/, (said, role: string) => `${said} (--${role}-model DIR)`);
    case 'HUB_NO_SAFETENSORS':
      return m
        .replace('choose a revision that has one', 'pass --revision of a branch that has one')
        .replace('set allFiles to fetch everything anyway', 'pass --all-files to fetch everything anyway')
        .replace('point the endpoint (option or HF_ENDPOINT)', 'point --endpoint (or HF_ENDPOINT)');
    default:
      return error.name === 'DownloadError' ? m.replace('point the endpoint (option or HF_ENDPOINT)', 'point --endpoint (or HF_ENDPOINT)') : m;
  }
}

export interface ErrorReport {
  /** The line to print, without the 'kmed: ' prefix and newline. Empty: print nothing. */
  line: string;
  exitCode: number;
  /** Printed after the line only under KMED_DEBUG=1. */
  stack?: string;
}

/** How the CLI reports `error`. `commands` are the subcommand names (for the --help pointer). */
export function reportFor(error: unknown, argv: readonly string[], commands: readonly string[]): ErrorReport {
  if (error instanceof CommanderError) {
    // --help and --version end through here too, with their text already printed.
    if (error.exitCode === 0 || error.code === 'commander.help' || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
      return { line: '', exitCode: error.exitCode };
    }
    const sub = subcommandOf(argv, commands);
    const message = error.message.replace(/^error: /, '').replace(/\.$/, '');
    return { line: boundLine(`${message}; see 'kmed ${sub ? `${sub} ` : ''}--help'`), exitCode: error.exitCode || 1 };
  }
  if (isBrokenPipe(error)) return { line: '', exitCode: 0 };
  if (error instanceof KmedError) {
    return { line: boundLine(withFlagHints(error)), exitCode: 1, stack: error.stack };
  }
  if (isSystemError(error)) {
    const known = fileSystemError(error, error.path === undefined ? outputOf(argv) : undefined);
    const during = error.path === undefined && error.syscall ? ` (during ${error.syscall})` : '';
    return { line: boundLine(known.message + during), exitCode: 1, stack: error.stack };
  }
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return {
    line: boundLine(`internal error: ${name}: ${message} (a bug in kmed; rerun with ${DEBUG_ENV}=1 to see the stack trace and report it)`),
    exitCode: 1,
    stack: error instanceof Error ? error.stack : undefined,
  };
}

/** Print the report of `error` on stderr and end the process with its exit code. */
export function exitWith(error: unknown, argv: readonly string[], commands: readonly string[]): never {
  const report = reportFor(error, argv, commands);
  if (report.line) process.stderr.write(`kmed: ${report.line}\n`);
  if (report.line && process.env[DEBUG_ENV] && report.stack) process.stderr.write(`${report.stack}\n`);
  process.exit(report.exitCode);
}
