/**
 * A git init file: the repository is checked out on the worker (the sandbox has no
 * network) and handed over as a tar stream for the sandbox's archive API, `.git` included
 * so the agent can use git on it.
 *
 * The token only ever travels in the environment of the git processes, as an HTTP header:
 * never in argv (anyone on the host can read that through ps), never in a URL (git would
 * store it in .git/config, which goes into the sandbox), and it is redacted from whatever
 * git prints before that reaches an error message.
 */
import { spawn } from 'node:child_process';
import * as dns from 'node:dns/promises';
import { isIP } from 'node:net';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { SetupError } from '../../domain/errors';
import { truncate } from '../../domain/text';
import { AGENT_UID } from '../../sandbox/types';
import { TailBuffer } from '../../sandbox/tailBuffer';
import { destinationPolicy, type DestinationPolicy } from '../../egress/destinations';

export interface GitSource {
  url: string;
  /** A branch, a tag or a full or abbreviated commit sha; the remote's HEAD when absent. */
  ref?: string;
  /** An HTTPS token, from a secret. */
  token?: string;
}

export interface GitCheckout {
  /** The checkout, `.git` included, as entries relative to the directory it is extracted into. */
  tar: NodeJS.ReadableStream;
  /** The full sha checked out. */
  commit: string;
  /** Removes the checkout from the worker; call it once the tar has been consumed, or not. */
  cleanup(): Promise<void>;
}

export interface GitCheckoutOptions {
  /** For every git command together (default 300). */
  timeoutSeconds?: number;
  signal?: AbortSignal;
  /** Bytes of tar at most (default 1 GiB). */
  maxBytes?: number;
  /**
   * Whether the url may lead to loopback, private or link-local addresses or the worker's
   * own host (default: SIMLAB_GIT_ALLOW_PRIVATE). Off, a task cannot make the worker
   * fetch from the installation's inner services (SSRF).
   */
  allowPrivate?: boolean;
  /** The destination rules (default: this host's). */
  destinations?: DestinationPolicy;
}

const DEFAULT_TIMEOUT_SECONDS = 300;
const DEFAULT_MAX_BYTES = 1024 ** 3;
/** What of git's stderr an error message carries. */
const STDERR_IN_MESSAGE = 1000;
const READ_CHUNK = 1024 * 1024;

/** Abbreviated or full sha-1 / sha-256: only these can need the full-fetch fallback once a name lookup failed. */
const HEX_REF = /^[0-9a-f]{4,64}$/i;

