/**
 * Git init files against a real git smart-HTTP server on 127.0.0.1 (git http-backend):
 * which commit is checked out, what the tar holds, and that the token shows up nowhere
 * but in the request to the server.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar-stream';
import { SetupError } from '../../domain/errors';
import { gitCheckout, type GitCheckout, type GitSource } from '../../setup/initFiles/git';
import { startGitServer, type GitServer } from '../integration/gitServer';

// The modules' own objects (not esModuleInterop copies), so spies see the module's calls.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const childProcess = require('node:child_process') as typeof import('node:child_process');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fsp = require('node:fs/promises') as typeof import('node:fs/promises');

jest.setTimeout(30000);

const TOKEN = 'ghs_S3cretT0kenForSimlabTests_42';
const TOKEN_B64 = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const SECRET_FORMS = [TOKEN, TOKEN_B64, 'x-access-token'];

interface TarEntry {
  header: tar.Header;
  content: Buffer;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function untar(raw: Buffer): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => chunks.push(d as Buffer));
      stream.on('end', () => {
        entries.set(header.name, { header, content: Buffer.concat(chunks) });
        next();
      });
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(raw);
  await done;
  return entries;
}

const text = (entries: Map<string, TarEntry>, name: string) => {
  const e = entries.get(name);
  if (!e) throw new Error(`${name} is not in the tar (${[...entries.keys()].filter((k) => !k.startsWith('.git/')).join(', ')})`);
  return e.content.toString('utf8');
};

async function checkoutAll(src: GitSource, opts?: Parameters<typeof gitCheckout>[1]) {
  const co = await gitCheckout(src, opts);
  try {
    const raw = await readAll(co.tar);
    return { commit: co.commit, raw, entries: await untar(raw) };
  } finally {
    await co.cleanup();
  }
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

function expectNoSecret(s: string) {
  for (const secret of SECRET_FORMS) expect(s).not.toContain(secret);
}

let publicServer: GitServer;
let privateServer: GitServer;
let commits: string[];
let mkdtemp: jest.SpiedFunction<typeof fsp.mkdtemp>;
/** The module's temp dirs made during the current test. */
async function tempDirs(): Promise<string[]> {
  const made = await Promise.all(mkdtemp.mock.results.map((r) => Promise.resolve(r.value as Promise<string>).catch(() => '')));
  return made.filter((d) => path.basename(d).startsWith('simlab-git-'));
}

beforeAll(async () => {
  [publicServer, privateServer] = await Promise.all([startGitServer({}), startGitServer({ user: 'x-access-token', token: TOKEN })]);
  const files = {
    'README.md': 'hello from main\n',
    'src/a.txt': 'a v1\n',
    'bin/run.sh': { content: '#!/bin/sh\necho run\n', executable: true },
    'docs/readme-link': { symlink: '../README.md' },
  };
  ({ commits } = await publicServer.createRepo('repo.git', files, {
    branches: { feature: { 'src/a.txt': 'a on feature\n', 'src/feature.txt': 'only on feature\n' }, main: { 'src/a.txt': 'a v2\n' } },
    tags: { 'v1.0': { 'src/a.txt': 'a at v1.0\n' } },
  }));
  await publicServer.createRepo('long.git', Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`${'n'.repeat(120)}${i}.txt`, `file ${i}\n`])));
  await privateServer.createRepo('private.git', { 'SECRET.md': 'private content\n' });
});

afterAll(async () => {
  await Promise.all([publicServer?.close(), privateServer?.close()]);
});

beforeEach(() => {
  mkdtemp = jest.spyOn(fsp, 'mkdtemp');
});

// Every test, failures included, must leave no checkout behind on the worker.
afterEach(async () => {
  const dirs = await tempDirs();
  jest.restoreAllMocks();
  for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
});

