// Owns: the republishing process of the shared-cache test (test/hub-faults.test.ts), run with
// `node --import tsx`: does to every blob of one repo in a Hugging Face cache what another
// downloader finishing the same file does — writes the same bytes under a temporary name, syncs,
// and renames it over the blob — `rounds` times, and prints how many blobs it replaced.
// Does not own any assertion.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [blobs, rounds] = [process.argv[2], Number(process.argv[3])];
let replaced = 0;
for (let round = 0; round < rounds; round++) {
  for (const name of readdirSync(blobs).filter((n) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(n))) {
    const bytes = readFileSync(join(blobs, name));
    const tmp = join(blobs, `${name}.${process.pid}-republish.incomplete`);
    const fd = openSync(tmp, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(blobs, name));
    replaced++;
  }
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(`${replaced}\n`);
