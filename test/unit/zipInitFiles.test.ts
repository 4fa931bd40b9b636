/**
 * Zip uploads as init files: a corpus of malicious and broken archives, each refused with
 * its own message, and a normal project that comes out as the expected tar. Every archive
 * is built here, in memory: yazl where it will write the archive, raw bytes where it
 * refuses to (unsafe names, link and device modes, lying headers, encryption flags).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import * as yazl from 'yazl';
import { SetupError } from '../../domain/errors';
import { DEFAULT_ZIP_LIMITS, UnsafeArchiveError, inspectZip, zipToTar, type ZipLimits } from '../../setup/initFiles/zip';
// The module objects themselves, not import-star copies, so the spies below see every caller.
import fs = require('node:fs');
import os = require('node:os');

// ---------------------------------------------------------------------------------------
// Raw zip writing, for what no well-behaved zip library will write.

interface RawEntry {
  name: string;
  /** The bytes as they sit in the archive (compressed already, for method 8). */
  data?: Buffer;
  method?: number;
  crc?: number;
  /** Declared uncompressed size; defaults to the data's length. */
  size?: number;
  compressedSize?: number;
  /** Unix mode: the high word of the external attributes. */
  mode?: number;
  /** DOS attributes: the low word. */
  attrs?: number;
  flags?: number;
  extra?: Buffer;
  madeBy?: number;
  /** Where the central directory claims the local header is. */
  localOffset?: number;
}

const UTF8 = 0x0800;
const DOS_DATE_1980 = 0x21;

/** One allocation for the whole archive, so 200,000 entries stay quick to build. */
function rawZip(entries: RawEntry[], opts: { cdOffsetDelta?: number } = {}): Buffer {
  const prepared = entries.map((e) => {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const size = e.size ?? data.length;
    const compressedSize = e.compressedSize ?? data.length;
    const zip64 = size >= 0xffffffff || compressedSize >= 0xffffffff;
    let extra = e.extra ?? Buffer.alloc(0);
    if (zip64) {
      const z = Buffer.alloc(20);
      z.writeUInt16LE(0x0001, 0);
      z.writeUInt16LE(16, 2);
      z.writeBigUInt64LE(BigInt(size), 4);
      z.writeBigUInt64LE(BigInt(compressedSize), 12);
      extra = Buffer.concat([z, extra]);
    }
    const method = e.method ?? 0;
    const crc = e.crc ?? (method === 0 ? zlib.crc32(data) : 0);
    return { e, name, data, size, compressedSize, zip64, extra, method, crc };
  });
  const many = entries.length > 0xffff;
  let total = 22 + (many ? 76 : 0);
  for (const p of prepared) total += 30 + p.name.length + p.data.length + 46 + p.name.length + p.extra.length;
  const out = Buffer.alloc(total);
  let pos = 0;
  const offsets: number[] = [];
  for (const p of prepared) {
    offsets.push(pos);
    out.writeUInt32LE(0x04034b50, pos);
    out.writeUInt16LE(p.zip64 ? 45 : 20, pos + 4);
    out.writeUInt16LE(p.e.flags ?? UTF8, pos + 6);
    out.writeUInt16LE(p.method, pos + 8);
    out.writeUInt16LE(DOS_DATE_1980, pos + 12);
    out.writeUInt32LE(p.crc, pos + 14);
    out.writeUInt32LE(p.zip64 ? 0xffffffff : p.compressedSize, pos + 18);
    out.writeUInt32LE(p.zip64 ? 0xffffffff : p.size, pos + 22);
    out.writeUInt16LE(p.name.length, pos + 26);
    pos += 30;
    pos += p.name.copy(out, pos);
    pos += p.data.copy(out, pos);
  }
  const cdStart = pos;
  prepared.forEach((p, i) => {
    out.writeUInt32LE(0x02014b50, pos);
    out.writeUInt16LE(p.e.madeBy ?? 0x031e, pos + 4);
    out.writeUInt16LE(p.zip64 ? 45 : 20, pos + 6);
    out.writeUInt16LE(p.e.flags ?? UTF8, pos + 8);
    out.writeUInt16LE(p.method, pos + 10);
    out.writeUInt16LE(DOS_DATE_1980, pos + 14);
    out.writeUInt32LE(p.crc, pos + 16);
    out.writeUInt32LE(p.zip64 ? 0xffffffff : p.compressedSize, pos + 20);
    out.writeUInt32LE(p.zip64 ? 0xffffffff : p.size, pos + 24);
    out.writeUInt16LE(p.name.length, pos + 28);
    out.writeUInt16LE(p.extra.length, pos + 30);
    out.writeUInt32LE((((p.e.mode ?? 0) << 16) | (p.e.attrs ?? 0)) >>> 0, pos + 38);
    out.writeUInt32LE(p.e.localOffset ?? offsets[i]!, pos + 42);
    pos += 46;
    pos += p.name.copy(out, pos);
    pos += p.extra.copy(out, pos);
  });
  const cdSize = pos - cdStart;
  if (many) {
    const zip64End = pos;
    out.writeUInt32LE(0x06064b50, pos);
    out.writeBigUInt64LE(44n, pos + 4);
    out.writeUInt16LE(0x031e, pos + 12);
    out.writeUInt16LE(45, pos + 14);
    out.writeBigUInt64LE(BigInt(entries.length), pos + 24);
    out.writeBigUInt64LE(BigInt(entries.length), pos + 32);
    out.writeBigUInt64LE(BigInt(cdSize), pos + 40);
    out.writeBigUInt64LE(BigInt(cdStart), pos + 48);
    pos += 56;
    out.writeUInt32LE(0x07064b50, pos);
    out.writeBigUInt64LE(BigInt(zip64End), pos + 8);
    out.writeUInt32LE(1, pos + 16);
    pos += 20;
  }
  out.writeUInt32LE(0x06054b50, pos);
  out.writeUInt16LE(Math.min(entries.length, 0xffff), pos + 8);
  out.writeUInt16LE(Math.min(entries.length, 0xffff), pos + 10);
  out.writeUInt32LE(cdSize, pos + 12);
  out.writeUInt32LE(cdStart + (opts.cdOffsetDelta ?? 0), pos + 16);
  return out;
}

