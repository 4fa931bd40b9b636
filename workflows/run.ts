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
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AnalysisActivities, RunActivities, RunPlan, SandboxActivities, StepTransitions } from '../activities';
import type { ExternalSandboxActivities } from '../activities/sandboxActivities';
import type { FailureCategory, RunStatus } from '../domain/runLifecycle';
import type { TransitionInput, TransitionResult } from '../store/runStatus';
import { NON_RETRYABLE_ERRORS } from '../domain/errors';
import { SA } from './searchAttributes';
import { PATCHES } from './patches';
import { runEndedSignal } from './signals';
import {
  EXTERNAL_ERRORS,
  base64Bytes,
  EXTERNAL_EXEC_DEFAULT_TIMEOUT_SECONDS,
  EXTERNAL_EXEC_MAX_TIMEOUT_SECONDS,
  EXTERNAL_MAX_BASE64_CHARS,
  EXTERNAL_MAX_BYTES,
  EXTERNAL_MAX_IN_FLIGHT,
  EXTERNAL_MAX_COMMAND_CHARS,
  EXTERNAL_MAX_PATH_CHARS,
  externalCancel,
  externalComplete,
  externalExec,
  externalReadFile,
  externalScore,
  externalStateQuery,
  externalWriteFile,
  type ExternalVerdict,
} from './external';

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

/** The claim queue of this deployment (config claimQueue): named after the run's own queue. */
function claims(): RunActivities {
  return proxyActivities<RunActivities>({
    taskQueue: `${workflowInfo().taskQueue}-claims`,
    startToCloseTimeout: '30s',
    // Waiting for a host with room is not an attempt (no time limit); failing claims are:
    // a claim that fails for some 10 minutes (a database that lacks a migration, say) fails the run.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 25, nonRetryableErrorTypes },
  });
}

/**
 * Signals and friction points of the run (analysis/). Never changes its score or verdict,
 * and never fails it: what could not be analysed is reported in the analysis itself, and
 * an analysis that did not happen here is done when the iteration's results are computed.
 */
async function analyzeQuietly(runId: string, then?: TransitionInput): Promise<TransitionResult | undefined> {
  try {
    return (await analysis.analyzeRun({ runId, ...(then ? { then } : {}) })).ended;
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('analysis failed; the iteration results analyse the run later', { runId, error: describe(err) });
    return undefined;
  }
}

const analysis = proxyActivities<AnalysisActivities>({
  // Model calls (rubric questions, friction points) under its own retries; heartbeats every few seconds.
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 3, nonRetryableErrorTypes },
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

export async function runWorkflow(input: RunWorkflowInput): Promise<RunWorkflowResult> {
  const result = await executeRun(input);
  await reportToIteration(input.runId);
  return result;
}

/**
 * v5: the iteration that started this run may have continued as new since (its children
 * are abandoned, see iteration.ts): tell whichever execution is current, by workflow id.
 */
async function reportToIteration(runId: string): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent || !patched(PATCHES.runReportsToIteration)) return;
  await CancellationScope.nonCancellable(() => getExternalWorkflowHandle(parent.workflowId).signal(runEndedSignal, runId)).catch((err) => {
    // The iteration has closed (terminated, or an older build's): nobody is waiting.
    log.info('could not report the end of the run to its iteration', { runId, error: describe(err) });
  });
}

