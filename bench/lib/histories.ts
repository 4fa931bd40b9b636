/**
 * What Temporal's histories say about where a run's time goes: per activity type, the
 * schedule-to-start latency (waiting for a worker slot) and the execution time; per
 * workflow task, the same; timers; the event count and the largest payload of each
 * execution, following an iteration across its continued-as-new runs.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
type Event = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

export interface ExecutionStats {
  workflowId: string;
  runId: string;
  events: number;
  /** The largest single payload (bytes of data) in the history. */
  largestPayload: number;
  /** All payload bytes in the history. */
  payloadBytes: number;
  wallMs: number;
  activities: { type: string; scheduleToStartMs: number; runMs: number; attempt: number; scheduledAtMs: number }[];
  workflowTasks: { scheduleToStartMs: number; runMs: number }[];
  timers: number;
  continuedAsNew: boolean;
  /** Events by kind ("activityTaskScheduled", "markerRecorded", ...). */
  byKind: Record<string, number>;
}

/** Walks any decoded protobuf value, calling `found` with the size of every Payload's data. */
function payloadSizes(v: unknown, found: (bytes: number) => void, depth = 0): void {
  if (!v || typeof v !== 'object' || depth > 12) return;
  if (v instanceof Uint8Array) return;
  const o = v as Record<string, unknown>;
  if (o.data instanceof Uint8Array && 'metadata' in o) {
    found(o.data.length);
    return;
  }
  for (const k of Object.keys(o)) payloadSizes(o[k], found, depth + 1);
}

export function analyzeHistory(workflowId: string, runId: string, events: Event[]): ExecutionStats {
  const at = (e: Event) => tsToMs(e.eventTime as never);
  const byId = new Map<number, Event>();
  for (const e of events) byId.set(Number(e.eventId), e);
  const s: ExecutionStats = { workflowId, runId, events: events.length, largestPayload: 0, payloadBytes: 0, wallMs: 0, activities: [], workflowTasks: [], timers: 0, continuedAsNew: false, byKind: {} };
  if (events.length) s.wallMs = at(events[events.length - 1]!) - at(events[0]!);
  for (const e of events) {
    const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]);
    if (kind) s.byKind[kind.replace(/EventAttributes$/, '')] = (s.byKind[kind.replace(/EventAttributes$/, '')] ?? 0) + 1;
    payloadSizes(e, (n) => {
      s.payloadBytes += n;
      s.largestPayload = Math.max(s.largestPayload, n);
    });
    // Told apart by which attributes the event carries: no enum import needed.
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
    if (ended) {
      const a = ended;
      const sched = byId.get(Number(a.scheduledEventId));
      const started = byId.get(Number(a.startedEventId));
      if (!sched || !started) continue;
      s.activities.push({
        type: sched.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
        scheduleToStartMs: at(started) - at(sched),
        runMs: at(e) - at(started),
        attempt: started.activityTaskStartedEventAttributes?.attempt ?? 1,
        scheduledAtMs: at(sched) - at(events[0]!),
      });
    } else if (e.workflowTaskCompletedEventAttributes) {
      const a = e.workflowTaskCompletedEventAttributes;
      const sched = byId.get(Number(a.scheduledEventId));
      const started = byId.get(Number(a.startedEventId));
      if (sched && started) s.workflowTasks.push({ scheduleToStartMs: at(started) - at(sched), runMs: at(e) - at(started) });
    } else if (e.timerStartedEventAttributes) s.timers++;
    else if (e.workflowExecutionContinuedAsNewEventAttributes) s.continuedAsNew = true;
  }
  return s;
}

export async function executionStats(client: Client, workflowId: string, runId?: string): Promise<ExecutionStats> {
  const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return analyzeHistory(workflowId, runId ?? '', h.events ?? []);
}

/** Every execution (continued-as-new runs included) of one workflow id. */
export async function chainStats(client: Client, workflowId: string): Promise<ExecutionStats[]> {
  const out: ExecutionStats[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) out.push(await executionStats(client, workflowId, wf.runId));
  return out;
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
export function pct(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
