// Owns: the BERT post-processor (TemplateProcessing "[CLS] $A [SEP]") and truncation to a maximum
// length, as tokenizers does it for one sequence: with special tokens the sequence keeps
// max_length - (number of template tokens) ids from the left, so [CLS] and [SEP] always survive.
// Does not own: padding (encoding.ts).
import { type Encoding, encodingFromIds } from './encoding.js';
import { TokenizerError } from './errors.js';

export interface Template {
  prefixIds: readonly number[];
  suffixIds: readonly number[];
}

/** Wrap `content` ids with the template and truncate; maxLength Infinity = no truncation. */
export function postProcess(content: readonly number[], template: Template, addSpecialTokens: boolean, maxLength: number): Encoding {
  const added = addSpecialTokens ? template.prefixIds.length + template.suffixIds.length : 0;
  if (maxLength < added) {
    throw new TokenizerError(
      'TOKENIZER_BAD_OPTION',
      `maxLength ${maxLength} is too small: the ${added} special tokens alone need ${added}`,
    );
  }
  const keep = Math.min(content.length, maxLength - added);
  if (!addSpecialTokens) return encodingFromIds(keep === content.length ? content : content.slice(0, keep));
  const ids = new Int32Array(added + keep);
  let k = 0;
  for (const id of template.prefixIds) ids[k++] = id;
  for (let i = 0; i < keep; i++) ids[k++] = content[i];
  for (const id of template.suffixIds) ids[k++] = id;
  return { ids, attentionMask: new Int32Array(ids.length).fill(1), tokenTypeIds: new Int32Array(ids.length) };
}
