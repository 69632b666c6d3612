// Owns: the `kmed download [REPO...]` subcommand — option parsing, one progress display per repo
// on stderr, a one-line summary per repo on stdout (with the commit every file was fetched at),
// and the last word when a download is cut short: Ctrl-C or SIGTERM stop it (exit 130 / 143) and a
// network failure fails it (exit 1), each with one `kmed:` line saying how many bytes of which file
// are kept and that rerunning the same command resumes from there. Does not own the download
// itself (src/node/hub/hub-download.ts), which it loads only when the command runs so `kmed --help`
// stays fast.

import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { positiveInt } from './model-options.js';

/** The two encoders of the bi-encoder; downloaded when no repo is named. */
export const DEFAULT_REPOS = [
  'snumin44/medical-biencoder-ko-bert-question',
  'snumin44/medical-biencoder-ko-bert-context',
] as const;

interface DownloadFlags {
  dest: string;
  revision: string;
  endpoint?: string;
  allFiles?: boolean;
  deadline?: number;
  maxAttempts?: number;
  stallTimeout?: number;
  minRate?: number;
}

/** Exit codes of a download stopped by a signal, as a shell reports them (128 + the signal number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export function register(program: Command): void {
  program
    .command('download')
    .description(
      'download model folders from the Hugging Face hub into DEST/<name>/ (pinned to the commit the revision resolves to; resumable; sizes and sha256 checked)',
    )
    .argument('[repos...]', `model repos (default: ${DEFAULT_REPOS.join(' ')})`)
    .option('--dest <dir>', 'folder that receives one subfolder per model', 'weights')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--endpoint <url>', 'hub URL (default: HF_ENDPOINT or https://huggingface.co)')
    .option('--all-files', 'also fetch weight formats kmed does not read (pytorch_model.bin, ONNX, ...)')
    .option('--deadline <seconds>', 'give up on a repo after this many seconds in all (default: no deadline)', positiveSeconds)
    .option('--max-attempts <n>', 'most requests one file may take, progress or not (default 20)', positiveInt)
    .option('--stall-timeout <seconds>', 'window the minimum rate is measured over (default 30)', positiveSeconds)
    .option('--min-rate <bytes/s>', 'minimum rate over each window; a slower transfer is cut and retried (default 1024)', nonNegativeNumber)
    .action(async (repos: string[], flags: DownloadFlags) => {
      const [{ downloadModel }, { createProgress, formatAmount }, { AbortError }, { DownloadError, RESUME_NOTE }] = await Promise.all([
        import('../node/hub/hub-download.js'),
        import('../node/progress.js'),
        import('../errors/abort-error.js'),
        import('../hub/download-error.js'),
      ]);
      const controller = new AbortController();
      let stoppedBy: keyof typeof SIGNAL_EXIT | undefined;
      const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
        // The first stops the transfer cleanly (the bytes stay for a resume); a second leaves at once.
        if (stoppedBy) process.exit(SIGNAL_EXIT[signal]);
        stoppedBy = signal;
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        for (const repo of repos.length > 0 ? repos : DEFAULT_REPOS) {
          const name = repo.slice(repo.indexOf('/') + 1);
          let progress: ReturnType<typeof createProgress> | undefined;
          let shown = 0;
          // The file in flight and how much of it is on disk, for the line after an interruption.
          const current = { file: '', bytes: 0, size: 0 };
          const resumeNote = () =>
            current.bytes === 0
              ? `rerun the same command to resume (files already in ${join(flags.dest, name)} are kept)`
              : `rerun the same command to resume: ${formatAmount(current.bytes, 'bytes')} of ${current.file} ` +
                `(${formatAmount(current.size, 'bytes')}) are kept in ${join(flags.dest, name, current.file)}.part`;
          try {
            const result = await downloadModel(repo, {
              destRoot: flags.dest,
              revision: flags.revision,
              endpoint: flags.endpoint,
              allFiles: flags.allFiles,
              deadlineMs: flags.deadline,
              maxAttempts: flags.maxAttempts,
              stallTimeoutMs: flags.stallTimeout,
              minBytesPerSecond: flags.minRate,
              signal: controller.signal,
              onProgress(event) {
                if (event.event === 'listed') {
                  progress = createProgress({ label: name, total: event.totalBytes, unit: 'bytes' });
                  return;
                }
                if (!progress) return;
                if (event.event === 'file-start') progress.setDetail(event.file);
                const inFlight = event.event === 'file-start' || event.event === 'bytes';
                Object.assign(current, inFlight ? { file: event.file, bytes: event.fileBytes, size: event.fileSize } : { file: '', bytes: 0, size: 0 });
                // Network bytes enter the rate; resumed or already-present bytes only move the bar.
                const delta = event.doneBytes - shown;
                shown = event.doneBytes;
                if (event.networkBytes > 0) progress.advance(event.networkBytes);
                if (delta !== event.networkBytes) progress.skip(delta - event.networkBytes);
              },
            });
            progress?.stop();
            const count = (status: string) => result.files.filter((f) => f.status === status).length;
            const bytes = result.files.reduce((sum, f) => sum + f.size, 0);
            process.stdout.write(
              `${result.dir}: ${result.files.length} files, ${formatAmount(bytes, 'bytes')} ` +
                `(${count('downloaded')} downloaded, ${count('resumed')} resumed, ${count('present')} already present) at commit ${result.commit}\n`,
            );
          } catch (error) {
            if (error instanceof AbortError && stoppedBy) {
              progress?.stop('interrupted');
              process.stderr.write(`kmed: interrupted (${stoppedBy}) while downloading ${repo}; ${resumeNote()}\n`);
              process.exitCode = SIGNAL_EXIT[stoppedBy];
              return;
            }
            progress?.stop('failed');
            // A transfer cut short by the network: the library's "trying again" becomes the command to run.
            if (error instanceof DownloadError && error.message.includes(RESUME_NOTE)) {
              throw new DownloadError(error.code, error.message.replace(RESUME_NOTE, resumeNote()), { url: error.url, status: error.status, cause: error.cause });
            }
            throw error;
          } finally {
            progress?.stop('stopped');
          }
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** Commander parser for a positive number of seconds, returned in ms. */
function positiveSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got '${value}'`);
  return n * 1000;
}

/** Commander parser for a number >= 0. */
function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got '${value}'`);
  return n;
}
