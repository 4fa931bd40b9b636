/**
 * One run: one environment executing one task in a fresh sandbox.
 *
 *   queued -> creating_sandbox -> running -> evaluating -> analyzing -> completed
 *                                                  (any live status) -> failed | cancelled
 *
 * Whatever happens, the cleanup archives the agent's home and destroys the sandbox in a
 * non-cancellable scope before the final status is written.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RunActivities, RunPlan, SandboxActivities } from '../activities';
import type { FailureCategory, RunStatus } from '../domain/runLifecycle';
import { NON_RETRYABLE_ERRORS } from '../domain/errors';
import { SA } from './searchAttributes';
import { PATCHES } from './patches';

export interface RunWorkflowInput {
  runId: string;
}

export interface RunWorkflowResult {
  runId: string;
  status: Extract<RunStatus, 'completed' | 'failed' | 'cancelled'>;
  score: number | null;
  passed: boolean | null;
  failureCategory?: FailureCategory;
}

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERRORS];

/** Database steps: short, retried with backoff for as long as a database outage is plausible. */
const db = proxyActivities<RunActivities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '15m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
});

/** The last word on a run: retried for as long as it takes, a database outage included. */
const dbFinal = proxyActivities<RunActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes },
});

type Step = 'prepare' | 'setup' | 'agent' | 'evaluation' | 'analysis';

/**
 * Who is to blame is decided by the error's type, never by the step alone: only typed
 * domain errors blame the task or environment; everything else (Docker, database,
 * timeouts after retries) is infrastructure. Infra never passes for the agent.
 */
function classify(err: unknown): FailureCategory {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  // Timeouts, server and cancellation failures are not ApplicationFailures: infra.
  if (!(cause instanceof ApplicationFailure)) return 'infra';
  switch (cause.type) {
    case 'SetupError':
    case 'EnvironmentConfigError':
      return 'setup';
    case 'EvaluationError':
      return 'evaluation';
    default:
      return 'infra';
  }
}

function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return `${err.activityType}: ${err.cause.message}`;
  return err instanceof Error ? err.message : String(err);
}

export async function runWorkflow({ runId }: RunWorkflowInput): Promise<RunWorkflowResult> {
  let status: RunStatus = 'queued';
  const transition = async (to: RunStatus, detail?: string, failure?: { category: FailureCategory; message: string }) => {
    await db.transitionRun({ runId, to, ...(detail ? { detail } : {}), ...(failure ? { failure } : {}) });
    status = to;
    upsertSearchAttributes([{ key: SA.runStatus, value: to }]);
  };

  let step: Step = 'prepare';
  let plan: RunPlan | undefined;
  let sandbox: SandboxActivities | undefined;
  let verdict: { score: number | null; passed: boolean | null } = { score: null, passed: null };
  let final: { to: 'completed' | 'failed' | 'cancelled'; detail?: string; failure?: { category: FailureCategory; message: string } };

  try {
    const prepared = await db.prepareRun(runId);
    if ('finished' in prepared) {
      // Already ended (cancelled while queued, or a re-run of a finished workflow): nothing to do.
      upsertSearchAttributes([{ key: SA.runStatus, value: prepared.finished }]);
      return { runId, status: prepared.finished, score: null, passed: null };
    }
    plan = prepared;
    sandbox = sandboxActivities(plan);
    // v2: operators filter runs by task and environment in the Temporal Web UI.
    if (patched(PATCHES.runSearchAttributes)) {
      upsertSearchAttributes([
        { key: SA.organization, value: plan.organizationId },
        { key: SA.product, value: plan.productId },
        { key: SA.task, value: plan.taskId },
        { key: SA.environment, value: plan.environmentId },
      ]);
    }

    step = 'setup';
    await transition('creating_sandbox');
    await sandbox.provisionSandbox(runId);

    step = 'agent';
    await transition('running');
    const agent = await agentActivities(plan).runAgent(runId);
    const agentDetail = agent.timedOut
      ? `agent timed out after ${plan.agentTimeoutSeconds}s and was stopped`
      : `agent exited with ${agent.exitCode} after ${Math.round(agent.durationMs / 1000)}s`;

    step = 'evaluation';
    await transition('evaluating', agentDetail);
    verdict = await sandbox.evaluateRun(runId);

    step = 'analysis';
    await transition('analyzing');
    final = {
      to: 'completed',
      detail: verdict.passed === null ? 'verdict incomplete: some criteria were not evaluated' : verdict.passed ? 'passed' : 'did not pass',
      ...(agent.timedOut ? { failure: { category: 'agent' as const, message: agentDetail } } : {}),
    };
  } catch (err) {
    // A cancelled run whose sandbox step then timed out (its host gone) is still cancelled.
    if (isCancellation(err) || CancellationScope.current().consideredCancelled) {
      final = { to: 'cancelled', failure: { category: 'cancelled', message: `cancelled during ${step}` } };
    } else {
      const category = classify(err);
      final = { to: 'failed', failure: { category, message: describe(err) } };
      log.warn('run failed', { runId, step, category, error: describe(err) });
    }
  }

  await CancellationScope.nonCancellable(async () => {
    if (sandbox && step !== 'prepare') {
      try {
        await sandbox.archiveSandbox(runId);
      } catch (err) {
        log.error('archive failed; the sandbox is destroyed anyway', { runId, error: describe(err) });
      }
      try {
        await sandbox.destroySandbox(runId);
      } catch (err) {
        // The host is unreachable: its reaper removes the container when it comes back.
        log.error('destroy failed; left to the reaper', { runId, error: describe(err) });
      }
    }
    // A run ended from outside meanwhile (a cancel racing its start) keeps that ending.
    if (status !== final.to) {
      const ended = await dbFinal.transitionRun({ runId, to: final.to, ...(final.detail ? { detail: final.detail } : {}), ...(final.failure ? { failure: final.failure } : {}) });
      final.to = ended.to as typeof final.to;
      upsertSearchAttributes([{ key: SA.runStatus, value: ended.to }]);
    }
  });
  return { runId, status: final.to, ...verdict, ...(final.failure ? { failureCategory: final.failure.category } : {}) };
}

/**
 * Sandbox steps go to the task queue of the worker whose Docker host holds the container.
 * scheduleToClose bounds how long a run waits for a host that has gone away.
 */
function sandboxActivities(plan: RunPlan): SandboxActivities {
  return proxyActivities<SandboxActivities>({
    taskQueue: plan.hostQueue,
    startToCloseTimeout: `${plan.setupTimeoutSeconds + plan.evaluationTimeoutSeconds + 300}s`,
    scheduleToCloseTimeout: `${plan.setupTimeoutSeconds + plan.evaluationTimeoutSeconds + 1800}s`,
    // Sandbox steps heartbeat every few seconds and the host worker caps the heartbeat
    // throttle, so a cancellation reaches them within seconds; the cleanup waits for them.
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 4, nonRetryableErrorTypes },
  });
}

/** The agent may run for up to 70 minutes; heartbeats let a crashed worker's attempt be retried promptly. */
function agentActivities(plan: RunPlan): Pick<SandboxActivities, 'runAgent'> {
  return proxyActivities<SandboxActivities>({
    taskQueue: plan.hostQueue,
    startToCloseTimeout: `${plan.agentTimeoutSeconds + 300}s`,
    scheduleToCloseTimeout: `${plan.agentTimeoutSeconds * 2 + 1800}s`,
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
  });
}
