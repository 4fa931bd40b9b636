/**
 * Transcript events in the database. Sequence numbers come from a counter on the run,
 * incremented in the transaction that inserts the events: the run's row lock orders
 * concurrent writers (the workflow's status changes, the agent step's output), so every
 * run's events are numbered 1, 2, 3 … without gaps or duplicates.
 */
import { Prisma, type PrismaClient } from '../prisma/client';
import type { NewEvent, TranscriptEvent, TranscriptWriter, EventType } from './types';
import { storable } from '../domain/text';

type Tx = Prisma.TransactionClient;

/** Inserts events within a transaction the caller already holds (status changes use theirs). */
export async function appendEventsTx(tx: Tx, runId: string, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const { eventCount } = await tx.run.update({ where: { id: runId }, data: { eventCount: { increment: events.length } }, select: { eventCount: true } });
  const first = eventCount - events.length + 1;
  await tx.runEvent.createMany({
    data: events.map((e, i) => ({ runId, seq: first + i, type: e.type, data: storable(e.data) as Prisma.InputJsonValue, ...(e.at ? { at: e.at } : {}) })),
  });
}

export function transcriptWriter(prisma: PrismaClient, runId: string): TranscriptWriter {
  return {
    append: (...events) => prisma.$transaction((tx) => appendEventsTx(tx, runId, events)),
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
