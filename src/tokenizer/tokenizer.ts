// Owns: the BertTokenizer class, which wires the stages together the way tokenizers' `encode` does:
//   text -> well-formed UTF-16 -> added tokens split out of the raw text (special-tokens.ts)
//        -> each plain piece: BertNormalizer + BertPreTokenizer (word-splitter.ts, or
//           normalizer.ts + pre-tokenizer.ts when lowercasing / stripping accents / matching
//           normalized added tokens) -> WordPiece (wordpiece.ts)
//        -> [CLS] … [SEP] + truncation (post-processor.ts) -> padding for batches (encoding.ts).
// Does not own: reading files from disk (src/node/model-files/tokenizer-files.ts).
import { type ConfigFiles, type TokenizerSettings, resolveSettings } from './config.js';
import { type Encoding, padToLongest } from './encoding.js';
import { TokenizerError } from './errors.js';
import { normalize } from './normalizer.js';
import { type Template, postProcess } from './post-processor.js';
import { preTokenize } from './pre-tokenizer.js';
import { AddedTokenMatcher } from './special-tokens.js';
import { toWellFormed } from './unicode.js';
import type { FileContents } from './utf8.js';
import { describe } from './utf8.js';
import { Vocab } from './vocab.js';
import { WordPiece } from './wordpiece.js';
import { splitWords } from './word-splitter.js';

export interface TokenizerFiles extends ConfigFiles {
  /** vocab.txt: one token per line, id = line index. */
  vocab: FileContents;
}

export interface EncodeOptions {
  /**
   * Truncate to this many ids, special tokens included. Default: the tokenizer's `maxLength`
   * (model_max_length, 512 for klue/bert-base); `Infinity` turns truncation off.
   */
  maxLength?: number;
  /** Add [CLS] and [SEP] (default true). */
  addSpecialTokens?: boolean;
}

/** A WordPiece BERT tokenizer giving the ids of Hugging Face's BertTokenizerFast. */
export class BertTokenizer {
  /** Default truncation length: model_max_length, or Infinity when the files set none. */
  readonly maxLength: number;
  /** Largest id + 1 (vocab.txt lines, plus added tokens that are not in it; a tokenizer.json
   *  added token with a far id leaves ids in between that idsToTokens rejects). */
  readonly vocabSize: number;
  readonly padId: number | null;
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;
  readonly settings: Readonly<TokenizerSettings>;

  private readonly idToToken: string[];
  private readonly tokenToIdMap: Map<string, number>;
  private readonly wordPiece: WordPiece;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly template: Template;
  private readonly fastPath: boolean;

  private constructor(vocab: Vocab, settings: TokenizerSettings) {
    if (settings.jsonVocab !== null) checkSameVocab(vocab, settings.jsonVocab);
    // Keep the settings, not tokenizer.json's copy of the vocabulary (megabytes for 32k tokens).
    this.settings = { ...settings, jsonVocab: null };
    this.wordPiece = new WordPiece(vocab, settings);
    this.idToToken = vocab.tokens.slice();
    this.tokenToIdMap = new Map(vocab.ids);

    // Added tokens: their fixed id, else their vocab id, else the next free id (HF add_tokens).
    // Except the role tokens: HF would give a missing [CLS] a new id past the model's embeddings,
    // so a missing [UNK]/[CLS]/[SEP] is an error, and a missing [PAD]/[MASK] is left out.
    const roles = new Map<string, string>([
      [settings.unkToken, 'unk_token'],
      [settings.clsToken, 'cls_token'],
      [settings.sepToken, 'sep_token'],
    ]);
    const optionalRoles = new Set([settings.padToken, settings.maskToken]);
    const entries = settings.addedTokens.flatMap((spec) => {
      let id = spec.id ?? this.tokenToIdMap.get(spec.content);
      if (id === undefined && roles.has(spec.content)) {
        throw new TokenizerError(
          'TOKENIZER_MISSING_SPECIAL_TOKEN',
          `${vocab.fileName}: the ${roles.get(spec.content)} ${JSON.stringify(spec.content)} is not in the vocabulary`,
        );
      }
      if (id === undefined && optionalRoles.has(spec.content)) return [];
      if (id === undefined) id = this.idToToken.length;
      if (this.idToToken[id] === undefined) {
        this.idToToken[id] = spec.content;
        this.tokenToIdMap.set(spec.content, id);
      }
      return [{ ...spec, id }];
    });
    this.rawMatcher = new AddedTokenMatcher(entries.filter((e) => !e.normalized));
    // Rust matches these against their normalized form.
    this.normalizedMatcher = new AddedTokenMatcher(
      entries.filter((e) => e.normalized).map((e) => ({ ...e, content: normalize(toWellFormed(e.content), settings) })),
    );
    this.vocabSize = this.idToToken.length;

    const need = (token: string, role: string): number => {
      const id = this.tokenToIdMap.get(token);
      if (id === undefined) {
        throw new TokenizerError(
          'TOKENIZER_MISSING_SPECIAL_TOKEN',
          `${vocab.fileName}: the ${role} ${JSON.stringify(token)} is not in the vocabulary`,
        );
      }
      return id;
    };
    this.unkId = this.wordPiece.unkId;
    this.clsId = need(settings.clsToken, 'cls_token');
    this.sepId = need(settings.sepToken, 'sep_token');
    this.padId = settings.padToken === null ? null : (this.tokenToIdMap.get(settings.padToken) ?? null);
    this.template = {
      prefixIds: settings.templatePrefix.map((t) => need(t, 'post-processor token')),
      suffixIds: settings.templateSuffix.map((t) => need(t, 'post-processor token')),
    };
    this.maxLength = settings.modelMaxLength;
    this.fastPath = !settings.lowercase && !settings.stripAccents && this.normalizedMatcher.isEmpty;
  }