const stored = (name: string, content: Buffer | string = 'x', more: Partial<RawEntry> = {}): RawEntry => ({
  name,
  data: Buffer.from(content),
  mode: 0o100644,
  ...more,
});

const deflated = (name: string, content: Buffer | string, more: Partial<RawEntry> = {}): RawEntry => {
  const plain = Buffer.from(content);
  return { name, data: zlib.deflateRawSync(plain), method: 8, crc: zlib.crc32(plain), size: plain.length, mode: 0o100644, ...more };
};

/**
 * A real deflate stream of `units` × 64 MiB of zeros without deflating all of it: a full
 * flush makes each 64 MiB unit independent and byte-aligned, so one unit repeats, and an
 * empty final fixed-Huffman block (0x03 0x00) closes the stream.
 */
const ZERO_UNIT_BYTES = 64 * 1024 ** 2;
let zeroUnit: Buffer | undefined;
function zeros(units: number): Buffer {
  zeroUnit ??= zlib.deflateRawSync(Buffer.alloc(ZERO_UNIT_BYTES), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array<Buffer>(units).fill(zeroUnit), Buffer.from([0x03, 0x00])]);
}

/** Deterministic text that deflates about as well as source code does. */
function text(bytes: number): Buffer {
  const words = ['const', 'value', 'return', 'function', 'import', 'export', 'if', 'else', 'for', 'of', '=', '(', ')', '{', '}', ';', '\n'];
  const out = Buffer.alloc(bytes);
  let seed = 42;
  let pos = 0;
  while (pos < bytes) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const word = `${words[seed % words.length]}${seed % 7 === 0 ? seed % 1000 : ''} `;
    pos += out.write(word, pos);
  }
  return out;
}

