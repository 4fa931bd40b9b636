/**
 * One integration test file's world: real PostgreSQL, real Temporal dev server, real
 * Docker, with the real worker and API wired exactly as in production. Each file gets its
 * own task queue, Docker host id and organization, so files never see each other's work.
 */
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import Docker from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { createApp } from '../../api/app';
import { createOrganization } from '../../api/tenancy';
import { createWorkers } from '../../workers/workers';
import { DockerSandboxProvider, HomeDisks, SandboxNetworks, type SandboxInfo } from '../../sandbox';
import { LocalArtifactStore } from '../../artifacts';
import type { Judge } from '../../criteria/judge';
import type { AnalysisModel } from '../../analysis/model';
import { createKeyring } from '../../secrets/keyring';
import { ensureSearchAttributes } from '../../config/temporal';
import { isTerminal, type RunStatus } from '../../domain/runLifecycle';
import { BUNDLE_PATH, TEST_IMAGE, testEnv } from './env';

let runtimeInstalled = false;

export interface Harness {
  taskQueue: string;
  deploymentId: string;
  prisma: PrismaClient;
  docker: Docker;
  sandboxes: DockerSandboxProvider;
  artifacts: LocalArtifactStore;
  client: Client;
  hostId: string;
  baseUrl: string;
  artifactsDir: string;
  org: { organizationId: string; productId: string; productSlug: string; apiKey: string };
  api<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  createEnvironment(def?: Record<string, unknown>): Promise<string>;
  createTask(def: Record<string, unknown>): Promise<string>;
  runTask(taskId: string, environmentIds: string[]): Promise<string[]>;
  waitForRun(runId: string, until?: (status: RunStatus) => boolean, timeoutMs?: number): Promise<any>;
  sandboxesLeft(): Promise<SandboxInfo[]>;
  /** GET of a binary route (artifacts), as bytes. */
  download(path: string, key?: string): Promise<{ status: number; body: Buffer; headers: Headers }>;
  close(): Promise<void>;
}

/** `inProcessWorkers: false` leaves running workflows and activities to worker processes the test starts itself. */
export async function startHarness(opts: { inProcessWorkers?: boolean; judge?: Judge; analysisModel?: AnalysisModel; iterationHistoryEvents?: number } = {}): Promise<Harness> {
  if (!runtimeInstalled) {
    // The worker's own logs are noise in test output; warnings and errors still show.
    Runtime.install({ logger: new (require('@temporalio/worker').DefaultLogger)('WARN') });
    runtimeInstalled = true;
  }
  const env = testEnv();
  const suffix = randomBytes(4).toString('hex');
  const taskQueue = `simlab-test-${suffix}`;
  const hostId = `test-${suffix}`;
  const deploymentId = `test-${suffix}`;
  const artifactsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-artifacts-'));
  const prisma = createPrisma(env.databaseUrl, { maxConnections: 8 });
  const docker = new Docker();
  // The host's own sandbox networks, as a worker sets them up (its proxy serves whichever test process listens first).
  const networks = new SandboxNetworks(docker);
  const sandboxes = new DockerSandboxProvider(docker, new HomeDisks(path.join(artifactsDir, '..', `simlab-disks-${suffix}`)), networks);
  const artifacts = new LocalArtifactStore(artifactsDir);
  const keyring = createKeyring(randomBytes(32));
  const connection = await Connection.connect({ address: env.temporalAddress });
  await ensureSearchAttributes(connection, 'default');
  const client = new Client({ connection, namespace: 'default' });
  const native = await NativeConnection.connect({ address: env.temporalAddress });
  const workers: Worker[] = opts.inProcessWorkers === false ? [] : (await createWorkers({
    connection: native,
    namespace: 'default',
    taskQueue,
    hostId,
    deploymentId,
    prisma,
    sandboxes,
    artifacts,
    maxConcurrentRuns: 4,
    hostSlots: 4,
    ...(opts.judge ? { judge: opts.judge } : {}),
    ...(opts.analysisModel ? { analysisModel: opts.analysisModel } : {}),
    keyring,
    workflowBundle: { codePath: BUNDLE_PATH },
  })).workers;
  const running = workers.map((w) => w.run());
  const app = createApp({
    prisma,
    temporal: client,
    taskQueue,
    maxConcurrentRuns: 4,
    ...(opts.iterationHistoryEvents ? { iterationHistoryEvents: opts.iterationHistoryEvents } : {}),
    temporalUi: { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' },
    artifacts,
    keyring,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const org = await createOrganization(prisma, { slug: `test-${suffix}`, name: `Test ${suffix}` });

  const h: Harness = {
    taskQueue,
    deploymentId,
    prisma,
    docker,
    sandboxes,
    artifacts,
    client,
    hostId,
    baseUrl,
    artifactsDir,
    org,
    async api(method, p, body, key = org.apiKey) {
      const res = await fetch(`${baseUrl}/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async createEnvironment(def = {}) {
      const res = await h.api('POST', `/products/${org.productSlug}/environments`, {
        name: 'busybox',
        image: TEST_IMAGE,
        agent: { harness: 'command', command: 'echo hello > hello.txt' },
        resources: { cpus: 0.5, memoryMb: 128, pids: 64 },
        ...def,
      });
      if (res.status !== 201) throw new Error(`environment not created: ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async createTask(def) {
      const res = await h.api('POST', `/products/${org.productSlug}/tasks`, def);
      if (res.status !== 201) throw new Error(`task not created: ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async runTask(taskId, environmentIds) {
      const res = await h.api('POST', `/tasks/${taskId}/runs`, { environmentIds });
      if (res.status !== 202) throw new Error(`runs not queued: ${JSON.stringify(res.body)}`);
      return res.body.runIds as string[];
    },
    async waitForRun(runId, until = (s) => isTerminal(s), timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await h.api('GET', `/runs/${runId}`);
        if (res.status !== 200) throw new Error(`GET /runs/${runId}: ${res.status} ${JSON.stringify(res.body)}`);
        if (until(res.body.status)) return res.body;
        if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    sandboxesLeft: () => sandboxes.list({ hostId }),
    async download(p, key = org.apiKey) {
      const res = await fetch(`${baseUrl}${p}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
    },
    async close() {
      await new Promise((r) => server.close(r));
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      // This host's reaper never runs again: a test aborted mid-run (timeout) must not
      // leave its sandboxes behind. Passing tests already asserted they left none.
      await sandboxes.destroy({ hostId, deploymentId });
      await networks.close();
      await native.close();
      await connection.close();
      await prisma.$disconnect();
      fs.rmSync(artifactsDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** A task with the given goals and sensible test defaults. */
export function task(goals: unknown[], extra: Record<string, unknown> = {}) {
  return { name: 'Write hello', category: 'coding', prompt: 'Write hello into hello.txt', goals, ...extra };
}