  /**
   * Build a tokenizer from file contents (string, UTF-8 bytes or ArrayBuffer). Only `vocab` is
   * required; tokenizer_config.json, special_tokens_map.json and tokenizer.json refine it as in
   * Hugging Face (see config.ts). Throws TokenizerError naming the file and the problem.
   */
  static fromFiles(files: TokenizerFiles): BertTokenizer {
    if (files === null || typeof files !== 'object' || files.vocab === undefined) {
      throw new TokenizerError('TOKENIZER_MISSING_FILE', 'vocab.txt: no vocabulary given (files.vocab)');
    }
    const vocab = Vocab.parse(files.vocab, 'vocab.txt');
    return new BertTokenizer(vocab, resolveSettings(files));
  }

  /** The ids of one text: [CLS] … [SEP] (unless addSpecialTokens is false), truncated to maxLength. */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    if (typeof text !== 'string') {
      throw new TokenizerError('TOKENIZER_BAD_INPUT', `encode: text must be a string, got ${describe(text)}`);
    }
    const maxLength = this.checkMaxLength(options.maxLength);
    const addSpecialTokens = options.addSpecialTokens ?? true;
    return postProcess(this.contentIds(text), this.template, addSpecialTokens, maxLength);
  }

  /** Encode each text and pad all to the longest ([PAD], attention 0); rows in input order. */
  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): Encoding[] {
    if (!Array.isArray(texts)) {
      throw new TokenizerError('TOKENIZER_BAD_INPUT', `encodeBatch: texts must be an array of strings, got ${describe(texts)}`);
    }
    const maxLength = this.checkMaxLength(options.maxLength);
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const rows = texts.map((text, i) => {
      if (typeof text !== 'string') {
        throw new TokenizerError('TOKENIZER_BAD_INPUT', `encodeBatch: texts[${i}] must be a string, got ${describe(text)}`);
      }
      return postProcess(this.contentIds(text), this.template, addSpecialTokens, maxLength);
    });
    const lengths = new Set(rows.map((r) => r.ids.length));
    if (lengths.size > 1 && this.padId === null) {
      throw new TokenizerError('TOKENIZER_MISSING_SPECIAL_TOKEN', `encodeBatch: padding needs pad_token ${JSON.stringify(this.settings.padToken)}, which is not in the vocabulary`);
    }
    return padToLongest(rows, this.padId ?? 0);
  }

  /** Tokens of ids (e.g. to print what the model sees). */
  idsToTokens(ids: ArrayLike<number>): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = Number.isInteger(id) && id >= 0 ? this.idToToken[id] : undefined;
      if (token === undefined) {
        throw new TokenizerError('TOKENIZER_BAD_ID', `idsToTokens: id ${id} at position ${i} is not in [0, ${this.vocabSize})`);
      }
      out.push(token);
    }
    return out;
  }

  /** Id of a token, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  private checkMaxLength(maxLength: number | undefined): number {
    if (maxLength === undefined) return this.maxLength;
    if (maxLength === Infinity || (Number.isInteger(maxLength) && maxLength >= 0)) return maxLength;
    throw new TokenizerError('TOKENIZER_BAD_OPTION', `maxLength must be a non-negative integer or Infinity, got ${describe(maxLength)}`);
  }

  /** WordPiece ids of the text, without special tokens and untruncated. */
  private contentIds(input: string): number[] {
    const text = toWellFormed(input);
    const out: number[] = [];
    const emit = (word: string): void => this.wordPiece.tokenizeInto(word, out);
    const plain = (start: number, end: number): void => {
      if (start === end) return;
      if (this.fastPath) {
        splitWords(text, start, end, this.settings.cleanText, this.settings.handleChineseChars, emit);
        return;
      }
      const normalized = normalize(text.slice(start, end), this.settings);
      this.normalizedMatcher.split(normalized, 0, normalized.length, (s, e, id) => {
        if (id >= 0) out.push(id);
        else if (s < e) for (const word of preTokenize(normalized.slice(s, e))) emit(word);
      });
    };
    if (this.rawMatcher.isEmpty) plain(0, text.length);
    else {
      this.rawMatcher.split(text, 0, text.length, (s, e, id) => {
        if (id >= 0) out.push(id);
        else plain(s, e);
      });
    }
    return out;
  }
}

/** tokenizer.json's model.vocab must be vocab.txt (the fast tokenizer would use the former). */
function checkSameVocab(vocab: Vocab, jsonVocab: Record<string, unknown>): void {
  const keys = Object.keys(jsonVocab);
  for (const token of keys) {
    const id = jsonVocab[token];
    if (vocab.ids.get(token) !== id) {
      throw new TokenizerError(
        'TOKENIZER_VOCAB_MISMATCH',
        `tokenizer.json: model.vocab gives ${JSON.stringify(token)} id ${describe(id)}, vocab.txt gives ${vocab.ids.get(token) ?? 'none'}`,
      );
    }
  }
  if (keys.length !== vocab.size) {
    throw new TokenizerError('TOKENIZER_VOCAB_MISMATCH', `tokenizer.json: model.vocab has ${keys.length} tokens, vocab.txt has ${vocab.size}`);
  }
}
