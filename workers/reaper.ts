/**
 * The reaper, the safety net under every run's own cleanup:
 *  - removes this installation's sandboxes on this Docker host whose run has ended or
 *    does not exist, or whose workflow closed without cleaning up (terminated, timed out);
 *  - fails live runs whose workflows are gone, so no run stays `running` or `queued` for ever.
 * One bad container or run never stops the sweep.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../prisma/client';
import type { SandboxProvider } from '../sandbox';
import { transitionRun } from '../store/runStatus';
import { isTerminal, RUN_STATUSES, TERMINAL_STATUSES, type RunStatus } from '../domain/runLifecycle';
import { iterationWorkflowId, runWorkflowId } from '../domain/workflowIds';

export interface ReapReport {
  inspected: number;
  destroyed: string[];
  failedRuns: string[];
  errors: string[];
  /** Where the next sweep of live runs continues; undefined after a full pass. */
  sweepCursor?: string;
}

const SWEEP_PAGE = 200;

/** Younger live runs are left alone: their workflows may simply not have started yet. */
const STUCK_AFTER_MS = 2 * 60_000;

export async function reapOrphans(deps: {
  sandboxes: SandboxProvider;
  prisma: PrismaClient;
  client: Client;
  hostId: string;
  deploymentId: string;
  stuckAfterMs?: number;
  sweepCursor?: string;
}): Promise<ReapReport> {
  const report: ReapReport = { inspected: 0, destroyed: [], failedRuns: [], errors: [] };
  const states = new Map<string, Promise<WorkflowState>>();
  const stateOf = (workflowId: string) => {
    if (!states.has(workflowId)) states.set(workflowId, workflowState(deps.client, workflowId));
    return states.get(workflowId)!;
  };
  // Home disks whose sandbox is gone (a worker killed between the two removals).
  await deps.sandboxes.sweep?.().catch((err: Error) => report.errors.push(`sweep: ${err.message}`));
  const containers = await deps.sandboxes.list({ hostId: deps.hostId, deploymentId: deps.deploymentId });
  report.inspected = containers.length;
  for (const c of containers) {
    const runId = c.runId;
    if (!runId) continue;
    try {
      const run = await deps.prisma.run.findUnique({ where: { id: runId }, select: { status: true, iterationId: true } });
      if (run && !isTerminal(run.status as RunStatus)) {
        if (await runIsAlive(stateOf, runId, run.iterationId)) continue;
        await failAbandoned(deps.prisma, runId, report);
      }
      report.destroyed.push(...(await deps.sandboxes.destroy({ runId })));
    } catch (err) {
      report.errors.push(`sandbox of ${runId}: ${(err as Error).message}`);
    }
  }

  // Live runs are checked page by page across sweeps (any worker may do it: liveness is
  // asked of Temporal, not of a Docker host), so a large backlog is covered in turn.
  const live = await deps.prisma.run.findMany({
    where: {
      status: { in: RUN_STATUSES.filter((s) => !TERMINAL_STATUSES.has(s)) },
      createdAt: { lt: new Date(Date.now() - (deps.stuckAfterMs ?? STUCK_AFTER_MS)) },
      ...(deps.sweepCursor ? { id: { gt: deps.sweepCursor } } : {}),
    },
    orderBy: { id: 'asc' },
    select: { id: true, iterationId: true },
    take: SWEEP_PAGE,
  });
  for (const run of live) {
    try {
      if (!(await runIsAlive(stateOf, run.id, run.iterationId))) await failAbandoned(deps.prisma, run.id, report);
    } catch (err) {
      report.errors.push(`run ${run.id}: ${(err as Error).message}`);
    }
  }
  if (live.length === SWEEP_PAGE) report.sweepCursor = live[live.length - 1]!.id;
  return report;
}

type WorkflowState = 'open' | 'closed' | 'missing';

/** A run is alive while its workflow runs, or, before that, while its iteration's does. */
async function runIsAlive(stateOf: (workflowId: string) => Promise<WorkflowState>, runId: string, iterationId: string): Promise<boolean> {
  const own = await stateOf(runWorkflowId(runId));
  if (own !== 'missing') return own === 'open';
  return (await stateOf(iterationWorkflowId(iterationId))) === 'open';
}

async function failAbandoned(prisma: PrismaClient, runId: string, report: ReapReport): Promise<void> {
  // Re-read: the workflow may have finished the run between our two looks.
  const run = await prisma.run.findUnique({ where: { id: runId }, select: { status: true } });
  if (!run || isTerminal(run.status as RunStatus)) return;
  await transitionRun(prisma, {
    runId,
    to: 'failed',
    failure: { category: 'infra', message: 'no workflow is executing this run any more (terminated, timed out, or never started)' },
  });
  report.failedRuns.push(runId);
}

async function workflowState(client: Client, workflowId: string): Promise<WorkflowState> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? 'open' : 'closed';
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return 'missing';
    throw err;
  }
}
