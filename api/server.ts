/** `simlab-api`: the HTTP API process. */
import { Client, Connection } from '@temporalio/client';
import { createPrisma } from '../prisma/client';
import { loadConfig } from '../infra/config';
import { createApp } from './app';

async function main() {
  const cfg = loadConfig();
  const prisma = createPrisma(cfg.databaseUrl, { maxConnections: 10 });
  const connection = await Connection.connect({ address: cfg.temporalAddress });
  const temporal = new Client({ connection, namespace: cfg.temporalNamespace });
  const app = createApp({
    prisma,
    temporal,
    taskQueue: cfg.taskQueue,
    maxConcurrentRuns: cfg.maxConcurrentRuns,
    temporalUiUrl: cfg.temporalUiUrl,
    temporalNamespace: cfg.temporalNamespace,
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
  console.error('[api] fatal:', err);
  process.exit(1);
});
