// Owns: reading tokenizer_config.json, special_tokens_map.json and tokenizer.json into one
// TokenizerSettings, with Hugging Face's defaults and precedence:
// - BertTokenizer defaults: do_lower_case true, strip_accents null (= follow lowercase, as
//   BertNormalizer does), tokenize_chinese_chars true, no model_max_length = no limit;
// - special_tokens_map.json overrides the special tokens named in tokenizer_config.json;
// - tokenizer.json, when given, wins for everything it states (normalizer, WordPiece settings,
//   added tokens, post-processor template), as a fast tokenizer loaded from it would behave;
// - never_split is read and ignored: BertTokenizerFast (the Rust pipeline) has no such notion.
// Does not own: vocab.txt (vocab.ts) or any tokenizing.
import { TokenizerError } from './errors.js';
import { type FileContents, describe, parseJsonFile } from './utf8.js';

/** An added token as tokenizers' AddedToken: matched in the text before the WordPiece model. */
export interface AddedTokenSpec {
  content: string;
  /** Fixed id (tokenizer.json); otherwise the vocab id, or the next free id if absent from vocab. */
  id?: number;
  special: boolean;
  /** Matched against the normalized text (true) or the raw text (false). */
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

export interface TokenizerSettings {
  /** BertNormalizer. */
  cleanText: boolean;
  handleChineseChars: boolean;
  /** Resolved: null in the files means "same as lowercase". */
  stripAccents: boolean;
  lowercase: boolean;
  /** WordPiece. */
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  /** Special tokens by role (Hugging Face names). */
  clsToken: string;
  sepToken: string;
  padToken: string | null;
  maskToken: string | null;
  /** Tokens around the single sequence (TemplateProcessing "single"): [CLS] $A [SEP]. */
  templatePrefix: string[];
  templateSuffix: string[];
  /** model_max_length; Infinity when the files set none (or HF's "no limit" sentinel). */
  modelMaxLength: number;
  addedTokens: AddedTokenSpec[];
  /** tokenizer.json model.vocab, to check it against vocab.txt. */
  jsonVocab: Record<string, unknown> | null;
}

export interface ConfigFiles {
  tokenizerConfig?: FileContents;
  specialTokensMap?: FileContents;
  tokenizerJson?: FileContents;
}

type Json = Record<string, unknown>;

const SPECIAL_ROLES = ['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

function asObject(value: unknown, fileName: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: expected a JSON object at the top level, got ${describe(value)}`);
  }
  return value as Json;
}

function optBool(obj: Json, key: string, fileName: string): boolean | null | undefined {
  const v = obj[key];
  if (v === undefined || v === null || typeof v === 'boolean') return v as boolean | null | undefined;
  throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: "${key}" must be true, false or null, got ${describe(v)}`);
}

function optPositiveInt(obj: Json, key: string, fileName: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: "${key}" must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

function optString(obj: Json, key: string, fileName: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: "${key}" must be a string, got ${describe(v)}`);
  }
  return v;
}

/** A special token as written in the JSON files: "[CLS]" or {"content": "[CLS]", "lstrip": …}. */
function parseTokenValue(v: unknown, where: string, fileName: string): AddedTokenSpec {
  if (typeof v === 'string') {
    if (v === '') throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: ${where} is an empty string`);
    return { content: v, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false };
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Json;
    if (typeof o.content !== 'string' || o.content === '') {
      throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: ${where} has no non-empty string "content"`);
    }
    const special = optBool(o, 'special', fileName) ?? true;
    let id: number | undefined;
    if (o.id !== undefined) {
      if (typeof o.id !== 'number' || !Number.isInteger(o.id) || o.id < 0) {
        throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: ${where} has a bad "id" ${describe(o.id)}`);
      }
      id = o.id;
    }
    return {
      content: o.content,
      id,
      special,
      normalized: optBool(o, 'normalized', fileName) ?? !special,
      lstrip: optBool(o, 'lstrip', fileName) ?? false,
      rstrip: optBool(o, 'rstrip', fileName) ?? false,
      singleWord: optBool(o, 'single_word', fileName) ?? false,
    };
  }
  throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: ${where} must be a string or a token object, got ${describe(v)}`);
}

// transformers writes 1e30 ("VERY_LARGE_INTEGER") when a model has no length limit.
const NO_LIMIT_ABOVE = 2 ** 53;

/** Resolve the three optional JSON files into settings. */
export function resolveSettings(files: ConfigFiles): TokenizerSettings {
  const cfgName = 'tokenizer_config.json';
  const mapName = 'special_tokens_map.json';
  const jsonName = 'tokenizer.json';
  const cfg = files.tokenizerConfig !== undefined ? asObject(parseJsonFile(files.tokenizerConfig, cfgName), cfgName) : {};
  const map = files.specialTokensMap !== undefined ? asObject(parseJsonFile(files.specialTokensMap, mapName), mapName) : {};
  const tj = files.tokenizerJson !== undefined ? asObject(parseJsonFile(files.tokenizerJson, jsonName), jsonName) : null;

  // Special tokens by role: BertTokenizer defaults < tokenizer_config.json < special_tokens_map.json.
  const roles: Record<(typeof SPECIAL_ROLES)[number], AddedTokenSpec | null> = {
    unk_token: parseTokenValue('[UNK]', 'unk_token', cfgName),
    sep_token: parseTokenValue('[SEP]', 'sep_token', cfgName),
    pad_token: parseTokenValue('[PAD]', 'pad_token', cfgName),
    cls_token: parseTokenValue('[CLS]', 'cls_token', cfgName),
    mask_token: parseTokenValue('[MASK]', 'mask_token', cfgName),
  };
  const extra: AddedTokenSpec[] = [];
  for (const [obj, name] of [[cfg, cfgName], [map, mapName]] as const) {
    for (const role of SPECIAL_ROLES) {
      if (obj[role] === undefined) continue;
      roles[role] = obj[role] === null ? null : parseTokenValue(obj[role], `"${role}"`, name);
    }
    const more = obj.additional_special_tokens;
    if (more !== undefined && more !== null) {
      if (!Array.isArray(more)) {
        throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${name}: "additional_special_tokens" must be an array, got ${describe(more)}`);
      }
      more.forEach((v, i) => extra.push(parseTokenValue(v, `additional_special_tokens[${i}]`, name)));
    }
  }
  // tokenizer_config.json of transformers >= 4.34 lists added tokens with their flags.
  const decoderTokens: AddedTokenSpec[] = [];
  const atd = cfg.added_tokens_decoder;
  if (atd !== undefined && atd !== null) {
    if (typeof atd !== 'object' || Array.isArray(atd)) {
      throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${cfgName}: "added_tokens_decoder" must be an object, got ${describe(atd)}`);
    }
    for (const [key, v] of Object.entries(atd as Json)) {
      const spec = parseTokenValue(v, `added_tokens_decoder["${key}"]`, cfgName);
      const id = Number(key);
      if (!Number.isInteger(id) || id < 0) {
        throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${cfgName}: added_tokens_decoder key "${key}" is not an id`);
      }
      decoderTokens.push({ ...spec, id });
    }
  }

  for (const role of ['unk_token', 'sep_token', 'cls_token'] as const) {
    if (roles[role] === null) {
      throw new TokenizerError('TOKENIZER_MISSING_SPECIAL_TOKEN', `${mapName}/${cfgName}: "${role}" is null; BERT needs it`);
    }
  }

  let lowercase = optBool(cfg, 'do_lower_case', cfgName) ?? true;
  let stripAccentsRaw = optBool(cfg, 'strip_accents', cfgName) ?? null;
  let handleChineseChars = optBool(cfg, 'tokenize_chinese_chars', cfgName) ?? true;
  let cleanText = true;
  const neverSplit = cfg.never_split;
  if (neverSplit !== undefined && neverSplit !== null && !Array.isArray(neverSplit)) {
    throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${cfgName}: "never_split" must be an array or null, got ${describe(neverSplit)}`);
  }
  const mml = cfg.model_max_length;
  if (mml !== undefined && mml !== null && (typeof mml !== 'number' || !(mml > 0))) {
    throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${cfgName}: "model_max_length" must be a positive number, got ${describe(mml)}`);
  }
  const modelMaxLength = typeof mml === 'number' && mml < NO_LIMIT_ABOVE ? Math.floor(mml) : Infinity;

  let unkToken = roles.unk_token!.content;
  let continuingSubwordPrefix = '##';
  let maxInputCharsPerWord = 100;
  let templatePrefix = [roles.cls_token!.content];
  let templateSuffix = [roles.sep_token!.content];
  let addedTokens: AddedTokenSpec[];
  let jsonVocab: Json | null = null;

  if (tj === null) {
    // As transformers builds a fast tokenizer from vocab.txt: the role tokens, the extra
    // special tokens and added_tokens_decoder, each content once (first flags win).
    const all = [...decoderTokens, ...Object.values(roles).filter((t): t is AddedTokenSpec => t !== null), ...extra];
    const seen = new Set<string>();
    addedTokens = all.filter((t) => (seen.has(t.content) ? false : (seen.add(t.content), true)));
  } else {
    const where = (key: string) => `${jsonName}: "${key}"`;
    const normalizer = tj.normalizer;
    if (normalizer !== null && normalizer !== undefined) {
      const n = asObject(normalizer, jsonName);
      if (n.type !== 'BertNormalizer') {
        throw new TokenizerError('TOKENIZER_UNSUPPORTED', `${where('normalizer')} of type ${describe(n.type)} is not supported (only BertNormalizer)`);
      }
      cleanText = optBool(n, 'clean_text', jsonName) ?? true;
      handleChineseChars = optBool(n, 'handle_chinese_chars', jsonName) ?? true;
      stripAccentsRaw = optBool(n, 'strip_accents', jsonName) ?? null;
      lowercase = optBool(n, 'lowercase', jsonName) ?? true;
    } else {
      cleanText = false;
      handleChineseChars = false;
      stripAccentsRaw = false;
      lowercase = false;
    }
    const pre = tj.pre_tokenizer;
    if (pre === null || pre === undefined || asObject(pre, jsonName).type !== 'BertPreTokenizer') {
      throw new TokenizerError('TOKENIZER_UNSUPPORTED', `${where('pre_tokenizer')} must be BertPreTokenizer, got ${describe(pre && (pre as Json).type)}`);
    }
    const model = asObject(tj.model ?? null, jsonName);
    if (model.type !== undefined && model.type !== 'WordPiece') {
      throw new TokenizerError('TOKENIZER_UNSUPPORTED', `${where('model')} of type ${describe(model.type)} is not supported (only WordPiece)`);
    }
    unkToken = optString(model, 'unk_token', jsonName) ?? unkToken;
    continuingSubwordPrefix = optString(model, 'continuing_subword_prefix', jsonName) ?? '##';
    maxInputCharsPerWord = optPositiveInt(model, 'max_input_chars_per_word', jsonName) ?? 100;
    if (model.vocab !== undefined && model.vocab !== null) jsonVocab = asObject(model.vocab, jsonName);

    const list = tj.added_tokens;
    if (list !== undefined && list !== null && !Array.isArray(list)) {
      throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${where('added_tokens')} must be an array, got ${describe(list)}`);
    }
    addedTokens = ((list as unknown[] | null | undefined) ?? []).map((v, i) => parseTokenValue(v, `added_tokens[${i}]`, jsonName));

    const post = tj.post_processor;
    if (post !== null && post !== undefined) {
      const p = asObject(post, jsonName);
      if (p.type === 'BertProcessing') {
        templatePrefix = [pairToken(p.cls, 'cls', jsonName)];
        templateSuffix = [pairToken(p.sep, 'sep', jsonName)];
      } else if (p.type === 'TemplateProcessing') {
        [templatePrefix, templateSuffix] = parseSingleTemplate(p.single, p.special_tokens, jsonName);
      } else {
        throw new TokenizerError('TOKENIZER_UNSUPPORTED', `${where('post_processor')} of type ${describe(p.type)} is not supported`);
      }
    } else {
      templatePrefix = [];
      templateSuffix = [];
    }
  }

  return {
    cleanText,
    handleChineseChars,
    stripAccents: stripAccentsRaw ?? lowercase,
    lowercase,
    unkToken,
    continuingSubwordPrefix,
    maxInputCharsPerWord,
    clsToken: roles.cls_token!.content,
    sepToken: roles.sep_token!.content,
    padToken: roles.pad_token?.content ?? null,
    maskToken: roles.mask_token?.content ?? null,
    templatePrefix,
    templateSuffix,
    modelMaxLength,
    addedTokens,
    jsonVocab,
  };
}

function pairToken(v: unknown, name: string, fileName: string): string {
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: post_processor.${name} must be ["token", id], got ${describe(v)}`);
}

