/**
 * A zip archive uploaded as init files, turned into a tar stream for Docker's archive API.
 *
 * Every entry of the central directory is judged before a byte leaves the worker, and the
 * worker's own file system is never touched: the archive is a Buffer, and each entry is
 * inflated in memory on its way into the tar stream. The limits count what the headers
 * declare and, while streaming, what the data really inflates to, because a zip can lie.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import * as yauzl from 'yauzl';
import { SetupError } from '../../domain/errors';
import { AGENT_UID } from '../../sandbox/types';

export interface ZipLimits {
  /** Entries, those of nested archives included. */
  maxEntries: number;
  /** Uncompressed bytes, declared or actual, nested archives' contents included. */
  maxTotalBytes: number;
  /** Uncompressed over compressed size, for each entry and for each archive as a whole. */
  maxRatio: number;
  /** How many archives deep a zip inside the upload may sit (the upload itself is level 0). */
  maxNestingDepth: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = Object.freeze({
  maxEntries: 50_000,
  maxTotalBytes: 1024 ** 3,
  maxRatio: 200,
  maxNestingDepth: 3,
});

/**
 * Keeps SetupError's `name` (it does not override it): Temporal matches non-retryable
 * failures by name, and an unsafe archive is exactly a setup that no retry can fix.
 */
export class UnsafeArchiveError extends SetupError {
  constructor(
    message: string,
    readonly archive: string,
    /** The entry at fault, nested archives joined by ' > ', when there is one. */
    readonly entry?: string,
  ) {
    super(message);
  }
}

/** Ratios are not judged below this: a small file of zeros compresses 1000:1 and harms no one. */
const RATIO_GRACE_BYTES = 1024 ** 2;
/** A deflated nested zip must be inflated in memory to be checked; past this it cannot be, so it is refused. */
const NESTED_INSPECT_MAX_BYTES = 128 * 1024 ** 2;
/** Linux's PATH_MAX and NAME_MAX: longer names could not be created in the sandbox anyway. */
const MAX_PATH_BYTES = 4096;
const MAX_COMPONENT_BYTES = 255;
/** Enough deflate input to get past a dynamic block's code tables to the first bytes of output. */
const SNIFF_INPUT_BYTES = 1024;
/** A local header is 30 bytes: anything shorter cannot be a zip that holds something. */
const SNIFF_MIN_BYTES = 30;
const STORED_CHUNK_BYTES = 64 * 1024;
/**
 * Entries up to this size are inflated in one bounded call and checked before any of their
 * bytes enter the tar; a zlib stream per entry costs ten times as much for small files.
 */
const WHOLE_ENTRY_BYTES = 1024 ** 2;

const LOCAL_HEADER_SIG = 0x04034b50;
const CENTRAL_HEADER_SIG = 0x02014b50;
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const EOCD_MAGIC = Buffer.from([0x50, 0x4b, 0x05, 0x06]);

const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFDIR = 0o040000;
const S_IFBLK = 0o060000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFSOCK = 0o140000;
const DOS_DIRECTORY = 0x10;
const EXTRA_PKWARE_UNIX = 0x000d;
const EXTRA_ASI_UNIX = 0x756e;

