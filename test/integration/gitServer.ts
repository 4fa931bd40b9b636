/**
 * A local git smart-HTTP server for tests: node's http server in front of `git http-backend`
 * run as a CGI, with HTTP basic auth when a token is configured. Repositories are built with
 * plain git commands, so what is served is exactly what a real host would serve.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** A file's content, or an executable, or a symbolic link (repositories hold all three). */
export type RepoFile = string | { content: string; executable?: boolean } | { symlink: string };

export interface CreatedRepo {
  /** In creation order: the initial commit on main, then one per branch, then one per tag. */
  commits: string[];
}

export interface GitServerRequest {
  method: string;
  url: string;
  authorization?: string;
  status: number;
}

export interface GitServer {
  url(repo: string): string;
  /**
   * A bare repository `name` whose main branch starts with `files`. Each branch gets one more
   * commit (from the initial one; naming `main` advances main), and each tag an annotated tag
   * on a commit of its own that no branch reaches.
   */
  createRepo(
    name: string,
    files: Record<string, RepoFile>,
    extra?: { branches?: Record<string, Record<string, RepoFile>>; tags?: Record<string, Record<string, RepoFile>> },
  ): Promise<CreatedRepo>;
  /** Every request answered, with the Authorization header it carried. */
  requests: GitServerRequest[];
  close(): Promise<void>;
}

/**
 * `dumb`: serve the repositories as static files (git's dumb HTTP protocol), as a plain web
 * server would: no shallow fetches, no fetching by sha, so clients must fall back.
 */
export async function startGitServer(opts: { user?: string; token?: string; dumb?: boolean } = {}): Promise<GitServer> {
  // The server is on loopback, which the worker refuses to fetch from unless an operator allows it.
  process.env.SIMLAB_GIT_ALLOW_PRIVATE ??= '1';
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'simlab-gitserver-'));
  const projects = path.join(root, 'projects');
  await fs.mkdir(projects);
  // Nothing from the host's git configuration may shape the repositories or the backend.
  const gitEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    LC_ALL: 'C',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.test',
    GIT_COMMITTER_NAME: 'Test Author',
    GIT_COMMITTER_EMAIL: 'author@example.test',
  };
  const git = async (cwd: string, ...args: string[]) => (await execFileP('git', args, { cwd, env: gitEnv })).stdout.trim();

  const requests: GitServerRequest[] = [];

  const authorized = (header: string | undefined): string | null => {
    if (opts.token === undefined) return '';
    const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!m) return null;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    if (pass !== opts.token || (opts.user !== undefined && user !== opts.user)) return null;
    return user;
  };

  const server = http.createServer((req, res) => {
    const record = (status: number) =>
      requests.push({ method: req.method ?? '', url: req.url ?? '', status, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const user = authorized(req.headers.authorization);
    if (user === null) {
      record(401);
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="simlab-test"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const u = new URL(req.url ?? '/', 'http://localhost');
    if (opts.dumb) {
      req.resume();
      const file = path.join(projects, path.normalize(decodeURIComponent(u.pathname)));
      const inside = file.startsWith(projects + path.sep);
      void (inside ? fs.readFile(file) : Promise.reject(new Error('outside'))).then(
        (body) => {
          record(200);
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
          res.end(body);
        },
        () => {
          record(404);
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('not found\n');
        },
      );
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...gitEnv,
      GIT_PROJECT_ROOT: projects,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(u.pathname),
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: u.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    // The client gzips large negotiation requests; the backend inflates them when told.
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    const proto = req.headers['git-protocol'];
    if (proto) env.GIT_PROTOCOL = String(proto);

    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => {});
    let stderr = '';
    cgi.stderr.on('data', (d: Buffer) => (stderr += d.toString()));

    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      let reason = 'OK';
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') {
          const m = /^(\d{3})\s*(.*)$/.exec(value);
          if (m) {
            status = Number(m[1]);
            reason = m[2] || reason;
          }
        } else headers[name] = value;
      }
      record(status);
      res.writeHead(status, reason, headers);
      res.write(head.subarray(end + sep));
    });
    cgi.on('close', (code) => {
      if (!headersDone) {
        record(500);
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend exited ${code}: ${stderr}`);
        return;
      }
      res.end();
    });
    cgi.on('error', (err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  const writeTree = async (dir: string, files: Record<string, RepoFile>) => {
    for (const [name, f] of Object.entries(files)) {
      const p = path.join(dir, name);
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.rm(p, { force: true });
      if (typeof f === 'string') await fs.writeFile(p, f);
      else if ('symlink' in f) await fs.symlink(f.symlink, p);
      else await fs.writeFile(p, f.content, { mode: f.executable ? 0o755 : 0o644 });
    }
  };
  const commit = async (work: string, message: string) => {
    await git(work, 'add', '-A');
    await git(work, 'commit', '-q', '--allow-empty', '-m', message);
    return git(work, 'rev-parse', 'HEAD');
  };

  return {
    requests,
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    async createRepo(name, files, extra = {}) {
      const work = await fs.mkdtemp(path.join(root, 'work-'));
      try {
        await git(work, 'init', '-q', '-b', 'main');
        await writeTree(work, files);
        const commits = [await commit(work, 'initial')];
        for (const [branch, bfiles] of Object.entries(extra.branches ?? {})) {
          const exists = await git(work, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`).then(
            () => true,
            () => false,
          );
          if (exists) await git(work, 'checkout', '-q', branch);
          else await git(work, 'checkout', '-q', '-b', branch, commits[0]!);
          await writeTree(work, bfiles);
          commits.push(await commit(work, `on ${branch}`));
        }
        for (const [tag, tfiles] of Object.entries(extra.tags ?? {})) {
          await git(work, 'checkout', '-q', '--detach', commits[0]!);
          await writeTree(work, tfiles);
          commits.push(await commit(work, `for ${tag}`));
          await git(work, 'tag', '-a', tag, '-m', `release ${tag}`);
        }
        await git(work, 'checkout', '-q', 'main');
        const bare = path.join(projects, name);
        await git(root, 'clone', '-q', '--bare', work, bare);
        // Lets clients fetch any commit by sha, as GitHub and GitLab do.
        await git(bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true');
        // The file list dumb HTTP clients read.
        await git(bare, 'update-server-info');
        return { commits };
      } finally {
        await fs.rm(work, { recursive: true, force: true });
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
