/**
 * Schedule ids are derived, never random: the same experiment, cron and time zone always
 * name the same schedule, so a retried create finds the one it made instead of adding a
 * second. Temporal's schedule id and the action's workflow id are derived from it in turn.
 */
import { createHash } from 'node:crypto';

export function scheduleIdFor(input: { experimentId: string; cron: string; timezone: string }): string {
  const canonical = `${input.experimentId}\n${input.cron.trim().split(/\s+/).join(' ')}\n${input.timezone}`;
  return `sch_${createHash('sha256').update(canonical).digest('hex').slice(0, 20)}`;
}

export const temporalScheduleId = (scheduleId: string) => `simlab-schedule-${scheduleId}`;

/** Temporal appends the action's time to it, so each scheduled start has an id of its own. */
export const scheduledWorkflowIdPrefix = (scheduleId: string) => `simlab-scheduled-${scheduleId}`;
