/**
 * The experiment schedules as Temporal Schedules: Temporal owns their timing and paused
 * state, and keeps them across restarts of itself and of simlab.
 *
 * Overlap policy: SKIP. A scheduled start while the previous scheduled iteration still
 * runs is dropped (counted by Temporal as skipped), never queued or run alongside: two
 * iterations of one experiment at once would compete for the same workers and make
 * each other's durations and timeouts meaningless, and a backlog of buffered nightlies
 * would only compare stale code. Catch-up window: 6 hours, so a nightly missed by an
 * outage still runs that morning, but not days later.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import type { scheduledIterationWorkflow } from '../workflows/scheduled';
import { SA } from '../workflows/searchAttributes';
import { scheduledWorkflowIdPrefix, temporalScheduleId } from './ids';

export const OVERLAP_POLICY = ScheduleOverlapPolicy.SKIP;
export const CATCHUP_WINDOW = '6 hours';

export interface ScheduleTarget {
  scheduleId: string;
  organizationId: string;
  productId: string;
  experimentId: string;
  cron: string;
  timezone: string;
  taskQueue: string;
}

/** Creates the Temporal schedule; one that already exists (a retried create) is kept as it is. */
export async function createTemporalSchedule(client: Client, t: ScheduleTarget): Promise<void> {
  try {
    await client.schedule.create<typeof scheduledIterationWorkflow>({
      scheduleId: temporalScheduleId(t.scheduleId),
      spec: { cronExpressions: [t.cron], timezone: t.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledIterationWorkflow',
        workflowId: scheduledWorkflowIdPrefix(t.scheduleId),
        taskQueue: t.taskQueue,
        args: [{ scheduleId: t.scheduleId, experimentId: t.experimentId }],
        typedSearchAttributes: [
          { key: SA.organization, value: t.organizationId },
          { key: SA.product, value: t.productId },
        ],
      },
      policies: { overlap: OVERLAP_POLICY, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false },
      memo: { organizationId: t.organizationId, experimentId: t.experimentId },
    });
  } catch (err) {
    if ((err as Error).name !== 'ScheduleAlreadyRunning') throw err;
  }
}

export interface ScheduleState {
  paused: boolean;
  note: string | null;
  nextRunAt: string | null;
  lastRunAt: string | null;
  running: boolean;
  actionsTaken: number;
  skippedOverlap: number;
}

/** What Temporal says of a schedule now; null when Temporal has no such schedule. */
export async function describeTemporalSchedule(client: Client, scheduleId: string): Promise<ScheduleState | null> {
  let d: ScheduleDescription;
  try {
    d = await client.schedule.getHandle(temporalScheduleId(scheduleId)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
  const last = d.info.recentActions.at(-1);
  return {
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextRunAt: d.info.nextActionTimes[0]?.toISOString() ?? null,
    lastRunAt: last ? last.takenAt.toISOString() : null,
    running: d.info.runningActions.length > 0,
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
  };
}

export async function pauseTemporalSchedule(client: Client, scheduleId: string, note: string): Promise<void> {
  await client.schedule.getHandle(temporalScheduleId(scheduleId)).pause(note);
}

export async function resumeTemporalSchedule(client: Client, scheduleId: string, note: string): Promise<void> {
  await client.schedule.getHandle(temporalScheduleId(scheduleId)).unpause(note);
}

/** Starts the action now, under the same overlap policy: skipped while one still runs. */
export async function triggerTemporalSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule.getHandle(temporalScheduleId(scheduleId)).trigger(OVERLAP_POLICY);
}

/** Deleting one Temporal no longer has is done already. Running iterations are left to finish. */
export async function deleteTemporalSchedule(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(temporalScheduleId(scheduleId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
