/**
 * A test file's world for the workflow tests: the real workflow bundle on a real Temporal
 * server, every activity replaced by an in-memory stub. Each file gets a shared task queue
 * and a host queue of its own, and each run a random id, so files never see each other's
 * work on the shared server. Stubs record every call and keep run statuses with the same
 * rules as the store, so tests can assert on the exact sequence of transitions.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { format } from 'node:util';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AnalysisActivities, AnalyzeRunResult, PreparedRun, RunActivities, RunPlan, SandboxActivities, StepTransitions } from '../../activities';
import type { TransitionInput, TransitionResult } from '../../store/runStatus';
import { canTransition, isTerminal, type IterationStatus, type RunStatus } from '../../domain/runLifecycle';
import { RunStateError } from '../../domain/errors';
import { iterationWorkflowId, runWorkflowId } from '../../domain/workflowIds';
import { ensureSearchAttributes } from '../../config/temporal';
// Types only: the workflow modules themselves are loaded by the worker's bundle.
import type { runWorkflow } from '../../workflows/run';
import type { iterationWorkflow } from '../../workflows/iteration';

type Activities = RunActivities & SandboxActivities & Pick<AnalysisActivities, 'analyzeRun' | 'computeIterationResults'>;
type SandboxStep = keyof SandboxActivities;
type Result<K extends keyof Activities> = Awaited<ReturnType<Activities[K]>>;

/** What the sandbox steps of one run do; anything left out succeeds at once. */
export type RunScript = {
  prepareRun?: (runId: string, plan: RunPlan) => Promise<PreparedRun>;
  analyzeRun?: (runId: string) => Promise<AnalyzeRunResult>;
} & { [K in SandboxStep]?: (runId: string, attempt: number) => Promise<Result<K>> };

export interface Call {
  activity: keyof Activities;
  /** The run id, or the iteration id for iteration activities. */
  id: string;
  attempt: number;
}

export interface World {
  client: Client;
  taskQueue: string;
  hostQueue: string;
  /** A run id no other test (or file, or earlier test run) on the server uses. */
  newRunId(label: string): string;
  script(runId: string, script: RunScript): void;
  startRun(runId: string): Promise<WorkflowHandle<typeof runWorkflow>>;
  /** Creates an iteration over fresh run ids, each following `script`, and starts its workflow. */
  startIteration(
    label: string,
    runs: number,
    maxConcurrentRuns: number,
    script: RunScript,
    options?: { historyEventBound?: number },
  ): Promise<{ iterationId: string; runIds: string[]; handle: WorkflowHandle<typeof iterationWorkflow> }>;
  /** Every transitionRun input for the run, in call order, without the run id. */
  transitions(runId: string): Omit<TransitionInput, 'runId'>[];
  /** Every activity call, in the order they started. */
  readonly calls: Call[];
  callsFor(id: string, activity?: keyof Activities): Call[];
  status(runId: string): RunStatus;
  /** Writes a status as the API would, behind the workflow's back. */
  setStatus(runId: string, status: RunStatus): void;
  /** The `cancelled` argument of every finishIteration call for the iteration. */
  finishes(iterationId: string): boolean[];
  /** Resolves once the activity has started for that run (or iteration). */
  reached(id: string, activity: keyof Activities): Promise<void>;
  /** Runs between their prepareRun and their final transition: the children truly in flight. */
  readonly inFlight: { now: number; max: number };
  close(): Promise<void>;
}

const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = 'default';
let runtimeInstalled = false;

/** Warnings every test provokes on purpose; any other warning (a failing workflow task) still shows. */
const EXPECTED_WARNINGS = new Set([
  'Activity failed',
  'No workflows registered, not polling for workflow tasks',
  'run failed',
  'archive failed; the sandbox is destroyed anyway',
  'destroy failed; left to the reaper',
]);
function quietLog(entry: LogEntry): void {
  if (EXPECTED_WARNINGS.has(entry.message)) return;
  process.stderr.write(`[${entry.level}] ${entry.message} ${entry.meta ? format(entry.meta) : ''}\n`);
}

/** A sandbox step that heartbeats like the real ones and ends only when cancelled. */
export async function blockUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  ctx.heartbeat();
  // Cancellation reaches an activity only through a heartbeat's response.
  const timer = setInterval(() => ctx.heartbeat(), 200);
  try {
    return await ctx.cancelled;
  } finally {
    clearInterval(timer);
  }
}

