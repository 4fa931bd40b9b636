/**
 * A run's record apart from its status (which changes only in store/runStatus): loading
 * it with its frozen snapshots (from store/snapshots' cache), and writing down what each
 * step learned.
 */
import type { Prisma, PrismaClient } from '../prisma/client';
import type { EnvironmentDefinition, TaskDefinition } from '../domain/contract';
import { RunStateError } from '../domain/errors';
import { storable } from '../domain/text';
import type { RunStatus } from '../domain/runLifecycle';
import type { ArtifactInfo } from '../artifacts';
import { snapshotContents } from './snapshots';

export interface RunRecord {
  id: string;
  iterationId: string;
  organizationId: string;
  productId: string;
  taskId: string;
  environmentId: string;
  status: RunStatus;
  /** Set when someone asked to cancel the run (its cleanup is then kept brief). */
  cancelRequestedAt: Date | null;
  task: TaskDefinition;
  environment: EnvironmentDefinition;
}

export async function loadRun(prisma: PrismaClient, runId: string): Promise<RunRecord> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    select: {
      id: true,
      iterationId: true,
      organizationId: true,
      productId: true,
      taskId: true,
      environmentId: true,
      status: true,
      cancelRequestedAt: true,
      taskSnapshotHash: true,
      environmentSnapshotHash: true,
    },
  });
  if (!run) throw new RunStateError(`run ${runId} does not exist`);
  // Snapshots are immutable and content-addressed: after a worker's first run of a task and
  // environment, every step of every run that uses them reads them from memory.
  const [task, environment] = await snapshotContents(prisma, [run.taskSnapshotHash, run.environmentSnapshotHash]);
  return {
    id: run.id,
    iterationId: run.iterationId,
    organizationId: run.organizationId,
    productId: run.productId,
    taskId: run.taskId,
    environmentId: run.environmentId,
    status: run.status as RunStatus,
    cancelRequestedAt: run.cancelRequestedAt,
    task: task as TaskDefinition,
    environment: environment as EnvironmentDefinition,
  };
}

export async function recordSandbox(prisma: PrismaClient, runId: string, s: { containerId: string; hostId: string }): Promise<void> {
  await prisma.run.update({ where: { id: runId }, data: { containerId: s.containerId, sandboxHost: s.hostId } });
}

export interface AgentProcess {
  processId: string;
  startedAt: Date;
}

export async function readAgentProcess(prisma: PrismaClient, runId: string): Promise<AgentProcess | null> {
  const r = await prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { agentExecId: true, agentStartedAt: true } });
  return r.agentExecId && r.agentStartedAt ? { processId: r.agentExecId, startedAt: r.agentStartedAt } : null;
}

/** Only one attempt may record its agent process; false when another already has. */
export async function claimAgentProcess(prisma: PrismaClient, runId: string, p: AgentProcess): Promise<boolean> {
  const claimed = await prisma.run.updateMany({ where: { id: runId, agentExecId: null }, data: { agentExecId: p.processId, agentStartedAt: p.startedAt } });
  return claimed.count === 1;
}

export interface AgentOutcome {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  outputExcerpt: string;
  log: ArtifactInfo | null;
  usage?: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; turns: number; toolCalls: number; costUsd: number | null };
  stopReason: string;
}

export async function recordAgentOutcome(prisma: PrismaClient, runId: string, o: AgentOutcome): Promise<void> {
  await prisma.run.update({
    where: { id: runId },
    data: {
      agentExitCode: o.exitCode,
      agentTimedOut: o.timedOut,
      agentDurationMs: o.durationMs,
      agentOutputExcerpt: storable(o.outputExcerpt),
      agentLogKey: o.log?.key ?? null,
      agentStopReason: o.stopReason,
      ...(o.usage
        ? {
            inputTokens: o.usage.inputTokens,
            outputTokens: o.usage.outputTokens,
            cacheReadTokens: o.usage.cacheReadTokens,
            cacheWriteTokens: o.usage.cacheWriteTokens,
            agentTurns: o.usage.turns,
            toolCalls: o.usage.toolCalls,
            costUsd: o.usage.costUsd,
          }
        : {}),
    },
  });
}

export async function recordChanges(prisma: PrismaClient, runId: string, changes: object): Promise<void> {
  await prisma.run.update({ where: { id: runId }, data: { changes: changes as Prisma.InputJsonValue } });
}

export async function recordArchive(prisma: PrismaClient, runId: string, a: ArtifactInfo): Promise<void> {
  await prisma.run.update({ where: { id: runId }, data: { archiveKey: a.key, archiveBytes: a.bytes, archiveSha256: a.sha256 } });
}

/** What is known of a run when it is evaluated; null where its harness cannot say. */
export interface RunMetrics {
  agentExitCode: number | null;
  agentDurationMs: number | null;
  /** From the sandbox's creation to now (evaluation), in milliseconds. */
  runDurationMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  agentTurns: number | null;
  toolCalls: number | null;
}

export async function loadRunMetrics(prisma: PrismaClient, runId: string): Promise<RunMetrics> {
  const r = await prisma.run.findUniqueOrThrow({
    where: { id: runId },
    select: { agentExitCode: true, agentDurationMs: true, startedAt: true, inputTokens: true, outputTokens: true, costUsd: true, agentTurns: true, toolCalls: true },
  });
  return {
    agentExitCode: r.agentExitCode,
    agentDurationMs: r.agentDurationMs,
    runDurationMs: r.startedAt ? Date.now() - r.startedAt.getTime() : null,
    // Null unless the harness reported usage (a plain command reports none).
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    costUsd: r.costUsd,
    agentTurns: r.agentTurns,
    toolCalls: r.toolCalls,
  };
}
