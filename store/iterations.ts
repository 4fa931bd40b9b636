/**
 * Iterations: creating one with its runs (each freezing the task and environment it will
 * use), numbering them without races, and settling their status once every run ended.
 */
import { Prisma, type PrismaClient } from '../prisma/client';
import type { Environment, Task } from '../prisma/generated/client';
import { newId } from '../domain/ids';
import { putSnapshots } from './snapshots';
import { iterationWorkflowId, runWorkflowId } from '../domain/workflowIds';
import { RUN_STATUSES, type IterationStatus, type RunStatus } from '../domain/runLifecycle';

export interface NewIteration {
  iterationId: string;
  number: number;
  workflowId: string;
  runIds: string[];
}

/** One run of an iteration to be: what it runs on, and what it froze. */
export interface RunSpec {
  task: Pick<Task, 'id' | 'version'>;
  environment: Pick<Environment, 'id' | 'version'>;
  taskSnapshot: Prisma.InputJsonValue;
  environmentSnapshot: Prisma.InputJsonValue;
  variant?: string;
  repeat?: number;
}

/** Who started an iteration: a schedule, or a person through an API key. */
export interface IterationOrigin {
  kind: 'schedule' | 'api_key';
  id: string;
}

/**
 * Creates the iteration and its queued runs in one transaction. Its number comes from a
 * counter on the product, incremented in the same transaction (a row lock, so concurrent
 * launches queue up), and a unique index guarantees it whatever the code does.
 */
export async function createIteration(
  prisma: PrismaClient,
  input: { organizationId: string; productId: string; tasks: Task[]; environments: Environment[] },
): Promise<NewIteration> {
  const specs: RunSpec[] = input.tasks.flatMap((task) =>
    input.environments.map((environment) => ({
      task,
      environment,
      taskSnapshot: task.definition as Prisma.InputJsonValue,
      environmentSnapshot: environment.definition as Prisma.InputJsonValue,
    })),
  );
  return insertIteration(prisma, { ...input, specs });
}

/**
 * An experiment's iteration: the runs are given (every task x environment x variant x
 * repeat, snapshots already overridden), and the number comes from the experiment's own
 * counter, the same way, guarded by the same (productId, experimentId, number) index.
 */
export async function createExperimentIteration(
  prisma: PrismaClient,
  input: { organizationId: string; productId: string; experimentId: string; specs: RunSpec[]; origin?: IterationOrigin; launchKey?: string },
): Promise<NewIteration> {
  return insertIteration(prisma, input);
}

async function insertIteration(
  prisma: PrismaClient,
  input: { organizationId: string; productId: string; experimentId?: string; specs: RunSpec[]; origin?: IterationOrigin; launchKey?: string },
): Promise<NewIteration> {
  const iterationId = newId('iter');
  const workflowId = iterationWorkflowId(iterationId);
  const runs = input.specs.map((spec) => {
    const id = newId('run');
    return {
      id,
      organizationId: input.organizationId,
      productId: input.productId,
      iterationId,
      taskId: spec.task.id,
      environmentId: spec.environment.id,
      workflowId: runWorkflowId(id),
      taskVersion: spec.task.version,
      environmentVersion: spec.environment.version,
      variant: spec.variant ?? null,
      repeat: spec.repeat ?? null,
    };
  });
  const number = await prisma.$transaction(async (tx) => {
    // Stored once per distinct definition, not copied into every run row.
    const taskHashes = await putSnapshots(tx, input.specs.map((spec) => spec.taskSnapshot));
    const environmentHashes = await putSnapshots(tx, input.specs.map((spec) => spec.environmentSnapshot));
    const { lastIterationNumber } = input.experimentId
      ? await tx.experiment.update({
          where: { id: input.experimentId },
          data: { lastIterationNumber: { increment: 1 } },
          select: { lastIterationNumber: true },
        })
      : await tx.product.update({
          where: { id: input.productId },
          data: { lastIterationNumber: { increment: 1 } },
          select: { lastIterationNumber: true },
        });
    await tx.iteration.create({
      data: {
        id: iterationId,
        organizationId: input.organizationId,
        productId: input.productId,
        experimentId: input.experimentId ?? null,
        number: lastIterationNumber,
        workflowId,
        runCount: runs.length,
        origin: input.origin?.kind ?? null,
        originId: input.origin?.id ?? null,
        launchKey: input.launchKey ?? null,
      },
    });
    await tx.run.createMany({ data: runs.map((r, i) => ({ ...r, taskSnapshotHash: taskHashes[i]!, environmentSnapshotHash: environmentHashes[i]!, eventCount: 1 })) });
    await tx.runStatusChange.createMany({ data: runs.map((r) => ({ runId: r.id, from: null, to: 'queued' })) });
    // Each run's transcript opens with its queuing (event 1), written in bulk.
    await tx.runEvent.createMany({ data: runs.map((r) => ({ runId: r.id, seq: 1, type: 'status', data: { from: null, to: 'queued' } })) });
    return lastIterationNumber;
    // One transaction for the whole iteration (all its runs or none): its time grows with
    // the run count, well past Prisma's 5 s default for a 10,000-run iteration on a busy host.
  }, { timeout: 30_000 + runs.length * 20, maxWait: 30_000 });
  return { iterationId, number, workflowId, runIds: runs.map((r) => r.id) };
}

