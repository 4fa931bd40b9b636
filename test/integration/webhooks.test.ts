/**
 * Regression-alert webhooks against a local HTTP receiver: set through the API (the secret
 * shown once, sealed at rest, private targets refused unless the operator allows them),
 * delivered by the real activity on a real Temporal worker with the HMAC the receiver
 * checks, retried with backoff when the receiver fails, every attempt recorded and listed.
 * Most tests drive the alert workflow themselves on iterations no iteration workflow runs
 * (so nothing else delivers for them); the last runs two real iterations and lets the
 * iteration workflow send its alert on its own.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startHarness, task, type Harness } from './harness';
import { cliFor } from './cli';
import { BUNDLE_PATH, testEnv } from './env';
import { createApp } from '../../api/app';
import { createOrganization } from '../../api/tenancy';
import { createKeyring } from '../../secrets/keyring';
import { createAlertActivities, deliveryIdFor } from '../../activities/alertActivities';
import { createWorkers } from '../../workers/workers';
import { iterationWorkflowId } from '../../domain/workflowIds';
import { createExperimentIteration } from '../../store/iterations';
import { verifySignature } from '../../schedules/webhookSigning';
import type { RegressionSummary } from '../../schedules/regressionSummary';
import { storedRegressions } from '../../schedules/storedRegressions';
import { computeResults, type ResultsRun } from '../../analysis/iterationResults';
import { EMPTY_SIGNAL_CONFIG } from '../../analysis/signalConfig';
import { saveIterationResult } from '../../store/analysis';
import type { regressionAlertWorkflow } from '../../workflows/alerts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

let h: Harness;
let dir: string;
let permissive: { baseUrl: string; close: () => Promise<void> };
let native: NativeConnection;
const workers: { worker: Worker; running: Promise<void> }[] = [];
/** The installation's own workers (runs, iterations, their alerts): this file's keyring, private targets allowed. */
let main: Worker[] = [];
let mainRunning: Promise<void>[] = [];
const keyring = createKeyring(randomBytes(32));
const suffix = randomBytes(4).toString('hex');
const queues = { open: `alerts-open-${suffix}`, strict: `alerts-strict-${suffix}` };
/** What the comparison says of an iteration, when the test decides; otherwise the stored results are compared. */
const comparisons = new Map<string, RegressionSummary>();

// The receiver answers each request with the next status of its script (then 200).
let script: number[] = [];
const received: Received[] = [];
let receiver: http.Server;
let receiverUrl: string;

const simlab = cliFor(
  () => h,
  () => dir,
  () => ({ SIMLAB_PRODUCT: h.org.productSlug }),
);