const inflateRaw = promisify(zlib.inflateRaw) as (buf: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** Where an entry sits: its own name last, preceded by the nested archives holding it. */
type Chain = readonly string[];

interface Budget {
  archive: string;
  limits: ZipLimits;
  entries: number;
  bytes: number;
}

interface Level {
  buf: Buffer;
  /** The nested archive's own chain; empty for the upload. */
  chain: Chain;
  depth: number;
}

interface PlannedEntry {
  chain: Chain;
  path: string;
  dir: boolean;
  mode: number;
  mtime: Date;
  method: number;
  dataStart: number;
  compressedSize: number;
  size: number;
  crc32: number;
}

interface Plan {
  entries: PlannedEntry[];
  /** Normalised path to what occupies it and which entry made it so, for overwrite checks. */
  seen: Map<string, { dir: boolean; by: string }>;
}

/**
 * Checks the whole archive (every central-directory entry) without extracting; used at upload
 * time and before provisioning. Declared sizes are judged here; actual ones by zipToTar.
 * Counts describe the upload's own entries (nested archives' contents only count against
 * the limits). Throws UnsafeArchiveError.
 */
export async function inspectZip(
  name: string,
  zip: Buffer,
  limits?: Partial<ZipLimits>,
): Promise<{ entries: number; files: number; totalBytes: number }> {
  const { counts } = await inspectUpload(name, zip, limits);
  return counts;
}

/**
 * inspectZip, then a tar stream of the archive's contents for `putArchive`: every entry owned
 * by the agent, modes sanitised (files 0644, or 0755 when any x bit was set; directories
 * 0755), parents before children, names relative. Each entry is inflated as the stream is
 * read, and its actual size and CRC are enforced; a violation destroys the stream with an
 * UnsafeArchiveError, which fails the upload it feeds (entries already sent may have
 * landed, which is why the sandbox of a failed setup is never used).
 */
export async function zipToTar(name: string, zip: Buffer, limits?: Partial<ZipLimits>): Promise<NodeJS.ReadableStream> {
  const { budget, plan } = await inspectUpload(name, zip, limits);
  const pack = tar.pack();
  // A limit can be hit before the consumer attaches its own 'error' listener, and an
  // unheard 'error' would crash the worker; consumers still receive it through theirs.
  pack.on('error', () => {});
  pump(budget, zip, plan.entries, pack).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(typeof (err as { message?: unknown } | null)?.message === 'string' ? (err as Error) : new Error(messageOf(err))),
  );
  return pack as unknown as NodeJS.ReadableStream;
}

async function inspectUpload(name: string, zip: Buffer, partial?: Partial<ZipLimits>) {
  // A Buffer and nothing else: a path would invite reading, or writing, the worker's disk.
  if (!Buffer.isBuffer(zip)) throw new TypeError(`archive '${show(name)}' must be given as a Buffer`);
  const budget: Budget = { archive: name, limits: limitsOf(partial), entries: 0, bytes: 0 };
  const level: Level = { buf: zip, chain: [], depth: 0 };
  const plan: Plan = { entries: [], seen: new Map() };
  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await openZip(zip);
  } catch (err) {
    throw broken(budget, level, null, messageOf(err));
  }
  const counts = await inspectLevel(budget, level, zipfile, plan);
  return { budget, plan, counts };
}

function limitsOf(partial?: Partial<ZipLimits>): ZipLimits {
  const limits: ZipLimits = {
    maxEntries: partial?.maxEntries ?? DEFAULT_ZIP_LIMITS.maxEntries,
    maxTotalBytes: partial?.maxTotalBytes ?? DEFAULT_ZIP_LIMITS.maxTotalBytes,
    maxRatio: partial?.maxRatio ?? DEFAULT_ZIP_LIMITS.maxRatio,
    maxNestingDepth: partial?.maxNestingDepth ?? DEFAULT_ZIP_LIMITS.maxNestingDepth,
  };
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new TypeError(`zip limit ${key} must be a non-negative number, got ${String(value)}`);
  }
  return limits;
}

/**
 * One archive's entries. The upload (with a plan) gets every check; a nested archive is only
 * data to the sandbox, so it gets the checks that keep it from being a bomb: limits,
 * ratios, overlaps, readability, and its own nested archives.
 */
