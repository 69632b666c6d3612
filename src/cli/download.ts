// Owns: the `kmed download [REPO...]` subcommand — option parsing, one progress display per repo
// on stderr, and a one-line summary per repo on stdout. Does not own the download itself
// (src/node/hub/hub-download.ts), which it loads only when the command runs so `kmed --help` stays fast.

import type { Command } from 'commander';

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
}

export function register(program: Command): void {
  program
    .command('download')
    .description(
      'download model folders from the Hugging Face hub into DEST/<name>/ (resumable; sizes and sha256 checked)',
    )
    .argument('[repos...]', `model repos (default: ${DEFAULT_REPOS.join(' ')})`)
    .option('--dest <dir>', 'folder that receives one subfolder per model', 'weights')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--endpoint <url>', 'hub URL (default: HF_ENDPOINT or https://huggingface.co)')
    .option('--all-files', 'also fetch weight formats kmed does not read (pytorch_model.bin, ONNX, ...)')
    .action(async (repos: string[], flags: DownloadFlags) => {
      const [{ downloadModel }, { createProgress, formatAmount }] = await Promise.all([
        import('../node/hub/hub-download.js'),
        import('../node/progress.js'),
      ]);
      for (const repo of repos.length > 0 ? repos : DEFAULT_REPOS) {
        let progress: ReturnType<typeof createProgress> | undefined;
        let shown = 0;
        try {
          const result = await downloadModel(repo, {
            destRoot: flags.dest,
            revision: flags.revision,
            endpoint: flags.endpoint,
            allFiles: flags.allFiles,
            onProgress(event) {
              if (event.event === 'listed') {
                progress = createProgress({ label: repo.slice(repo.indexOf('/') + 1), total: event.totalBytes, unit: 'bytes' });
                return;
              }
              if (!progress) return;
              if (event.event === 'file-start') progress.setDetail(event.file);
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
              `(${count('downloaded')} downloaded, ${count('resumed')} resumed, ${count('present')} already present)\n`,
          );
        } finally {
          progress?.stop('stopped');
        }
      }
    });
}
