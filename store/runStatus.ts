/**
 * The one place where a run's status changes. Each transition is checked against the
 * lifecycle (domain/runLifecycle), written with its time, and is idempotent so that an
 * activity retry never records a step twice.
 */
import type { PrismaClient } from '../prisma/client';
import { canTransition, isTerminal, type FailureCategory, type RunStatus } from '../domain/runLifecycle';
import { RunStateError } from '../domain/errors';
import { appendEventsTx } from '../transcript/store';
import { storable } from '../domain/text';

export interface TransitionInput {
  runId: string;
  to: RunStatus;
  detail?: string;
  failure?: { category: FailureCategory; message: string };
}

export interface TransitionResult {
  from: RunStatus;
  to: RunStatus;
  /** False when the run already had that status (a retried activity). */
  changed: boolean;
}

export async function transitionRun(prisma: PrismaClient, raw: TransitionInput): Promise<TransitionResult> {
  // Failure messages quote output (an init command's, a checker's): storable, always.
  const input = storable(raw);
  return prisma.$transaction(async (tx) => {
    const run = await tx.run.findUnique({ where: { id: input.runId }, select: { status: true } });
    if (!run) throw new RunStateError(`run ${input.runId} does not exist`);
    const from = run.status as RunStatus;
    if (from === input.to) return { from, to: input.to, changed: false };
    // A run keeps its first ending: a late second one (a cancel racing the run's own
    // failure) is not an error, and the caller learns which ending stands.
    if (isTerminal(from) && isTerminal(input.to)) return { from, to: from, changed: false };
    if (!canTransition(from, input.to)) {
      throw new RunStateError(`run ${input.runId} cannot go from ${from} to ${input.to}`);
    }
    const now = new Date();
    const updated = await tx.run.updateMany({
      where: { id: input.runId, status: from },
      data: {
        status: input.to,
        ...(from === 'queued' ? { startedAt: now } : {}),
        ...(isTerminal(input.to) ? { finishedAt: now } : {}),
        ...(input.failure ? { failureCategory: input.failure.category, failureMessage: input.failure.message.slice(0, 4000) } : {}),
      },
    });
    if (updated.count !== 1) throw new Error(`run ${input.runId} changed concurrently; retrying`);
    await tx.runStatusChange.create({
      data: { runId: input.runId, from, to: input.to, at: now, detail: input.detail ?? input.failure?.message.slice(0, 4000) ?? null },
    });
    // The transcript's status events are written with the change itself: never one without the other.
    await appendEventsTx(tx, input.runId, [
      { type: 'status', at: now, data: { from, to: input.to, ...(input.detail ? { detail: input.detail } : {}), ...(input.failure ? { failure: input.failure } : {}) } },
    ]);
    return { from, to: input.to, changed: true };
  });
}

/**
 * Ends, in one statement, every run of an iteration that never started (the iteration
 * was cancelled first): they go from queued to cancelled, with their history row.
 */
export async function cancelQueuedRuns(prisma: PrismaClient, iterationId: string): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const queued = await tx.run.findMany({ where: { iterationId, status: 'queued' }, select: { id: true } });
    if (queued.length === 0) return 0;
    const ids = queued.map((r) => r.id);
    const message = 'the iteration was cancelled before this run started';
    const now = new Date();
    const { count } = await tx.run.updateMany({
      where: { id: { in: ids }, status: 'queued' },
      data: { status: 'cancelled', finishedAt: now, failureCategory: 'cancelled', failureMessage: message },
    });
    if (count !== ids.length) throw new Error(`iteration ${iterationId}: runs changed concurrently; retrying`);
    await tx.runStatusChange.createMany({ data: ids.map((runId) => ({ runId, from: 'queued', to: 'cancelled', at: now, detail: message })) });
    for (const runId of ids) {
      await appendEventsTx(tx, runId, [{ type: 'status', at: now, data: { from: 'queued', to: 'cancelled', failure: { category: 'cancelled', message } } }]);
    }
    return count;
  });
}
