/**
 * The database side of the analysis: what a finished run's analysis reads (RunFacts), the
 * signal config each iteration froze, each run's analysis, and each iteration's frozen
 * results document. Analyses and results are inserted once (a retried activity finds the
 * row and keeps it); triggers refuse updates.
 */
import { createHash } from 'node:crypto';
import type { Prisma, PrismaClient } from '../prisma/client';
import type { RunFacts, RunAnalysisDocument } from '../analysis/types';
import type { TranscriptEvent, EventType } from '../transcript/types';
import { snapshotContents } from './snapshots';

/** Beyond this many events a transcript is read from its start only (the analysis says so). */
export const MAX_ANALYSED_EVENTS = 20_000;

export async function loadRunFacts(prisma: PrismaClient, runId: string): Promise<RunFacts | null> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    include: { goalResults: { orderBy: { index: 'asc' }, include: { criteria: { orderBy: { index: 'asc' } } } } },
  });
  if (!run) return null;
  // Immutable, content-addressed: usually from store/snapshots' cache, without a query.
  const [taskContent, envContent] = await snapshotContents(prisma, [run.taskSnapshotHash, run.environmentSnapshotHash]);
  const events = await prisma.runEvent.findMany({ where: { runId }, orderBy: { seq: 'asc' }, take: MAX_ANALYSED_EVENTS });
  const env = envContent as { agent?: { harness?: string; command?: string } };
  const task = taskContent as { prompt?: string };
  return {
    runId: run.id,
    iterationId: run.iterationId,
    taskId: run.taskId,
    environmentId: run.environmentId,
    variant: run.variant,
    repeat: run.repeat,
    status: run.status,
    score: run.score,
    passed: run.passed,
    failureCategory: run.failureCategory,
    failureMessage: run.failureMessage,
    agentExitCode: run.agentExitCode,
    agentTimedOut: run.agentTimedOut,
    agentStopReason: run.agentStopReason,
    agentDurationMs: run.agentDurationMs,
    runDurationMs: run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
    inputTokens: run.inputTokens,
    outputTokens: run.outputTokens,
    costUsd: run.costUsd,
    agentTurns: run.agentTurns,
    toolCalls: run.toolCalls,
    agentCommand: env.agent?.harness === 'command' && typeof env.agent.command === 'string' ? env.agent.command : null,
    taskPrompt: task.prompt ?? '',
    criteria: run.goalResults.flatMap((g) =>
      g.criteria.map((c) => ({ goal: g.name, name: c.name, evaluationType: c.evaluationType, status: c.status, score: c.score, maxScore: c.maxScore, passed: c.passed, evidence: c.evidence })),
    ),
    events: events.map((e): TranscriptEvent => ({ seq: e.seq, at: e.at.toISOString(), type: e.type as EventType, data: e.data as Record<string, unknown> })),
  };
}

/** Freezes the experiment's current signal config for the iteration, unless it already froze one. */
export async function freezeSignalConfig(prisma: PrismaClient, iterationId: string): Promise<void> {
  const it = await prisma.iteration.findUnique({ where: { id: iterationId }, select: { experiment: { select: { signalConfig: true } } } });
  if (!it) return;
  await prisma.iterationSignalConfig.createMany({ data: { iterationId, text: it.experiment?.signalConfig ?? null }, skipDuplicates: true });
}

/** The signal config text the iteration froze (freezing it now if it was launched without). */
export async function frozenSignalConfig(prisma: PrismaClient, iterationId: string): Promise<string | null> {
  let row = await prisma.iterationSignalConfig.findUnique({ where: { iterationId } });
  if (!row) {
    await freezeSignalConfig(prisma, iterationId);
    row = await prisma.iterationSignalConfig.findUnique({ where: { iterationId } });
  }
  return row?.text ?? null;
}

export async function findRunAnalysis(prisma: PrismaClient, runId: string): Promise<RunAnalysisDocument | null> {
  const row = await prisma.runAnalysis.findUnique({ where: { runId } });
  return row ? (row.document as unknown as RunAnalysisDocument) : null;
}

/** Inserts the analysis unless the run has one; returns the one stored. */
export async function saveRunAnalysis(prisma: PrismaClient, iterationId: string, doc: RunAnalysisDocument): Promise<RunAnalysisDocument> {
  const status = doc.problems.length ? 'partial' : 'analysed';
  // The row as stored, in the insert's own round trip; read only when another attempt's was there first.
  const [inserted] = await prisma.runAnalysis.createManyAndReturn({
    data: { runId: doc.runId, iterationId, status, document: doc as unknown as Prisma.InputJsonValue },
    skipDuplicates: true,
    select: { document: true },
  });
  return inserted ? (inserted.document as unknown as RunAnalysisDocument) : (await findRunAnalysis(prisma, doc.runId))!;
}

