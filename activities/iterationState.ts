/** An iteration's own status, derived from its runs once every run has ended. */
import type { PrismaClient } from '../prisma/client';
import type { IterationStatus } from '../domain/runStatus';

export async function startIteration(prisma: PrismaClient, iterationId: string): Promise<void> {
  await prisma.iteration.updateMany({
    where: { id: iterationId, status: 'queued' },
    data: { status: 'running', startedAt: new Date() },
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
