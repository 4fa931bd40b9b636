/**
 * A private database for one benchmark: a PostgreSQL database of its own on the shared
 * server, or a fresh embedded PGlite (infra/pglite-server.mjs on a free port, files in a
 * temporary folder), with the migrations deployed by infra/db.sh either way. Nothing is
 * ever reset: the bench database is created once and each invocation adds its own
 * organization, so other people's databases (simlab_test) are never touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './repo';

export type DatabaseKind = 'postgres' | 'embedded';

export interface BenchDatabase {
  kind: DatabaseKind;
  url: string;
  /** The embedded server's process (its CPU is part of simlab's cost). */
  pid?: number;
  close(): Promise<void>;
}

function deployMigrations(url: string): void {
  execFileSync('bash', ['infra/db.sh'], { cwd: repoRoot(), env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function openBenchDatabase(kind: DatabaseKind, name = process.env.BENCH_DB_NAME ?? 'simlab_bench'): Promise<BenchDatabase> {
  if (kind === 'postgres') {
    // DATABASE_URL names the server; the bench uses a database of its own on it.
    const url = process.env.BENCH_DATABASE_URL ?? execFileSync('bash', ['infra/postgres.sh', name], { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    deployMigrations(url);
    return { kind, url, close: async () => undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-bench-pglite-'));
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot(), 'infra', 'pglite-server.mjs'), dir], {
    env: { ...process.env, SIMLAB_PGLITE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the embedded database exited with ${code} before it was ready`)));
  });
  deployMigrations(url);
  return {
    kind,
    url,
    ...(child.pid ? { pid: child.pid } : {}),
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
