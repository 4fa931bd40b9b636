/**
 * Runtime configuration from the environment, with the embedded defaults of the quick
 * start: everything local, data under .data/.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '');

export interface SimlabConfig {
  root: string;
  dataDir: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** Shared queue: workflows and database activities. */
  taskQueue: string;
  /** This worker's Docker host: sandbox activities go to `${taskQueue}-host-${hostId}`. */
  hostId: string;
  /** Names this installation (database + namespace) on labels of the sandboxes it owns. */
  deploymentId: string;
  temporalUiUrl: string;
  apiPort: number;
  apiHost: string;
  artifactsDir: string;
  /** Concurrent runs per worker: bounded by the Docker host, not by Temporal. */
  maxConcurrentRuns: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SimlabConfig {
  const dataDir = path.resolve(env.SIMLAB_DATA ?? path.join(ROOT, '.data'));
  const databaseUrl = env.DATABASE_URL ?? `postgresql://postgres:postgres@127.0.0.1:${env.SIMLAB_PGLITE_PORT ?? '55432'}/postgres`;
  const temporalNamespace = env.TEMPORAL_NAMESPACE ?? 'default';
  return {
    root: ROOT,
    dataDir,
    databaseUrl,
    temporalAddress: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace,
    taskQueue: env.SIMLAB_TASK_QUEUE ?? 'simlab',
    hostId: sanitizeQueueToken(env.SIMLAB_HOST_ID ?? os.hostname()),
    deploymentId: env.SIMLAB_DEPLOYMENT_ID ?? deploymentId(databaseUrl, temporalNamespace),
    temporalUiUrl: (env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233').replace(/\/$/, ''),
    apiPort: Number(env.SIMLAB_API_PORT ?? 8080),
    apiHost: env.SIMLAB_API_HOST ?? '127.0.0.1',
    artifactsDir: path.resolve(env.SIMLAB_ARTIFACTS ?? path.join(dataDir, 'artifacts')),
    maxConcurrentRuns: Number(env.SIMLAB_MAX_CONCURRENT_RUNS ?? 4),
  };
}

function sanitizeQueueToken(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 100) || 'local';
}

/** Stable for one database and namespace; no credential goes into it. */
export function deploymentId(databaseUrl: string, namespace: string): string {
  let where = databaseUrl;
  try {
    const u = new URL(databaseUrl);
    where = `${u.hostname}:${u.port}${u.pathname}`;
  } catch {
    // not a URL: hash it as it is
  }
  return createHash('sha256').update(`${where}|${namespace}`).digest('hex').slice(0, 12);
}

export function hostQueue(taskQueue: string, hostId: string): string {
  return `${taskQueue}-host-${hostId}`;
}

export function workflowUiLink(cfg: Pick<SimlabConfig, 'temporalUiUrl' | 'temporalNamespace'>, workflowId: string): string {
  return `${cfg.temporalUiUrl}/namespaces/${encodeURIComponent(cfg.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
