/** The JSON shapes the API returns. One function per object, so the CLI and the docs agree. */
import type { Environment, Task } from '../prisma/generated/client';
import type { PrismaClient } from '../prisma/client';
import { workflowUiLink, type TemporalSettings } from '../config';
import { criterionResultOf, goalSummaryOf } from '../domain/scoring';

export interface ViewContext {
  temporalUi: Pick<TemporalSettings, 'uiUrl' | 'namespace'>;
}

export function taskView(t: Task) {
  return {
    id: t.id,
    productId: t.productId,
    name: t.name,
    category: t.category,
    version: t.version,
    definition: t.definition,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    retired: t.retiredAt !== null,
    retiredAt: t.retiredAt?.toISOString() ?? null,
  };
}

export function environmentView(e: Environment) {
  return {
    id: e.id,
    productId: e.productId,
    name: e.name,
    enabled: e.enabled,
    version: e.version,
    definition: e.definition,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    retired: e.retiredAt !== null,
    retiredAt: e.retiredAt?.toISOString() ?? null,
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function verdictOf(r: { status: string; passed: boolean | null }): 'passed' | 'failed' | 'incomplete' | null {
  if (r.status !== 'completed') return null;
  return r.passed === true ? 'passed' : r.passed === false ? 'failed' : 'incomplete';
}

/** What a run list reads of each run: a page of runs, not a page of run details. */
export const RUN_SUMMARY_FIELDS = {
  id: true,
  status: true,
  iterationId: true,
  taskId: true,
  environmentId: true,
  variant: true,
  repeat: true,
  score: true,
  passed: true,
  failureCategory: true,
  createdAt: true,
  finishedAt: true,
} as const;

export function runSummaryView(r: {
  id: string;
  status: string;
  iterationId: string;
  taskId: string;
  environmentId: string;
  variant: string | null;
  repeat: number | null;
  score: number | null;
  passed: boolean | null;
  failureCategory: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}) {
  return {
    id: r.id,
    status: r.status,
    iterationId: r.iterationId,
    taskId: r.taskId,
    environmentId: r.environmentId,
    variant: r.variant,
    repeat: r.repeat,
    score: r.score,
    passed: r.passed,
    verdict: verdictOf(r),
    failureCategory: r.failureCategory,
    createdAt: r.createdAt.toISOString(),
    finishedAt: iso(r.finishedAt),
  };
}

/** Milliseconds per phase of the product documents: setup, agent, evaluation, archive and cleanup. */
function phaseDurations(inStatus: Record<string, number>) {
  return {
    setup: inStatus.creating_sandbox ?? null,
    agent: inStatus.running ?? null,
    evaluation: inStatus.evaluating ?? null,
    // From the end of evaluation to the final status: archiving and destroying the sandbox.
    archive: inStatus.analyzing ?? null,
  };
}

export async function runDetailView(prisma: PrismaClient, ctx: ViewContext, organizationId: string, runId: string) {
  const r = await prisma.run.findFirst({
    where: { id: runId, organizationId },
    include: {
      statusChanges: { orderBy: [{ at: 'asc' }, { id: 'asc' }] },
      goalResults: { orderBy: { index: 'asc' }, include: { criteria: { orderBy: { index: 'asc' } } } },
      task: { select: { name: true } },
      environment: { select: { name: true } },
      taskSnapshot: { select: { content: true } },
      environmentSnapshot: { select: { content: true } },
    },
  });
  if (!r) return null;
  const history = r.statusChanges.map((s) => ({ from: s.from, to: s.to, at: s.at.toISOString(), detail: s.detail }));
  // Time spent in each status: from entering it to entering the next one.
  const phases: Record<string, number> = {};
  for (let i = 0; i + 1 < r.statusChanges.length; i++) {
    const s = r.statusChanges[i]!;
    phases[s.to] = (phases[s.to] ?? 0) + (r.statusChanges[i + 1]!.at.getTime() - s.at.getTime());
  }
  return {
    ...runSummaryView(r),
    taskName: r.task.name,
    environmentName: r.environment.name,
    taskVersion: r.taskVersion,
    environmentVersion: r.environmentVersion,
    failure: r.failureCategory ? { category: r.failureCategory, message: r.failureMessage } : null,
    // Asked to cancel and still cleaning up: shown at once, whatever the sandbox holds.
    cancelling: r.cancelRequestedAt !== null && !['completed', 'failed', 'cancelled'].includes(r.status),
    cancelRequestedAt: iso(r.cancelRequestedAt),
    agent: {
      exitCode: r.agentExitCode,
      timedOut: r.agentTimedOut,
      durationMs: r.agentDurationMs,
      stopReason: r.agentStopReason,
      outputExcerpt: r.agentOutputExcerpt,
    },
    // Null where the harness does not report a figure: unknown, not 0.
    usage: {
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      cacheReadTokens: r.cacheReadTokens,
      cacheWriteTokens: r.cacheWriteTokens,
      turns: r.agentTurns,
      toolCalls: r.toolCalls,
      costUsd: r.costUsd,
      phases: phaseDurations(phases),
    },
    changes: r.changes ?? null,
    goals: r.goalResults.map((g) => ({ ...goalSummaryOf(g), criteria: g.criteria.map(criterionResultOf) })),
    statusHistory: history,
    timings: {
      createdAt: r.createdAt.toISOString(),
      startedAt: iso(r.startedAt),
      finishedAt: iso(r.finishedAt),
      durationMs: r.startedAt && r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
      phasesMs: phases,
    },
    // Artifacts are read through the API from the artifact store; where they sit is not the caller's business.
    artifacts: {
      transcript: { url: `/v1/runs/${r.id}/artifacts/transcript` },
      events: { url: `/v1/runs/${r.id}/events` },
      agentLog: r.agentLogKey ? { url: `/v1/runs/${r.id}/artifacts/agent-log` } : null,
      archive: r.archiveKey ? { url: `/v1/runs/${r.id}/artifacts/archive`, bytes: r.archiveBytes, sha256: r.archiveSha256 } : null,
      archiveNote: r.archiveNote,
    },
    temporal: { workflowId: r.workflowId, url: workflowUiLink(ctx.temporalUi, r.workflowId) },
    snapshots: { task: r.taskSnapshot.content, environment: r.environmentSnapshot.content },
  };
}
