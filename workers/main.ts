/** `simlab-worker`: runs workflows and activities until SIGINT/SIGTERM, reaping orphans as it goes. */
import Docker from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createPrisma } from '../prisma/client';
import { loadConfig } from '../infra/config';
import { ensureSearchAttributes } from '../infra/temporal';
import { createWorkers } from './workers';
import { reapOrphans } from './reaper';

const REAP_EVERY_MS = 60_000;

async function main() {
  const cfg = loadConfig();
  const prisma = createPrisma(cfg.databaseUrl, { maxConnections: 10 });
  const docker = new Docker();
  await docker.ping();
  const clientConnection = await Connection.connect({ address: cfg.temporalAddress });
  await ensureSearchAttributes(clientConnection, cfg.temporalNamespace);
  const client = new Client({ connection: clientConnection, namespace: cfg.temporalNamespace });
  const connection = await NativeConnection.connect({ address: cfg.temporalAddress });
  const workers = await createWorkers({
    connection,
    namespace: cfg.temporalNamespace,
    taskQueue: cfg.taskQueue,
    hostId: cfg.hostId,
    deploymentId: cfg.deploymentId,
    prisma,
    docker,
    artifactsDir: cfg.artifactsDir,
    maxConcurrentRuns: cfg.maxConcurrentRuns,
  });

  let sweepCursor: string | undefined;
  const reap = async () => {
    try {
      const r = await reapOrphans({ docker, prisma, client, hostId: cfg.hostId, deploymentId: cfg.deploymentId, ...(sweepCursor ? { sweepCursor } : {}) });
      sweepCursor = r.sweepCursor;
      if (r.destroyed.length) console.log(`[worker] reaper removed ${r.destroyed.length} orphaned sandbox(es)`);
      if (r.failedRuns.length) console.log(`[worker] reaper failed ${r.failedRuns.length} run(s) whose workflow had closed`);
      for (const e of r.errors) console.error(`[worker] reaper: ${e}`);
    } catch (err) {
      console.error('[worker] reaper failed:', (err as Error).message);
    }
  };
  await reap();
  const timer = setInterval(reap, REAP_EVERY_MS);
  console.log(`[worker] ready: queue ${cfg.taskQueue}, host ${cfg.hostId}, temporal ${cfg.temporalAddress}`);
  try {
    // Worker.run handles SIGINT/SIGTERM itself: it stops polling and drains in-flight tasks.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    clearInterval(timer);
    await connection.close();
    await clientConnection.close();
    await prisma.$disconnect();
  }
}

main().then(
  // Drained and closed: leave now, whatever idle sockets (Docker keep-alive) remain.
  () => process.exit(0),
  (err) => {
    console.error('[worker] fatal:', err);
    process.exit(1);
  },
);
