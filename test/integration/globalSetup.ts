/**
 * Checks the three real services before any integration test runs, with a message that
 * says how to start them, and bundles the workflows once for every test file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { BUNDLE_PATH, TEST_IMAGE, testEnv } from './env';

export default async function globalSetup(): Promise<void> {
  const env = testEnv();
  const hint = 'run the tests with `npm test` (infra/test.sh starts Temporal, Docker and PostgreSQL)';
  const pg = new PgClient({ connectionString: env.databaseUrl });
  try {
    await pg.connect();
    await pg.query('SELECT 1 FROM "Run" LIMIT 1');
  } catch (err) {
    throw new Error(`PostgreSQL at ${env.databaseUrl} is not ready (${(err as Error).message}): ${hint}`);
  } finally {
    await pg.end().catch(() => undefined);
  }
  try {
    const docker = new Docker();
    await docker.ping();
    await docker.getImage(TEST_IMAGE).inspect();
  } catch (err) {
    throw new Error(`Docker or the test image ${TEST_IMAGE} is not ready (${(err as Error).message}): ${hint}`);
  }
  try {
    const c = await Connection.connect({ address: env.temporalAddress, connectTimeout: 5000 });
    await c.close();
  } catch (err) {
    throw new Error(`Temporal at ${env.temporalAddress} is not reachable (${(err as Error).message}): ${hint}`);
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } as never,
  });
  fs.mkdirSync(path.dirname(BUNDLE_PATH), { recursive: true });
  fs.writeFileSync(BUNDLE_PATH, code);
}