export async function gitCheckout(src: GitSource, opts: GitCheckoutOptions = {}): Promise<GitCheckout> {
  const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const token = src.token ? src.token : undefined;
  const secrets = token ? secretForms(token) : [];
  const redact = (s: string) => secrets.reduce((acc, secret) => acc.split(secret).join('***'), s);
  // Every message goes through here, so even a token that also appears in the URL or the ref is hidden.
  const fail = (message: string) => new SetupError(redact(message));

  const url = cleanUrl(src.url, fail);
  if (token !== undefined && /[\x00-\x1f\x7f]/.test(token)) throw fail('the git token contains line breaks or control characters');
  // git would store it as origin in .git/config, which goes into the sandbox.
  if (secrets.some((secret) => url.includes(secret))) throw fail('the git url contains the token; give the token only as the secret');
  const ref = src.ref === undefined || src.ref === 'HEAD' ? undefined : src.ref;
  if (ref !== undefined) validateRef(ref, fail);
  const allowPrivate = opts.allowPrivate ?? /^(1|true|yes|on)$/i.test(process.env.SIMLAB_GIT_ALLOW_PRIVATE ?? '');
  const pinned = allowPrivate ? [] : await pinPublicAddress(url, opts.destinations ?? destinationPolicy(), fail);
  opts.signal?.throwIfAborted();

  // mkdtemp makes it 0700: other users of the worker cannot read the checkout.
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'simlab-git-'));
  const cleanup = () => fs.rm(tmp, { recursive: true, force: true });
  try {
    const repo = path.join(tmp, 'repo');
    const git = gitRunner({
      cwd: repo,
      env: gitEnv(tmp, token),
      deadline: Date.now() + timeoutSeconds * 1000,
      settings: pinned,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onTimeout: () => fail(`git checkout of ${url} timed out after ${timeoutSeconds}s`),
    });
    const explain = (what: string, res: GitResult) => classify(what, res, url, token !== undefined, redact, fail);

    await fs.mkdir(repo, { mode: 0o700 });
    await must(git(['init', '-q']), 'git init', explain);
    await must(git(['remote', 'add', 'origin', url]), 'git remote add', explain);

    const commit = await fetchRef(git, ref, url, explain, fail);
    await must(git(['checkout', '-q', '--detach', commit]), 'git checkout', explain);

    const entries = await walk(repo);
    // A lower bound of the tar's size (headers and padding only): fails early, before any
    // byte reaches the sandbox; the stream itself enforces the exact limit.
    const atLeast = entries.reduce((n, e) => n + 512 + Math.ceil(e.size / 512) * 512, 1024);
    if (atLeast > maxBytes) {
      throw fail(`the checkout of ${url} at ${commit.slice(0, 12)} is at least ${atLeast} bytes as a tar, more than the limit of ${maxBytes}`);
    }
    return {
      tar: packEntries(repo, entries, maxBytes, () => fail(`the checkout of ${url} at ${commit.slice(0, 12)} is more than ${maxBytes} bytes as a tar`)),
      commit,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Refuses a url whose host is, or resolves to, an address no task may make the worker
 * reach (egress/destinations.ts), and returns the git settings that hold git to the
 * address checked here: curl is told the name's address (no second lookup to rebind), and
 * redirects, which could point anywhere, are not followed.
 */
async function pinPublicAddress(url: string, destinations: DestinationPolicy, fail: (m: string) => SetupError): Promise<string[]> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const hint = "git init files are not fetched from simlab's own host or internal networks (an operator allows it with SIMLAB_GIT_ALLOW_PRIVATE=1)";
  const byName = destinations.nameRefusal(host);
  if (byName) throw fail(`the git url's host ${host} is ${byName}: ${hint}`);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (err) {
    throw fail(`cannot reach ${url}: cannot resolve ${host} (${(err as { code?: string }).code ?? (err as Error).message})`);
  }
  for (const ip of addresses) {
    const why = destinations.refusal(ip);
    if (why) throw fail(`the git url's host ${host} ${ip === host ? 'is' : `resolves to ${ip},`} ${why}: ${hint}`);
  }
  const first = addresses[0]!;
  return ['-c', `http.curloptResolve=${host}:${port}:${isIP(first) === 6 ? `[${first}]` : first}`, '-c', 'http.followRedirects=false'];
}

/** The token as it could show up: itself, URL-encoded, and inside the Basic header git sends. */
function secretForms(token: string): string[] {
  const b64 = Buffer.from(`x-access-token:${token}`).toString('base64');
  // Longest first, so a form containing another is replaced whole.
  return [...new Set([`Basic ${b64}`, b64, token, encodeURIComponent(token)])].sort((a, b) => b.length - a.length);
}

/** The URL git is given (and stores as origin): http(s) only, with no userinfo or fragment. */
function cleanUrl(raw: string, fail: (m: string) => SetupError): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // Not repeated: a malformed URL may still hold a credential.
    throw fail('the git url is not a valid absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw fail(`the git url must be http(s), not ${u.protocol.replace(/:$/, '')}`);
  }
  if (u.username || u.password) {
    throw fail('the git url must not embed credentials (user:password@host); give the token as a secret instead');
  }
  u.hash = '';
  return u.toString();
}

/**
 * Refuses what git would read as an option (`--upload-pack=…`), a refspec (`a:b` writes a
 * local ref) or a revision expression, and what it could not fetch anyway.
 */
