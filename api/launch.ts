/**
 * Queuing work: the iteration and its runs in the database (store/iterations), then the
 * iteration workflow that executes them. If the workflow cannot be started, nothing stays
 * queued for ever: the runs fail as infra and the caller is told.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Environment, Task } from '../prisma/generated/client';
import type { PrismaClient } from '../prisma/client';
import { createExperimentIteration, createIteration, markIterationFailed, type NewIteration, type IterationOrigin, type RunSpec } from '../store/iterations';
import { BASE_VARIANT, runSpecs, type ExperimentRow, type VariantOverride } from '../store/experiments';
import { transitionRun } from '../store/runStatus';
import { freezeSignalConfig } from '../store/analysis';
import { SA } from '../workflows/searchAttributes';
import type { iterationWorkflow } from '../workflows/iteration';
import { HttpError } from './errors';

export interface LaunchContext {
  prisma: PrismaClient;
  temporal: Client;
  taskQueue: string;
  maxConcurrentRuns: number;
  iterationHistoryEvents?: number;
}

export async function launchIteration(
  ctx: LaunchContext,
  input: { organizationId: string; productId: string; tasks: Task[]; environments: Environment[] },
): Promise<NewIteration> {
  return startIterationWorkflow(ctx, input, await createIteration(ctx.prisma, input));
}

export async function launchExperimentIteration(
  ctx: LaunchContext,
  input: { organizationId: string; productId: string; experimentId: string; specs: RunSpec[]; origin: IterationOrigin },
): Promise<NewIteration> {
  const it = await createExperimentIteration(ctx.prisma, input);
  // The iteration analyses its runs with the signal config of this moment, whatever edits follow.
  await freezeSignalConfig(ctx.prisma, it.iterationId);
  return startIterationWorkflow(ctx, input, it);
}

/** One trigger's runs are created in one transaction; beyond this it needs batching first. */
export const MAX_ITERATION_RUNS = 10_000;

/** The experiment's variants, or the base variant of an experiment that has none. */
export function experimentVariants(e: ExperimentRow): { name: string; override: VariantOverride }[] {
  return e.variants.length ? e.variants.map((v) => ({ name: v.name, override: v.override as VariantOverride })) : [{ name: BASE_VARIANT, override: {} }];
}

/**
 * The runs of an experiment's next iteration, whoever triggers it (a person through the
 * API, or a schedule's workflow): every live task x environment x variant x repeat.
 */
export async function planExperimentIteration(
  prisma: PrismaClient,
  input: { organizationId: string; experiment: ExperimentRow; variants: { name: string; override: VariantOverride }[]; repeats: number },
): Promise<RunSpec[]> {
  const { organizationId, experiment: e, variants, repeats } = input;
  // Retired tasks and environments stay linked for the record, but run no more.
  const [tasks, environments] = await Promise.all([
    prisma.task.findMany({ where: { organizationId, id: { in: e.tasks.map((t) => t.taskId) }, retiredAt: null }, orderBy: { id: 'asc' } }),
    prisma.environment.findMany({ where: { organizationId, id: { in: e.environments.map((x) => x.environmentId) }, retiredAt: null }, orderBy: { id: 'asc' } }),
  ]);
  if (!tasks.length || !environments.length) throw new HttpError(409, 'experiment_empty', `experiment '${e.id}' needs at least one task and one environment (has ${tasks.length} and ${environments.length})`);
  const total = tasks.length * environments.length * variants.length * repeats;
  if (total > MAX_ITERATION_RUNS) throw new HttpError(400, 'too_many_runs', `this iteration would have ${total} runs; at most ${MAX_ITERATION_RUNS}`);
  return runSpecs({ tasks, environments, variants, repeats });
}

async function startIterationWorkflow(ctx: LaunchContext, input: { organizationId: string; productId: string; experimentId?: string }, it: NewIteration): Promise<NewIteration> {
  try {
    await ctx.temporal.workflow.start<typeof iterationWorkflow>('iterationWorkflow', {
      taskQueue: ctx.taskQueue,
      workflowId: it.workflowId,
      args: [{ iterationId: it.iterationId, maxConcurrentRuns: ctx.maxConcurrentRuns, ...(ctx.iterationHistoryEvents ? { historyEventBound: ctx.iterationHistoryEvents } : {}) }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SA.organization, value: input.organizationId },
        { key: SA.product, value: input.productId },
        { key: SA.iteration, value: it.iterationId },
        { key: SA.iterationNumber, value: it.number },
        ...('experimentId' in input && typeof input.experimentId === 'string' ? [{ key: SA.experiment, value: input.experimentId }] : []),
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
