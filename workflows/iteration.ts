/**
 * One iteration: a child run workflow for every run of the batch, at most
 * `maxConcurrentRuns` at a time. Children are asked to cancel, never terminated, when the
 * iteration closes early, so each one still destroys its sandbox.
 */
import {
  CancellationScope,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { RunActivities } from '../activities';
import type { IterationStatus } from '../domain/runLifecycle';
import { NON_RETRYABLE_ERRORS } from '../domain/errors';
import { runWorkflowId } from '../domain/workflowIds';
import { runWorkflow } from './run';
import { SA } from './searchAttributes';
import { PATCHES } from './patches';

export interface IterationWorkflowInput {
  iterationId: string;
  /** From configuration (SIMLAB_MAX_CONCURRENT_RUNS), which owns the one default. */
  maxConcurrentRuns: number;
}

const PAGE = 500;

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

export async function iterationWorkflow({ iterationId, maxConcurrentRuns }: IterationWorkflowInput): Promise<IterationStatus> {
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
          // A run executes once: re-running a finished iteration must not start it again.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [{ key: SA.iteration, value: iterationId }],
        })
          // A run records its own outcome; one failing child must not stop the others.
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
    // A cancelled run workflow returns normally (its status says cancelled), so a cancel
    // that arrives after the last child started throws nothing here: ask the scope.
    if (patched(PATCHES.iterationCancelAfterLastStart) && CancellationScope.current().consideredCancelled) cancelled = true;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = true;
  }
  // Cancelled or not, wait for the children's own cleanups, then settle the iteration.
  return CancellationScope.nonCancellable(async () => {
    await Promise.allSettled(inflight);
    if (cancelled) await dbFinal.cancelQueuedRuns(iterationId);
    return dbFinal.finishIteration({ iterationId, cancelled });
  });
}
