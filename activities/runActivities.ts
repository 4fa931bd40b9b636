/**
 * Database activities: they run on the shared task queue, on whichever worker has
 * capacity. Thin bindings of the store to Temporal.
 */
import type { PrismaClient } from '../prisma/client';
import type { Harness } from '../domain/contract';
import { agentTimeoutSeconds } from '../domain/contract';
import { isTerminal, type IterationStatus } from '../domain/runLifecycle';
import { harnessFor } from '../harnesses';
import { SetupError } from '../domain/errors';
import { missingSecrets } from '../secrets/store';
import { secretNamesOf } from '../secrets/runSecrets';
import { evaluationBudgetSeconds } from '../criteria';
import { loadRun } from '../store/runs';
import { cancelQueuedRuns, transitionRun, type TransitionInput, type TransitionResult } from '../store/runStatus';
import { finishIteration, listIterationRuns, startIteration, type IterationStart } from '../store/iterations';

/** Small values the run workflow needs: its activity timeouts and search attributes; no task content. */
export interface RunPlan {
  hostQueue: string;
  agentTimeoutSeconds: number;
  setupTimeoutSeconds: number;
  evaluationTimeoutSeconds: number;
  organizationId: string;
  productId: string;
  taskId: string;
  environmentId: string;
  /** Absent in plans of runs started before v4 (their histories must replay unchanged). */
  harness?: Harness;
  /** external harness: how long the run waits for a client request before it is cancelled. */
  idleTimeoutSeconds?: number;
}

/** How long an external run waits for its client when the environment does not say. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 1800;

export type PreparedRun = RunPlan | { finished: 'completed' | 'failed' | 'cancelled' };

export function createRunActivities(deps: { prisma: PrismaClient; hostQueue: string; slots?: { hold(runId: string): void } }) {
  const { prisma } = deps;
  return {
    /**
     * Runs on whichever worker has capacity; that worker's Docker host becomes the run's
     * sandbox host. Refuses runs whose environment this build cannot execute.
     */
    async prepareRun(runId: string): Promise<PreparedRun> {
      const run = await loadRun(prisma, runId);
      if (isTerminal(run.status)) return { finished: run.status as 'completed' | 'failed' | 'cancelled' };
      harnessFor(run.environment);
      // Before any sandbox exists: a run whose credentials are missing is the setup's fault.
      const missing = await missingSecrets(prisma, run.organizationId, run.environmentId, secretNamesOf(run));
      if (missing.length) throw new SetupError(`secret(s) ${missing.join(', ')} not found for this environment or organization: set them with \`simlab secret set\``);
      // The claim: this host's slot is the run's until its sandbox is destroyed.
      deps.slots?.hold(runId);
      return {
        hostQueue: deps.hostQueue,
        agentTimeoutSeconds: agentTimeoutSeconds(run.task, run.environment),
        setupTimeoutSeconds: run.task.initCommands.reduce((s, c) => s + c.timeoutSeconds, 0),
        evaluationTimeoutSeconds: evaluationBudgetSeconds(run.task.goals.flatMap((g) => g.criteria)),
        organizationId: run.organizationId,
        productId: run.productId,
        taskId: run.taskId,
        environmentId: run.environmentId,
        harness: run.environment.agent.harness,
        ...(run.environment.agent.harness === 'external' ? { idleTimeoutSeconds: run.environment.agent.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS } : {}),
      };
    },
    async transitionRun(input: TransitionInput): Promise<TransitionResult> {
      return transitionRun(prisma, input);
    },
    async startIteration(iterationId: string): Promise<IterationStart> {
      return startIteration(prisma, iterationId);
    },
    async listIterationRuns(input: { iterationId: string; after?: string; limit: number }): Promise<string[]> {
      return listIterationRuns(prisma, input);
    },
    async finishIteration(input: { iterationId: string; cancelled: boolean }): Promise<IterationStatus> {
      return finishIteration(prisma, input);
    },
    async cancelQueuedRuns(iterationId: string): Promise<number> {
      return cancelQueuedRuns(prisma, iterationId);
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