function validateRef(ref: string, fail: (m: string) => SetupError): void {
  const bad =
    ref.length === 0 ||
    ref.length > 255 ||
    ref.startsWith('-') ||
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.endsWith('.') ||
    ref.endsWith('.lock') ||
    ref.includes('..') ||
    ref.includes('@{') ||
    ref.includes('//') ||
    ref.includes('/.') ||
    ref === '@' ||
    /[\x00-\x20\x7f~^:?*[\\]/.test(ref);
  if (bad) throw fail(`git ref '${truncate(ref.replace(/[\x00-\x1f\x7f]/g, '?'), 100)}' is not a valid branch, tag or commit`);
}

/**
 * Built from nothing rather than from the worker's environment, so no GIT_DIR, askpass,
 * credential helper, trace variable or config of the worker's takes part.
 */
function gitEnv(home: string, token: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'http:https',
    // git's messages are matched to explain failures.
    LC_ALL: 'C',
    LANG: 'C',
  };
  // What the worker may need to reach the host at all: its proxy and CA settings.
  for (const k of ['http_proxy', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  if (token !== undefined) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  }
  return env;
}

/**
 * Settings without secrets, so argv is fine for them: no background gc or maintenance may
 * still be writing into .git while it is packed (or after it is removed), and no credential
 * helper may be asked.
 */
const GIT_SETTINGS = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', '-c', 'credential.helper=', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false'];

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Git = (args: string[]) => Promise<GitResult>;
type Explain = (what: string, res: GitResult) => SetupError;