async function api(method: string, p: string, body?: unknown, key = h.org.apiKey) {
  const res = await fetch(`${permissive.baseUrl}/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function startAlertWorker(taskQueue: string, allowPrivateTargets: boolean) {
  const worker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: BUNDLE_PATH },
    activities: createAlertActivities({ prisma: h.prisma, keyring, allowPrivateTargets, regressions: async (id) => comparisons.get(id) ?? storedRegressions(h.prisma)(id), timeoutMs: 5000 }),
  });
  workers.push({ worker, running: worker.run() });
}

beforeAll(async () => {
  // The harness's workers would seal with another keyring and refuse the loopback receiver.
  h = await startHarness({ inProcessWorkers: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-hooks-'));
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = script.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/simlab`;
  // The API and workers of an installation whose operator allows private targets (the
  // receiver is on loopback); the harness's own API keeps the default and refuses them.
  const app = createApp({
    prisma: h.prisma,
    temporal: h.client,
    taskQueue: h.taskQueue,
    maxConcurrentRuns: 4,
    temporalUi: { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' },
    artifacts: h.artifacts,
    keyring,
    webhookAllowPrivateTargets: true,
  });
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  permissive = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
  native = await NativeConnection.connect({ address: testEnv().temporalAddress });
  main = (await createWorkers({
    connection: native,
    namespace: 'default',
    taskQueue: h.taskQueue,
    hostId: h.hostId,
    deploymentId: h.deploymentId,
    prisma: h.prisma,
    sandboxes: h.sandboxes,
    artifacts: h.artifacts,
    maxConcurrentRuns: 4,
    hostSlots: 4,
    keyring,
    webhookAllowPrivateTargets: true,
    workflowBundle: { codePath: BUNDLE_PATH },
  })).workers;
  mainRunning = main.map((w) => w.run());
  await startAlertWorker(queues.open, true);
  await startAlertWorker(queues.strict, false);
});

afterAll(async () => {
  for (const w of [...workers.map((x) => x.worker), ...main]) w.shutdown();
  await Promise.allSettled([...workers.map((w) => w.running), ...mainRunning]);
  await native?.close();
  await permissive?.close();
  await new Promise((r) => receiver?.close(r));
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function newIteration(experimentId: string) {
  const it = await createExperimentIteration(h.prisma, { organizationId: h.org.organizationId, productId: h.org.productId, experimentId, specs: [] });
  return it.iterationId;
}

const regression = (iterationId: string): RegressionSummary => ({
  comparedWith: { iterationId: 'iter_previous', number: 1 },
  regressions: [{ taskId: 'task_a', environmentId: 'env_a', variant: 'base', passRateDelta: -0.8, scoreDelta: -55.5, pValue: 0.0079 }],
  newClusters: [{ name: 'npm-install-eacces', rootCauseCategory: 'environment', rootCause: `EACCES in ${iterationId}`, recommendedFix: 'give the agent its npm prefix', runIds: ['run_1', 'run_2'] }],
});

async function alert(iterationId: string, queue = queues.open) {
  return h.client.workflow.execute<typeof regressionAlertWorkflow>('regressionAlertWorkflow', {
    taskQueue: queue,
    workflowId: `test-alert-${iterationId}-${queue}`,
    args: [{ iterationId, firstRetrySeconds: 1 }],
  });
}

describe('regression-alert webhooks', () => {
  let exp: any;
  let secret: string;

  beforeAll(async () => {
    exp = (await h.api('POST', `/products/${h.org.productSlug}/experiments`, { name: 'alerts' })).body;
  });

  it('refuses private, metadata and malformed targets by default, naming the field, and stores nothing', async () => {
    for (const url of [receiverUrl, 'http://169.254.169.254/latest/meta-data/', 'http://localhost:8080/x', 'http://[::1]/x']) {
      const res = await h.api('PUT', `/experiments/${exp.id}/webhook`, { url });
      expect([url, res.status, res.body.error.details[0].pointer]).toEqual([url, 400, '/url']);
      expect(res.body.error.details[0].message).toContain('SIMLAB_WEBHOOK_ALLOW_PRIVATE');
    }
    const ftp = await simlab('experiment', 'webhook', 'set', exp.id, '--url', 'ftp://example.com/x');
    expect(ftp.code).toBe(2);
    expect(ftp.err).toContain('/url');
    expect((await h.api('PUT', `/experiments/${exp.id}/webhook`, { url: 'https://example.com/x', rotateSecret: 'yes' })).status).toBe(400);
    expect((await h.api('GET', `/experiments/${exp.id}/webhook`)).status).toBe(404);
    expect(await h.prisma.experimentWebhook.count({ where: { experimentId: exp.id } })).toBe(0);
  });

  it('generates a secret shown once and keeps it sealed', async () => {
    const set = await api('PUT', `/experiments/${exp.id}/webhook`, { url: receiverUrl });
    expect(set.status).toBe(201);
    expect(set.body).toMatchObject({ url: receiverUrl, secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/) });
    secret = set.body.secret;
    const got = await api('GET', `/experiments/${exp.id}/webhook`);
    expect(got.body.url).toBe(receiverUrl);
    expect(JSON.stringify(got.body)).not.toContain(secret);
    // Setting the URL again keeps the secret (and does not show it).
    const again = await api('PUT', `/experiments/${exp.id}/webhook`, { url: receiverUrl });
    expect(again.status).toBe(200);
    expect(again.body.secret).toBeUndefined();
    const row = await h.prisma.experimentWebhook.findUniqueOrThrow({ where: { experimentId: exp.id } });
    expect(Buffer.from(row.ciphertext).toString('utf8')).not.toContain(secret.slice(6));
    expect(Buffer.from(row.ciphertext).toString('base64')).not.toContain(secret.slice(6));
  });

  it('delivers a signed summary, retried with backoff while the receiver fails, every attempt recorded', async () => {
    const iterationId = await newIteration(exp.id);
    comparisons.set(iterationId, regression(iterationId));
    script = [503, 500];
    received.length = 0;
    const started = Date.now();
    const outcome = await alert(iterationId);
    expect(outcome).toMatchObject({ sent: true, attempt: 3, httpStatus: 200, deliveryId: expect.stringMatching(/^dlv_/) });
    // Backoff: 1 s, then 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(verifySignature(secret, r.body, r.headers['x-simlab-signature'] as string)).toBe(true);
      expect(r.headers['x-simlab-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(r.headers['x-simlab-delivery']).toBe(outcome.sent && outcome.deliveryId);
      expect(r.headers['x-simlab-event']).toBe('iteration.regressed');
      expect(r.headers['content-type']).toBe('application/json');
      const body = JSON.parse(r.body);
      expect(String(body.sentAt)).toBe(r.headers['x-simlab-timestamp']);
      expect(body).toMatchObject({
        event: 'iteration.regressed',
        experiment: { id: exp.id, name: 'alerts' },
        iteration: { id: iterationId, number: expect.any(Number) },
        comparedWith: { number: 1 },
        regressions: [{ taskId: 'task_a', passRateDelta: -0.8, pValue: 0.0079 }],
        newClusters: [{ name: 'npm-install-eacces', runCount: 2 }],
      });
    }
    // A body signed with another secret, or altered, does not verify.
    expect(verifySignature('whsec_other', received[2]!.body, received[2]!.headers['x-simlab-signature'] as string)).toBe(false);
    expect(verifySignature(secret, received[2]!.body.replace('-0.8', '-0.1'), received[2]!.headers['x-simlab-signature'] as string)).toBe(false);

    const listed = await simlab('experiment', 'webhook', 'deliveries', exp.id, '--format', 'json');
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.out).filter((d: any) => d.iterationId === iterationId);
    expect(rows.map((d: any) => [d.attempt, d.status, d.httpStatus])).toEqual([
      [3, 'delivered', 200],
      [2, 'failed', 500],
      [1, 'failed', 503],
    ]);
    expect(rows.every((d: any) => d.event === 'iteration.regressed' && d.url === receiverUrl)).toBe(true);
    // The secret never reached Temporal: the workflow's history holds the iteration id only.
    const history = await h.client.workflow.getHandle(`test-alert-${iterationId}-${queues.open}`).fetchHistory();
    expect(JSON.stringify(history)).not.toContain(secret);
    expect(Buffer.from(JSON.stringify(history)).toString('base64')).not.toContain(Buffer.from(secret).toString('base64'));
  });

  it('sends nothing when the iteration did not regress or has nothing to compare with', async () => {
    received.length = 0;
    const calm = await newIteration(exp.id);
    comparisons.set(calm, { comparedWith: { iterationId: 'iter_previous', number: 1 }, regressions: [], newClusters: [] });
    expect(await alert(calm)).toEqual({ sent: false, reason: 'no significant regression and no new failure cluster' });
    const first = await newIteration(exp.id);
    comparisons.set(first, { ...regression(first), comparedWith: null });
    expect((await alert(first)).sent).toBe(false);
    const unknown = await newIteration(exp.id);
    expect(await alert(unknown)).toEqual({ sent: false, reason: 'no comparison stored for this iteration' });
    expect(received).toHaveLength(0);
    expect(await h.prisma.webhookDelivery.count({ where: { iterationId: { in: [calm, first, unknown] } } })).toBe(0);
  });

  it('alerts from the stored results: a significant regression and a new failure cluster against the previous iteration', async () => {
    const runs = (iterationId: string, passing: boolean): ResultsRun[] =>
      Array.from({ length: 6 }, (_, i) => ({
        runId: `run_${iterationId}_${i}`,
        taskId: 'task_checkout',
        environmentId: 'env_sdk',
        variant: 'base',
        status: 'completed',
        score: passing ? 100 : 0,
        passed: passing,
        failureCategory: null,
        failureMessage: passing ? null : 'npm ERR! code EACCES: permission denied, mkdir /usr/lib/node_modules',
        failingCriteria: passing ? [] : [{ name: 'installs', evidence: 'npm ERR! code EACCES' }],
        signals: {},
        friction: [],
      }));
    const store = async (iterationId: string, passing: boolean, previous: { name: string; signature: string }[]) => {
      const it = await h.prisma.iteration.findUniqueOrThrow({ where: { id: iterationId } });
      const results = await computeResults({ iterationId, experimentId: exp.id, iteration: it.number, finishedAt: null, config: EMPTY_SIGNAL_CONFIG, runs: runs(iterationId, passing), previousClusters: previous });
      await saveIterationResult(h.prisma, { iterationId, experimentId: exp.id, number: it.number, document: JSON.stringify(results) });
      return results;
    };
    const good = await newIteration(exp.id);
    const goodResults = await store(good, true, []);
    const bad = await newIteration(exp.id);
    const badResults = await store(bad, false, goodResults.clusters.map((c) => ({ name: c.name, signature: c.signature })));
    expect(badResults.clusters.length).toBeGreaterThan(0);
    // The stored comparison, as the alert reads it: 6/6 then 0/6 is significant (Fisher p = 0.0022).
    const summary = await storedRegressions(h.prisma)(bad);
    expect(summary).toMatchObject({ comparedWith: { iterationId: good }, regressions: [{ taskId: 'task_checkout', environmentId: 'env_sdk', variant: 'base', passRateDelta: -1 }] });
    expect(summary!.newClusters.map((c) => c.name)).toEqual(badResults.clusters.map((c) => c.name));
    // A later iteration as good as the first regresses nothing: nothing sent.
    const recovered = await newIteration(exp.id);
    await store(recovered, true, badResults.clusters.map((c) => ({ name: c.name, signature: c.signature })));
    expect((await storedRegressions(h.prisma)(recovered))!.regressions).toEqual([]);

    received.length = 0;
    script = [];
    expect(await alert(bad)).toMatchObject({ sent: true, attempt: 1 });
    expect(await alert(recovered)).toEqual({ sent: false, reason: 'no significant regression and no new failure cluster' });
    expect(received).toHaveLength(1);
    const body = JSON.parse(received[0]!.body);
    expect(verifySignature(secret, received[0]!.body, received[0]!.headers['x-simlab-signature'] as string)).toBe(true);
    expect(body).toMatchObject({ iteration: { id: bad }, comparedWith: { iterationId: good }, regressionCount: 1, newClusterCount: badResults.clusters.length });
    expect(body.regressions[0].pValue).toBeLessThan(0.05);
  });

  it("stops at a receiver's 4xx, and at a private target on a worker that does not allow them", async () => {
    const rejected = await newIteration(exp.id);
    comparisons.set(rejected, regression(rejected));
    script = [410];
    received.length = 0;
    expect(await alert(rejected)).toMatchObject({ sent: false, reason: expect.stringContaining('HTTP 410') });
    expect(received).toHaveLength(1);
    const strict = await newIteration(exp.id);
    comparisons.set(strict, regression(strict));
    expect(await alert(strict, queues.strict)).toMatchObject({ sent: false, reason: expect.stringContaining('SIMLAB_WEBHOOK_ALLOW_PRIVATE') });
    expect(received).toHaveLength(1);
    const rows = await h.prisma.webhookDelivery.findMany({ where: { iterationId: { in: [rejected, strict] } }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((d) => [d.iterationId, d.attempt, d.status, d.httpStatus])).toEqual([
      [rejected, 1, 'failed', 410],
      [strict, 1, 'failed', null],
    ]);
  });

  it('rotates the secret on request, and is invisible to another organization', async () => {
    const rotated = await simlab('experiment', 'webhook', 'set', exp.id, '--url', 'https://hooks.example.com/simlab', '--rotate-secret', '--format', 'json');
    expect(rotated.code).toBe(0);
    const body = JSON.parse(rotated.out);
    expect(body.secret).toMatch(/^whsec_/);
    expect(body.secret).not.toBe(secret);
    const other = await createOrganization(h.prisma, { slug: `other-${Date.now()}`, name: 'Other' });
    for (const [method, p, b] of [
      ['GET', `/experiments/${exp.id}/webhook`, undefined],
      ['PUT', `/experiments/${exp.id}/webhook`, { url: 'https://evil.example.com/x' }],
      ['DELETE', `/experiments/${exp.id}/webhook`, undefined],
      ['GET', `/experiments/${exp.id}/webhook/deliveries`, undefined],
    ] as const) {
      expect([method, p, (await h.api(method, p, b, other.apiKey)).status]).toEqual([method, p, 404]);
    }
    expect((await h.api('GET', `/experiments/${exp.id}/webhook`)).body.url).toBe('https://hooks.example.com/simlab');
    const del = await simlab('experiment', 'webhook', 'delete', exp.id, '--format', 'json');
    expect(JSON.parse(del.out)).toEqual({ experimentId: exp.id, deleted: true });
    const none = await newIteration(exp.id);
    comparisons.set(none, regression(none));
    expect(await alert(none)).toEqual({ sent: false, reason: 'the experiment has no webhook' });
  });
});

describe('regression alerts from real iterations', () => {
  const cli = async (...argv: string[]) => {
    const r = await simlab(...argv, '--format', 'json');
    if (r.code !== 0) throw new Error(`simlab ${argv.join(' ')} exited ${r.code}: ${r.err}\n${r.out}`);
    return JSON.parse(r.out);
  };
  /** Runs an iteration to its end and waits for its workflow, which starts the alert before it ends. */
  async function iterate(experimentId: string): Promise<string> {
    const iterationId = (await cli('experiment', 'run', experimentId)).iterationId as string;
    expect(await h.client.workflow.getHandle(iterationWorkflowId(iterationId)).result()).toBe('completed');
    return iterationId;
  }
  const alertOutcome = (iterationId: string) => h.client.workflow.getHandle(`simlab-alert-${iterationId}`).result();

  it('an iteration that regresses sends exactly one signed alert, with no test calling an activity', async () => {
    const t = await h.createTask(task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt' }], { name: 'e2e' }));
    const env = await h.createEnvironment({ name: 'e2e' });
    const e2e = await cli('experiment', 'create', '--name', 'e2e-alerts', '--task-ids', t, '--env-ids', env, '--repeats', '6');
    const set = await api('PUT', `/experiments/${e2e.id}/webhook`, { url: receiverUrl });
    expect(set.status).toBe(201);
    const e2eSecret = set.body.secret as string;
    script = [];
    received.length = 0;

    // 6/6 passing: nothing to compare with, nothing sent.
    const good = await iterate(e2e.id);
    expect(await alertOutcome(good)).toMatchObject({ sent: false });
    expect(received).toHaveLength(0);

    // The environment breaks: 0/6 against 6/6 (Fisher p = 0.0022), and a new failure cluster.
    const patched = await h.api('PATCH', `/environments/${env}`, { definition: { name: 'e2e', image: 'simlab/busybox:test', agent: { harness: 'command', command: 'echo "Error: HTTP 401 Unauthorized"; exit 3' }, resources: { cpus: 0.5, memoryMb: 128, pids: 64 } } });
    expect(patched.status).toBe(200);
    const bad = await iterate(e2e.id);
    const outcome = await alertOutcome(bad);
    expect(outcome).toEqual({ sent: true, deliveryId: deliveryIdFor(bad), attempt: 1, httpStatus: 200 });

    expect(received).toHaveLength(1);
    const [r] = received;
    expect(verifySignature(e2eSecret, r!.body, r!.headers['x-simlab-signature'] as string)).toBe(true);
    expect(r!.headers).toMatchObject({ 'x-simlab-event': 'iteration.regressed', 'x-simlab-delivery': deliveryIdFor(bad), 'content-type': 'application/json' });
    const body = JSON.parse(r!.body);
    expect(String(body.sentAt)).toBe(r!.headers['x-simlab-timestamp']);
    expect(body).toMatchObject({
      event: 'iteration.regressed',
      experiment: { id: e2e.id, name: 'e2e-alerts' },
      iteration: { id: bad, number: 2 },
      comparedWith: { iterationId: good, number: 1 },
      regressionCount: 1,
      regressions: [{ taskId: t, environmentId: env, variant: 'base', passRateDelta: -1 }],
    });
    expect(body.regressions[0].pValue).toBeLessThan(0.05);
    expect(body.newClusterCount).toBeGreaterThan(0);
    // One delivery recorded for the experiment, the one received.
    const rows = await h.prisma.webhookDelivery.findMany({ where: { experimentId: e2e.id } });
    expect(rows.map((d) => [d.iterationId, d.attempt, d.status, d.httpStatus])).toEqual([[bad, 1, 'delivered', 200]]);
    // The secret never reached Temporal.
    for (const id of [iterationWorkflowId(bad), `simlab-alert-${bad}`]) expect(JSON.stringify(await h.client.workflow.getHandle(id).fetchHistory())).not.toContain(e2eSecret);
  }, 480_000);
});
