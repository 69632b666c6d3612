// Owns: which files of a hub model repo kmed needs. A repo often ships the same weights in several
// formats (pytorch_model.bin, tf_model.h5, flax_model.msgpack, ONNX exports...); kmed reads only
// safetensors, so fetching the others would double or triple a 440 MB download for nothing.
// Does not own listing or transferring (hub-client.ts, resumable-download.ts).

import { DownloadError } from './download-error.js';
import type { RepoFile } from './hub-client.js';

/** Weight formats kmed cannot read; skipped whenever the repo has safetensors. */
const OTHER_WEIGHT_FORMATS = [
  /(^|\/)pytorch_model(-\d+-of-\d+)?\.bin$/,
  /(^|\/)pytorch_model\.bin\.index\.json$/,
  /(^|\/)tf_model\.h5$/,
  /(^|\/)flax_model\.msgpack$/,
  /(^|\/)rust_model\.ot$/,
  /(^|\/)model\.ckpt(\.[^/]*)?$/,
  /\.onnx(\.data)?$/,
  /(^|\/)(onnx|openvino|coreml)\//,
];

/**
 * The files to fetch: everything except other weight formats when the repo has safetensors.
 * A repo with no safetensors at its root cannot be loaded by kmed, so it fails before any byte moves.
 */
export function selectModelFiles(repo: string, revision: string, files: RepoFile[], allFiles = false): RepoFile[] {
  if (allFiles) return files;
  const hasSafetensors = files.some((f) => /^model(-\d+-of-\d+)?\.safetensors$/.test(f.path));
  if (!hasSafetensors) {
    throw new DownloadError(
      'HUB_NO_SAFETENSORS',
      `${repo} at revision ${revision} has no model.safetensors; kmed reads safetensors only. ` +
        `Convert the checkpoint (e.g. with transformers: model.save_pretrained(dir, safe_serialization=True)) ` +
        `and copy the folder into weights/ by hand, or choose a revision that has one, or set allFiles to fetch everything anyway`,
    );
  }
  return files.filter((f) => !OTHER_WEIGHT_FORMATS.some((pattern) => pattern.test(f.path)));
}
