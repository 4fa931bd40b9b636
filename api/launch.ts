/**
 * Queuing work: the iteration and its runs in the database (store/iterations), then the
 * iteration workflow that executes them. If the workflow cannot be started, nothing stays
 * queued for ever: the runs fail as infra and the caller is told.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Environment, Task } from '../prisma/generated/client';
import type { PrismaClient } from '../prisma/client';
import { createExperimentIteration, createIteration, markIterationFailed, type NewIteration, type RunSpec } from '../store/iterations';
import { transitionRun } from '../store/runStatus';
import { SA } from '../workflows/searchAttributes';
import type { iterationWorkflow } from '../workflows/iteration';
import { HttpError } from './errors';

export interface LaunchContext {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  maxConcurrentRuns: number;
}

export async function launchIteration(
  ctx: LaunchContext,
  input: { organizationId: string; productId: string; tasks: Task[]; environments: Environment[] },
): Promise<NewIteration> {
  return startIterationWorkflow(ctx, input, await createIteration(ctx.prisma, input));
}

export async function launchExperimentIteration(
  ctx: LaunchContext,
  input: { organizationId: string; productId: string; experimentId: string; specs: RunSpec[] },
): Promise<NewIteration> {
  return startIterationWorkflow(ctx, input, await createExperimentIteration(ctx.prisma, input));
}

async function startIterationWorkflow(ctx: LaunchContext, input: { organizationId: string; productId: string }, it: NewIteration): Promise<NewIteration> {
  try {
    await ctx.temporal.workflow.start<typeof iterationWorkflow>('iterationWorkflow', {
      taskQueue: ctx.taskQueue,
      workflowId: it.workflowId,
      args: [{ iterationId: it.iterationId, maxConcurrentRuns: ctx.maxConcurrentRuns }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SA.organization, value: input.organizationId },
        { key: SA.product, value: input.productId },
        { key: SA.iteration, value: it.iterationId },
      ],
    });
  } catch (err) {
    const message = `could not start the iteration workflow: ${(err as Error).message}`;
    for (const runId of it.runIds) await transitionRun(ctx.prisma, { runId, to: 'failed', failure: { category: 'infra', message } });
    await markIterationFailed(ctx.prisma, it.iterationId);
    throw new HttpError(503, 'orchestrator_unavailable', message);
  }
  return it;
}
