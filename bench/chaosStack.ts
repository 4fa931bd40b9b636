/**
 * A private Temporal dev server, PostgreSQL cluster and Docker engine that the chaos suite
 * owns, so that it can restart each of them mid-run without touching the services other
 * processes on this machine (tests, a live deployment) are using.
 *
 * `up()` reuses whatever of its services is already running (a run that crashed, a second
 * call) and starts the rest; `down()` stops all three and deletes their state. Both are
 * safe to call in any state. Needs root (dockerd, and postgres runs as the postgres user).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client as PgClient } from 'pg';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../config/temporal';
import { SA } from '../workflows/searchAttributes';
import { repoRoot } from '../test/integration/workerProcess';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type ChaosService = 'temporal' | 'postgres' | 'docker';
export const CHAOS_SERVICES: readonly ChaosService[] = ['temporal', 'postgres', 'docker'];

export interface ChaosStackOptions {
  /** Names the state folders, sockets and pid files: two stacks with different names can run side by side. */
  name?: string;
  temporalPort?: number;
  pgPort?: number;
  log?: (line: string) => void;
}

/** What a worker, the API and the harness need to use the stack instead of the machine's services. */
export interface ChaosStackEnv {
  DATABASE_URL: string;
  TEMPORAL_ADDRESS: string;
  DOCKER_HOST: string;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/**
 * simlab's search attributes as `start-dev` flags: registered with the server from its
 * first moment, where attributes added later by the API take a while to be usable.
 */
function searchAttributeFlags(): string[] {
  // KEYWORD_LIST -> KeywordList, INT -> Int: the CLI's spelling of the SDK's types.
  const cliType = (t: string) => t.toLowerCase().replace(/(^|_)(\w)/g, (_m, _u, c: string) => c.toUpperCase());
  return Object.values(SA).flatMap((k) => ['--search-attribute', `${k.name}=${cliType(k.type)}`]);
}

function pidAlive(pidFile: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
    if (!pid) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

async function waitUntil(what: string, ms: number, ok: () => Promise<boolean>, gone?: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (gone?.()) throw new Error(`${what} exited while starting`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${ms} ms`);
    await sleep(250);
  }
}

/** Sends SIGTERM and waits for the process to be gone; SIGKILL after `graceMs`. */
async function stopPid(pid: number, graceMs: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (alive()) process.kill(pid, 'SIGKILL');
  while (alive()) await sleep(100);
}

export class ChaosStack {
  readonly name: string;
  readonly env: ChaosStackEnv;
  private readonly dataDir: string;
  private readonly runDir: string;
  private readonly temporalPort: number;
  private readonly pgPort: number;
  private readonly log: (line: string) => void;
  private temporalCli: string | undefined;

  constructor(opts: ChaosStackOptions = {}) {
    this.name = opts.name ?? 'simlab-chaos';
    if (!/^[a-z0-9-]{1,24}$/.test(this.name)) throw new Error(`stack name '${this.name}': use 1-24 of a-z, 0-9, -`);
    this.temporalPort = opts.temporalPort ?? 7240;
    this.pgPort = opts.pgPort ?? 5440;
    this.log = opts.log ?? (() => undefined);
    this.dataDir = `/var/lib/${this.name}`;
    // Short: containerd's sockets live under the exec root, and unix socket paths stop at 108 bytes.
    this.runDir = `/run/${this.name}`;
    this.env = {
      DATABASE_URL: `postgresql://simlab:simlab@127.0.0.1:${this.pgPort}/simlab_chaos`,
      TEMPORAL_ADDRESS: `127.0.0.1:${this.temporalPort}`,
      DOCKER_HOST: `unix://${this.runDir}/docker.sock`,
    };
  }

  private p(...parts: string[]) {
    return path.join(this.dataDir, ...parts);
  }

  private logFile(service: ChaosService) {
    return this.p('logs', `${service}.log`);
  }

  /** Starts (or adopts) all three services, with simlab's schema, search attributes and test image. */
  async up(): Promise<ChaosStackEnv> {
    if (process.getuid?.() !== 0) throw new Error('the chaos stack needs root (dockerd, and PostgreSQL as the postgres user)');
    fs.mkdirSync(this.p('logs'), { recursive: true });
    fs.mkdirSync(this.runDir, { recursive: true });
    const t0 = Date.now();
    // Docker first: it is the slowest to settle and the other two do not depend on it.
    await Promise.all([this.start('docker'), this.start('postgres'), this.start('temporal')]);
    await this.prepareDatabase();
    await this.prepareImage();
    // Whatever the flags did not cover (an attribute added since), registered before any worker races to.
    const connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS });
    await ensureSearchAttributes(connection, 'default').finally(() => connection.close());
    this.log(`chaos stack ${this.name} up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(this.env)}`);
    return this.env;
  }

  /** Stops a service as an operator or a crash would (SIGTERM, fast shutdown), keeps it down for `downMs`, starts it again. */
  async restart(service: ChaosService, downMs: number): Promise<{ stopMs: number; downMs: number; startMs: number }> {
    const t0 = Date.now();
    await this.stop(service);
    const t1 = Date.now();
    await sleep(downMs);
    const t2 = Date.now();
    await this.start(service);
    return { stopMs: t1 - t0, downMs: t2 - t1, startMs: Date.now() - t2 };
  }

  async start(service: ChaosService): Promise<void> {
    if (await this.healthy(service)) return;
    if (service === 'docker') await this.startDocker();
    else if (service === 'postgres') await this.startPostgres();
    else await this.startTemporal();
  }

  async stop(service: ChaosService): Promise<void> {
    if (service === 'postgres') {
      if (fs.existsSync(this.p('pg', 'postmaster.pid'))) {
        await exec('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', this.p('pg'), '-m', 'fast', '-w', '-t', '30', 'stop']).catch(() => undefined);
      }
      return;
    }
    const pid = pidAlive(path.join(this.runDir, `${service}.pid`));
    // dockerd stops its containers first (--shutdown-timeout 2) and then its containerd.
    if (pid) await stopPid(pid, service === 'docker' ? 30_000 : 10_000);
  }

  /** Everything stopped and deleted: containers, images, database, Temporal history. */
  async down(): Promise<void> {
    for (const s of CHAOS_SERVICES) await this.stop(s).catch((err: Error) => this.log(`stopping ${s}: ${err.message}`));
    // A dockerd that died hard can leave overlay and shm mounts under its roots.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
    for (const m of mounts.filter((m) => m.startsWith(`${this.dataDir}/`) || m.startsWith(`${this.runDir}/`)).sort().reverse()) {
      await exec('umount', ['-l', m]).catch(() => undefined);
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }

  async healthy(service: ChaosService): Promise<boolean> {
    try {
      if (service === 'docker') {
        const { stdout } = await exec('docker', ['-H', this.env.DOCKER_HOST, 'version', '--format', '{{.Server.Version}}'], { timeout: 5000 });
        return stdout.trim().length > 0;
      }
      if (service === 'postgres') {
        await exec(`${PG_BIN}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', String(this.pgPort)], { timeout: 5000 });
        return true;
      }
      const { stdout } = await exec(await this.cli(), ['operator', 'cluster', 'health', '--address', this.env.TEMPORAL_ADDRESS, '--command-timeout', '3s'], { timeout: 8000 });
      return stdout.includes('SERVING');
    } catch {
      return false;
    }
  }

  private async cli(): Promise<string> {
    if (!this.temporalCli) {
      const { stdout } = await exec('bash', [path.join(repoRoot(), 'infra', 'temporal.sh'), '--print-binary']);
      this.temporalCli = stdout.trim();
    }
    return this.temporalCli;
  }

  /** A daemon of ours, in its own session so that it outlives a jest worker that dies, and stopped by its pid file. */
  private spawnDaemon(service: ChaosService, cmd: string, args: string[]): () => boolean {
    const out = fs.openSync(this.logFile(service), 'a');
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.unref();
    let exited = false;
    child.once('exit', () => (exited = true));
    fs.writeFileSync(path.join(this.runDir, `${service}.pid`), `${child.pid}\n`);
    return () => exited;
  }

  private async startDocker(): Promise<void> {
    const stale = pidAlive(path.join(this.runDir, 'docker.pid'));
    if (stale) await stopPid(stale, 30_000);
    const gone = this.spawnDaemon('docker', 'dockerd', [
      '--host', this.env.DOCKER_HOST,
      '--data-root', this.p('docker'),
      '--exec-root', path.join(this.runDir, 'exec'),
      '--pidfile', path.join(this.runDir, 'dockerd.pid'),
      // No bridge, no iptables: nothing of the machine's own networking is touched.
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false',
      '--cgroup-parent', this.name,
      // What infra/docker.sh runs: no live-restore, so a restart stops the sandboxes, as it would in production.
      '--shutdown-timeout', '2',
    ]);
    await waitUntil('dockerd', 60_000, () => this.healthy('docker'), gone);
  }

  private async startPostgres(): Promise<void> {
    const data = this.p('pg');
    const sockets = path.join(this.runDir, 'pg');
    fs.mkdirSync(sockets, { recursive: true });
    await exec('chown', ['postgres:postgres', sockets]);
    if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
      fs.rmSync(data, { recursive: true, force: true });
      fs.mkdirSync(data, { recursive: true, mode: 0o700 });
      await exec('chown', ['postgres:postgres', data]);
      await exec('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], { cwd: '/' });
    }
    // pg_ctl opens its log as the postgres user.
    fs.closeSync(fs.openSync(this.logFile('postgres'), 'a'));
    await exec('chown', ['postgres:postgres', this.logFile('postgres')]);
    const opts = `-p ${this.pgPort} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await exec('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', data, '-l', this.logFile('postgres'), '-o', opts, '-w', '-t', '60', 'start'], { cwd: '/' });
    await waitUntil('postgres', 30_000, () => this.healthy('postgres'));
  }

  private async startTemporal(): Promise<void> {
    const stale = pidAlive(path.join(this.runDir, 'temporal.pid'));
    if (stale) await stopPid(stale, 10_000);
    const gone = this.spawnDaemon('temporal', await this.cli(), [
      'server', 'start-dev',
      // A file, not memory: workflows must survive the restart, as with a real cluster.
      '--db-filename', this.p('temporal.db'),
      '--ip', '127.0.0.1', '--port', String(this.temporalPort), '--headless',
      '--namespace', 'default', '--log-level', 'warn',
      ...searchAttributeFlags(),
    ]);
    await waitUntil('temporal', 90_000, () => this.healthy('temporal'), gone);
  }

  private async prepareDatabase(): Promise<void> {
    const pg = new PgClient({ host: '127.0.0.1', port: this.pgPort, user: 'postgres', database: 'postgres' });
    await pg.connect();
    try {
      await pg.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'simlab') THEN CREATE ROLE simlab LOGIN SUPERUSER PASSWORD 'simlab'; END IF;
      END $$`);
      const { rowCount } = await pg.query(`SELECT 1 FROM pg_database WHERE datname = 'simlab_chaos'`);
      if (!rowCount) await pg.query('CREATE DATABASE simlab_chaos OWNER simlab');
    } finally {
      await pg.end();
    }
    await exec('bash', [path.join(repoRoot(), 'infra', 'db.sh')], { env: { ...process.env, SIMLAB_DATA: this.p('infra'), DATABASE_URL: this.env.DATABASE_URL }, cwd: repoRoot() });
  }

  /** The test image, built by the same script as the machine's, into this engine. */
  private async prepareImage(): Promise<void> {
    await exec('bash', [path.join(repoRoot(), 'infra', 'sandbox-image.sh'), '--only', 'test'], { env: { ...process.env, SIMLAB_DATA: this.p('infra'), DOCKER_HOST: this.env.DOCKER_HOST }, cwd: repoRoot() });
  }
}