async function inspectLevel(budget: Budget, level: Level, zipfile: yauzl.ZipFile, plan: Plan | null) {
  const { limits } = budget;
  const spans: { start: number; end: number; chain: Chain }[] = [];
  let files = 0;
  let levelBytes = 0;
  try {
    // The declared count is all any reader will see, so refusing on it costs no iteration.
    budget.entries += zipfile.entryCount;
    if (budget.entries > limits.maxEntries) {
      if (level.chain.length === 0) {
        throw new UnsafeArchiveError(`archive '${show(budget.archive)}' has ${zipfile.entryCount} entries, over the limit of ${limits.maxEntries}`, budget.archive);
      }
      throw unsafe(budget, level.chain, `is a nested zip archive whose ${zipfile.entryCount} entries bring the total to ${budget.entries}, over the limit of ${limits.maxEntries}`);
    }
    for (;;) {
      const entry = await nextEntry(budget, level, zipfile);
      if (!entry) break;
      const name = storedName(entry);
      const chain = [...level.chain, name];
      const planned = plan ? judgeUploadEntry(budget, chain, name, entry, plan) : null;
      const dir = planned ? planned.dir : name.endsWith('/') || name.endsWith('\\');

      if (entry.isEncrypted()) throw unsafe(budget, chain, 'is encrypted, so its contents cannot be checked');
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw unsafe(budget, chain, `uses compression method ${entry.compressionMethod}; only stored (0) and deflate (8) can be checked`);
      }
      const dataStart = locateData(budget, level, chain, entry);
      spans.push({ start: entry.relativeOffsetOfLocalHeader, end: dataStart + entry.compressedSize, chain });

      const size = entry.uncompressedSize;
      const ratio = size / Math.max(entry.compressedSize, 1);
      if (size > RATIO_GRACE_BYTES && ratio > limits.maxRatio) {
        throw unsafe(budget, chain, `has a compression ratio of ${Math.round(ratio)}:1, over the limit of ${limits.maxRatio}:1 (a zip bomb?)`);
      }
      budget.bytes += size;
      if (budget.bytes > limits.maxTotalBytes) {
        throw unsafe(budget, chain, `brings the total uncompressed size to ${human(budget.bytes)}, over the limit of ${human(limits.maxTotalBytes)}`);
      }
      levelBytes += size;
      const overall = levelBytes / Math.max(level.buf.length, 1);
      if (levelBytes > RATIO_GRACE_BYTES && overall > limits.maxRatio) {
        throw unsafe(budget, chain, `brings its archive's overall compression ratio to ${Math.round(overall)}:1, over the limit of ${limits.maxRatio}:1 (a zip bomb?)`);
      }

      if (!dir) files++;
      if (!dir && size > 0) await inspectNested(budget, level, chain, entry, level.buf.subarray(dataStart, dataStart + entry.compressedSize));
      if (plan && planned && planned.path !== '') {
        plan.entries.push({
          chain,
          path: planned.path,
          dir: planned.dir,
          mode: planned.mode,
          mtime: mtimeOf(entry),
          method: entry.compressionMethod,
          dataStart,
          compressedSize: entry.compressedSize,
          size,
          crc32: entry.crc32,
        });
      }
    }
    refuseOverlaps(budget, spans);
  } finally {
    zipfile.close();
  }
  return { entries: zipfile.entryCount, files, totalBytes: levelBytes };
}

/** Name, type, mode and overwrite checks: what matters for what lands in the sandbox. */
function judgeUploadEntry(budget: Budget, chain: Chain, name: string, entry: yauzl.Entry, plan: Plan) {
  const problem = nameProblem(name);
  if (problem) throw unsafe(budget, chain, problem);

  const mode = entry.externalFileAttributes >>> 16;
  const typeIssue = typeProblem(mode);
  if (typeIssue) throw unsafe(budget, chain, typeIssue);
  for (const field of entry.extraFields) {
    // Other unix extra fields can carry a link target, which some unzippers honour.
    if (field.id === EXTRA_PKWARE_UNIX && field.data.length > 12) {
      throw unsafe(budget, chain, 'is a hard or symbolic link (its PKWARE Unix extra field names a link target)');
    }
    if (field.id === EXTRA_ASI_UNIX && field.data.length >= 6) {
      const asiIssue = typeProblem(field.data.readUInt16LE(4));
      if (asiIssue) throw unsafe(budget, chain, `${asiIssue} (per its ASi Unix extra field)`);
      if (field.data.length > 14) throw unsafe(budget, chain, 'is a hard or symbolic link (its ASi Unix extra field names a link target)');
    }
  }

  // Backslashes are separators to the Windows tools that write them; yauzl reads them so.
  const slashed = name.replace(/\\/g, '/');
  const fmt = mode & S_IFMT;
  const dir = slashed.endsWith('/') || fmt === S_IFDIR || (fmt === 0 && (entry.externalFileAttributes & DOS_DIRECTORY) !== 0);
  const path = slashed
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
  if (dir && entry.uncompressedSize > 0) throw unsafe(budget, chain, `is a directory but carries ${human(entry.uncompressedSize)} of content`);
  if (path === '') {
    // "./" is the target directory itself, which exists already; a file cannot replace it.
    if (!dir) throw unsafe(budget, chain, 'names the target directory itself, not a file in it');
    return { path, dir, mode: 0o755 };
  }

  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i).join('/');
    const prior = plan.seen.get(ancestor);
    if (prior && !prior.dir) throw unsafe(budget, chain, `would be written inside '${show(ancestor)}', which entry '${show(prior.by)}' makes a file`);
    if (!prior) plan.seen.set(ancestor, { dir: true, by: name });
  }
  const prior = plan.seen.get(path);
  if (prior) {
    // Directories repeat harmlessly (modes are sanitised alike); anything else would overwrite.
    if (!prior.dir && !dir) throw unsafe(budget, chain, `duplicates entry '${show(prior.by)}': one would overwrite the other`);
    if (prior.dir && !dir) throw unsafe(budget, chain, `is a file, but entry '${show(prior.by)}' makes the same path a directory`);
    if (!prior.dir && dir) throw unsafe(budget, chain, `is a directory, but entry '${show(prior.by)}' makes the same path a file`);
  } else {
    plan.seen.set(path, { dir, by: name });
  }
  return { path, dir, mode: dir || mode & 0o111 ? 0o755 : 0o644 };
}