function gitRunner(ctx: { cwd: string; env: NodeJS.ProcessEnv; deadline: number; settings: string[]; signal?: AbortSignal; onTimeout: () => SetupError }): Git {
  return (args) =>
    new Promise<GitResult>((resolve, reject) => {
      const remaining = ctx.deadline - Date.now();
      if (remaining <= 0) return reject(ctx.onTimeout());
      if (ctx.signal?.aborted) return reject(ctx.signal.reason);
      // Its own process group: git fetch runs git-remote-https and index-pack, which must die with it.
      const child = spawn('git', [...GIT_SETTINGS, ...ctx.settings, ...args], { cwd: ctx.cwd, env: ctx.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const stdout = new TailBuffer(1024 * 1024);
      const stderr = new TailBuffer(64 * 1024);
      child.stdout.on('data', (d: Buffer) => stdout.push(d));
      child.stderr.on('data', (d: Buffer) => stderr.push(d));
      let failure: unknown;
      const killGroup = (why: unknown) => {
        failure ??= why;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      // setTimeout fires at once past 2^31-1 ms; no checkout legitimately waits that long.
      const timer = setTimeout(() => killGroup(ctx.onTimeout()), Math.min(remaining, 2 ** 31 - 1));
      const onAbort = () => killGroup(ctx.signal?.reason ?? new Error('aborted'));
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (err) => {
        done();
        reject(failure ?? new Error(`running git on the worker failed: ${err.message}`));
      });
      child.on('close', (code, sig) => {
        done();
        if (failure !== undefined) return reject(failure);
        resolve({ code: code ?? (sig ? 128 : 1), stdout: stdout.toString().trim(), stderr: stderr.toString() });
      });
    });
}

async function must(run: Promise<GitResult>, what: string, explain: Explain): Promise<GitResult> {
  const res = await run;
  if (res.code !== 0) throw explain(what, res);
  return res;
}

/**
 * Brings `ref`'s commit into the repository and returns its full sha. A shallow fetch by
 * name or sha is one round trip and the least data; an abbreviated sha, or a server that
 * refuses shallow or by-sha fetches, needs the whole history to resolve against.
 */
async function fetchRef(git: Git, ref: string | undefined, url: string, explain: Explain, fail: (m: string) => SetupError): Promise<string> {
  const shallow = await git(['fetch', '-q', '--depth', '1', 'origin', ref ?? 'HEAD']);
  if (shallow.code === 0) return peel(git, 'FETCH_HEAD', ref, url, fail);
  const why = kind(shallow.stderr);
  if (why !== 'other') throw explain('git fetch', shallow);
  // A name the server did not advertise stays missing with the whole history; only a
  // possible abbreviated sha is worth fetching everything for.
  if (ref !== undefined && /couldn't find remote ref/i.test(shallow.stderr) && !HEX_REF.test(ref)) {
    throw fail(`ref '${ref}' not found in ${url}`);
  }

  if (ref === undefined) {
    await must(git(['fetch', '-q', 'origin', 'HEAD']), 'git fetch', explain);
    return peel(git, 'FETCH_HEAD', ref, url, fail);
  }
  await must(git(['fetch', '-q', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']), 'git fetch', explain);
  // The order git itself resolves a short name in: tags, then branches, then a sha.
  const candidates = ref.startsWith('refs/heads/')
    ? [`refs/remotes/origin/${ref.slice('refs/heads/'.length)}`]
    : ref.startsWith('refs/')
      ? [ref]
      : [`refs/tags/${ref}`, `refs/remotes/origin/${ref}`, ...(HEX_REF.test(ref) ? [ref] : [])];
  for (const c of candidates) {
    const res = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${c}^{commit}`]);
    if (res.code === 0 && res.stdout) return res.stdout;
    if (/ambiguous/i.test(res.stderr)) throw fail(`ref '${ref}' is an ambiguous abbreviated sha in ${url}; give more of it`);
  }
  throw fail(`ref '${ref}' not found in ${url}`);
}

async function peel(git: Git, what: string, ref: string | undefined, url: string, fail: (m: string) => SetupError): Promise<string> {
  const res = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${what}^{commit}`]);
  if (res.code !== 0 || !res.stdout) throw fail(`ref '${ref ?? 'HEAD'}' in ${url} does not point to a commit`);
  return res.stdout;
}

type FailureKind = 'auth' | 'forbidden' | 'missing' | 'unreachable' | 'other';

function kind(stderr: string): FailureKind {
  if (/returned error: 403|HTTP 403/i.test(stderr)) return 'forbidden';
  if (/Authentication failed|could not read (Username|Password)|returned error: 401|HTTP 401|terminal prompts disabled/i.test(stderr)) return 'auth';
  if (/repository '.*' not found|returned error: 404|HTTP 404|does not appear to be a git repository/i.test(stderr)) return 'missing';
  if (/Could not resolve (host|proxy)|Failed to connect|Couldn't connect|Connection refused|Connection timed out|Network is unreachable|No route to host|Connection reset|\bSSL\b|\bTLS\b|certificate|Empty reply from server|transfer closed|Operation timed out|unable to access/i.test(stderr)) {
    return 'unreachable';
  }
  return 'other';
}

function classify(what: string, res: GitResult, url: string, hadToken: boolean, redact: (s: string) => string, fail: (m: string) => SetupError): SetupError {
  const detail = truncate(redact(res.stderr).replace(/\s+/g, ' ').trim(), STDERR_IN_MESSAGE, true);
  switch (kind(res.stderr)) {
    case 'auth':
      return fail(
        hadToken
          ? `authentication failed for ${url} (HTTP 401): the token was refused`
          : `authentication failed for ${url} (HTTP 401): the repository needs a token and none was given`,
      );
    case 'forbidden':
      return fail(`authentication failed for ${url} (HTTP 403): ${hadToken ? 'the token has no access to this repository' : 'access denied without a token'}`);
    case 'missing':
      return fail(`repository ${url} not found${hadToken ? '' : ' (a private repository needs a token)'}`);
    case 'unreachable':
      return fail(`cannot reach ${url}: ${detail}`);
    default:
      return fail(`${what} failed for ${url} (exit ${res.code}): ${detail}`);
  }
}

type TarHeader = Parameters<tar.Pack['entry']>[0];
type TarSink = ReturnType<tar.Pack['entry']>;

interface Entry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  mode: number;
  mtime: Date;
  linkname?: string;
}

/** Every entry under `root`, parents first; symbolic links are listed, never followed. */
async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (rel: string) => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const p = path.join(root, r);
      const st = await fs.lstat(p);
      if (st.isDirectory()) {
        out.push({ name: r, type: 'directory', size: 0, mode: 0o755, mtime: st.mtime });
        await visit(r);
      } else if (st.isFile()) {
        out.push({ name: r, type: 'file', size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: st.mtime });
      } else if (st.isSymbolicLink()) {
        out.push({ name: r, type: 'symlink', size: 0, mode: 0o777, mtime: st.mtime, linkname: await fs.readlink(p) });
      }
      // git creates no other kind of file; anything else is left out.
    }
  };
  await visit('');
  return out;
}

