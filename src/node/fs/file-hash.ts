// Owns: the sha256 of a whole file (Node only), streamed through node:crypto (several hundred MB/s
// and more where the CPU has SHA instructions) in bounded memory — what an index records of the
// vectors it imported. Does not own what the hash is for (src/cli/build-index.ts).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** 'sha256:' + the hex sha256 of the file at `path`. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return 'sha256:' + hash.digest('hex');
}