/** Judged on the name as written, backslashes kept, so that `..\` tricks are named as such. */
function nameProblem(name: string): string | null {
  if (name.includes('\0')) return 'has a NUL byte in its name, which would cut the name short on extraction';
  if (name === '') return 'has an empty name';
  if (/^[a-zA-Z]:/.test(name)) return 'is an absolute Windows path (it starts with a drive letter)';
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.startsWith('\\')) return 'is an absolute path (a leading backslash counts as a separator)';
  if (name.split('/').includes('..')) return 'escapes the target directory';
  if (name.split(/[/\\]/).includes('..')) return "escapes the target directory through a backslash-separated '..'";
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) return `has a name longer than ${MAX_PATH_BYTES} bytes`;
  if (name.split(/[/\\]/).some((part) => Buffer.byteLength(part) > MAX_COMPONENT_BYTES)) return `has a path component longer than ${MAX_COMPONENT_BYTES} bytes`;
  return null;
}

/** Unix mode bits, as Info-ZIP and most unix tools store them in the external attributes. */
function typeProblem(mode: number): string | null {
  switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
    case S_IFDIR:
      break;
    case S_IFLNK:
      return 'is a symbolic link, which could point outside the target directory';
    case S_IFCHR:
      return 'is a character device';
    case S_IFBLK:
      return 'is a block device';
    case S_IFIFO:
      return 'is a named pipe (FIFO)';
    case S_IFSOCK:
      return 'is a socket';
    default:
      return `has an unknown file type (mode 0o${(mode & S_IFMT).toString(8)})`;
  }
  if (mode & 0o4000) return "has the setuid bit set, which would run it with its owner's rights";
  if (mode & 0o2000) return "has the setgid bit set, which would run it with its group's rights";
  if (mode & 0o1000) return 'has the sticky bit set';
  return null;
}

/**
 * Nested zips are data to us, but whoever unzips them in the sandbox would meet their bomb:
 * their declared contents count against the same budget, down to the nesting limit.
 */
async function inspectNested(budget: Budget, level: Level, chain: Chain, entry: yauzl.Entry, data: Buffer): Promise<void> {
  const named = /\.zip$/i.test(chain[chain.length - 1] ?? '');
  if (!named && (entry.uncompressedSize < SNIFF_MIN_BYTES || !startsWithMagic(sniff(entry, data)))) return;
  const depth = level.depth + 1;
  if (depth > budget.limits.maxNestingDepth) {
    throw unsafe(budget, chain, `is a zip archive nested ${depth} deep, over the limit of ${budget.limits.maxNestingDepth}`);
  }
  let inner = data;
  if (entry.compressionMethod !== 0) {
    if (entry.uncompressedSize > NESTED_INSPECT_MAX_BYTES) {
      throw unsafe(budget, chain, `is a nested zip archive of ${human(entry.uncompressedSize)}, too large to inflate in memory and check (the limit is ${human(NESTED_INSPECT_MAX_BYTES)})`);
    }
    inner = await inflateWhole(budget, level, chain, entry, data);
  }
  // Named like a zip but with neither a local header nor an end record: no unzipper can open it.
  if (!startsWithMagic(inner) && !hasEndRecord(inner)) return;
  const nested: Level = { buf: inner, chain, depth };
  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await openZip(inner);
  } catch (err) {
    throw broken(budget, nested, null, messageOf(err));
  }
  await inspectLevel(budget, nested, zipfile, null);
}