function yazlZip(build: (zip: yazl.ZipFile) => void): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  build(zip);
  zip.end();
  return collect(zip.outputStream);
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  body: Buffer;
}

async function readTar(stream: NodeJS.ReadableStream): Promise<TarEntry[]> {
  const bytes = await collect(stream);
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const parts: Buffer[] = [];
      body.on('data', (d: unknown) => parts.push(d as Buffer));
      body.on('end', () => {
        entries.push({ name: header.name, type: header.type, mode: header.mode, uid: header.uid, gid: header.gid, mtime: header.mtime, body: Buffer.concat(parts) });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(bytes);
  await done;
  return entries;
}

/** The error that ends a stream, or a failure when it ends cleanly. */
async function streamError(stream: NodeJS.ReadableStream): Promise<unknown> {
  try {
    await collect(stream);
  } catch (err) {
    return err;
  }
  throw new Error('the tar stream ended without an error');
}

async function refusal(zip: Buffer, limits?: Partial<ZipLimits>): Promise<UnsafeArchiveError> {
  try {
    await inspectZip('app.zip', zip, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    return err as UnsafeArchiveError;
  }
  throw new Error('the archive was accepted');
}

// ---------------------------------------------------------------------------------------
// Nothing may reach the host's disk: os.tmpdir() answers with an empty directory of the
// test's own for the duration (jest's process.env is a copy, so TMPDIR would not do), and
// every fs call that could create something is watched.

const WRITERS = ['open', 'openSync', 'writeFile', 'writeFileSync', 'appendFile', 'appendFileSync', 'createWriteStream', 'mkdir', 'mkdirSync', 'mkdtemp', 'mkdtempSync', 'symlink', 'symlinkSync', 'link', 'linkSync', 'copyFile', 'copyFileSync', 'rename', 'renameSync', 'cp', 'cpSync'] as const;
const PROMISE_WRITERS = ['open', 'writeFile', 'appendFile', 'mkdir', 'mkdtemp', 'symlink', 'link', 'copyFile', 'rename', 'cp'] as const;

let scratchTmp: string;
const spies: jest.SpyInstance[] = [];

function writesSeen(): string[] {
  const seen: string[] = [];
  for (const spy of spies) {
    if (spy.getMockName() === 'os.tmpdir') continue;
    for (const args of spy.mock.calls as unknown[][]) {
      const name = spy.getMockName();
      if (name.endsWith('open') || name.endsWith('openSync')) {
        const flags = args[1];
        const writing =
          typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' ? (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT)) !== 0 : false;
        if (!writing) continue;
      }
      seen.push(`${name}(${String(args[0])})`);
    }
  }
  return seen;
}

beforeAll(() => {
  scratchTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-zip-test-'));
  spies.push(jest.spyOn(os, 'tmpdir').mockReturnValue(scratchTmp).mockName('os.tmpdir'));
  for (const name of WRITERS) spies.push(jest.spyOn(fs, name as never).mockName(`fs.${name}`));
  for (const name of PROMISE_WRITERS) spies.push(jest.spyOn(fs.promises, name as never).mockName(`fs.promises.${name}`));
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
  fs.rmSync(scratchTmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------

describe('zip init files', () => {
  it('has the documented limits, and its error is a SetupError by class and by name', () => {
    expect(DEFAULT_ZIP_LIMITS).toEqual({ maxEntries: 50_000, maxTotalBytes: 1024 ** 3, maxRatio: 200, maxNestingDepth: 3 });
    const err = new UnsafeArchiveError('x', 'a.zip');
    expect(err).toBeInstanceOf(SetupError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SetupError');
  });

  it('accepts only a Buffer, never a path', async () => {
    await expect(inspectZip('app.zip', '/etc/passwd' as unknown as Buffer)).rejects.toThrow(TypeError);
  });

  describe('refuses malicious and broken archives, each with its own message', () => {
    // Archives are built inside their own test, so the big ones cost only their test's time.
    type Case = [what: string, build: () => Buffer | Promise<Buffer>, expected: string | RegExp, limits?: Partial<ZipLimits>];
    const cases: Case[] = [
      ['a `..` traversal', () => rawZip([stored('ok.txt'), stored('../evil.txt')]), "archive 'app.zip': entry '../evil.txt' escapes the target directory"],
      ['an absolute path', () => rawZip([stored('/etc/cron.d/evil')]), "archive 'app.zip': entry '/etc/cron.d/evil' is an absolute path"],
      [
        'a Windows drive letter',
        () => rawZip([stored('C:\\Windows\\evil.dll')]),
        "archive 'app.zip': entry 'C:\\Windows\\evil.dll' is an absolute Windows path (it starts with a drive letter)",
      ],
      [
        'a backslash `..\\` traversal',
        () => rawZip([stored('..\\evil.txt')]),
        "archive 'app.zip': entry '..\\evil.txt' escapes the target directory through a backslash-separated '..'",
      ],
      [
        'a leading backslash',
        () => rawZip([stored('\\etc\\passwd')]),
        "archive 'app.zip': entry '\\etc\\passwd' is an absolute path (a leading backslash counts as a separator)",
      ],
      [
        'a NUL byte in a name',
        () => rawZip([stored('evil.sh\0.txt')]),
        "archive 'app.zip': entry 'evil.sh\\0.txt' has a NUL byte in its name, which would cut the name short on extraction",
      ],
      [
        'an over-long path component',
        () => rawZip([stored(`dir/${'a'.repeat(300)}`)]),
        `archive 'app.zip': entry 'dir/${'a'.repeat(196)}…' has a path component longer than 255 bytes`,
      ],
      [
        'a symlink',
        () => rawZip([stored('link', '/etc/passwd', { mode: 0o120777 })]),
        "archive 'app.zip': entry 'link' is a symbolic link, which could point outside the target directory",
      ],
      [
        'a hardlink (PKWARE Unix extra field with a link target)',
        () => {
          const field = Buffer.alloc(4 + 12 + 'target.txt'.length);
          field.writeUInt16LE(0x000d, 0);
          field.writeUInt16LE(12 + 'target.txt'.length, 2);
          field.write('target.txt', 16);
          return rawZip([stored('target.txt'), stored('hardlink.txt', '', { extra: field })]);
        },
        "archive 'app.zip': entry 'hardlink.txt' is a hard or symbolic link (its PKWARE Unix extra field names a link target)",
      ],
      ['a character device', () => rawZip([stored('dev/tty', '', { mode: 0o020666 })]), "archive 'app.zip': entry 'dev/tty' is a character device"],
      ['a block device', () => rawZip([stored('dev/sda', '', { mode: 0o060660 })]), "archive 'app.zip': entry 'dev/sda' is a block device"],
      ['a fifo', () => rawZip([stored('pipe', '', { mode: 0o010644 })]), "archive 'app.zip': entry 'pipe' is a named pipe (FIFO)"],
      ['a socket', () => rawZip([stored('sock', '', { mode: 0o140755 })]), "archive 'app.zip': entry 'sock' is a socket"],
      [
        'a setuid file',
        () => rawZip([stored('bin/su', '#!/bin/sh\n', { mode: 0o104755 })]),
        "archive 'app.zip': entry 'bin/su' has the setuid bit set, which would run it with its owner's rights",
      ],
      [
        'a setgid file',
        () => rawZip([stored('bin/sg', '#!/bin/sh\n', { mode: 0o102755 })]),
        "archive 'app.zip': entry 'bin/sg' has the setgid bit set, which would run it with its group's rights",
      ],
      ['a sticky directory', () => rawZip([stored('shared/', '', { mode: 0o041777 })]), "archive 'app.zip': entry 'shared/' has the sticky bit set"],
      [
        '200,000 entries',
        () => rawZip(Array.from({ length: 200_000 }, (_, i) => stored(`f/${i}`))),
        "archive 'app.zip' has 200000 entries, over the limit of 50000",
      ],
      [
        'a 10 GiB zip bomb (a real deflate stream of zeros)',
        () => rawZip([{ name: 'zeros.bin', data: zeros(160), method: 8, size: 160 * ZERO_UNIT_BYTES, mode: 0o100644 }]),
        `archive 'app.zip': entry 'zeros.bin' has a compression ratio of ${Math.round((160 * ZERO_UNIT_BYTES) / zeros(160).length)}:1, over the limit of 200:1 (a zip bomb?)`,
      ],
      [
        'many small entries adding up to a bomb',
        () => rawZip(Array.from({ length: 40 }, (_, i) => deflated(`z-${String(i).padStart(2, '0')}.bin`, Buffer.alloc(1_000_000)))),
        /^archive 'app\.zip': entry 'z-\d\d\.bin' brings its archive's overall compression ratio to \d+:1, over the limit of 200:1 \(a zip bomb\?\)$/,
      ],
      [
        'a declared total over the limit',
        () => rawZip([stored('a.txt', Buffer.alloc(600)), stored('b.txt', Buffer.alloc(600))]),
        "archive 'app.zip': entry 'b.txt' brings the total uncompressed size to 1.2 KiB, over the limit of 1000 bytes",
        { maxTotalBytes: 1000 },
      ],
      [
        'a nested bomb (a zip of zips of zeros)',
        () => {
          const bomb = rawZip([{ name: 'zeros.bin', data: zeros(1), method: 8, size: ZERO_UNIT_BYTES, mode: 0o100644 }]);
          const bombs = rawZip(Array.from({ length: 10 }, (_, i) => stored(`bomb-${i}.zip`, bomb)));
          return rawZip([stored('README.md', '# hi\n'), deflated('bombs.zip', bombs)]);
        },
        `archive 'app.zip': entry 'bombs.zip' > 'bomb-0.zip' > 'zeros.bin' has a compression ratio of ${Math.round(ZERO_UNIT_BYTES / zeros(1).length)}:1, over the limit of 200:1 (a zip bomb?)`,
      ],
      [
        'nested archives whose contents add up past the budget',
        () => {
          const inner = rawZip([stored('data.txt', Buffer.alloc(40_000, 'a'))]);
          return rawZip(Array.from({ length: 4 }, (_, i) => stored(`inner-${i}.zip`, inner)));
        },
        /^archive 'app\.zip': entry 'inner-1\.zip' > 'data\.txt' brings the total uncompressed size to [\d.]+ KiB, over the limit of 146\.5 KiB$/,
        { maxTotalBytes: 150_000 },
      ],
      [
        'a zip disguised under another name, holding a bomb',
        () => rawZip([deflated('photo.jpg', rawZip([{ name: 'zeros.bin', data: zeros(1), method: 8, size: ZERO_UNIT_BYTES, mode: 0o100644 }]))]),
        `archive 'app.zip': entry 'photo.jpg' > 'zeros.bin' has a compression ratio of ${Math.round(ZERO_UNIT_BYTES / zeros(1).length)}:1, over the limit of 200:1 (a zip bomb?)`,
      ],
      [
        'archives nested too deep',
        () => {
          let zip = rawZip([stored('deep.txt', 'bottom')]);
          for (let level = 5; level >= 1; level--) zip = rawZip([stored(`l${level}.zip`, zip)]);
          return zip;
        },
        "archive 'app.zip': entry 'l1.zip' > 'l2.zip' > 'l3.zip' > 'l4.zip' is a zip archive nested 4 deep, over the limit of 3",
      ],
      [
        'a nested zip that cannot be read',
        () => rawZip([stored('broken.zip', rawZip([stored('a.txt', 'hello')]).subarray(0, 40))]),
        "archive 'app.zip': entry 'broken.zip' is a nested zip archive that cannot be read, so cannot be checked: End of central directory record signature not found. Either not a zip file, or file is truncated.",
      ],
      [
        'an encrypted entry',
        () => rawZip([{ name: 'secret.txt', data: Buffer.alloc(12 + 6), size: 6, crc: 0, flags: UTF8 | 0x0001, mode: 0o100644 }]),
        "archive 'app.zip': entry 'secret.txt' is encrypted, so its contents cannot be checked",
      ],
      [
        'a strongly encrypted entry',
        () => rawZip([stored('ok.txt'), { name: 'strong.bin', data: Buffer.alloc(40), size: 40, crc: 0, flags: UTF8 | 0x0041, mode: 0o100644 }]),
        "archive 'app.zip': entry 'strong.bin' uses strong encryption, so its contents cannot be checked",
      ],
      [
        'an unsupported compression method',
        () => rawZip([{ name: 'data.lzma', data: Buffer.from('abc'), method: 14, size: 10, mode: 0o100644 }]),
        "archive 'app.zip': entry 'data.lzma' uses compression method 14; only stored (0) and deflate (8) can be checked",
      ],
      [
        'a truncated file',
        async () => {
          const whole = await yazlZip((z) => z.addBuffer(Buffer.from('hello world'), 'a.txt'));
          return whole.subarray(0, Math.floor(whole.length / 2));
        },
        "archive 'app.zip' is not a valid zip: End of central directory record signature not found. Either not a zip file, or file is truncated.",
      ],
      [
        'a corrupt central directory',
        () => rawZip([stored('a.txt')], { cdOffsetDelta: 1 }),
        /^archive 'app\.zip' is not a valid zip: invalid central directory file header signature: 0x[0-9a-f]+$/,
      ],
      [
        'an entry whose local header is missing',
        () => rawZip([stored('a.txt', 'hello', { localOffset: 7 })]),
        "archive 'app.zip' is not a valid zip: entry 'a.txt': no local file header at offset 7",
      ],
      [
        'a stored entry whose sizes disagree',
        () => rawZip([stored('a.txt', 'hello', { size: 1000 })]),
        "archive 'app.zip' is not a valid zip: entry 'a.txt': compressed/uncompressed size mismatch for stored file: 5 != 1000",
      ],
      [
        'overlapping entries',
        () => rawZip([stored('a.txt', 'shared'), stored('b.txt', 'shared', { localOffset: 0 })]),
        "archive 'app.zip': entry 'b.txt' overlaps the data of entry 'a.txt' (overlapping entries are how the densest zip bombs are built)",
      ],
      ['a duplicate name', () => rawZip([stored('a.txt', 'one'), stored('b.txt'), stored('a.txt', 'two')]), "archive 'app.zip': entry 'a.txt' duplicates entry 'a.txt': one would overwrite the other"],
      [
        'a file, then a directory of the same path',
        () => rawZip([stored('src'), stored('src/', '', { mode: 0o040755 })]),
        "archive 'app.zip': entry 'src/' is a directory, but entry 'src' makes the same path a file",
      ],
      [
        'a directory (implied by a child), then a file of the same path',
        () => rawZip([stored('src/main.c'), stored('src')]),
        "archive 'app.zip': entry 'src' is a file, but entry 'src/main.c' makes the same path a directory",
      ],
      [
        'a file written inside a file',
        () => rawZip([stored('config'), stored('config/evil.txt')]),
        "archive 'app.zip': entry 'config/evil.txt' would be written inside 'config', which entry 'config' makes a file",
      ],
      [
        'a directory with content',
        () => rawZip([stored('dir/', 'surprise', { mode: 0o040755 })]),
        "archive 'app.zip': entry 'dir/' is a directory but carries 8 bytes of content",
      ],
    ];

    // Objects, not rows: jest takes a test function with more parameters than a row has for a done-callback test.
    const corpus = cases.map(([what, build, expected, limits]) => ({ what, build, expected, limits }));
    const messages: string[] = [];

    it.each(corpus)('$what', async ({ build, expected, limits }) => {
      const zip = await build();
      const err = await refusal(zip, limits);
      if (typeof expected === 'string') expect(err.message).toBe(expected);
      else expect(err.message).toMatch(expected);
      expect(err).toBeInstanceOf(SetupError);
      expect(err.name).toBe('SetupError');
      expect(err.archive).toBe('app.zip');
      // zipToTar inspects first: it refuses before producing a stream.
      await expect(zipToTar('app.zip', zip, limits)).rejects.toThrow(err.message);
      messages.push(err.message);
    });

    it('gave every kind of refusal a message of its own', () => {
      expect(messages).toHaveLength(corpus.length);
      expect(corpus.length).toBeGreaterThanOrEqual(20);
      // Names and numbers aside, no two refusals read alike.
      const reasons = messages.map((m) => m.replace(/'[^']*'/g, "'…'").replace(/\d+(\.\d+)?/g, 'N'));
      expect(new Set(reasons).size).toBe(reasons.length);
    });
  });

  describe('enforces actual sizes while streaming, whatever the headers say', () => {
    // Small entries are inflated in one capped call, large ones through a zlib stream: both paths.
    const sizes = [
      { path: 'inflated at once', declared: 1000 },
      { path: 'streamed', declared: 3 * 1024 ** 2 },
    ];

    it.each(sizes)('refuses an entry that inflates to 10 GiB past its declared size ($path), without inflating it all', async ({ declared }) => {
      const zip = rawZip([stored('README.md', '# hi\n'), { name: 'small.txt', data: zeros(160), method: 8, size: declared, crc: 0, mode: 0o100644 }]);
      // The headers alone look harmless.
      await expect(inspectZip('app.zip', zip)).resolves.toEqual({ entries: 2, files: 2, totalBytes: 5 + declared });
      const started = Date.now();
      const err = await streamError(await zipToTar('app.zip', zip));
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect(err).toBeInstanceOf(SetupError);
      expect((err as Error).message).toBe(`archive 'app.zip': entry 'small.txt' inflates to more than the ${declared} bytes its header declares`);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it.each(sizes)('refuses an entry that inflates to less than it declares ($path)', async ({ declared }) => {
      const content = text(declared - 100);
      const err = await streamError(await zipToTar('app.zip', rawZip([deflated('short.txt', content, { size: declared })])));
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect((err as Error).message).toBe(`archive 'app.zip' is not a valid zip: entry 'short.txt': inflates to only ${declared - 100} of the ${declared} bytes its header declares`);
    });

    it.each(sizes)('refuses data that fails its CRC ($path)', async ({ declared }) => {
      const err = await streamError(await zipToTar('app.zip', rawZip([deflated('a.txt', text(declared), { crc: 0xdeadbeef })])));
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect((err as Error).message).toBe("archive 'app.zip' is not a valid zip: entry 'a.txt': fails its CRC-32 check: the data is corrupt");
    });

    it.each(sizes)('refuses corrupt deflate data ($path)', async ({ declared }) => {
      // A stored deflate block whose length and its complement disagree, padded so the ratio looks ordinary.
      const data = Buffer.concat([Buffer.from([0x00, 0xff, 0xff, 0x00, 0x01]), Buffer.alloc(declared)]);
      const err = await streamError(await zipToTar('app.zip', rawZip([{ name: 'bad.bin', data, method: 8, size: declared, mode: 0o100644 }])));
      expect(err).toBeInstanceOf(UnsafeArchiveError);
      expect((err as Error).message).toBe("archive 'app.zip' is not a valid zip: entry 'bad.bin': corrupt deflate data (invalid stored block lengths)");
    });

    it('stops cleanly when the consumer goes away mid-stream', async () => {
      const zip = rawZip([deflated('big.txt', text(3 * 1024 ** 2)), stored('after.txt')]);
      const stream = await zipToTar('app.zip', zip);
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      (stream as unknown as { destroy(): void }).destroy();
      // An unheard 'error' from the abandoned entry would fail this suite as an unhandled error.
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
  });

  describe('turns a normal project into a tar for the sandbox', () => {
    const mtime = new Date('2024-05-06T07:08:10Z');
    const script = '#!/bin/sh\necho hello\n';
    const data = Buffer.from(JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `item ${i}` }))));
    const logo = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));

    async function project(): Promise<{ zip: Buffer; sample: Buffer }> {
      const sample = await yazlZip((z) => z.addBuffer(Buffer.from('fixture\n'), 'inside.txt'));
      const zip = await yazlZip((z) => {
        z.addBuffer(Buffer.from('# Demo\n'), 'README.md', { mtime });
        z.addEmptyDirectory('src/');
        z.addBuffer(Buffer.from('export const x = 1;\n'), 'src/index.ts');
        z.addBuffer(Buffer.from(script), 'bin/run.sh', { mode: 0o100755 });
        z.addBuffer(data, 'src/lib/data.json');
        z.addBuffer(Buffer.alloc(0), 'empty.txt');
        z.addBuffer(logo, 'assets/logo.bin', { compress: false });
        z.addEmptyDirectory('docs/');
        z.addBuffer(sample, 'fixtures/sample.zip');
        z.addBuffer(Buffer.from('#!/bin/sh\n'), 'group-only.sh', { mode: 0o100710 });
      });
      return { zip, sample };
    }

    it('counts what it inspected', async () => {
      const { zip, sample } = await project();
      const totalBytes = 7 + 20 + script.length + data.length + 0 + logo.length + sample.length + 10;
      await expect(inspectZip('app.zip', zip)).resolves.toEqual({ entries: 10, files: 8, totalBytes });
    });

    it('emits parents first, relative names, the agent as owner, sanitised modes and exact contents', async () => {
      const { zip, sample } = await project();
      const entries = await readTar(await zipToTar('app.zip', zip));
      // Contents by digest: jest compares Buffers byte by byte as objects, which is slow.
      const digest = (body: Buffer | string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
      const dir = (name: string) => ({ name, type: 'directory', mode: 0o755, uid: 1000, gid: 1000, body: digest('') });
      const file = (name: string, body: Buffer | string, mode = 0o644) => ({ name, type: 'file', mode, uid: 1000, gid: 1000, body: digest(body) });
      expect(entries.map(({ mtime: _mtime, body, ...rest }) => ({ ...rest, body: digest(body) }))).toEqual([
        file('README.md', '# Demo\n'),
        dir('src/'),
        file('src/index.ts', 'export const x = 1;\n'),
        dir('bin/'),
        file('bin/run.sh', script, 0o755),
        dir('src/lib/'),
        file('src/lib/data.json', data),
        file('empty.txt', ''),
        dir('assets/'),
        file('assets/logo.bin', logo),
        dir('docs/'),
        dir('fixtures/'),
        file('fixtures/sample.zip', sample),
        file('group-only.sh', '#!/bin/sh\n', 0o755),
      ]);
      expect(entries[0]!.mtime.getTime()).toBe(mtime.getTime());
    });

    it('reads a Windows-made zip: backslash separators, DOS attributes, no unix modes', async () => {
      const dos = { madeBy: 0x0014, mode: 0 };
      const zip = rawZip([
        stored('project\\', '', { ...dos, attrs: 0x10 }),
        stored('project\\src\\main.c', 'int main(void) { return 0; }\n', { ...dos, attrs: 0x20 }),
        stored('.\\notes.txt', 'notes\n', { ...dos, attrs: 0x21 }),
      ]);
      const entries = await readTar(await zipToTar('win.zip', zip));
      expect(entries.map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.gid])).toEqual([
        ['project/', 'directory', '755', 1000, 1000],
        ['project/src/', 'directory', '755', 1000, 1000],
        ['project/src/main.c', 'file', '644', 1000, 1000],
        ['notes.txt', 'file', '644', 1000, 1000],
      ]);
    });

    it('lets small, highly compressible files through: ratios are judged on sizeable data only', async () => {
      const zip = rawZip([deflated('blank.dat', Buffer.alloc(500_000))]);
      const entries = await readTar(await zipToTar('app.zip', zip));
      expect(entries).toHaveLength(1);
      expect(entries[0]!.body.equals(Buffer.alloc(500_000))).toBe(true);
    });
  });

  it('created nothing on the host', () => {
    expect(fs.readdirSync(scratchTmp)).toEqual([]);
    expect(writesSeen()).toEqual([]);
  });
});
