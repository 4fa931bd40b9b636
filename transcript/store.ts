/**
 * Transcript events in the database. Sequence numbers come from a counter on the run,
 * incremented by the statement that inserts the events: the run's row lock orders
 * concurrent writers (the workflow's status changes, the agent step's output), so every
 * run's events are numbered 1, 2, 3 … without gaps or duplicates.
 */
import type { Prisma, PrismaClient } from '../prisma/client';
import type { NewEvent, TranscriptEvent, TranscriptWriter, EventType } from './types';
import { storable } from '../domain/text';

type Tx = Prisma.TransactionClient;

/**
 * One statement, one round trip: the counter's increment and the inserts are atomic without
 * a transaction of their own, and within the caller's when it holds one. The UPDATE takes the
 * run's row lock first, so a concurrent writer waits and then numbers after these events.
 * Times are set here, as Prisma set a column's now() default (by this process's clock, in
 * UTC): an event without one gets the time of its append.
 */
async function insertEvents(db: Pick<PrismaClient, '$executeRaw'> | Tx, runId: string, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const now = new Date();
  const types = events.map((e) => e.type);
  const ats = events.map((e) => (e.at ?? now).toISOString());
  const data = events.map((e) => JSON.stringify(storable(e.data)));
  const inserted = await db.$executeRaw`
    WITH c AS (
      UPDATE "Run" SET "eventCount" = "eventCount" + ${events.length}::int WHERE "id" = ${runId}::text RETURNING "eventCount"
    )
    INSERT INTO "RunEvent" ("runId", "seq", "at", "type", "data")
    SELECT ${runId}::text, c."eventCount" - ${events.length}::int + e.ord::int, e.at::timestamptz AT TIME ZONE 'UTC', e.type, e.data::jsonb
    FROM c, unnest(${types}::text[], ${ats}::text[], ${data}::text[]) WITH ORDINALITY AS e(type, at, data, ord)`;
  // No such run: no row to update, so nothing was inserted. An error, as Prisma's update() threw one.
  if (inserted !== events.length) throw new Error(`run ${runId} does not exist: its transcript events were not recorded`);
}

/** Inserts events within a transaction the caller already holds: they commit or roll back with the caller's writes. */
export async function appendEventsTx(tx: Tx, runId: string, events: NewEvent[]): Promise<void> {
  await insertEvents(tx, runId, events);
}

export function transcriptWriter(prisma: PrismaClient, runId: string): TranscriptWriter {
  return {
    append: (...events) => insertEvents(prisma, runId, events),
  };
}

export async function readEvents(prisma: PrismaClient, runId: string, opts: { after?: number; limit: number; types?: EventType[] }): Promise<TranscriptEvent[]> {
  const rows = await prisma.runEvent.findMany({
    where: { runId, ...(opts.after ? { seq: { gt: opts.after } } : {}), ...(opts.types ? { type: { in: opts.types } } : {}) },
    orderBy: { seq: 'asc' },
    take: opts.limit,
  });
  return rows.map((r) => ({ seq: r.seq, at: r.at.toISOString(), type: r.type as EventType, data: r.data as Record<string, unknown> }));
}

/** How far the agent's streamed output got: where a resumed agent step continues reading. */
export async function streamedOutputBytes(prisma: PrismaClient, runId: string): Promise<number> {
  const last = await prisma.runEvent.findFirst({ where: { runId, type: 'command_output' }, orderBy: { seq: 'desc' }, select: { data: true } });
  const d = last?.data as { offset?: number; bytes?: number } | undefined;
  return d?.offset !== undefined && d.bytes !== undefined ? d.offset + d.bytes : 0;
}
