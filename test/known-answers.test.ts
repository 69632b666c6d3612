// Known answers for the algorithms this project implements itself, taken from their standards or
// from the reference tool, never from our own output: a writer and a reader that share a mistake
// (a wrong CRC polynomial, a wrong SHA-256 constant, a lenient UTF-8 decoder) still agree with each
// other, so round trips cannot catch what these can.
// - CRC-32C (src/formats/checksum.ts): the check values of RFC 3720 appendix B.4, plus "123456789"
//   (the catalogue's check value), each also fed in pieces through the streaming argument.
// - xxHash64 (src/formats/checksum.ts, the peer bench/checksum.ts measures CRC-32C against): values
//   `xxhsum -H1` (xxHash 0.8) printed, pinned, and compared with xxhsum itself when it is installed.
// - SHA-256 (src/formats/sha256.ts): the FIPS 180-2/180-4 examples (one block, two blocks, 896
//   bits, one million 'a') and the empty string, fed whole and in pieces across block edges.
// - Git blob ids (src/hub/transfer.ts, src/node/hub/resumable-download.ts): values `git hash-object`
//   printed once, pinned here, and compared with the real git binary when it is installed.
// - UTF-8 (src/node/text-input/utf8-lines.ts, the CLI's text input; corpus-reader.ts, corpus lines;
//   src/tokenizer/utf8.ts, the tokenizer's file contents): overlong forms, surrogates, truncated sequences, the largest code
//   point and one past it, stray bytes, the BOM and noncharacters, each with the byte offset the
//   Unicode standard's table of well-formed sequences (Table 3-7) makes the first bad one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c, xxhash64 } from '../src/formats/checksum.js';
import { Sha256, SHA256_HEX } from '../src/formats/sha256.js';
import { gitBlobId } from '../src/hub/transfer.js';
import { isComplete } from '../src/node/hub/resumable-download.js';
import { firstInvalidUtf8 as corpusFirstInvalidUtf8 } from '../src/node/text-input/corpus-reader.js';
import { decodeUtf8Line, firstInvalidUtf8, TextInputError } from '../src/node/text-input/utf8-lines.js';
import { decodeText, firstInvalidUtf8Offset } from '../src/tokenizer/utf8.js';
import { skipWithout, tool } from './helpers/requirement.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (n: number) => '0x' + n.toString(16).toUpperCase().padStart(8, '0');

