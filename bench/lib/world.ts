/**
 * simlab as a benchmark sees it: the real API (in this process, on a free port) and the
 * real worker (bin/simlab-worker, as deployed) as a child process, on a task queue, Docker
 * host id and deployment id of their own, against a private database. Nothing here is
 * shared with the tests or the quick start, so a benchmark disturbs nobody's runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { createApp } from '../../api/app';
import { createOrganization } from '../../api/tenancy';
import { LocalArtifactStore } from '../../artifacts';
import { createKeyring } from '../../secrets/keyring';
import { ensureSearchAttributes } from '../../config/temporal';
import { repoRoot } from './repo';

export interface World {
  suffix: string;
  taskQueue: string;
  hostId: string;
  deploymentId: string;
  prisma: PrismaClient;
  temporal: Client;
  baseUrl: string;
  org: { organizationId: string; productId: string; productSlug: string; apiKey: string };
  worker: ChildProcess;
  api<T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T; ms: number }>;
  close(): Promise<void>;
}

export interface WorldOptions {
  databaseUrl: string;
  /** What the worker connects to, when it differs (a counting proxy in front of the database). */
  workerDatabaseUrl?: string;
  temporalAddress: string;
  concurrency: number;
  /** Extra environment of the worker process (e.g. SIMLAB_HOST_SLOTS). */
  workerEnv?: Record<string, string>;
  log?: (line: string) => void;
}

function startWorker(env: Record<string, string>, log: (l: string) => void): Promise<ChildProcess> {
  // BENCH_WORKER_NODE_ARGS: node options for the worker alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p` (NODE_OPTIONS refuses them).
  const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(path.join(repoRoot(), 'bin', 'simlab-worker'), nodeArgs, { env: { ...process.env, NODE: process.execPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      const s = d.toString();
      if (output.length < 1 << 20) output += s;
      if (process.env.BENCH_VERBOSE) process.stderr.write(s);
      else for (const line of s.split('\n')) if (/error|fatal/i.test(line)) log(`[worker] ${line.slice(0, 300)}`);
      if (output.includes('[worker] ready')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready:\n${output.slice(-4000)}`)));
  });
}

export async function startWorld(o: WorldOptions): Promise<World> {
  const log = o.log ?? ((l: string) => console.error(l));
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const taskQueue = `simlab-bench-${suffix}`;
  const hostId = `bench-${suffix}`;
  const deploymentId = `bench-${suffix}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-bench-'));
  const artifactsDir = path.join(dataDir, 'artifacts');
  fs.mkdirSync(artifactsDir);
  const secretKey = randomBytes(32);
  const prisma = createPrisma(o.databaseUrl, { maxConnections: 8 });
  const connection = await Connection.connect({ address: o.temporalAddress });
  await ensureSearchAttributes(connection, 'default');
  const temporal = new Client({ connection, namespace: 'default' });
  const artifacts = new LocalArtifactStore(artifactsDir);
  const app = createApp({
    prisma,
    temporal,
    taskQueue,
    maxConcurrentRuns: o.concurrency,
    // SIMLAB_ITERATION_HISTORY_EVENTS, as the API server reads it: a smaller bound shows continue-as-new on a small iteration.
    ...(process.env.SIMLAB_ITERATION_HISTORY_EVENTS ? { iterationHistoryEvents: Number(process.env.SIMLAB_ITERATION_HISTORY_EVENTS) } : {}),
    temporalUi: { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' },
    artifacts,
    keyring: createKeyring(secretKey),
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const org = await createOrganization(prisma, { slug: `bench-${suffix}`, name: `Bench ${suffix}` });
  const worker = await startWorker(
    {
      DATABASE_URL: o.workerDatabaseUrl ?? o.databaseUrl,
      TEMPORAL_ADDRESS: o.temporalAddress,
      SIMLAB_TASK_QUEUE: taskQueue,
      SIMLAB_HOST_ID: hostId,
      SIMLAB_DEPLOYMENT_ID: deploymentId,
      SIMLAB_DATA: dataDir,
      SIMLAB_ARTIFACTS: artifactsDir,
      SIMLAB_SECRET_KEY: secretKey.toString('hex'),
      SIMLAB_MAX_CONCURRENT_RUNS: String(o.concurrency),
      SIMLAB_HOST_SLOTS: String(o.concurrency),
      ...(o.workerEnv ?? {}),
    },
    log,
  );
  return {
    suffix,
    taskQueue,
    hostId,
    deploymentId,
    prisma,
    temporal,
    baseUrl,
    org,
    worker,
    async api(method, p, body) {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${org.apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, ms: performance.now() - t0 };
    },
    async close() {
      if (worker.exitCode === null && worker.signalCode === null) {
        worker.kill('SIGTERM');
        await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
      }
      await new Promise((r) => server.close(r));
      await connection.close();
      await prisma.$disconnect();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TrivialIteration {
  experimentId: string;
  environmentIds: string[];
  taskId: string;
  repeats: number;
  runs: number;
}

/**
 * An experiment whose one trigger makes `runs` trivial runs (rounded up to environments x
 * repeats, at most 100 repeats): a command agent, one bash_command criterion.
 */
export async function trivialExperiment(w: World, o: { runs: number; image: string; agentCommand: string; criterionCommand: string; resources: { cpus: number; memoryMb: number; pids: number } }): Promise<TrivialIteration> {
  const ok = <T>(res: { status: number; body: T }, what: string, want = 201): T => {
    if (res.status !== want) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const envCount = Math.ceil(o.runs / 100);
  const repeats = Math.ceil(o.runs / envCount);
  const environmentIds: string[] = [];
  for (let i = 0; i < envCount; i++) {
    const env = ok(
      await w.api<{ id: string }>('POST', `/products/${w.org.productSlug}/environments`, {
        name: `bench-${i}`,
        image: o.image,
        agent: { harness: 'command', command: o.agentCommand },
        resources: o.resources,
      }),
      'environment',
    );
    environmentIds.push(env.id);
  }
  const task = ok(
    await w.api<{ id: string }>('POST', `/products/${w.org.productSlug}/tasks`, {
      name: 'bench trivial',
      category: 'coding',
      prompt: 'Do nothing.',
      goals: [{ name: 'trivial', evaluationType: 'bash_command', command: o.criterionCommand }],
    }),
    'task',
  );
  const exp = ok(
    await w.api<{ id: string }>('POST', `/products/${w.org.productSlug}/experiments`, { name: `bench ${w.suffix}`, taskIds: [task.id], environmentIds, repeats }),
    'experiment',
  );
  return { experimentId: exp.id, environmentIds, taskId: task.id, repeats, runs: envCount * repeats };
}

export async function triggerIteration(w: World, experimentId: string): Promise<{ iterationId: string; runCount: number }> {
  const res = await w.api<{ iterationId: string; runCount: number }>('POST', `/experiments/${experimentId}/iterations`, {});
  if (res.status !== 202) throw new Error(`trigger: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Polls the iteration until it ends; `onPoll` sees every answer (latency sampling). */
export async function waitForIteration(w: World, iterationId: string, o: { timeoutMs: number; everyMs?: number; onPoll?: (body: any) => void }): Promise<any> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const res = await w.api('GET', `/iterations/${iterationId}`);
    if (res.status !== 200) throw new Error(`GET /iterations/${iterationId}: ${res.status} ${JSON.stringify(res.body)}`);
    o.onPoll?.(res.body);
    if (res.body.finishedAt) return res.body;
    if (Date.now() > deadline) throw new Error(`iteration ${iterationId} not finished after ${o.timeoutMs} ms: ${JSON.stringify(res.body.summary)}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 200));
  }
}