export async function iterationAnalyses(prisma: PrismaClient, iterationId: string, runIds?: string[]): Promise<Map<string, RunAnalysisDocument>> {
  const out = new Map<string, RunAnalysisDocument>();
  let after: string | undefined;
  for (;;) {
    const rows = await prisma.runAnalysis.findMany({
      where: { iterationId, ...(runIds ? { runId: { in: runIds } } : {}), ...(after ? { runId: { gt: after, ...(runIds ? { in: runIds } : {}) } } : {}) },
      orderBy: { runId: 'asc' },
      take: 1000,
    });
    for (const r of rows) out.set(r.runId, r.document as unknown as RunAnalysisDocument);
    if (rows.length < 1000) return out;
    after = rows[rows.length - 1]!.runId;
  }
}

/**
 * Per iteration, how many of a task's runs have an analysis and how often each friction kind
 * occurs in them: counted by the database, so a task's history does not load the analysis
 * documents of every run of its last iterations (10,000 of them per iteration at scale).
 */
export async function frictionByIteration(
  prisma: PrismaClient,
  taskId: string,
  iterationIds: string[],
): Promise<Map<string, { analysedRuns: number; frictionKinds: Record<string, number> }>> {
  const out = new Map<string, { analysedRuns: number; frictionKinds: Record<string, number> }>();
  if (iterationIds.length === 0) return out;
  const [analysed, kinds] = await Promise.all([
    prisma.$queryRaw<{ iterationId: string; n: number }[]>`
      SELECT ra."iterationId", count(*)::int AS "n"
      FROM "RunAnalysis" ra JOIN "Run" r ON r."id" = ra."runId"
      WHERE ra."iterationId" = ANY(${iterationIds}::text[]) AND r."taskId" = ${taskId}::text
      GROUP BY ra."iterationId"`,
    prisma.$queryRaw<{ iterationId: string; kind: string; n: number }[]>`
      SELECT ra."iterationId", p.point->>'kind' AS "kind", count(*)::int AS "n"
      FROM "RunAnalysis" ra JOIN "Run" r ON r."id" = ra."runId"
      CROSS JOIN LATERAL jsonb_array_elements(COALESCE(ra."document"->'friction'->'points', '[]'::jsonb)) AS p(point)
      WHERE ra."iterationId" = ANY(${iterationIds}::text[]) AND r."taskId" = ${taskId}::text
      GROUP BY ra."iterationId", p.point->>'kind'
      ORDER BY ra."iterationId", "n" DESC, "kind"`,
  ]);
  for (const row of analysed) out.set(row.iterationId, { analysedRuns: row.n, frictionKinds: {} });
  for (const row of kinds) {
    const entry = out.get(row.iterationId);
    if (entry && row.kind !== null) entry.frictionKinds[row.kind] = row.n;
  }
  return out;
}

export interface StoredResults {
  iterationId: string;
  number: number;
  document: string;
  sha256: string;
}

/** Stores the results text unless the iteration has results; returns the text stored (the first wins). */
export async function saveIterationResult(prisma: PrismaClient, input: { iterationId: string; experimentId: string | null; number: number; document: string }): Promise<StoredResults> {
  const sha256 = createHash('sha256').update(input.document).digest('hex');
  const [inserted] = await prisma.iterationResult.createManyAndReturn({
    data: { ...input, sha256 },
    skipDuplicates: true,
    select: { iterationId: true, number: true, document: true, sha256: true },
  });
  return inserted ?? (await findIterationResult(prisma, input.iterationId))!;
}

export async function findIterationResult(prisma: PrismaClient, iterationId: string): Promise<StoredResults | null> {
  return prisma.iterationResult.findUnique({ where: { iterationId }, select: { iterationId: true, number: true, document: true, sha256: true } });
}

/** The latest results of the experiment before iteration `number`: whose cluster names live on. */
export async function previousIterationResult(prisma: PrismaClient, experimentId: string, number: number): Promise<StoredResults | null> {
  return prisma.iterationResult.findFirst({
    where: { experimentId, number: { lt: number } },
    orderBy: { number: 'desc' },
    select: { iterationId: true, number: true, document: true, sha256: true },
  });
}