/**
 * The entries as a tar, produced as it is read (one file's chunk in memory at a time) and
 * cut off with an error as soon as it would exceed maxBytes.
 */
function packEntries(root: string, entries: Entry[], maxBytes: number, tooBig: () => SetupError): NodeJS.ReadableStream {
  async function* generate(): AsyncGenerator<Buffer> {
    const pack = tar.pack();
    const produced = produce(pack).then(
      () => pack.finalize(),
      (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    let total = 0;
    try {
      for await (const chunk of pack as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) throw tooBig();
        yield chunk;
      }
    } finally {
      // Ends the producer too when the reader stops early or the limit is hit.
      if (!pack.destroyed) pack.destroy(null);
      await produced;
    }
  }

  async function produce(pack: tar.Pack): Promise<void> {
    for (const e of entries) {
      const header: TarHeader = { name: e.name, type: e.type, mode: e.mode, uid: AGENT_UID, gid: AGENT_UID, mtime: e.mtime };
      if (e.type === 'directory') await addEntry(pack, { ...header, size: 0 }).done;
      else if (e.type === 'symlink') await addEntry(pack, { ...header, size: 0, linkname: e.linkname! }).done;
      else await writeFile(pack, { ...header, size: e.size }, path.join(root, e.name));
    }
  }

  return Readable.from(generate(), { objectMode: false });
}

/** Adds one entry and resolves once tar-stream has taken all of it. */
function addEntry(pack: tar.Pack, header: TarHeader): { sink: TarSink; done: Promise<void> } {
  if (pack.destroying) throw new Error('tar stream closed');
  let sink!: TarSink;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  // A destroyed entry's error reaches the producer through `done`; unheard it would crash the worker.
  sink.on('error', () => {});
  done.catch(() => {});
  return { sink, done };
}

const closed = (sink: TarSink, pack: tar.Pack) => sink.destroying || pack.destroying;

async function writeFile(pack: tar.Pack, header: TarHeader, file: string): Promise<void> {
  // O_NOFOLLOW: what was listed as a file is read as that file, never through a link.
  const fh = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const { sink, done } = addEntry(pack, header);
    const buf = Buffer.alloc(Math.min(READ_CHUNK, Math.max(header.size ?? 0, 1)));
    let left = header.size ?? 0;
    while (left > 0) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left));
      if (bytesRead === 0) throw new Error(`${header.name} shrank while it was packed`);
      left -= bytesRead;
      if (closed(sink, pack)) throw new Error('tar stream closed');
      // A copy: the buffer is reused for the next read while tar-stream may still hold this one.
      if (!sink.write(Buffer.from(buf.subarray(0, bytesRead)))) await drained(sink, pack);
    }
    sink.end(null);
    await done;
  } finally {
    await fh.close();
  }
}

function drained(sink: TarSink, pack: tar.Pack): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      off();
      resolve();
    };
    const onClose = () => {
      off();
      reject(new Error('tar stream closed'));
    };
    const off = () => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      pack.off('close', onClose);
    };
    sink.on('drain', onDrain);
    sink.on('close', onClose);
    pack.on('close', onClose);
    // Destroyed before we started listening: neither event is coming any more.
    if (closed(sink, pack)) onClose();
  });
}
