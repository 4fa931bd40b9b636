/**
 * One iteration: a child run workflow for every run, at most `maxConcurrentRuns` in flight,
 * at any size.
 *
 * Since v5 the iteration is a sliding window that continues as new before its history
 * grows large (a 10,000-run iteration would pass Temporal's history limits otherwise):
 * - children are started with parentClosePolicy ABANDON, because a parent's close policy is
 *   applied to its children when it continues as new (temporalio/temporal#3666); with
 *   REQUEST_CANCEL every run in flight would be cancelled at each continue-as-new;
 * - so a later execution cannot await a child an earlier one started: every run signals
 *   `runEndedSignal` to its iteration's workflow id when it ends, and the set of runs in
 *   flight travels in the continue-as-new input;
 * - cancelling an iteration therefore cancels its runs explicitly (each still destroys its
 *   own sandbox) and waits for every one to report before the iteration settles.
 * A terminated iteration (an operator's last resort) leaves its runs to finish on their own.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { AnalysisActivities, IterationResultsSummary, IterationStart, RunActivities } from '../activities';
import { regressionAlertWorkflow } from './alerts';
import type { IterationStatus } from '../domain/runLifecycle';
import { NON_RETRYABLE_ERRORS } from '../domain/errors';
import { runWorkflowId } from '../domain/workflowIds';
import { runWorkflow } from './run';
import { SA } from './searchAttributes';
import { PATCHES } from './patches';
import { iterationProgressQuery, runEndedSignal, type IterationWorkflowProgress } from './signals';

export interface IterationWorkflowInput {
  iterationId: string;
  /** From configuration (SIMLAB_MAX_CONCURRENT_RUNS), which owns the one default. */
  maxConcurrentRuns: number;
  /** Continue as new once the history holds this many events (tests make it small). */
  historyEventBound?: number;
  /** State handed from one execution to the next on continue-as-new. */
  carry?: IterationCarry;
}

export interface IterationCarry {
  start: IterationStart;
  /** The last run id started, in id order: the next page starts after it. */
  after?: string;
  inFlight: string[];
  started: number;
  ended: number;
  generation: number;
}

const PAGE = 500;
/** Children pending at once in one execution, whatever the configured concurrency. */
export const MAX_IN_FLIGHT = 500;
/** Well under Temporal's 10,240-event warning and 51,200-event limit. */
export const DEFAULT_HISTORY_EVENT_BOUND = 8000;
/** Continue as new before the history's bytes near Temporal's 10 MB warning, too. */
const HISTORY_BYTES_BOUND = 4 * 1024 * 1024;

const db = proxyActivities<RunActivities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '15m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS] },
});

/** Settling the iteration: retried for as long as it takes, a database outage included. */
const dbFinal = proxyActivities<RunActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS] },
});

export async function iterationWorkflow(input: IterationWorkflowInput): Promise<IterationStatus> {
  // v5: executions started by older builds keep the fan-out they began with.
  if (!input.carry && !patched(PATCHES.iterationSlidingWindow)) return legacyIteration(input);
  return slidingWindowIteration(input);
}

