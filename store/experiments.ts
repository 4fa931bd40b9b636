/**
 * Experiments: their tasks, environments and variants, and the runs one iteration of them
 * consists of (every task x environment x variant x repeat, each with its overrides frozen in).
 */
import type { Prisma, PrismaClient } from '../prisma/client';
import type { Environment, Task } from '../prisma/generated/client';
import type { RunSpec } from './iterations';

/** The variant an experiment without variants runs as. */
export const BASE_VARIANT = 'base';

export interface VariantOverride {
  agent?: Record<string, unknown>;
  prompt?: string;
}

export const experimentInclude = {
  tasks: { orderBy: { createdAt: 'asc' }, select: { taskId: true } },
  environments: { orderBy: { createdAt: 'asc' }, select: { environmentId: true } },
  variants: { orderBy: { createdAt: 'asc' } },
} satisfies Prisma.ExperimentInclude;

export type ExperimentRow = Prisma.ExperimentGetPayload<{ include: typeof experimentInclude }>;

/** Another organization's experiment is simply not found. */
export async function findExperiment(prisma: PrismaClient, organizationId: string, id: string): Promise<ExperimentRow | null> {
  return prisma.experiment.findFirst({ where: { id, organizationId }, include: experimentInclude });
}

/** The variant applied to what a run freezes: the agent merged field by field, the prompt replaced. */
export function applyVariant(task: Task, env: Environment, override: VariantOverride): { taskSnapshot: Prisma.InputJsonValue; environmentSnapshot: Prisma.InputJsonValue } {
  const t = task.definition as Record<string, unknown>;
  const e = env.definition as Record<string, unknown>;
  return {
    taskSnapshot: (override.prompt !== undefined ? { ...t, prompt: override.prompt } : t) as Prisma.InputJsonValue,
    environmentSnapshot: (override.agent ? { ...e, agent: { ...(e.agent as object), ...override.agent } } : e) as Prisma.InputJsonValue,
  };
}

/** Every run of one iteration, in a stable order: task, environment, variant, repeat. */
export function runSpecs(input: { tasks: Task[]; environments: Environment[]; variants: { name: string; override: VariantOverride }[]; repeats: number }): RunSpec[] {
  const specs: RunSpec[] = [];
  for (const task of input.tasks)
    for (const environment of input.environments)
      for (const v of input.variants) {
        const frozen = applyVariant(task, environment, v.override);
        for (let repeat = 1; repeat <= input.repeats; repeat++) specs.push({ task, environment, ...frozen, variant: v.name, repeat });
      }
  return specs;
}