/** The first bytes of an entry, without inflating more than a sliver of it. */
function sniff(entry: yauzl.Entry, data: Buffer): Buffer {
  if (entry.compressionMethod === 0) return data.subarray(0, ZIP_MAGIC.length);
  try {
    return zlib.inflateRawSync(data.subarray(0, SNIFF_INPUT_BYTES), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch {
    // Corrupt data is zipToTar's to report, when it inflates the entry in full.
    return Buffer.alloc(0);
  }
}

const startsWithMagic = (buf: Buffer) => buf.length >= ZIP_MAGIC.length && buf.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC);
const hasEndRecord = (buf: Buffer) => buf.lastIndexOf(EOCD_MAGIC) !== -1;

async function inflateWhole(budget: Budget, level: Level, chain: Chain, entry: yauzl.Entry, data: Buffer): Promise<Buffer> {
  let out: Buffer;
  try {
    out = await inflateRaw(data, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw unsafe(budget, chain, inflatesPast(entry.uncompressedSize));
    throw broken(budget, level, chain, `corrupt deflate data (${messageOf(err)})`);
  }
  if (out.length < entry.uncompressedSize) throw broken(budget, level, chain, inflatesShort(out.length, entry.uncompressedSize));
  if (zlib.crc32(out) !== entry.crc32) throw broken(budget, level, chain, CRC_MISMATCH);
  return out;
}

const inflatesPast = (declared: number) => `inflates to more than the ${declared} bytes its header declares`;
const inflatesShort = (actual: number, declared: number) => `inflates to only ${actual} of the ${declared} bytes its header declares`;
const CRC_MISMATCH = 'fails its CRC-32 check: the data is corrupt';
const pastTotal = (budget: Budget) => `brings the total inflated size past the limit of ${human(budget.limits.maxTotalBytes)}`;

/**
 * Where an entry's data starts, from its local header. yauzl would find it too, but only
 * through a stream per entry; the archive is in memory, so it is read in place.
 */
function locateData(budget: Budget, level: Level, chain: Chain, entry: yauzl.Entry): number {
  const { buf } = level;
  const offset = entry.relativeOffsetOfLocalHeader;
  if (offset + 30 > buf.length || buf.readUInt32LE(offset) !== LOCAL_HEADER_SIG) {
    throw broken(budget, level, chain, `no local file header at offset ${offset}`);
  }
  const start = offset + 30 + buf.readUInt16LE(offset + 26) + buf.readUInt16LE(offset + 28);
  if (start + entry.compressedSize > buf.length) throw broken(budget, level, chain, 'its data runs past the end of the archive (truncated?)');
  return start;
}

/** Entries sharing bytes let a small archive declare huge contents honestly: the densest bombs. */
function refuseOverlaps(budget: Budget, spans: { start: number; end: number; chain: Chain }[]) {
  spans.sort((a, b) => a.start - b.start);
  let reach: (typeof spans)[number] | undefined;
  for (const span of spans) {
    if (reach && span.start < reach.end) {
      throw unsafe(budget, span.chain, `overlaps the data of entry '${show(reach.chain[reach.chain.length - 1] ?? '')}' (overlapping entries are how the densest zip bombs are built)`);
    }
    if (!reach || span.end > reach.end) reach = span;
  }
}

function openZip(buf: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    try {
      // Names are validated here as well as by yauzl, which refuses some of them itself (see nextEntry).
      yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true, strictFileNames: false }, (err, zipfile) => {
        if (err) return reject(err);
        // An 'error' emitted between our reads must not become an uncaught exception.
        zipfile.on('error', () => {});
        resolve(zipfile);
      });
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * The next central-directory entry, or null at the end. yauzl's own refusals (names it
 * deems unsafe, strong encryption, inconsistent sizes) do not say which entry they concern,
 * so the entry is read back from where yauzl's cursor stood and the refusal is rephrased.
 */
async function nextEntry(budget: Budget, level: Level, zipfile: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  const headerAt = readCursor(zipfile);
  try {
    return await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (entry: yauzl.Entry) => settle(() => resolve(entry));
      const onEnd = () => settle(() => resolve(null));
      const onError = (err: Error) => settle(() => reject(err));
      const settle = (fn: () => void) => {
        zipfile.off('entry', onEntry);
        zipfile.off('end', onEnd);
        zipfile.off('error', onError);
        fn();
      };
      zipfile.on('entry', onEntry);
      zipfile.on('end', onEnd);
      zipfile.on('error', onError);
      zipfile.readEntry();
    });
  } catch (err) {
    const message = messageOf(err);
    const name = headerAt === undefined ? undefined : nameAt(level.buf, headerAt);
    const refusedName = /^(invalid relative path|absolute path|invalid characters in fileName): (.*)$/s.exec(message);
    if (refusedName) {
      const shown = name ?? refusedName[2] ?? '';
      throw unsafe(budget, [...level.chain, shown], nameProblem(shown) ?? `has a name the zip reader refuses (${message})`);
    }
    if (message === 'strong encryption is not supported' && name !== undefined) {
      throw unsafe(budget, [...level.chain, name], 'uses strong encryption, so its contents cannot be checked');
    }
    throw broken(budget, level, name === undefined ? null : [...level.chain, name], message);
  }
}