describe('CRC-32C known answers (RFC 3720 B.4)', () => {
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  const cases: Array<[string, Uint8Array, number]> = [
    ['32 bytes of 0x00', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xFF', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 bytes ascending 0x00..0x1F', ascending, 0x46dd794e],
    ['32 bytes descending 0x1F..0x00', ascending.slice().reverse(), 0x113fdb5c],
    ['"123456789"', ascii('123456789'), 0xe3069283],
    ['the empty input', new Uint8Array(0), 0],
  ];

  it.each(cases)('%s', (_, bytes, expected) => {
    expect(hex(crc32c(bytes))).toBe(hex(expected));
  });

  it('the same values fed in two pieces at every split point, and as a sub-range of a larger buffer', () => {
    for (const [name, bytes, expected] of cases) {
      for (let cut = 0; cut <= bytes.length; cut++) {
        const piecewise = crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)));
        expect(hex(piecewise), `${name} split at ${cut}`).toBe(hex(expected));
      }
      const padded = new Uint8Array(bytes.length + 13).fill(0xa5);
      padded.set(bytes, 5);
      expect(hex(crc32c(padded, 0, 5, 5 + bytes.length)), `${name} as bytes [5, ${5 + bytes.length}) of a larger buffer`).toBe(hex(expected));
    }
  });

  it('every sub-range [start, end) of a buffer equals the CRC of a copy of it (the 8-byte steps never read past end)', () => {
    const buffer = Uint8Array.from({ length: 40 }, (_, i) => (i * 29 + 5) & 0xff);
    const wrong: string[] = [];
    for (let start = 0; start <= buffer.length; start++) {
      for (let end = start; end <= buffer.length; end++) {
        if (crc32c(buffer, 0, start, end) !== crc32c(buffer.slice(start, end))) wrong.push(`[${start}, ${end})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('xxHash64 known answers (seed 0)', () => {
  const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
  // [name, bytes, what `xxhsum -H1` printed]; the lengths reach every branch: under 4, 4..7, 8..31,
  // the 32-byte stripes with each tail.
  const pinned: Array<[string, Uint8Array, string]> = [
    ['the empty input', new Uint8Array(0), 'ef46db3751d8e999'],
    ['"a"', ascii('a'), 'd24ec4f1a98c6e5b'],
    ['"abc"', ascii('abc'), '44bc2cf5ad770999'],
    ['"Nobody inspects the spammish repetition"', ascii('Nobody inspects the spammish repetition'), 'fbcea83c8a378bf1'],
    ...([[4, '9bb64b7d66ee9fda'], [5, 'c7608efddb7051fe'], [7, '9a7b149959ce60d8'], [8, 'dab99d95c6f90092'], [12, 'd52e407833af5133'],
      [31, 'a2aa5f33cc4a6119'], [32, '23c3c17ef790fd97'], [33, '50a7cfc7ba588784'], [63, '5e3e54b431c7493c'], [64, '0eb64b3ef6eeb01f'],
      [100, 'a61f8d4c170fe531'], [1000, '5f235fa033f1a3fb'],
      // 3 MiB: a length past 2^21 bytes, where the length's high word must not spill into the low one.
      [3 << 20, '994fb12f2866859b']] as const).map(([n, h]): [string, Uint8Array, string] => [`${n} pattern bytes`, pattern(n), h]),
    ['1000 zero bytes', new Uint8Array(1000), '0e2b1ef27944075a'],
    ['31 zero bytes', new Uint8Array(31), 'faf43dd52deb083a'],
    ['32 zero bytes', new Uint8Array(32), 'f6e9be5d70632cf5'],
    ['33 zero bytes', new Uint8Array(33), '1dcdf75a2320fb61'],
  ];

  it.each(pinned)('%s', (_, bytes, expected) => {
    expect(xxhash64(bytes)).toBe(expected);
  });

  it.skipIf(skipWithout(tool('xxhsum', ['xxhsum', '-H1'], 'apt-get install -y xxhash')))('lengths 0..80 agree with xxhsum -H1', () => {
    for (let n = 0; n <= 80; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff);
      const r = spawnSync('xxhsum', ['-H1'], { input: bytes, encoding: 'utf8' });
      expect(xxhash64(bytes), `length ${n}`).toBe(r.stdout.split(/\s/)[0]);
    }
  });
});

describe('SHA-256 known answers (FIPS 180-2 / 180-4 examples)', () => {
  const million = new Uint8Array(1_000_000).fill(0x61);
  const cases: Array<[string, Uint8Array, string]> = [
    ['"abc" (one block)', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['the 448-bit message (two blocks)', ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['the 896-bit message', ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'), 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
    ["one million 'a'", million, 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
    ['the empty string', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ];

  it.each(cases)('%s, whole', (_, bytes, expected) => {
    const h = new Sha256();
    h.update(bytes);
    expect(h.digestHex()).toBe(expected);
  });

  it('the same digests fed in pieces of 1, 3, 55, 56, 63, 64, 65 and 4099 bytes (padding and block edges)', () => {
    for (const [name, bytes, expected] of cases) {
      for (const piece of [1, 3, 55, 56, 63, 64, 65, 4099]) {
        if (piece === 1 && bytes.length > 10_000) continue; // a million single-byte updates add nothing
        const h = new Sha256();
        for (let at = 0; at < bytes.length; at += piece) h.update(bytes.subarray(at, at + piece));
        expect(h.digestHex(), `${name} in pieces of ${piece}`).toBe(expected);
      }
    }
    // An empty update changes nothing, wherever it falls.
    const h = new Sha256();
    h.update(new Uint8Array(0));
    h.update(ascii('ab'));
    h.update(new Uint8Array(0));
    h.update(ascii('c'));
    expect(h.digestHex()).toBe(cases[0][2]);
  });

  it('SHA256_HEX accepts exactly 64 lower-case hex digits, nothing before or after', () => {
    const digest = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(SHA256_HEX.test(digest)).toBe(true);
    for (const bad of [digest.toUpperCase(), digest.slice(1), `${digest}0`, `0${digest}`, `sha256:${digest}`, `${digest}\n`, ' '.repeat(64)]) {
      expect(SHA256_HEX.test(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('lengths 0..130 agree with node:crypto (every padding case: the length field in the same or the next block)', async () => {
    const { createHash } = await import('node:crypto');
    const bytes = Uint8Array.from({ length: 130 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let n = 0; n <= bytes.length; n++) {
      const h = new Sha256();
      h.update(bytes.subarray(0, n));
      expect(h.digestHex(), `length ${n}`).toBe(createHash('sha256').update(bytes.subarray(0, n)).digest('hex'));
    }
  });
});

describe('git blob ids (what the hub states for files kept in git itself)', () => {
  // Printed by `git hash-object --stdin` (git 2.x) for each content, once, and pinned here.
  const pinned: Array<[string, Uint8Array, string]> = [
    ['the empty file', new Uint8Array(0), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'],
    ['"hello\\n"', ascii('hello\n'), 'ce013625030ba8dba906f756967f9e9ca394464a'],
    ['"what is up, doc?"', ascii('what is up, doc?'), 'bd9dbf5aae1a3862dd1526723246b20206e5fc37'],
    ['"고혈압 환자\\n" (UTF-8)', ascii('고혈압 환자\n'), 'bff8ed31d4e13348a38ef97b04bc66be5d9ca5ca'],
    ['1000 zero bytes', new Uint8Array(1000), '012b3279398166a8f9e06174a33624048581648a'],
  ];
  const dir = mkdtempSync(join(tmpdir(), 'kmed-known-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(pinned)('%s: the browser-side check (WebCrypto), whole and in pieces', async (_, bytes, expected) => {
    expect(await gitBlobId([bytes], bytes.length)).toBe(expected);
    const third = Math.floor(bytes.length / 3);
    expect(await gitBlobId([bytes.subarray(0, third), bytes.subarray(third)], bytes.length)).toBe(expected);
  });

  it.each(pinned)('%s: the Node cache check accepts it and refuses a one-byte change', async (name, bytes, expected) => {
    const path = join(dir, `blob-${bytes.length}`);
    writeFileSync(path, bytes);
    expect(await isComplete(path, { size: bytes.length, gitBlobId: expected })).toBe(true);
    const other = expected.slice(0, -1) + (expected.endsWith('0') ? '1' : '0');
    expect(await isComplete(path, { size: bytes.length, gitBlobId: other }), `${name}: a wrong id must not pass`).toBe(false);
  });

  it.skipIf(skipWithout(tool('git', ['git', '--version'], 'apt-get install -y git')))('the pinned ids are what `git hash-object` prints', async () => {
    for (const [name, bytes, expected] of pinned) {
      const r = spawnSync('git', ['hash-object', '--stdin'], { input: bytes, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim(), name).toBe(expected);
    }
    // And one content no one pinned: both implementations against git itself.
    const fresh = Uint8Array.from({ length: 777 }, (_, i) => (i * 131 + 7) & 0xff);
    const r = spawnSync('git', ['hash-object', '--stdin'], { input: fresh, encoding: 'utf8' });
    expect(await gitBlobId([fresh], fresh.length)).toBe(r.stdout.trim());
  });
});

describe('UTF-8 decoding edge cases (Unicode Table 3-7)', () => {
  // [name, bytes, offset of the first byte that starts an ill-formed sequence, or -1 when valid]
  const cases: Array<[string, number[], number]> = [
    ['ASCII', [0x61, 0x62], -1],
    ['U+0080, the smallest 2-byte form', [0xc2, 0x80], -1],
    ['U+07FF, the largest 2-byte form', [0xdf, 0xbf], -1],
    ['U+0800, the smallest 3-byte form', [0xe0, 0xa0, 0x80], -1],
    ['U+D7FF, just below the surrogates', [0xed, 0x9f, 0xbf], -1],
    ['U+E000, just above the surrogates', [0xee, 0x80, 0x80], -1],
    ['U+FFFD', [0xef, 0xbf, 0xbd], -1],
    ['U+10000, the smallest 4-byte form', [0xf0, 0x90, 0x80, 0x80], -1],
    ['U+10FFFF, the largest code point', [0xf4, 0x8f, 0xbf, 0xbf], -1],
    ['noncharacter U+FFFE', [0xef, 0xbf, 0xbe], -1],
    ['noncharacter U+FFFF', [0xef, 0xbf, 0xbf], -1],
    ['noncharacter U+FDD0', [0xef, 0xb7, 0x90], -1],
    ['noncharacter U+1FFFE', [0xf0, 0x9f, 0xbf, 0xbe], -1],
    ['BOM U+FEFF', [0xef, 0xbb, 0xbf], -1],
    ['overlong NUL (C0 80)', [0xc0, 0x80], 0],
    ['overlong "/" (C1 AF) after text', [0x61, 0xc1, 0xaf], 1],
    ['overlong 3-byte U+007F (E0 81 BF)', [0xe0, 0x81, 0xbf], 0],
    ['overlong 3-byte U+07FF (E0 9F BF)', [0xe0, 0x9f, 0xbf], 0],
    ['overlong 4-byte U+FFFF (F0 8F BF BF)', [0xf0, 0x8f, 0xbf, 0xbf], 0],
    ['overlong 4-byte NUL (F0 80 80 80)', [0xf0, 0x80, 0x80, 0x80], 0],
    ['surrogate U+D800 (ED A0 80)', [0xed, 0xa0, 0x80], 0],
    ['surrogate U+DFFF (ED BF BF) after text', [0x7a, 0x7a, 0xed, 0xbf, 0xbf], 2],
    ['a surrogate pair in CESU-8 form', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], 0],
    ['U+110000, one past the largest (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], 0],
    ['lead byte F5', [0xf5, 0x80, 0x80, 0x80], 0],
    ['byte FE', [0xfe], 0],
    ['byte FF after a valid 2-byte form', [0xc3, 0xa9, 0xff], 2],
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['three continuation bytes with no lead (would read as U+1000)', [0x81, 0x80, 0x80], 0],
    ['four continuation bytes with no lead (would read as U+100000)', [0x84, 0x80, 0x80, 0x80], 0],
    ['2-byte form cut off at the end', [0x61, 0xc3], 1],
    ['3-byte form cut off after 2 bytes', [0xe2, 0x82], 0],
    ['4-byte form cut off after 3 bytes', [0xf0, 0x9f, 0x98], 0],
    ['3-byte form whose 2nd byte is ASCII', [0xe2, 0x41, 0x82], 0],
    ['4-byte form whose 4th byte is a lead byte', [0xf0, 0x9f, 0x98, 0xc3, 0xa9], 0],
    ['a valid emoji, then a cut one', [0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f], 4],
  ];

  it.each(cases)('%s: all three decoders name the same first bad byte', (name, bytes, expected) => {
    const b = Uint8Array.from(bytes);
    expect(firstInvalidUtf8(b), `CLI text input: ${name}`).toBe(expected);
    expect(corpusFirstInvalidUtf8(b), `corpus lines: ${name}`).toBe(expected);
    expect(firstInvalidUtf8Offset(b), `tokenizer files: ${name}`).toBe(expected);
  });

  it('the CLI text input refuses each invalid case naming line and byte, and keeps each valid one unchanged', () => {
    for (const [name, bytes, expected] of cases) {
      const b = Uint8Array.from(bytes);
      if (expected === -1) {
        const text = decodeUtf8Line(b, 3, 10, 'in');
        // Away from the very start, a BOM is text; noncharacters are text (never dropped).
        expect(text, name).toBe(Buffer.from(b).toString('utf8'));
        expect([...ascii(text)], name).toEqual(bytes);
      } else {
        let error: unknown;
        try {
          decodeUtf8Line(b, 3, 10, 'in');
        } catch (e) {
          error = e;
        }
        expect(error, name).toBeInstanceOf(TextInputError);
        expect((error as TextInputError).code).toBe('TEXT_INVALID_UTF8');
        expect((error as Error).message, name).toContain(`in line 3: not valid UTF-8 at byte offset ${10 + expected} (byte ${expected} of the line, 0x${bytes[expected].toString(16).padStart(2, '0')})`);
      }
    }
  });

  it('the tokenizer refuses each invalid case naming the file and byte, and keeps each valid one unchanged', () => {
    for (const [name, bytes, expected] of cases) {
      const b = Uint8Array.from(bytes);
      if (expected === -1) {
        const text = decodeText(b, 'vocab.txt');
        // A BOM is removed only as the first character of a file.
        const want = Buffer.from(b).toString('utf8').replace(/^\uFEFF/, '');
        expect(text, name).toBe(want);
      } else {
        expect(() => decodeText(b, 'vocab.txt'), name).toThrow(`vocab.txt: not valid UTF-8 at byte offset ${expected}`);
      }
    }
  });

  it('a BOM is skipped only at the very start: of the input (CLI) or of the file (tokenizer)', () => {
    const bom = [0xef, 0xbb, 0xbf];
    expect(decodeUtf8Line(Uint8Array.from([...bom, 0x61]), 1, 0, 'in')).toBe('a');
    expect(decodeUtf8Line(Uint8Array.from([...bom, 0x61]), 2, 7, 'in')).toBe('\uFEFFa');
    expect(decodeUtf8Line(Uint8Array.from([...bom, ...bom, 0x61]), 1, 0, 'in')).toBe('\uFEFFa');
    expect(decodeText(Uint8Array.from([...bom, 0x61]), 'f')).toBe('a');
    expect(decodeText(Uint8Array.from([0x61, ...bom]), 'f')).toBe('a\uFEFF');
    expect(decodeText(Uint8Array.from([...bom, ...bom]), 'f')).toBe('\uFEFF');
    expect(decodeText(new Uint8Array(bom).buffer, 'f')).toBe('');
    // The CLI's line policy: one \r before the \n goes, a lone \r elsewhere is text.
    expect(decodeUtf8Line(ascii('a\rb\r'), 1, 0, 'in')).toBe('a\rb');
  });

  it('every lead byte 0x80..0xFF with every second byte: valid exactly when a fatal TextDecoder says so, else bad at 0', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const valid = (b: Uint8Array) => {
      try {
        fatal.decode(b);
        return true;
      } catch {
        return false;
      }
    };
    const wrong: string[] = [];
    let invalid = 0;
    for (let lead = 0x80; lead <= 0xff; lead++) {
      const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      for (let second = 0; second <= 0xff; second++) {
        // Completed with continuation bytes, so only the lead and the second byte can be wrong.
        const b = Uint8Array.from([lead, second, 0x80, 0x80].slice(0, length));
        const want = valid(b) ? -1 : 0;
        if (want === 0) invalid++;
        const got = [firstInvalidUtf8(b), corpusFirstInvalidUtf8(b), firstInvalidUtf8Offset(b)];
        if (got.some((g) => g !== want)) wrong.push(`${Buffer.from(b).toString('hex')}: want ${want}, got ${got}`);
      }
    }
    expect(wrong).toEqual([]);
    // Sanity of the sweep itself: most pairs are ill-formed, and many are not.
    expect(invalid).toBeGreaterThan(20_000);
    expect(invalid).toBeLessThan(128 * 256);
  });
});