async function executeRun({ runId }: RunWorkflowInput): Promise<RunWorkflowResult> {
  let status: RunStatus = 'queued';
  const transition = async (to: RunStatus, detail?: string, failure?: { category: FailureCategory; message: string }) => {
    await db.transitionRun({ runId, to, ...(detail ? { detail } : {}), ...(failure ? { failure } : {}) });
    status = to;
    upsertSearchAttributes([{ key: SA.runStatus, value: to }]);
  };
  /** A status a step activity makes itself: said in the Web UI as the step starts. */
  const entered = (to: RunStatus) => {
    status = to;
    upsertSearchAttributes([{ key: SA.runStatus, value: to }]);
  };
  const entering = (to: RunStatus, detail?: string): StepTransitions => {
    entered(to);
    return { enter: { to, ...(detail ? { detail } : {}) } };
  };

  let step: Step = 'prepare';
  let plan: RunPlan | undefined;
  let sandbox: SandboxActivities | undefined;
  let verdict: { score: number | null; passed: boolean | null } = { score: null, passed: null };
  let final: { to: 'completed' | 'failed' | 'cancelled'; detail?: string; failure?: { category: FailureCategory; message: string } };
  const ext = externalHandlers(runId);

  try {
    // v5: a run claims a host with a free sandbox slot (workers/hostSlots.ts); it waits in
    // Temporal, for as long as it takes, until one has room.
    const prepared = await (patched(PATCHES.hostSlots) ? claims() : db).prepareRun(runId);
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

    // v5: steps make their own status changes (StepTransitions): no activity of their own.
    const folded = patched(PATCHES.stepTransitions);
    step = 'setup';
    if (folded) await sandbox.provisionSandbox(runId, entering('creating_sandbox'));
    else {
      await transition('creating_sandbox');
      await sandbox.provisionSandbox(runId);
    }

    step = 'agent';
    const external = plan.harness === 'external';
    if (!folded || external) await transition('running');
    // v4: the agent is a client outside simlab; only runs of the external harness take this path.
    if (external && patched(PATCHES.externalHarness)) {
      ext.start(plan);
      const idleSeconds = plan.idleTimeoutSeconds ?? 1800;
      for (;;) {
        // A request being carried out is no idleness, however long its command runs.
        await condition(() => ext.state.inFlight === 0 || ext.state.ending !== undefined || ext.state.scoring);
        if (ext.state.ending === 'cancel') {
          final = { to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled by the client' } };
          break;
        }
        if (ext.state.ending === 'complete') {
          step = 'analysis';
          await transition('analyzing');
          final = { to: 'completed', detail: verdict.passed === null ? 'verdict incomplete: some criteria were not evaluated' : verdict.passed ? 'passed' : 'did not pass' };
          break;
        }
        if (ext.state.scoring) {
          step = 'evaluation';
          await transition('evaluating', 'the client asked for scoring');
          verdict = await sandbox.evaluateRun(runId);
          // The sandbox stays: the client may still read it before it completes the run.
          ext.scored(verdict);
          continue;
        }
        const seen = ext.state.requests;
        const woke = await condition(() => ext.state.requests !== seen || ext.state.ending !== undefined || ext.state.scoring, `${idleSeconds}s`);
        if (!woke) {
          ext.state.ending = 'idle';
          final = { to: 'cancelled', failure: { category: 'cancelled', message: `idle for more than ${idleSeconds}s: no request from the client` } };
          break;
        }
      }
    } else {
      const agent = await agentActivities(plan).runAgent(runId, ...(folded && !external ? [entering('running')] : []));
      const agentDetail = agent.timedOut
        ? `agent timed out after ${plan.agentTimeoutSeconds}s and was stopped`
        : `agent exited with ${agent.exitCode} after ${Math.round(agent.durationMs / 1000)}s`;

      step = 'evaluation';
      if (folded) {
        verdict = await sandbox.evaluateRun(runId, { ...entering('evaluating', agentDetail), leave: { to: 'analyzing' } });
        step = 'analysis';
        entered('analyzing');
      } else {
        await transition('evaluating', agentDetail);
        verdict = await sandbox.evaluateRun(runId);
        step = 'analysis';
        await transition('analyzing');
      }
      final = {
        to: 'completed',
        detail: verdict.passed === null ? 'verdict incomplete: some criteria were not evaluated' : verdict.passed ? 'passed' : 'did not pass',
        // Timed out, or exhausted its sandbox (memory, processes), or stopped by its harness
      // (cost cap, max turns): evaluated on what it left, and the agent's failure is said.
      ...(agent.timedOut
        ? { failure: { category: 'agent' as const, message: agentDetail } }
        : agent.agentFailure
          ? { failure: { category: 'agent' as const, message: agent.agentFailure } }
          : {}),
      };
    }
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

  ext.state.closing = true;
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
    const ending = { runId, to: final.to, ...(final.detail ? { detail: final.detail } : {}), ...(final.failure ? { failure: final.failure } : {}) };
    let ended: { to: RunStatus } | undefined;
    // Analysed once its sandbox is gone (the analysis reads stored facts only): its model
    // calls never hold a container or a host slot. Still `analyzing`, and not cancellable.
    if (final.to === 'completed' && status === 'analyzing' && patched(PATCHES.runAnalysis)) {
      // v6: the analysis writes the ending too; should it fail, the transition below does.
      if (patched(PATCHES.analysisEndsRun)) ended = await analyzeQuietly(runId, ending);
      else await analyzeQuietly(runId);
    }
    // A run ended from outside meanwhile (a cancel racing its start) keeps that ending.
    if (status !== final.to) {
      ended ??= await dbFinal.transitionRun(ending);
      final.to = ended.to as typeof final.to;
      upsertSearchAttributes([{ key: SA.runStatus, value: ended.to }]);
    }
  });
  // A failed run is analysed too (its friction points are what failure clusters are made
  // of), once its sandbox is gone and its ending written.
  if (final.to === 'failed' && step !== 'prepare' && patched(PATCHES.runAnalysis)) await CancellationScope.nonCancellable(() => analyzeQuietly(runId));
  if (ext.state.external) {
    ext.end(final.to, verdict);
    // complete/cancel answer with the run's ending; every request is answered before the run closes.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  }
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

type Ending = 'complete' | 'cancel' | 'idle';

/** Below Temporal's 50 MB history limit with room for the scoring and cleanup still to come. */
const EXTERNAL_MAX_HISTORY_BYTES = 40 * 1024 * 1024;

/**
 * The external harness's requests (workflows/external.ts). Registered on every run, so a
 * request to a run that is not external, not ready yet, or ending is rejected at once by
 * its validator (never reaching the history) instead of waiting for a handler. Only the
 * external path of the workflow ever accepts one.
 */
function externalHandlers(runId: string) {
  const state = {
    external: false,
    ready: false,
    scoring: false,
    isScored: false,
    ending: undefined as Ending | undefined,
    /** The run is being cleaned up (whatever ended it): nothing more is accepted. */
    closing: false,
    outcome: undefined as 'completed' | 'failed' | 'cancelled' | undefined,
    verdict: null as ExternalVerdict | null,
    /** Requests accepted so far: the idle timer restarts on each. */
    requests: 0,
    inFlight: 0,
    plan: undefined as RunPlan | undefined,
  };
  const reject = (message: string, type: string = EXTERNAL_ERRORS.rejected) => {
    throw ApplicationFailure.create({ message, type, nonRetryable: true });
  };
  const accepting = (what: string) => {
    if (state.outcome || state.closing || state.ending) reject(`run ${runId} has ended or is ending: ${what} is no longer accepted`);
    if (!state.ready) {
      reject(state.external || state.plan ? `run ${runId} is not ready: its sandbox is being provisioned` : `run ${runId} is not waiting for a client: it is not ready yet, or its environment's harness is not 'external'`);
    }
  };
  // Each request's payloads are kept in the history (update and activity, in and out);
  // Temporal ends a run whose history reaches 50 MB, so transfers stop well before that.
  const roomInHistory = (what: string) => {
    if (workflowInfo().historySize > EXTERNAL_MAX_HISTORY_BYTES) {
      reject(`run ${runId} has transferred too much data through its history (${workflowInfo().historySize} bytes): ${what} is refused; score, complete or cancel it`, EXTERNAL_ERRORS.tooLarge);
    }
  };
  // A run's requests use the sandbox slots of its Docker host, which every run there shares:
  // one client must not be able to occupy them all (validators never reach the history).
  const notBusy = (what: string) => {
    if (state.inFlight >= EXTERNAL_MAX_IN_FLIGHT) reject(`run ${runId} already has ${state.inFlight} requests in progress: ${what} is refused; send it when one has finished`);
  };
  const mutable = (what: string) => {
    accepting(what);
    roomInHistory(what);
    notBusy(what);
    if (state.scoring) reject(`run ${runId} is being scored: ${what} is not accepted now`);
    if (state.isScored) reject(`run ${runId} has been scored: only read-file, complete and cancel are accepted`);
  };
  const path = (p: unknown) => {
    if (typeof p !== 'string' || !p || p.length > EXTERNAL_MAX_PATH_CHARS) reject(`path must be a non-empty string of at most ${EXTERNAL_MAX_PATH_CHARS} characters`, EXTERNAL_ERRORS.invalid);
  };
  /** What a failed activity tells the client: its own message and type, never a stack. */
  const failure = (err: unknown) => {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type && (Object.values(EXTERNAL_ERRORS) as string[]).includes(cause.type)) {
      return ApplicationFailure.create({ message: cause.message, type: cause.type, nonRetryable: true });
    }
    return ApplicationFailure.create({ message: describe(err), type: EXTERNAL_ERRORS.failed, nonRetryable: true });
  };
  const request = async <T>(work: (sandbox: ExternalActivities) => Promise<T>): Promise<T> => {
    state.requests++;
    state.inFlight++;
    try {
      return await work(externalActivities(state.plan!));
    } catch (err) {
      throw failure(err);
    } finally {
      state.inFlight--;
    }
  };
  const ending = async () => {
    // Answered with the run's ending, once its cleanup is done, even if the workflow is cancelled meanwhile.
    await CancellationScope.nonCancellable(() => condition(() => state.outcome !== undefined));
    return { status: state.outcome!, verdict: state.verdict };
  };

  setHandler(
    externalExec,
    ({ command, timeoutSeconds }) => request((a) => a.externalExec({ runId, command, timeoutSeconds: timeoutSeconds ?? EXTERNAL_EXEC_DEFAULT_TIMEOUT_SECONDS })),
    {
      validator: (req) => {
        mutable('exec');
        if (typeof req?.command !== 'string' || !req.command.trim() || req.command.length > EXTERNAL_MAX_COMMAND_CHARS) {
          reject(`command must be a non-empty string of at most ${EXTERNAL_MAX_COMMAND_CHARS} characters`, EXTERNAL_ERRORS.invalid);
        }
        const t = req.timeoutSeconds;
        if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > EXTERNAL_EXEC_MAX_TIMEOUT_SECONDS)) {
          reject(`timeoutSeconds must be an integer from 1 to ${EXTERNAL_EXEC_MAX_TIMEOUT_SECONDS}`, EXTERNAL_ERRORS.invalid);
        }
      },
    },
  );
  setHandler(externalWriteFile, ({ path: p, contentBase64 }) => request((a) => a.externalWriteFile({ runId, path: p, contentBase64 })), {
    validator: (req) => {
      mutable('write-file');
      path(req?.path);
      if (typeof req.contentBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(req.contentBase64)) reject('contentBase64 must be base64', EXTERNAL_ERRORS.invalid);
      // Checked before acceptance, so an oversized content never reaches the history.
      const bytes = base64Bytes(req.contentBase64);
      if (req.contentBase64.length > EXTERNAL_MAX_BASE64_CHARS || bytes > EXTERNAL_MAX_BYTES) {
        reject(`the content is ${bytes} bytes: at most ${EXTERNAL_MAX_BYTES} bytes (1 MiB) may be written at once`, EXTERNAL_ERRORS.tooLarge);
      }
    },
  });
  setHandler(externalReadFile, ({ path: p }) => request((a) => a.externalReadFile({ runId, path: p })), {
    validator: (req) => {
      accepting('read-file');
      roomInHistory('read-file');
      notBusy('read-file');
      path(req?.path);
    },
  });
  setHandler(
    externalScore,
    () => {
      state.requests++;
      state.scoring = true;
      return { scoring: true };
    },
    {
      validator: () => {
        accepting('score');
        if (state.scoring) reject(`run ${runId} is already being scored`);
        if (state.isScored) reject(`run ${runId} has already been scored`);
      },
    },
  );
  setHandler(
    externalComplete,
    () => {
      state.requests++;
      state.ending = 'complete';
      return ending();
    },
    {
      validator: () => {
        accepting('complete');
        if (state.scoring) reject(`run ${runId} is being scored: wait until it is scored, then complete it`);
        if (!state.isScored) reject(`run ${runId} has not been scored: score it first (or cancel it)`);
      },
    },
  );
  setHandler(
    externalCancel,
    () => {
      state.requests++;
      state.ending = 'cancel';
      return ending();
    },
    { validator: () => accepting('cancel') },
  );
  setHandler(externalStateQuery, () => ({
    ready: state.ready,
    scoring: state.scoring,
    scored: state.isScored,
    ended: state.outcome !== undefined || state.closing || state.ending !== undefined,
    verdict: state.verdict,
    external: state.external,
    idleTimeoutSeconds: state.plan?.idleTimeoutSeconds ?? null,
  }));

  return {
    state,
    start(plan: RunPlan) {
      state.external = true;
      state.plan = plan;
      state.ready = true;
    },
    scored(verdict: ExternalVerdict) {
      state.verdict = { score: verdict.score, passed: verdict.passed };
      state.isScored = true;
      state.scoring = false;
    },
    end(outcome: 'completed' | 'failed' | 'cancelled', verdict: ExternalVerdict) {
      state.verdict = state.isScored ? { score: verdict.score, passed: verdict.passed } : null;
      state.outcome = outcome;
    },
  };
}

type ExternalActivities = ExternalSandboxActivities;

/**
 * A client's requests to the run's host. Short timeouts: the client is waiting on the
 * other end. A command is tried once (running it twice could do harm); file steps retry.
 */
function externalActivities(plan: RunPlan): ExternalActivities {
  const files = proxyActivities<ExternalActivities>({
    taskQueue: plan.hostQueue,
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: '5m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3, nonRetryableErrorTypes: [...nonRetryableErrorTypes, ...Object.values(EXTERNAL_ERRORS)] },
  });
  return {
    externalWriteFile: files.externalWriteFile,
    externalReadFile: files.externalReadFile,
    externalExec: (input) =>
      proxyActivities<ExternalActivities>({
        taskQueue: plan.hostQueue,
        startToCloseTimeout: `${input.timeoutSeconds + 60}s`,
        scheduleToCloseTimeout: `${input.timeoutSeconds + 180}s`,
        heartbeatTimeout: '30s',
        retry: { maximumAttempts: 1 },
      }).externalExec(input),
  };
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