/** TemplateProcessing.single: special tokens, exactly one {"Sequence": {"id": "A"}}, special tokens. */
function parseSingleTemplate(single: unknown, specialTokens: unknown, fileName: string): [string[], string[]] {
  const table = (specialTokens ?? {}) as Record<string, Json | undefined>;
  if (!Array.isArray(single)) {
    throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: post_processor.single must be an array, got ${describe(single)}`);
  }
  const prefix: string[] = [];
  const suffix: string[] = [];
  let seenSequence = false;
  for (const [i, piece] of single.entries()) {
    const p = piece as Json | null;
    const special = p?.SpecialToken as Json | undefined;
    if (p && p.Sequence !== undefined && !seenSequence) {
      seenSequence = true;
    } else if (special && typeof special.id === 'string') {
      // special_tokens maps the template's name to the token(s) it stands for.
      const tokens = table[special.id]?.tokens;
      const contents = Array.isArray(tokens) && tokens.every((t) => typeof t === 'string') ? (tokens as string[]) : [special.id];
      (seenSequence ? suffix : prefix).push(...contents);
    } else {
      throw new TokenizerError('TOKENIZER_UNSUPPORTED', `${fileName}: post_processor.single[${i}] is not supported (${JSON.stringify(piece)?.slice(0, 80)})`);
    }
  }
  if (!seenSequence) throw new TokenizerError('TOKENIZER_BAD_CONFIG', `${fileName}: post_processor.single has no Sequence`);
  return [prefix, suffix];
}
