/**
 * The activity factory: dependencies in, activities out. Activities come in two groups
 * because sandboxes live on one Docker host: database work may run on any worker
 * (shared task queue), sandbox work must run on the worker whose Docker host holds the
 * container (that worker's own task queue, named by `prepareRun`).
 */
import type Docker from 'dockerode';
import type Anthropic from '@anthropic-ai/sdk';
import { heartbeat } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { agentTimeoutSeconds } from '../domain/contract';
import { EnvironmentConfigError } from '../domain/errors';
import { isTerminal, type IterationStatus, type RunStatus } from '../domain/runStatus';
import { cancelQueuedRuns, transitionRun, type TransitionInput, type TransitionResult } from './runState';
import { loadRun } from './runPlan';
import { provisionSandbox, type ProvisionResult } from './provision';
import { runAgent, type AgentResult } from './agent';
import { evaluateRun } from './evaluate';
import { archiveSandbox, type ArchiveResult } from './archive';
import { destroySandboxes } from './sandbox';
import { finishIteration, listIterationRuns, startIteration } from './iterationState';

export interface ActivityDeps {
  prisma: PrismaClient;
  docker: Docker;
  /** Used by the claude harness and llm_judge criteria. */
  anthropic?: Anthropic;
  /** Identifies this worker's Docker host; sandbox activities are routed to `hostQueue`. */
  hostId: string;
  /** Labels this installation's sandboxes (infra/config deploymentId). */
  deploymentId: string;
  hostQueue: string;
  artifactsDir: string;
}

/** Small numbers the run workflow needs to set its activity timeouts; no task content. */
export interface RunPlan {
  hostQueue: string;
  agentTimeoutSeconds: number;
  setupTimeoutSeconds: number;
  evaluationTimeoutSeconds: number;
}

export function createRunActivities(deps: Pick<ActivityDeps, 'prisma' | 'hostQueue'>) {
  const { prisma } = deps;
  return {
    /**
     * Runs on whichever worker has capacity; that worker's Docker host becomes the run's
     * sandbox host. Refuses runs whose environment this build cannot execute.
     */
    async prepareRun(runId: string): Promise<RunPlan | { finished: 'completed' | 'failed' | 'cancelled' }> {
      const run = await loadRun(prisma, runId);
      if (isTerminal(run.status as RunStatus)) return { finished: run.status as 'completed' | 'failed' | 'cancelled' };
      if (run.environment.agent.harness !== 'command') {
        throw new EnvironmentConfigError(`agent harness '${run.environment.agent.harness}' is not available in this build yet`);
      }
      const setup = run.task.initCommands.reduce((s, c) => s + c.timeoutSeconds, 0);
      const evaluation = run.task.goals.flatMap((g) => g.criteria).reduce((s, c) => s + (c.timeoutSeconds ?? 300), 0);
      return {
        hostQueue: deps.hostQueue,
        agentTimeoutSeconds: agentTimeoutSeconds(run.task, run.environment),
        setupTimeoutSeconds: setup,
        evaluationTimeoutSeconds: evaluation,
      };
    },
    async transitionRun(input: TransitionInput): Promise<TransitionResult> {
      return transitionRun(prisma, input);
    },
    async startIteration(iterationId: string): Promise<void> {
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

/**
 * Heartbeats every few seconds while a sandbox step runs, so a slow Docker call is never
 * mistaken for a dead worker and a cancellation reaches the step promptly.
 */
async function steadyHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), 3000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function createSandboxActivities(deps: Pick<ActivityDeps, 'prisma' | 'docker' | 'hostId' | 'deploymentId' | 'artifactsDir'>) {
  const { prisma, docker } = deps;
  return {
    async provisionSandbox(runId: string): Promise<ProvisionResult> {
      return steadyHeartbeat(async () => provisionSandbox(deps, await loadRun(prisma, runId)));
    },
    async runAgent(runId: string): Promise<AgentResult> {
      return runAgent(deps, await loadRun(prisma, runId));
    },
    async evaluateRun(runId: string): Promise<{ score: number | null; passed: boolean | null }> {
      return steadyHeartbeat(async () => evaluateRun(deps, await loadRun(prisma, runId)));
    },
    async archiveSandbox(runId: string): Promise<ArchiveResult> {
      return steadyHeartbeat(() => archiveSandbox(deps, runId));
    },
    async destroySandbox(runId: string): Promise<number> {
      return steadyHeartbeat(async () => (await destroySandboxes(docker, { runId })).length);
    },
  };
}

export function createActivities(deps: ActivityDeps) {
  return { ...createRunActivities(deps), ...createSandboxActivities(deps) };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
export type SandboxActivities = ReturnType<typeof createSandboxActivities>;