/** yauzl's read cursor (typed as boolean by @types/yauzl, a byte offset in fact): the next central header. */
function readCursor(zipfile: yauzl.ZipFile): number | undefined {
  const cursor = (zipfile as unknown as { readEntryCursor?: unknown }).readEntryCursor;
  return typeof cursor === 'number' ? cursor : undefined;
}

function nameAt(buf: Buffer, offset: number): string | undefined {
  if (offset < 0 || offset + 46 > buf.length || buf.readUInt32LE(offset) !== CENTRAL_HEADER_SIG) return undefined;
  const flags = buf.readUInt16LE(offset + 8);
  const nameLength = buf.readUInt16LE(offset + 28);
  const extraLength = buf.readUInt16LE(offset + 30);
  if (offset + 46 + nameLength + extraLength > buf.length) return undefined;
  const raw = buf.subarray(offset + 46, offset + 46 + nameLength);
  let extras: yauzl.ExtraField[] = [];
  try {
    extras = yauzl.parseExtraFields(buf.subarray(offset + 46 + nameLength, offset + 46 + nameLength + extraLength));
  } catch {
    // The raw name alone is still the best account of the entry.
  }
  return yauzl.getFileNameLowLevel(flags, raw, extras, true);
}

/** The name as written (Unicode path field honoured), backslashes kept. */
function storedName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

function mtimeOf(entry: yauzl.Entry): Date {
  try {
    const date = entry.getLastModDate();
    // tar cannot encode dates before the epoch, and a corrupt DOS date is no date at all.
    if (!Number.isNaN(date.getTime()) && date.getTime() >= 0) return date;
  } catch {
    // Fall through to the epoch.
  }
  return new Date(0);
}

async function pump(budget: Budget, zip: Buffer, entries: PlannedEntry[], pack: tar.Pack): Promise<void> {
  const made = new Set<string>();
  const ensureDir = async (path: string, mtime: Date) => {
    if (made.has(path)) return;
    made.add(path);
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name: `${path}/`, type: 'directory', mode: 0o755, uid: AGENT_UID, gid: AGENT_UID, mtime }, (err) => (err ? reject(err) : resolve()));
      sink.on('error', () => {}); // see packFile
    });
  };
  let total = 0;
  for (const entry of entries) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) await ensureDir(parts.slice(0, i).join('/'), entry.mtime);
    if (entry.dir) await ensureDir(entry.path, entry.mtime);
    else total = await packFile(budget, zip, entry, pack, total);
  }
}

