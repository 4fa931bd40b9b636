/**
 * The reaper: removes sandboxes whose run no longer needs them — the run has ended, does
 * not exist, or its workflow was closed without cleaning up (terminated, timed out). A
 * run left live by a closed workflow is marked failed (infra) so it cannot hang for ever.
 */
import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../prisma/client';
import { destroySandboxes, LABELS, listSandboxes } from '../activities/sandbox';
import { transitionRun } from '../activities/runState';
import { isTerminal, type RunStatus } from '../domain/runStatus';
import { runWorkflowId } from '../domain/workflowIds';

export interface ReapReport {
  inspected: number;
  destroyed: string[];
}

export async function reapOrphans(deps: { docker: Docker; prisma: PrismaClient; client: Client; hostId: string }): Promise<ReapReport> {
  const containers = await listSandboxes(deps.docker, { hostId: deps.hostId });
  const destroyed: string[] = [];
  for (const c of containers) {
    const runId = c.Labels[LABELS.run];
    if (!runId) continue;
    const run = await deps.prisma.run.findUnique({ where: { id: runId }, select: { status: true } });
    let orphan = !run || isTerminal(run.status as RunStatus);
    if (!orphan) {
      const open = await workflowIsOpen(deps.client, runWorkflowId(runId));
      if (!open) {
        orphan = true;
        await transitionRun(deps.prisma, {
          runId,
          to: 'failed',
          failure: { category: 'infra', message: 'the run workflow closed without finishing the run (terminated or timed out)' },
        });
      }
    }
    if (orphan) destroyed.push(...(await destroySandboxes(deps.docker, { runId })));
  }
  return { inspected: containers.length, destroyed };
}

async function workflowIsOpen(client: Client, workflowId: string): Promise<boolean> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING';
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
}
