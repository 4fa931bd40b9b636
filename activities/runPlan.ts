/** A run as the sandbox activities need it: ids and the frozen snapshots, loaded by id. */
import type { PrismaClient } from '../prisma/client';
import type { EnvironmentDefinition, TaskDefinition } from '../domain/contract';
import { RunStateError } from '../domain/errors';

export interface RunRecord {
  id: string;
  iterationId: string;
  organizationId: string;
  status: string;
  task: TaskDefinition;
  environment: EnvironmentDefinition;
}

export async function loadRun(prisma: PrismaClient, runId: string): Promise<RunRecord> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    select: { id: true, iterationId: true, organizationId: true, status: true, taskSnapshot: true, environmentSnapshot: true },
  });
  if (!run) throw new RunStateError(`run ${runId} does not exist`);
  return {
    id: run.id,
    iterationId: run.iterationId,
    organizationId: run.organizationId,
    status: run.status,
    task: run.taskSnapshot as unknown as TaskDefinition,
    environment: run.environmentSnapshot as unknown as EnvironmentDefinition,
  };
}
