/** `simlab-api`: the HTTP API process. */
import { Client } from '@temporalio/client';
import { createPrisma } from '../prisma/client';
import { ConfigError, loadConfig } from '../config';
import { connectClient } from '../config/temporal';
import { LocalArtifactStore } from '../artifacts';
import { loadKeyring } from '../secrets/keyring';
import { createApp } from './app';

async function main() {
  const cfg = loadConfig();
  const prisma = createPrisma(cfg.databaseUrl, { maxConnections: 10 });
  const connection = await connectClient(cfg.temporal);
  const temporal = new Client({ connection, namespace: cfg.temporal.namespace });
  const app = createApp({
    prisma,
    temporal,
    temporalUi: cfg.temporal,
    taskQueue: cfg.taskQueue,
    maxConcurrentRuns: cfg.maxConcurrentRuns,
    iterationHistoryEvents: cfg.iterationHistoryEvents,
    artifacts: new LocalArtifactStore(cfg.artifactsDir),
    keyring: loadKeyring(process.env, cfg.dataDir),
    webhookAllowPrivateTargets: cfg.webhookAllowPrivateTargets,
  });
  const server = app.listen(cfg.apiPort, cfg.apiHost, () => {
    console.log(`[api] listening on http://${cfg.apiHost}:${cfg.apiPort}`);
  });
  const stop = () => {
    server.close(async () => {
      await connection.close();
      await prisma.$disconnect();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(`[api] ${err.message}`);
    process.exit(2);
  }
  console.error('[api] fatal:', err);
  process.exit(1);
});
