/**
 * What an experiment's schedule starts: creates the experiment's next iteration (the same
 * planning and store code as `POST /experiments/:id/iterations`, origin: the schedule) and
 * runs it as a child. It lasts as long as the iteration, which is what makes the
 * schedule's SKIP overlap policy skip a start while the previous iteration still runs.
 */
import { executeChild, isCancellation, ParentClosePolicy, proxyActivities, workflowInfo, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { ScheduleActivities } from '../activities/scheduleActivities';
import type { IterationStatus } from '../domain/runLifecycle';
import { NON_RETRYABLE_ERRORS } from '../domain/errors';
import { iterationWorkflowId } from '../domain/workflowIds';
import { iterationWorkflow } from './iteration';
import { SA } from './searchAttributes';

export interface ScheduledIterationInput {
  scheduleId: string;
  experimentId: string;
}

export type ScheduledIterationResult =
  | { iterationId: string; number: number; status: IterationStatus | 'cancelled' }
  | { iterationId: null; skipped: string };

const launch = proxyActivities<ScheduleActivities>({
  startToCloseTimeout: '2m',
  // A database outage at 2 a.m. is waited out; a refused plan (empty experiment) is not.
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS, 'ScheduledLaunchRefused'] },
});

export async function scheduledIterationWorkflow(input: ScheduledIterationInput): Promise<ScheduledIterationResult> {
  // The workflow id is unique per scheduled start (Temporal appends its time): a retried
  // activity finds the iteration it already created instead of making another.
  const launched = await launch.launchScheduledIteration({ ...input, launchKey: workflowInfo().workflowId });
  if (launched.iterationId === null) return launched;
  const { iterationId, number } = launched;
  try {
    const status = await executeChild(iterationWorkflow, {
      workflowId: iterationWorkflowId(iterationId),
      args: [{ iterationId, maxConcurrentRuns: launched.maxConcurrentRuns }],
      // Terminating this workflow must still let the runs clean up their sandboxes.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SA.organization, value: launched.organizationId },
        { key: SA.product, value: launched.productId },
        { key: SA.iteration, value: iterationId },
      ],
    });
    return { iterationId, number, status };
  } catch (err) {
    // `simlab iteration cancel` cancels the child by its id: that is an ending, not a failure.
    if (isCancellation(err) || isCancellation((err as { cause?: unknown }).cause)) return { iterationId, number, status: 'cancelled' };
    throw err;
  }
}