export async function markIterationFailed(prisma: PrismaClient, iterationId: string): Promise<void> {
  await prisma.iteration.update({ where: { id: iterationId }, data: { status: 'failed', finishedAt: new Date() } });
}

/** What the iteration workflow keeps for its whole life: small, and the same in every execution. */
export interface IterationStart {
  organizationId: string;
  productId: string;
  experimentId: string | null;
  number: number;
  runCount: number;
}

export async function startIteration(prisma: PrismaClient, iterationId: string): Promise<IterationStart> {
  await prisma.iteration.updateMany({
    where: { id: iterationId, status: 'queued' },
    data: { status: 'running', startedAt: new Date() },
  });
  return prisma.iteration.findUniqueOrThrow({
    where: { id: iterationId },
    select: { organizationId: true, productId: true, experimentId: true, number: true, runCount: true },
  });
}

/** One page of run ids, in a stable order, so a 10,000-run iteration never travels in one payload. */
export async function listIterationRuns(
  prisma: PrismaClient,
  input: { iterationId: string; after?: string; limit: number },
): Promise<string[]> {
  const rows = await prisma.run.findMany({
    where: { iterationId: input.iterationId, ...(input.after ? { id: { gt: input.after } } : {}) },
    orderBy: { id: 'asc' },
    take: input.limit,
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

export async function finishIteration(prisma: PrismaClient, input: { iterationId: string; cancelled: boolean }): Promise<IterationStatus> {
  const groups = await prisma.run.groupBy({ by: ['status'], where: { iterationId: input.iterationId }, _count: { _all: true } });
  const total = groups.reduce((n, g) => n + g._count._all, 0);
  const failed = groups.find((g) => g.status === 'failed')?._count._all ?? 0;
  let status: IterationStatus = 'completed';
  if (input.cancelled) status = 'cancelled';
  else if (total > 0 && failed === total) status = 'failed';
  await prisma.iteration.update({ where: { id: input.iterationId }, data: { status, finishedAt: new Date() } });
  return status;
}

export interface IterationProgress {
  byStatus: Partial<Record<RunStatus, number>>;
  passed: number;
  failedVerdicts: number;
  meanScore: number | null;
  ended: number;
}

/**
 * Counts and the mean score from the iteration's aggregate rows (kept by triggers as runs
 * change, migration 20261123250000_iteration_counts): a few rows, whatever the iteration's size.
 */
export async function iterationProgress(prisma: PrismaClient, iterationId: string): Promise<IterationProgress> {
  const rows = await prisma.iterationRunCount.findMany({ where: { iterationId } });
  const byStatus: Partial<Record<RunStatus, number>> = {};
  for (const s of RUN_STATUSES) {
    const n = rows.find((r) => r.status === s)?.runs ?? 0;
    if (n) byStatus[s] = n;
  }
  const completed = rows.find((r) => r.status === 'completed');
  const scored = rows.reduce((n, r) => n + r.scored, 0);
  const scoreSum = rows.reduce((n, r) => n + r.scoreSum, 0);
  return {
    byStatus,
    passed: completed?.passed ?? 0,
    failedVerdicts: completed?.failedVerdicts ?? 0,
    meanScore: scored === 0 ? null : Math.round((scoreSum / scored) * 100) / 100,
    ended: (byStatus.completed ?? 0) + (byStatus.failed ?? 0) + (byStatus.cancelled ?? 0),
  };
}