/** Streams one entry into the tar, holding it to its declared size and CRC. Returns the new total. */
async function packFile(budget: Budget, zip: Buffer, entry: PlannedEntry, pack: tar.Pack, total: number): Promise<number> {
  const upload: Level = { buf: zip, chain: [], depth: 0 };
  const data = zip.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  if (entry.size <= WHOLE_ENTRY_BYTES) {
    const content = entry.method === 0 ? data : inflateSmall(budget, upload, entry, data);
    if (content.length > entry.size) throw unsafe(budget, entry.chain, inflatesPast(entry.size));
    if (content.length < entry.size) throw broken(budget, upload, entry.chain, inflatesShort(content.length, entry.size));
    if (zlib.crc32(content) !== entry.crc32) throw broken(budget, upload, entry.chain, CRC_MISMATCH);
    if (total + content.length > budget.limits.maxTotalBytes) throw unsafe(budget, entry.chain, pastTotal(budget));
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(tarHeader(entry), content, (err) => (err ? reject(err) : resolve()));
      sink.on('error', () => {}); // see below
    });
    return total + content.length;
  }

  let sink!: ReturnType<tar.Pack['entry']>;
  const packed = new Promise<void>((resolve, reject) => {
    sink = pack.entry(tarHeader(entry), (err) => (err ? reject(err) : resolve()));
  });
  // Destroying the pack destroys the entry being written, which then emits the pack's error
  // again; it reaches us through the callback, and unheard it would crash the worker.
  sink.on('error', () => {});
  // Awaited only once the data is in; a failure before then is reported by the throw instead.
  packed.catch(() => {});

  let actual = 0;
  let crc = 0;
  try {
    for await (const chunk of contentOf(entry.method, data)) {
      actual += chunk.length;
      if (actual > entry.size) throw unsafe(budget, entry.chain, inflatesPast(entry.size));
      // Implied by the declared sizes already checked; held anyway, so no header can talk past it.
      if (total + actual > budget.limits.maxTotalBytes) throw unsafe(budget, entry.chain, pastTotal(budget));
      crc = zlib.crc32(chunk, crc);
      if (!sink.write(chunk)) await drained(sink);
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw broken(budget, upload, entry.chain, `corrupt deflate data (${messageOf(err)})`);
    throw err;
  }
  if (actual < entry.size) throw broken(budget, upload, entry.chain, inflatesShort(actual, entry.size));
  if (crc !== entry.crc32) throw broken(budget, upload, entry.chain, CRC_MISMATCH);
  // streamx typing wants an argument; null writes nothing.
  sink.end(null);
  await packed;
  return total + actual;
}

const tarHeader = (entry: PlannedEntry) =>
  ({ name: entry.path, type: 'file', size: entry.size, mode: entry.mode, uid: AGENT_UID, gid: AGENT_UID, mtime: entry.mtime }) as const;

/** Inflated in one call, its output capped at the declared size so a lie costs nothing. */
function inflateSmall(budget: Budget, upload: Level, entry: PlannedEntry, data: Buffer): Buffer {
  try {
    return zlib.inflateRawSync(data, { maxOutputLength: Math.max(entry.size, 1) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw unsafe(budget, entry.chain, inflatesPast(entry.size));
    throw broken(budget, upload, entry.chain, `corrupt deflate data (${messageOf(err)})`);
  }
}

function* storedChunks(data: Buffer): Iterable<Buffer> {
  for (let i = 0; i < data.length; i += STORED_CHUNK_BYTES) yield data.subarray(i, i + STORED_CHUNK_BYTES);
}

/** Inflation is paced by the tar's reader: zlib stops producing while its output is unread. */
function contentOf(method: number, data: Buffer): AsyncIterable<Buffer> | Iterable<Buffer> {
  if (method === 0) return storedChunks(data);
  const inflate = zlib.createInflateRaw();
  inflate.end(data);
  return inflate;
}

function drained(sink: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => settle(resolve);
    const onClose = () => settle(() => reject(new Error('the tar stream was closed')));
    const settle = (fn: () => void) => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      fn();
    };
    sink.on('drain', onDrain);
    sink.on('close', onClose);
  });
}

function unsafe(budget: Budget, chain: Chain, reason: string): UnsafeArchiveError {
  return new UnsafeArchiveError(`archive '${show(budget.archive)}': entry ${label(chain)} ${reason}`, budget.archive, chain.join(' > '));
}

/** An unreadable archive; a nested one is the fault of the entry holding it. */
function broken(budget: Budget, level: Level, chain: Chain | null, detail: string): UnsafeArchiveError {
  const archive = show(budget.archive);
  if (level.chain.length === 0) {
    const where = chain ? `entry ${label(chain)}: ` : '';
    return new UnsafeArchiveError(`archive '${archive}' is not a valid zip: ${where}${detail}`, budget.archive, chain?.join(' > '));
  }
  const inner = chain ? `entry '${show(chain[chain.length - 1] ?? '')}': ` : '';
  return new UnsafeArchiveError(
    `archive '${archive}': entry ${label(level.chain)} is a nested zip archive that cannot be read, so cannot be checked: ${inner}${detail}`,
    budget.archive,
    (chain ?? level.chain).join(' > '),
  );
}

const label = (chain: Chain) => chain.map((name) => `'${show(name)}'`).join(' > ');

/** Names are the uploader's: control characters are escaped and the length capped, so a message stays one readable line. */
function show(name: string): string {
  const escaped = name.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\0' ? '\\0' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}

function human(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Not `instanceof Error`: errors from core modules can come from another realm (jest's, for one). */
function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}