async function slidingWindowIteration(input: IterationWorkflowInput): Promise<IterationStatus> {
  const { iterationId } = input;
  const window = Math.max(1, Math.min(input.maxConcurrentRuns, MAX_IN_FLIGHT));
  const bound = input.historyEventBound ?? DEFAULT_HISTORY_EVENT_BOUND;
  const carry: IterationCarry = input.carry ?? { start: await db.startIteration(iterationId), inFlight: [], started: 0, ended: 0, generation: 0 };
  const { start } = carry;
  const inFlight = new Set(carry.inFlight);
  let { started, ended, after } = carry;
  let cancelled = false;

  const progress = (): IterationWorkflowProgress => ({
    total: start.runCount,
    started,
    ended,
    inFlight: inFlight.size,
    generation: carry.generation,
    cancelled,
  });
  const showProgress = () => setCurrentDetails(`**${ended}/${start.runCount}** runs ended, ${inFlight.size} in flight${cancelled ? ', cancelling' : ''}`);
  const runEnded = (runId: string) => {
    if (!inFlight.delete(runId)) return; // reported twice (signal and result): counted once
    ended++;
    showProgress();
  };
  setHandler(runEndedSignal, runEnded);
  setHandler(iterationProgressQuery, progress);
  showProgress();

  const historyFull = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= bound || info.historySize >= HISTORY_BYTES_BOUND;
  };

  try {
    let exhausted = false;
    while (!exhausted) {
      const page = await db.listIterationRuns({ iterationId, limit: PAGE, ...(after ? { after } : {}) });
      exhausted = page.length < PAGE;
      for (const runId of page) {
        await condition(() => inFlight.size < window);
        if (historyFull()) await continueWith();
        await startRun(runId);
        after = runId;
      }
    }
    // Everything started; wait for the window to drain, continuing as new if the wait
    // itself (one signal and one completion per run) fills the history.
    while (inFlight.size > 0) {
      await condition(() => inFlight.size === 0 || historyFull());
      if (inFlight.size > 0) await continueWith();
    }
    // A cancelled run returns normally (its status says cancelled): ask the scope.
    if (CancellationScope.current().consideredCancelled) cancelled = true;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = true;
  }

  return CancellationScope.nonCancellable(async () => {
    showProgress();
    if (cancelled) {
      // Abandoned children are not cancelled with their parent: ask each one, then wait
      // for every one to clean up its sandbox and report.
      await Promise.all([...inFlight].map((runId) => getExternalWorkflowHandle(runWorkflowId(runId)).cancel().catch(() => undefined)));
      await condition(() => inFlight.size === 0);
      await dbFinal.cancelQueuedRuns(iterationId);
    }
    // v5: results once every run has ended (a cancelled iteration has none), then the alert.
    const withResults = !cancelled && patched(PATCHES.iterationResults);
    const results = withResults ? await computeResults(iterationId) : null;
    const status = await dbFinal.finishIteration({ iterationId, cancelled });
    upsertMemo({ progress: progress(), status, ...(results ? { resultsSha256: results.sha256 } : {}) });
    if (results && start.experimentId) await startAlert(iterationId);
    return status;
  });

  async function startRun(runId: string): Promise<void> {
    inFlight.add(runId);
    started++;
    try {
      // Not interruptible: a cancel arriving mid-start must not leave us unsure whether the
      // child exists (we would wait for a report that never comes, or miss one to cancel).
      const child = await CancellationScope.nonCancellable(() => startChild(runWorkflow, {
        workflowId: runWorkflowId(runId),
        args: [{ runId }],
        // See the header: children must outlive each continue-as-new of their parent.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // A run executes once: re-running a finished iteration must not start it again.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: SA.organization, value: start.organizationId },
          { key: SA.product, value: start.productId },
          { key: SA.iteration, value: iterationId },
          { key: SA.iterationNumber, value: start.number },
          ...(start.experimentId ? [{ key: SA.experiment, value: start.experimentId }] : []),
        ],
      }));
      // Within this execution the result also says a child ended (terminated or timed out
      // children never signal); the signal covers children of earlier executions.
      child.result().then(
        () => runEnded(runId),
        (err) => {
          if (!isCancellation(err)) runEnded(runId);
        },
      );
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Already started or finished once (a re-run of a finished iteration): not ours to wait for.
      runEnded(runId);
    }
  }

  async function continueWith(): Promise<never> {
    const next: IterationCarry = { start, inFlight: [...inFlight], started, ended, generation: carry.generation + 1, ...(after ? { after } : {}) };
    upsertMemo({ progress: progress() });
    return continueAsNew<typeof iterationWorkflow>({ ...input, carry: next });
  }
}

/**
 * The iteration's results (analysis/): a failure to compute them is logged and leaves the
 * iteration without results (`simlab experiment results` says so), never failed.
 */
async function computeResults(iterationId: string): Promise<IterationResultsSummary | null> {
  try {
    return await analysis.computeIterationResults({ iterationId });
  } catch (err) {
    log.error('iteration results could not be computed', { iterationId, error: err instanceof Error ? err.message : String(err) });
    return null;
  }
}

/**
 * The regression alert runs as a child of its own, abandoned: its retries may take most of
 * an hour, and the iteration (and a schedule's overlap window) must not wait for them.
 */
async function startAlert(iterationId: string): Promise<void> {
  try {
    await startChild(regressionAlertWorkflow, {
      workflowId: `simlab-alert-${iterationId}`,
      args: [{ iterationId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    // Already started (a retried workflow task after a reset): it runs once.
    log.info('regression alert not started', { iterationId, error: err instanceof Error ? err.message : String(err) });
  }
}

const analysis = proxyActivities<AnalysisActivities>({
  // Analyses runs not yet analysed and may ask a model to cluster: long, with heartbeats.
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS] },
});

/** The fan-out of v1-v4 (one execution, children cancelled with their parent), for their histories. */
async function legacyIteration({ iterationId, maxConcurrentRuns }: IterationWorkflowInput): Promise<IterationStatus> {
  await db.startIteration(iterationId);
  const inflight = new Set<Promise<unknown>>();
  let cancelled = false;
  try {
    let after: string | undefined;
    for (;;) {
      const page = await db.listIterationRuns({ iterationId, limit: PAGE, ...(after ? { after } : {}) });
      for (const runId of page) {
        while (inflight.size >= maxConcurrentRuns) await Promise.race(inflight);
        const child: Promise<unknown> = executeChild(runWorkflow, {
          workflowId: runWorkflowId(runId),
          args: [{ runId }],
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [{ key: SA.iteration, value: iterationId }],
        })
          .catch((err) => {
            if (isCancellation(err)) throw err;
          })
          .finally(() => inflight.delete(child));
        inflight.add(child);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1];
    }
    await Promise.all(inflight);
    if (patched(PATCHES.iterationCancelAfterLastStart) && CancellationScope.current().consideredCancelled) cancelled = true;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = true;
  }
  return CancellationScope.nonCancellable(async () => {
    await Promise.allSettled(inflight);
    if (cancelled) await dbFinal.cancelQueuedRuns(iterationId);
    return dbFinal.finishIteration({ iterationId, cancelled });
  });
}
