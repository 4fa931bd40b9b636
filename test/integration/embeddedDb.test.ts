/**
 * The embedded default (no DATABASE_URL): a file-backed PGlite served on the Postgres wire
 * protocol by infra/pglite-server.mjs. The stock Prisma CLI migrates it offline, and several
 * processes use it at once through the same @prisma/adapter-pg path as production.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { createOrganization } from '../../api/tenancy';

const root = path.join(__dirname, '..', '..');
let server: ChildProcess;
let url: string;
let dataDir: string;
let prisma: PrismaClient;

function startServer(): Promise<string> {
  server = spawn(process.execPath, [path.join(root, 'infra', 'pglite-server.mjs'), dataDir], {
    env: { ...process.env, SIMLAB_PGLITE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (code) => reject(new Error(`pglite server exited with ${code}`)));
  });
}

async function stopServer() {
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-pglite-'));
  url = await startServer();
  // The stock CLI, offline, through simlab's schema engine: exactly what infra/db.sh runs.
  const { stdout } = await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: url,
      PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, 'infra', 'schema-engine', 'simlab-schema-engine'),
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
  expect(stdout).toContain('All migrations have been successfully applied');
  prisma = createPrisma(url, { maxConnections: 5 });
});

afterAll(async () => {
  await prisma?.$disconnect();
  if (server && server.exitCode === null) await stopServer();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('records the migrations as the native engine would', async () => {
  const rows = await prisma.$queryRaw<{ migration_name: string; checksum: string; finished_at: Date | null }[]>`
    SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name`;
  const dirs = fs.readdirSync(path.join(root, 'prisma', 'migrations')).filter((d) => /^\d+_/.test(d)).sort();
  expect(rows.map((r) => r.migration_name)).toEqual(dirs);
  const { createHash } = await import('node:crypto');
  for (const r of rows) {
    const sql = fs.readFileSync(path.join(root, 'prisma', 'migrations', r.migration_name, 'migration.sql'));
    expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
    expect(r.finished_at).not.toBeNull();
  }
});

it('serves several processes at once, transactions included, and keeps data across restarts', async () => {
  const org = await createOrganization(prisma, { slug: 'embedded', name: 'Embedded' });
  // A second process (its own pg pool) writes while this one writes in transactions.
  const child = promisify(execFile)(
    process.execPath,
    [
      '-e',
      `const { Pool } = require('pg');
       const pool = new Pool({ connectionString: process.argv[1], max: 5 });
       Promise.all(Array.from({ length: 40 }, (_, i) =>
         pool.query('INSERT INTO "Product" (id, "organizationId", slug, name) VALUES ($1, $2, $3, $4)', ['prd_child' + i, process.argv[2], 'child-' + i, 'Child ' + i])
       )).then(() => pool.end()).catch((e) => { console.error(e); process.exit(1); });`,
      url,
      org.organizationId,
    ],
    { cwd: root },
  );
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      prisma.$transaction(async (tx) => {
        await tx.product.create({ data: { id: `prd_tx${i}`, organizationId: org.organizationId, slug: `tx-${i}`, name: `Tx ${i}` } });
        return tx.product.count({ where: { organizationId: org.organizationId } });
      }),
    ),
  );
  await child;
  expect(await prisma.product.count({ where: { organizationId: org.organizationId } })).toBe(1 + 20 + 40);

  await prisma.$disconnect();
  await stopServer();
  url = await startServer();
  prisma = createPrisma(url, { maxConnections: 2 });
  expect(await prisma.product.count({ where: { organizationId: org.organizationId } })).toBe(61);
});