describe('gitCheckout: refs', () => {
  it("checks out the remote's HEAD by default, .git included, everything owned by the agent", async () => {
    const url = publicServer.url('repo.git');
    const { commit, entries } = await checkoutAll({ url });
    const [, , mainTip] = commits;
    expect(commit).toBe(mainTip);
    expect(text(entries, 'README.md')).toBe('hello from main\n');
    expect(text(entries, 'src/a.txt')).toBe('a v2\n');
    expect(entries.has('src/feature.txt')).toBe(false);

    // Detached at the commit, with origin pointing at the URL as given.
    expect(text(entries, '.git/HEAD').trim()).toBe(commit);
    expect(text(entries, '.git/config')).toContain(`url = ${url}`);
    expect(entries.get('.git')?.header.type).toBe('directory');

    for (const [name, e] of entries) {
      expect(name.startsWith('/') || name.split('/').includes('..')).toBe(false);
      expect([e.header.uid, e.header.gid]).toEqual([1000, 1000]);
      expect(['file', 'directory', 'symlink']).toContain(e.header.type);
      if (e.header.type === 'directory') expect(e.header.mode).toBe(0o755);
      if (e.header.type === 'file') expect([0o644, 0o755]).toContain(e.header.mode);
    }
    expect(entries.get('bin/run.sh')?.header.mode).toBe(0o755);
    expect(entries.get('README.md')?.header.mode).toBe(0o644);
    expect(entries.get('docs/readme-link')?.header).toMatchObject({ type: 'symlink', linkname: '../README.md' });
  });

  it('checks out a branch', async () => {
    const { commit, entries } = await checkoutAll({ url: publicServer.url('repo.git'), ref: 'feature' });
    expect(commit).toBe(commits[1]);
    expect(text(entries, 'src/a.txt')).toBe('a on feature\n');
    expect(text(entries, 'src/feature.txt')).toBe('only on feature\n');
  });

  it('checks out a tag whose commit no branch reaches', async () => {
    const { commit, entries } = await checkoutAll({ url: publicServer.url('repo.git'), ref: 'v1.0' });
    expect(commit).toBe(commits[3]);
    expect(text(entries, 'src/a.txt')).toBe('a at v1.0\n');
    expect(text(entries, '.git/HEAD').trim()).toBe(commits[3]);
  });

  it('checks out a commit by full sha, one that is no tip', async () => {
    const { commit, entries } = await checkoutAll({ url: publicServer.url('repo.git'), ref: commits[0]! });
    expect(commit).toBe(commits[0]);
    expect(text(entries, 'src/a.txt')).toBe('a v1\n');
  });

  it('checks out a commit by abbreviated sha (full fetch, then resolved locally)', async () => {
    const { commit, entries } = await checkoutAll({ url: publicServer.url('repo.git'), ref: commits[0]!.slice(0, 8) });
    expect(commit).toBe(commits[0]);
    expect(text(entries, 'src/a.txt')).toBe('a v1\n');
  });

  it('falls back to a full fetch where shallow fetches are refused (dumb HTTP), for every kind of ref', async () => {
    const dumb = await startGitServer({ dumb: true });
    try {
      const made = await dumb.createRepo('repo.git', { 'a.txt': 'one\n' }, { branches: { feature: { 'a.txt': 'feature\n' }, main: { 'a.txt': 'two\n' } }, tags: { 'v1.0': { 'a.txt': 'tagged\n' } } });
      const url = dumb.url('repo.git');
      const cases: [string | undefined, number, string][] = [
        [undefined, 2, 'two\n'],
        ['feature', 1, 'feature\n'],
        ['refs/heads/feature', 1, 'feature\n'],
        ['v1.0', 3, 'tagged\n'],
        [made.commits[0]!, 0, 'one\n'],
        [made.commits[0]!.slice(0, 7), 0, 'one\n'],
      ];
      for (const [ref, index, content] of cases) {
        const { commit, entries } = await checkoutAll({ url, ...(ref ? { ref } : {}) });
        expect([ref, commit]).toEqual([ref, made.commits[index]]);
        expect(text(entries, 'a.txt')).toBe(content);
      }
      expect((await failure(gitCheckout({ url, ref: 'nope' }))).message).toBe(`ref 'nope' not found in ${url}`);
    } finally {
      await dumb.close();
    }
  });

  it('reports a ref that is in no form on the server', async () => {
    const url = publicServer.url('repo.git');
    const err = await failure(gitCheckout({ url, ref: 'nope' }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toBe(`ref 'nope' not found in ${url}`);

    // Hex could be an abbreviated sha: found missing only after the full fetch.
    const hex = await failure(gitCheckout({ url, ref: 'deadbeef' }));
    expect(hex.message).toBe(`ref 'deadbeef' not found in ${url}`);

    // Both made a checkout dir, and both removed it (afterEach checks what is left).
    expect(await tempDirs()).toHaveLength(2);
  });

  it('refuses refs git would read as options or refspecs', async () => {
    for (const ref of ['--upload-pack=touch /tmp/pwned', 'main:refs/heads/x', 'main~1', 'a b']) {
      const err = await failure(gitCheckout({ url: publicServer.url('repo.git'), ref }));
      expect(err).toBeInstanceOf(SetupError);
      expect(err.message).toMatch(/is not a valid branch, tag or commit/);
    }
  });
});

describe('gitCheckout: private repositories and the token', () => {
  it('clones with the token, which reaches the server only as a header and appears nowhere else', async () => {
    const spawn = jest.spyOn(childProcess, 'spawn');
    const url = privateServer.url('private.git');
    const { commit, raw, entries } = await checkoutAll({ url, token: TOKEN });
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(text(entries, 'SECRET.md')).toBe('private content\n');
    expect(text(entries, '.git/config')).toContain(`url = ${url}\n`);

    // Not a byte of the tar, .git/config and FETCH_HEAD included.
    for (const secret of SECRET_FORMS) expect(raw.includes(Buffer.from(secret))).toBe(false);

    // argv (what ps shows) never carries it; only git's environment does, as the header.
    const gitCalls = spawn.mock.calls.filter(([cmd, , o]) => cmd === 'git' && (o as { env?: NodeJS.ProcessEnv })?.env?.GIT_ALLOW_PROTOCOL);
    expect(gitCalls.length).toBeGreaterThanOrEqual(3);
    for (const [, args, o] of gitCalls) {
      for (const a of (args as string[]) ?? []) expectNoSecret(a);
      const env = (o as { env: NodeJS.ProcessEnv }).env;
      expect(env).toMatchObject({
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${TOKEN_B64}`,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ALLOW_PROTOCOL: 'http:https',
        GIT_CONFIG_NOSYSTEM: '1',
      });
      for (const [k, v] of Object.entries(env)) if (k !== 'GIT_CONFIG_VALUE_0') expectNoSecret(v ?? '');
    }
    expect(privateServer.requests.some((r) => r.authorization === `Basic ${TOKEN_B64}` && r.status === 200)).toBe(true);
  });

  it('says a token is needed when none was given', async () => {
    const url = privateServer.url('private.git');
    const err = await failure(gitCheckout({ url }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toBe(`authentication failed for ${url} (HTTP 401): the repository needs a token and none was given`);
  });

  it('says the token was refused, without repeating it in any form', async () => {
    const wrong = `${TOKEN}-revoked`;
    const url = privateServer.url('private.git');
    const err = await failure(gitCheckout({ url, token: wrong }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toBe(`authentication failed for ${url} (HTTP 401): the token was refused`);
    for (const s of [wrong, Buffer.from(`x-access-token:${wrong}`).toString('base64')]) expect(err.message + String(err.stack)).not.toContain(s);
  });

  it('refuses a URL with embedded credentials without echoing them', async () => {
    const url = privateServer.url('private.git').replace('http://', `http://alice:${TOKEN}@`);
    const err = await failure(gitCheckout({ url }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toMatch(/must not embed credentials/);
    expectNoSecret(err.message);
    expect(err.message).not.toContain('alice');

    const userOnly = await failure(gitCheckout({ url: privateServer.url('private.git').replace('http://', `http://${TOKEN}@`) }));
    expect(userOnly.message).toMatch(/must not embed credentials/);
    expectNoSecret(userOnly.message);
  });

  it('refuses a URL that carries the token elsewhere (it would be stored as origin), and redacts it from messages', async () => {
    const url = `${publicServer.url('repo.git')}?access_token=${TOKEN}`;
    const err = await failure(gitCheckout({ url, token: TOKEN }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toBe('the git url contains the token; give the token only as the secret');

    const ref = await failure(gitCheckout({ url: publicServer.url('repo.git'), ref: `x${TOKEN}`, token: TOKEN }));
    expect(ref.message).toBe(`ref 'x***' not found in ${publicServer.url('repo.git')}`);
    expectNoSecret(ref.message);
  });
});

describe('gitCheckout: refusals and failures', () => {
  it.each([
    ['file:///srv/repo.git', /must be http\(s\), not file/],
    ['ssh://git@example.com/repo.git', /must be http\(s\), not ssh/],
    ['ext::sh -c touch% /tmp/pwned', /must be http\(s\), not ext/],
    ['git@example.com:org/repo.git', /not a valid absolute URL/],
    ['/srv/repo.git', /not a valid absolute URL/],
  ])('refuses %s', async (url, message) => {
    const err = await failure(gitCheckout({ url }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toMatch(message);
  });

  it('reports a repository that does not exist', async () => {
    const url = publicServer.url('absent.git');
    const err = await failure(gitCheckout({ url, ref: 'main' }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toBe(`repository ${url} not found (a private repository needs a token)`);
  });

  it('reports a host nothing listens on', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const url = `http://127.0.0.1:${port}/repo.git`;
    const err = await failure(gitCheckout({ url }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toMatch(new RegExp(`^cannot reach ${url.replace(/[.]/g, '\\.')}: .*(Failed to connect|Couldn't connect)`));
  });

  describe('against a server that never answers', () => {
    let silent: http.Server;
    let url: string;
    beforeAll(async () => {
      silent = http.createServer(() => {});
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/repo.git`;
    });
    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    });

    it('times out, killing git, and leaves nothing behind', async () => {
      const started = Date.now();
      const err = await failure(gitCheckout({ url, token: TOKEN }, { timeoutSeconds: 1 }));
      expect(err).toBeInstanceOf(SetupError);
      expect(err.message).toBe(`git checkout of ${url} timed out after 1s`);
      expect(Date.now() - started).toBeLessThan(5000);
      const [dir] = await tempDirs();
      expect(dir && fs.existsSync(dir)).toBe(false);
    });

    it('stops when aborted, with the abort reason', async () => {
      const ac = new AbortController();
      const reason = new Error('activity cancelled');
      setTimeout(() => ac.abort(reason), 300);
      expect(await failure(gitCheckout({ url }, { signal: ac.signal }))).toBe(reason);

      const before = new AbortController();
      before.abort(reason);
      expect(await failure(gitCheckout({ url: publicServer.url('repo.git') }, { signal: before.signal }))).toBe(reason);
    });
  });
});

describe('gitCheckout: the tar and the temp dir', () => {
  it('keeps the checkout in a private temp dir until cleanup()', async () => {
    const co: GitCheckout = await gitCheckout({ url: publicServer.url('repo.git') });
    const dirs = await tempDirs();
    expect(dirs).toHaveLength(1);
    expect(path.dirname(dirs[0]!)).toBe(os.tmpdir());
    expect(fs.statSync(dirs[0]!).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(path.join(dirs[0]!, 'repo', '.git'))).toBe(true);
    await co.cleanup();
    expect(fs.existsSync(dirs[0]!)).toBe(false);
    await co.cleanup();
  });

  it('refuses a checkout larger than maxBytes before packing anything', async () => {
    const err = await failure(gitCheckout({ url: publicServer.url('repo.git') }, { maxBytes: 4096 }));
    expect(err).toBeInstanceOf(SetupError);
    expect(err.message).toMatch(/is at least \d+ bytes as a tar, more than the limit of 4096$/);
  });

  it('enforces maxBytes on the stream itself, where long names add headers', async () => {
    const url = publicServer.url('long.git');
    const full = await checkoutAll({ url });
    expect([...full.entries.keys()].some((n) => n.length > 100)).toBe(true);
    // Long names cost pax headers the early estimate leaves out: 1 KiB each here.
    const co = await gitCheckout({ url }, { maxBytes: full.raw.length - 2048 });
    try {
      const err = await failure(readAll(co.tar));
      expect(err).toBeInstanceOf(SetupError);
      expect(err.message).toMatch(/is more than \d+ bytes as a tar$/);
    } finally {
      await co.cleanup();
    }
  });
});
