/**
 * Turns validated input into the stored definition: the short goal form becomes a goal
 * with one criterion, and every default is written down so a frozen snapshot alone
 * says exactly how a run was set up and scored.
 */
import type {
  Criterion,
  CriterionFields,
  CriterionInput,
  EnvironmentDefinition,
  EnvironmentInput,
  Goal,
  GoalInput,
  TaskDefinition,
  TaskInput,
} from './types';
import { fieldsOf } from './criteria';

export const DEFAULTS = {
  passingThreshold: 70,
  scoringMethod: 'weighted_average',
  weight: 1,
  maxScore: 100,
  initCommandTimeoutSeconds: 600,
  initCommandWorkingDirectory: '/home/agent',
  taskTimeoutMinutes: 70,
  image: 'simlab/sandbox:bookworm',
  cpus: 1,
  memoryMb: 2048,
  pids: 512,
} as const;

/** The fields of the criterion's own type; validation has already refused any other. */
function pickFields(type: CriterionInput['evaluationType'], source: CriterionFields): CriterionFields {
  const out: Record<string, unknown> = {};
  for (const k of fieldsOf(type)) {
    if (source[k] !== undefined) out[k] = source[k];
  }
  return out as CriterionFields;
}

function normalizeCriterion(c: CriterionInput, goal: GoalInput, index: number): Criterion {
  // Validation guarantees the required fields of the type are present.
  const crit = {
    name: c.name ?? (goal.criteria && goal.criteria.length > 1 ? `${goal.name} #${index + 1}` : goal.name),
    evaluationType: c.evaluationType,
    weight: c.weight ?? DEFAULTS.weight,
    maxScore: c.maxScore ?? DEFAULTS.maxScore,
    ...pickFields(c.evaluationType, c),
  } as Criterion;
  if (c.description !== undefined) crit.description = c.description;
  return crit;
}

export function normalizeGoal(g: GoalInput): Goal {
  const criteria: CriterionInput[] = g.criteria ?? [
    {
      evaluationType: g.evaluationType!,
      ...(g.weight !== undefined ? { weight: g.weight } : {}),
      ...(g.maxScore !== undefined ? { maxScore: g.maxScore } : {}),
      ...(g.description !== undefined ? { description: g.description } : {}),
      ...pickFields(g.evaluationType!, g),
    },
  ];
  const goal: Goal = {
    name: g.name,
    passingThreshold: g.passingThreshold ?? DEFAULTS.passingThreshold,
    scoringMethod: g.scoringMethod ?? DEFAULTS.scoringMethod,
    criteria: criteria.map((c, i) => normalizeCriterion(c, g, i)),
  };
  if (g.description !== undefined) goal.description = g.description;
  return goal;
}

export function normalizeTask(t: TaskInput): TaskDefinition {
  const def: TaskDefinition = {
    name: t.name.trim(),
    category: t.category,
    prompt: t.prompt,
    goals: t.goals.map(normalizeGoal),
    initFiles: t.initFiles ?? [],
    initCommands: (t.initCommands ?? []).map((c) => ({
      command: c.command,
      workingDirectory: c.workingDirectory ?? DEFAULTS.initCommandWorkingDirectory,
      timeoutSeconds: c.timeoutSeconds ?? DEFAULTS.initCommandTimeoutSeconds,
    })),
    secrets: t.secrets ?? [],
    timeoutMinutes: t.timeoutMinutes ?? DEFAULTS.taskTimeoutMinutes,
  };
  if (t.description !== undefined) def.description = t.description;
  return def;
}

export function normalizeEnvironment(e: EnvironmentInput): EnvironmentDefinition {
  const def: EnvironmentDefinition = {
    name: e.name.trim(),
    image: e.image ?? DEFAULTS.image,
    enabled: e.enabled ?? true,
    agent: e.agent,
    resources: {
      cpus: e.resources?.cpus ?? DEFAULTS.cpus,
      memoryMb: e.resources?.memoryMb ?? DEFAULTS.memoryMb,
      pids: e.resources?.pids ?? DEFAULTS.pids,
      ...(e.resources?.diskMb !== undefined ? { diskMb: e.resources.diskMb } : {}),
    },
    network: { enabled: e.network?.enabled ?? false, ...(e.network?.allow ? { allow: e.network.allow } : {}) },
    secrets: e.secrets ?? [],
  };
  if (e.description !== undefined) def.description = e.description;
  return def;
}

/** The agent's time budget: the environment's own limit if tighter than the task's. */
export function agentTimeoutSeconds(task: TaskDefinition, env: EnvironmentDefinition): number {
  const minutes = Math.min(task.timeoutMinutes, env.agent.timeoutMinutes ?? Number.POSITIVE_INFINITY);
  return Math.max(1, Math.round(minutes * 60));
}
