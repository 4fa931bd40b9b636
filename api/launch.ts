/**
 * Queuing work: one iteration with one run per task x environment, each run freezing the
 * task and environment it will use, then the iteration workflow that executes them.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Environment, Task } from '../prisma/generated/client';
import { Prisma, type PrismaClient } from '../prisma/client';
import { newId } from '../domain/ids';
import { iterationWorkflowId, runWorkflowId } from '../domain/workflowIds';
import { transitionRun } from '../activities/runState';
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
  input: { organizationId: string; productId: string; tasks: Task[]; environments: Environment[]; experimentId?: string },
): Promise<{ iterationId: string; workflowId: string; runIds: string[] }> {
  const iterationId = newId('iter');
  const workflowId = iterationWorkflowId(iterationId);
  const runs = input.tasks.flatMap((task) =>
    input.environments.map((env) => {
      const id = newId('run');
      return {
        id,
        organizationId: input.organizationId,
        productId: input.productId,
        iterationId,
        taskId: task.id,
        environmentId: env.id,
        workflowId: runWorkflowId(id),
        taskVersion: task.version,
        environmentVersion: env.version,
        taskSnapshot: task.definition as Prisma.InputJsonValue,
        environmentSnapshot: env.definition as Prisma.InputJsonValue,
      };
    }),
  );
  await ctx.prisma.$transaction(async (tx) => {
    const number = (await tx.iteration.count({ where: { productId: input.productId, experimentId: input.experimentId ?? null } })) + 1;
    await tx.iteration.create({
      data: {
        id: iterationId,
        organizationId: input.organizationId,
        productId: input.productId,
        experimentId: input.experimentId ?? null,
        number,
        workflowId,
        runCount: runs.length,
      },
    });
    await tx.run.createMany({ data: runs });
    await tx.runStatusChange.createMany({ data: runs.map((r) => ({ runId: r.id, from: null, to: 'queued' })) });
  });

  try {
    await ctx.temporal.workflow.start<typeof iterationWorkflow>('iterationWorkflow', {
      taskQueue: ctx.taskQueue,
      workflowId,
      args: [{ iterationId, maxConcurrentRuns: ctx.maxConcurrentRuns }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SA.organization, value: input.organizationId },
        { key: SA.product, value: input.productId },
        { key: SA.iteration, value: iterationId },
      ],
    });
  } catch (err) {
    // Nothing may stay queued for ever: the runs are failed as infra and the caller told.
    const message = `could not start the iteration workflow: ${(err as Error).message}`;
    for (const r of runs) await transitionRun(ctx.prisma, { runId: r.id, to: 'failed', failure: { category: 'infra', message } });
    await ctx.prisma.iteration.update({ where: { id: iterationId }, data: { status: 'failed', finishedAt: new Date() } });
    throw new HttpError(503, 'orchestrator_unavailable', message);
  }
  return { iterationId, workflowId, runIds: runs.map((r) => r.id) };
}
