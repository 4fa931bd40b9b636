/**
 * The one place where a run's status changes. Each transition is checked against the
 * lifecycle (domain/runLifecycle), written with its time, and is idempotent so that an
 * activity retry never records a step twice.
 */
import type { PrismaClient } from '../prisma/client';
import { RUN_STATUSES, canTransition, isTerminal, type FailureCategory, type RunStatus } from '../domain/runLifecycle';
import { RunStateError } from '../domain/errors';
import { storable } from '../domain/text';

export interface TransitionInput {
  runId: string;
  to: RunStatus;
  detail?: string;
  failure?: { category: FailureCategory; message: string };
}

export interface TransitionResult {
  from: RunStatus;
  to: RunStatus;
  /** False when the run already had that status (a retried activity). */
  changed: boolean;
}

/** What asking a run in `from` to go to `to` does, as the lifecycle says. */
function outcome(from: RunStatus, to: RunStatus): 'unchanged' | 'standing' | 'illegal' | 'write' {
  if (from === to) return 'unchanged';
  // A run keeps its first ending: a late second one (a cancel racing the run's own
  // failure) is not an error, and the caller learns which ending stands.
  if (isTerminal(from) && isTerminal(to)) return 'standing';
  return canTransition(from, to) ? 'write' : 'illegal';
}

/**
 * How many times a transition reads the status again after losing a race. Each lost race
 * means another status change was committed in between, and the lifecycle only moves
 * forward, so a run can make a transition lose at most RUN_STATUSES.length - 1 times.
 */
const ATTEMPTS = RUN_STATUSES.length;

/**
 * One statement, one round trip, atomic without a transaction: it reads the status, and
 * when the lifecycle allows the move from it (the statuses `allowed`, computed here by
 * canTransition) it updates the run, inserts the history row and the transcript's status
 * event, numbered by the run's event counter exactly as transcript/store.ts numbers an
 * append (the UPDATE holds the row lock, so concurrent writers number after it): never a
 * status row without its event, or the reverse. The UPDATE only applies to the status
 * that was read: when another transition committed in between, it writes nothing and the
 * caller decides again on the new status.
 */
export async function transitionRun(prisma: PrismaClient, raw: TransitionInput): Promise<TransitionResult> {
  // Failure messages quote output (an init command's, a checker's): storable, always.
  const input = storable(raw);
  const { runId, to } = input;
  const allowed = RUN_STATUSES.filter((s) => outcome(s, to) === 'write');
  const message = input.failure ? input.failure.message.slice(0, 4000) : null;
  const detail = input.detail ?? message;
  const eventData = JSON.stringify(storable({ ...(input.detail ? { detail: input.detail } : {}), ...(input.failure ? { failure: input.failure } : {}) }));
  for (let attempt = 1; ; attempt++) {
    // Times as Prisma wrote them (this process's clock, in UTC), the same for every row.
    const at = new Date().toISOString();
    const [row] = await prisma.$queryRaw<{ from: string; changed: boolean }[]>`
      WITH cur AS (
        SELECT "status" FROM "Run" WHERE "id" = ${runId}::text
      ), upd AS (
        UPDATE "Run" SET
          "status" = ${to}::text,
          "startedAt" = CASE WHEN "status" = 'queued' THEN ${at}::timestamptz AT TIME ZONE 'UTC' ELSE "startedAt" END,
          "finishedAt" = COALESCE(${isTerminal(to) ? at : null}::timestamptz AT TIME ZONE 'UTC', "finishedAt"),
          "failureCategory" = COALESCE(${input.failure?.category ?? null}::text, "failureCategory"),
          "failureMessage" = COALESCE(${message}::text, "failureMessage"),
          "eventCount" = "eventCount" + 1
        WHERE "id" = ${runId}::text AND "status" = (SELECT "status" FROM cur) AND "status" = ANY(${allowed}::text[])
        RETURNING "eventCount"
      ), change AS (
        INSERT INTO "RunStatusChange" ("runId", "from", "to", "at", "detail")
        SELECT ${runId}::text, cur."status", ${to}::text, ${at}::timestamptz AT TIME ZONE 'UTC', ${detail}::text FROM upd, cur
      ), event AS (
        INSERT INTO "RunEvent" ("runId", "seq", "at", "type", "data")
        SELECT ${runId}::text, upd."eventCount", ${at}::timestamptz AT TIME ZONE 'UTC', 'status',
               jsonb_build_object('from', cur."status", 'to', ${to}::text) || ${eventData}::jsonb
        FROM upd, cur
      )
      SELECT cur."status" AS "from", EXISTS (SELECT 1 FROM upd) AS "changed" FROM cur`;
    if (!row) throw new RunStateError(`run ${runId} does not exist`);
    const from = row.from as RunStatus;
    if (row.changed) return { from, to, changed: true };
    switch (outcome(from, to)) {
      case 'unchanged':
        return { from, to, changed: false };
      case 'standing':
        return { from, to: from, changed: false };
      case 'illegal':
        throw new RunStateError(`run ${runId} cannot go from ${from} to ${to}`);
      case 'write':
        // The status moved between the statement's read and its row lock: read it again.
        if (attempt >= ATTEMPTS) throw new Error(`run ${runId} changed concurrently; retrying`);
    }
  }
}

/**
 * Ends, in one statement, every run of an iteration that never started (the iteration
 * was cancelled first): they go from queued to cancelled, each with its history row and
 * its transcript's status event, numbered by its event counter as transitionRun numbers
 * one. Set-based because an iteration may hold 10,000 queued runs: a statement per run
 * inside a transaction outlived the transaction's timeout, so the cancel retried forever.
 * Only rows still queued when the UPDATE locks them change; a run that started meanwhile
 * is its own workflow's to end.
 */
export async function cancelQueuedRuns(prisma: PrismaClient, iterationId: string): Promise<number> {
  const message = 'the iteration was cancelled before this run started';
  const at = new Date().toISOString();
  const eventData = JSON.stringify(storable({ from: 'queued', to: 'cancelled', failure: { category: 'cancelled', message } }));
  const [row] = await prisma.$queryRaw<{ count: number }[]>`
    WITH upd AS (
      UPDATE "Run" SET
        "status" = 'cancelled',
        "finishedAt" = ${at}::timestamptz AT TIME ZONE 'UTC',
        "failureCategory" = 'cancelled',
        "failureMessage" = ${message}::text,
        "eventCount" = "eventCount" + 1
      WHERE "iterationId" = ${iterationId}::text AND "status" = 'queued'
      RETURNING "id", "eventCount"
    ), change AS (
      INSERT INTO "RunStatusChange" ("runId", "from", "to", "at", "detail")
      SELECT upd."id", 'queued', 'cancelled', ${at}::timestamptz AT TIME ZONE 'UTC', ${message}::text FROM upd
    ), event AS (
      INSERT INTO "RunEvent" ("runId", "seq", "at", "type", "data")
      SELECT upd."id", upd."eventCount", ${at}::timestamptz AT TIME ZONE 'UTC', 'status', ${eventData}::jsonb FROM upd
    )
    SELECT count(*)::int AS "count" FROM upd`;
  return row?.count ?? 0;
}