export function plan(hostQueue: string): RunPlan {
  return {
    hostQueue,
    agentTimeoutSeconds: 600,
    setupTimeoutSeconds: 60,
    evaluationTimeoutSeconds: 60,
    organizationId: 'org-test',
    productId: 'product-test',
    taskId: 'task-test',
    environmentId: 'env-test',
  };
}

export async function startWorld(): Promise<World> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN', quietLog) });
    runtimeInstalled = true;
  }
  const suffix = randomBytes(4).toString('hex');
  const taskQueue = `simlab-wf-test-${suffix}`;
  const hostQueue = `simlab-wf-test-host-${suffix}`;

  const env = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace });
  await ensureSearchAttributes(env.connection, namespace);

  const scripts = new Map<string, RunScript>();
  const statuses = new Map<string, RunStatus>();
  const transitionLog = new Map<string, TransitionInput[]>();
  const iterations = new Map<string, string[]>();
  const finished = new Map<string, boolean[]>();
  const calls: Call[] = [];
  const waiters: { id: string; activity: keyof Activities; resolve: () => void }[] = [];
  const inFlight = { now: 0, max: 0 };
  const live = new Set<string>();
  const started: WorkflowHandle[] = [];

  const record = (activity: keyof Activities, id: string) => {
    const attempt = Context.current().info.attempt;
    calls.push({ activity, id, attempt });
    for (const w of waiters.filter((w) => w.id === id && w.activity === activity)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    return attempt;
  };
  const scripted = <K extends SandboxStep>(activity: K, fallback: Result<K>) =>
    async (runId: string, t?: StepTransitions): Promise<Result<K>> => {
      const attempt = record(activity, runId);
      // Like the real steps (activities/sandboxActivities.ts): their own status changes, through the store's rules.
      if (t?.enter) await activities.transitionRun({ runId, ...t.enter });
      const step = scripts.get(runId)?.[activity] as ((runId: string, attempt: number) => Promise<Result<K>>) | undefined;
      const result = step ? await step(runId, attempt) : fallback;
      if (t?.leave) await activities.transitionRun({ runId, ...t.leave });
      return result;
    };

  // The store's rules (store/runStatus.ts), so the workflow meets the same refusals.
  const applyTransition = (input: Parameters<Activities['transitionRun']>[0]): TransitionResult => {
    const log = transitionLog.get(input.runId) ?? [];
    log.push(input);
    transitionLog.set(input.runId, log);
    const from = statuses.get(input.runId) ?? 'queued';
    if (from === input.to) return { from, to: input.to, changed: false };
    if (isTerminal(from) && isTerminal(input.to)) return { from, to: from, changed: false };
    if (!canTransition(from, input.to)) throw new RunStateError(`run ${input.runId} cannot go from ${from} to ${input.to}`);
    statuses.set(input.runId, input.to);
    if (isTerminal(input.to) && live.delete(input.runId)) inFlight.now--;
    return { from, to: input.to, changed: true };
  };

  const activities: Activities = {
    async prepareRun(runId) {
      record('prepareRun', runId);
      const status = statuses.get(runId) ?? 'queued';
      // Same rule as the real activity: an ended run is not prepared again.
      if (isTerminal(status)) return { finished: status as 'completed' | 'failed' | 'cancelled' };
      const prepare = scripts.get(runId)?.prepareRun;
      const prepared = prepare ? await prepare(runId, plan(hostQueue)) : plan(hostQueue);
      if (!('finished' in prepared) && !live.has(runId)) {
        live.add(runId);
        inFlight.max = Math.max(inFlight.max, ++inFlight.now);
      }
      return prepared;
    },
    // The store's rules (store/runStatus.ts), so the workflow meets the same refusals.
    async transitionRun(input): Promise<TransitionResult> {
      record('transitionRun', input.runId);
      return applyTransition(input);
    },
    async startIteration(iterationId) {
      record('startIteration', iterationId);
      return { organizationId: 'org-test', productId: 'prod-test', experimentId: null, number: 1, runCount: (iterations.get(iterationId) ?? []).length };
    },
    async listIterationRuns({ iterationId, after, limit }) {
      record('listIterationRuns', iterationId);
      const ids = iterations.get(iterationId) ?? [];
      return ids.filter((id) => after === undefined || id > after).slice(0, limit);
    },
    async finishIteration({ iterationId, cancelled }): Promise<IterationStatus> {
      record('finishIteration', iterationId);
      finished.set(iterationId, [...(finished.get(iterationId) ?? []), cancelled]);
      return cancelled ? 'cancelled' : 'completed';
    },
    async cancelQueuedRuns(iterationId) {
      record('cancelQueuedRuns', iterationId);
      const queued = (iterations.get(iterationId) ?? []).filter((id) => (statuses.get(id) ?? 'queued') === 'queued');
      for (const id of queued) statuses.set(id, 'cancelled');
      return queued.length;
    },
    async analyzeRun({ runId, then }) {
      record('analyzeRun', runId);
      const scripted = scripts.get(runId)?.analyzeRun;
      const result = scripted ? await scripted(runId) : { runId, status: 'analysed' as const, frictionPoints: 0, problems: 0 };
      // Like the real activity: the ending it was given is written once the analysis is stored.
      return then ? { ...result, ended: applyTransition(then) } : result;
    },
    async computeIterationResults({ iterationId }) {
      record('computeIterationResults', iterationId);
      return { iterationId, sha256: 'stub', clusters: 0, computed: true };
    },
    provisionSandbox: scripted('provisionSandbox', { containerId: 'container-test', initCommands: 0 }),
    runAgent: scripted('runAgent', { exitCode: 0, timedOut: false, durationMs: 1234 }),
    evaluateRun: scripted('evaluateRun', { score: 1, passed: true }),
    archiveSandbox: scripted('archiveSandbox', { archived: true, bytes: 10 }),
    destroySandbox: scripted('destroySandbox', 1),
  };
  const { nativeConnection: connection } = env;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  // A low heartbeat throttle delivers cancellations within about a second.
  const workerOptions = { connection, namespace, activities, maxHeartbeatThrottleInterval: '1s', shutdownGraceTime: '2s' } as const;
  // Every stub on both queues, as in production where every worker serves both.
  const workers = [
    await Worker.create({ ...workerOptions, taskQueue, workflowBundle }),
    await Worker.create({ ...workerOptions, taskQueue: hostQueue }),
    await Worker.create({ ...workerOptions, taskQueue: `${taskQueue}-claims` }),
  ];
  const running = workers.map((w) => w.run());

  const world: World = {
    client: env.client,
    taskQueue,
    hostQueue,
    calls,
    inFlight,
    newRunId: (label) => `${label}-${randomBytes(5).toString('hex')}`,
    script: (runId, script) => void scripts.set(runId, script),
    async startRun(runId) {
      const handle = await env.client.workflow.start<typeof runWorkflow>('runWorkflow', {
        taskQueue,
        workflowId: runWorkflowId(runId),
        args: [{ runId }],
      });
      started.push(handle);
      return handle;
    },
    async startIteration(label, runs, maxConcurrentRuns, script, options) {
      const iterationId = world.newRunId(label);
      // Zero-padded so that the ids' order is the order listIterationRuns pages through.
      const runIds = Array.from({ length: runs }, (_, i) => `${iterationId}-r${String(i).padStart(2, '0')}`);
      iterations.set(iterationId, runIds);
      for (const id of runIds) scripts.set(id, script);
      const handle = await env.client.workflow.start<typeof iterationWorkflow>('iterationWorkflow', {
        taskQueue,
        workflowId: iterationWorkflowId(iterationId),
        args: [{ iterationId, maxConcurrentRuns, ...options }],
      });
      started.push(handle, ...runIds.map((id) => env.client.workflow.getHandle(runWorkflowId(id))));
      return { iterationId, runIds, handle };
    },
    transitions: (runId) => (transitionLog.get(runId) ?? []).map(({ runId: _, ...rest }) => rest),
    callsFor: (id, activity) => calls.filter((c) => c.id === id && (activity === undefined || c.activity === activity)),
    status: (runId) => statuses.get(runId) ?? 'queued',
    setStatus: (runId, status) => void statuses.set(runId, status),
    finishes: (iterationId) => finished.get(iterationId) ?? [],
    reached(id, activity) {
      if (calls.some((c) => c.id === id && c.activity === activity)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ id, activity, resolve }));
    },
    async close() {
      // A failed test may leave executions running on the shared server: end them.
      await Promise.all(started.map((h) => h.terminate('workflow test finished').catch(() => undefined)));
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      await env.teardown();
    },
  };
  return world;
}

/** Work that takes a while, so that runs overlap when the iteration lets them. */
export const slowly = <T>(ms: number, value: T) => async (): Promise<T> => {
  const ctx = Context.current();
  ctx.heartbeat();
  await sleep(ms);
  return value;
};
