/**
 * Runtime configuration, read from the environment once at start and validated there: a
 * bad value stops the process with a message naming the variable, instead of turning
 * into NaN somewhere later. Every setting has exactly one default, written here; the
 * defaults are the embedded quick start's (everything local, data under .data/).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '');

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Temporal Cloud (or any server that takes one) API key. */
  apiKey?: string;
  /** TLS to the frontend: on when any TLS setting is given, or TEMPORAL_TLS=true. */
  tls?: {
    serverName?: string;
    /** PEM contents, read at start so a missing file fails then, not at first connect. */
    serverRootCaCert?: Buffer;
    clientCert?: Buffer;
    clientKey?: Buffer;
  };
  /** Base of the links to runs and iterations in the Temporal Web UI. */
  uiUrl: string;
}

export interface SimlabConfig {
  root: string;
  dataDir: string;
  databaseUrl: string;
  temporal: TemporalSettings;
  /** Shared queue: workflows and database activities. */
  taskQueue: string;
  /** This worker's Docker host: sandbox activities go to `${taskQueue}-host-${hostId}`. */
  hostId: string;
  /** Names this installation (database + namespace) on labels of the sandboxes it owns. */
  deploymentId: string;
  apiPort: number;
  apiHost: string;
  /** Root of the local artifact store (agent logs, archives). */
  artifactsDir: string;
  /** Runs an iteration keeps in flight. */
  maxConcurrentRuns: number;
  /** An iteration workflow continues as new once its history holds this many events. */
  iterationHistoryEvents: number;
  /** Sandboxes this worker's Docker host runs at once; more runs wait in Temporal. */
  hostSlots: number;
  /** How often the worker's reaper sweeps for orphaned sandboxes and runs. */
  reapIntervalSeconds: number;
  /** The model API behind llm_judge; no key, no judge (those criteria end as evaluation errors). */
  anthropic: { apiKey?: string; baseUrl?: string };
  /** Webhook URLs may target loopback, private, link-local (cloud metadata) addresses: off unless an operator allows it. */
  webhookAllowPrivateTargets: boolean;
  /** Port of the egress proxy on the sandboxes' internal network (one proxy per Docker host). */
  egressProxyPort: number;
  /** Git init files may be fetched from loopback, private, link-local addresses (local git servers, tests). */
  gitAllowPrivate: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Reads one variable at a time and collects every problem before failing. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }
  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }
  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
      this.problems.push(`${name}=${JSON.stringify(v)}: must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  }
  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    this.problems.push(`${name}=${JSON.stringify(v)}: must be true or false`);
    return undefined;
  }
  url(name: string, fallback: string): string {
    const v = this.string(name, fallback);
    try {
      new URL(v);
    } catch {
      this.problems.push(`${name}=${JSON.stringify(v)}: must be a URL`);
    }
    return v;
  }
  file(name: string): Buffer | undefined {
    const p = this.raw(name);
    if (p === undefined) return undefined;
    try {
      return fs.readFileSync(p);
    } catch (err) {
      this.problems.push(`${name}=${JSON.stringify(p)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  }
  token(name: string, fallback: string): string {
    const v = this.string(name, fallback);
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(v)) {
      this.problems.push(`${name}=${JSON.stringify(v)}: must be 1-100 letters, digits, '.', '_' or '-'`);
    }
    return v;
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SimlabConfig {
  const r = new Reader(env);
  const dataDir = path.resolve(r.string('SIMLAB_DATA', path.join(ROOT, '.data')));
  const pglitePort = r.int('SIMLAB_PGLITE_PORT', 55432, 1, 65535);
  const databaseUrl = r.url('DATABASE_URL', `postgresql://postgres:postgres@127.0.0.1:${pglitePort}/postgres`);
  const namespace = r.token('TEMPORAL_NAMESPACE', 'default');
  const temporal: TemporalSettings = {
    address: r.string('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    namespace,
    uiUrl: r.url('TEMPORAL_UI_URL', 'http://127.0.0.1:8233').replace(/\/$/, ''),
  };
  if (!/^[^\s:]+:\d{1,5}$/.test(temporal.address)) r.problems.push(`TEMPORAL_ADDRESS=${JSON.stringify(temporal.address)}: must be host:port`);
  const apiKey = r.raw('TEMPORAL_API_KEY');
  if (apiKey) temporal.apiKey = apiKey;
  const tlsWanted = r.bool('TEMPORAL_TLS');
  const tls = {
    ...(r.raw('TEMPORAL_TLS_SERVER_NAME') ? { serverName: r.raw('TEMPORAL_TLS_SERVER_NAME')! } : {}),
    ...(r.raw('TEMPORAL_TLS_CA') ? { serverRootCaCert: r.file('TEMPORAL_TLS_CA')! } : {}),
    ...(r.raw('TEMPORAL_TLS_CERT') ? { clientCert: r.file('TEMPORAL_TLS_CERT')! } : {}),
    ...(r.raw('TEMPORAL_TLS_KEY') ? { clientKey: r.file('TEMPORAL_TLS_KEY')! } : {}),
  };
  if (!!tls.clientCert !== !!tls.clientKey && !r.problems.some((p) => p.startsWith('TEMPORAL_TLS_'))) {
    r.problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (mutual TLS) or neither');
  }
  // An API key implies TLS, as Temporal Cloud requires; TEMPORAL_TLS=false still wins.
  if (tlsWanted !== false && (tlsWanted || Object.keys(tls).length > 0 || apiKey)) temporal.tls = tls;

  const taskQueue = r.token('SIMLAB_TASK_QUEUE', 'simlab');
  const cfg: SimlabConfig = {
    root: ROOT,
    dataDir,
    databaseUrl,
    temporal,
    taskQueue,
    hostId: sanitizeQueueToken(r.string('SIMLAB_HOST_ID', os.hostname())),
    deploymentId: r.token('SIMLAB_DEPLOYMENT_ID', deploymentId(databaseUrl, namespace)),
    apiPort: r.int('SIMLAB_API_PORT', 8080, 1, 65535),
    apiHost: r.string('SIMLAB_API_HOST', '127.0.0.1'),
    artifactsDir: path.resolve(r.string('SIMLAB_ARTIFACTS', path.join(dataDir, 'artifacts'))),
    maxConcurrentRuns: r.int('SIMLAB_MAX_CONCURRENT_RUNS', 4, 1, 1000),
    hostSlots: r.int('SIMLAB_HOST_SLOTS', defaultHostSlots(), 1, 1000),
    iterationHistoryEvents: r.int('SIMLAB_ITERATION_HISTORY_EVENTS', 8000, 20, 40000),
    reapIntervalSeconds: r.int('SIMLAB_REAP_INTERVAL_SECONDS', 60, 5, 3600),
    anthropic: {
      ...(r.raw('ANTHROPIC_API_KEY') ? { apiKey: r.raw('ANTHROPIC_API_KEY')! } : {}),
      ...(r.raw('ANTHROPIC_BASE_URL') ? { baseUrl: r.url('ANTHROPIC_BASE_URL', '') } : {}),
    },
    webhookAllowPrivateTargets: r.bool('SIMLAB_WEBHOOK_ALLOW_PRIVATE') ?? false,
    egressProxyPort: r.int('SIMLAB_EGRESS_PROXY_PORT', 3128, 1, 65535),
    gitAllowPrivate: r.bool('SIMLAB_GIT_ALLOW_PRIVATE') ?? false,
  };
  if (r.problems.length) throw new ConfigError(r.problems);
  return cfg;
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

/** A host's default sandbox slots: a few per CPU (agents mostly wait on a model), at least 512 MiB of memory each. */
export function defaultHostSlots(cpus = os.cpus().length, totalMemBytes = os.totalmem()): number {
  return Math.max(1, Math.min(cpus * 4, Math.floor(totalMemBytes / (512 * 1024 * 1024))));
}

/** Where runs claim a Docker host: every worker serves it while its host has a free slot. */
export function claimQueue(taskQueue: string): string {
  return `${taskQueue}-claims`;
}

export function hostQueue(taskQueue: string, hostId: string): string {
  return `${taskQueue}-host-${hostId}`;
}

export function workflowUiLink(t: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string): string {
  return `${t.uiUrl}/namespaces/${encodeURIComponent(t.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
