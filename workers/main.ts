/** `simlab-worker`: runs workflows and activities until SIGINT/SIGTERM, reaping orphans as it goes. */
import Docker from 'dockerode';
import { Client } from '@temporalio/client';
import { createPrisma } from '../prisma/client';
import { ConfigError, loadConfig } from '../config';
import { connectClient, connectWorker, ensureSearchAttributes } from '../config/temporal';
import * as path from 'node:path';
import { DockerSandboxProvider, HomeDisks, SandboxNetworks } from '../sandbox';
import { LocalArtifactStore } from '../artifacts';
import { AnthropicJudge } from '../criteria/judge';
import { AnthropicAnalysisModel } from '../analysis/model';
import { loadKeyring } from '../secrets/keyring';
import { loadPrices } from '../config/prices';
import { createWorkers } from './workers';
import { reapOrphans } from './reaper';

async function main() {
  const cfg = loadConfig();
  const prisma = createPrisma(cfg.databaseUrl, { maxConnections: 10 });
  const docker = new Docker();
  await docker.ping();
  // Started with the worker: the sandboxes' networks, their firewall rules and the egress proxy of this Docker host.
  const networks = new SandboxNetworks(docker, { proxyPort: cfg.egressProxyPort, log: (line) => console.log(line) });
  await networks.start();
  const sandboxes = new DockerSandboxProvider(docker, new HomeDisks(path.join(cfg.dataDir, 'sandbox-disks')), networks);
  const clientConnection = await connectClient(cfg.temporal);
  await ensureSearchAttributes(clientConnection, cfg.temporal.namespace);
  const client = new Client({ connection: clientConnection, namespace: cfg.temporal.namespace });
  const connection = await connectWorker(cfg.temporal);
  const { workers, slots } = await createWorkers({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.taskQueue,
    hostId: cfg.hostId,
    deploymentId: cfg.deploymentId,
    prisma,
    sandboxes,
    artifacts: new LocalArtifactStore(cfg.artifactsDir),
    maxConcurrentRuns: cfg.maxConcurrentRuns,
    hostSlots: cfg.hostSlots,
    keyring: loadKeyring(process.env, cfg.dataDir),
    anthropic: { ...(cfg.anthropic.apiKey ? { apiKey: cfg.anthropic.apiKey } : {}), ...(cfg.anthropic.baseUrl ? { baseURL: cfg.anthropic.baseUrl } : {}) },
    prices: loadPrices(),
    webhookAllowPrivateTargets: cfg.webhookAllowPrivateTargets,
    ...(cfg.anthropic.apiKey ? { analysisModel: new AnthropicAnalysisModel({ apiKey: cfg.anthropic.apiKey, ...(cfg.anthropic.baseUrl ? { baseURL: cfg.anthropic.baseUrl } : {}) }) } : {}),
    ...(cfg.anthropic.apiKey ? { judge: new AnthropicJudge({ apiKey: cfg.anthropic.apiKey, ...(cfg.anthropic.baseUrl ? { baseURL: cfg.anthropic.baseUrl } : {}) }) } : {}),
  });

  let sweepCursor: string | undefined;
  const reap = async () => {
    try {
      const r = await reapOrphans({ sandboxes, prisma, client, hostId: cfg.hostId, deploymentId: cfg.deploymentId, ...(sweepCursor ? { sweepCursor } : {}) });
      sweepCursor = r.sweepCursor;
      if (r.destroyed.length) console.log(`[worker] reaper removed ${r.destroyed.length} orphaned sandbox(es)`);
      if (r.failedRuns.length) console.log(`[worker] reaper failed ${r.failedRuns.length} run(s) whose workflow had closed`);
      for (const e of r.errors) console.error(`[worker] reaper: ${e}`);
    } catch (err) {
      console.error('[worker] reaper failed:', (err as Error).message);
    }
  };
  await reap();
  const timer = setInterval(reap, cfg.reapIntervalSeconds * 1000);
  console.log(`[worker] ready: queue ${cfg.taskQueue}, host ${cfg.hostId} (${slots.capacity} sandbox slots), temporal ${cfg.temporal.address}`);
  try {
    // Worker.run handles SIGINT/SIGTERM itself: it stops polling and drains in-flight tasks.
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    clearInterval(timer);
    await networks.close();
    await connection.close();
    await clientConnection.close();
    await prisma.$disconnect();
  }
}

main().then(
  // Drained and closed: leave now, whatever idle sockets (Docker keep-alive) remain.
  () => process.exit(0),
  (err) => {
    console.error(err instanceof ConfigError ? `[worker] ${err.message}` : '[worker] fatal:', err instanceof ConfigError ? '' : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
