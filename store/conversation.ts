/** The claude harness's conversation in the database (AgentTurn, AgentToolCall). */
import { Prisma, type PrismaClient } from '../prisma/client';
import type { ConversationStore, StoredToolCall } from '../harnesses/conversation';
import { storable } from '../domain/text';

/**
 * `redact`: the run's secrets out of what is stored (a resumed conversation then shows the
 * model `[secret:NAME]`, which is what it would have seen in any transcript).
 */
export function conversationStore(prisma: PrismaClient, runId: string, redact: <T>(v: T) => T = (v) => v): ConversationStore {
  const clean = <T>(v: T): T => storable(redact(v));
  const json = (v: unknown) => (v === null || v === undefined ? Prisma.DbNull : (clean(v) as Prisma.InputJsonValue));
  return {
    async turns() {
      const rows = await prisma.agentTurn.findMany({ where: { runId }, orderBy: { index: 'asc' } });
      return rows.map((r) => ({ index: r.index, assistant: r.assistant, reply: r.reply, usage: r.usage as Record<string, number> }));
    },
    async saveTurn(t) {
      // Idempotent: a retried save of the same turn keeps the first.
      await prisma.agentTurn.upsert({
        where: { runId_index: { runId, index: t.index } },
        create: { runId, index: t.index, assistant: clean(t.assistant) as Prisma.InputJsonValue, reply: json(t.reply), usage: t.usage },
        update: {},
      });
    },
    async beginToolCall(c) {
      const existing = await prisma.agentToolCall.findUnique({ where: { runId_toolUseId: { runId, toolUseId: c.toolUseId } } });
      if (existing) return { ...existing, status: existing.status as StoredToolCall['status'] };
      try {
        await prisma.agentToolCall.create({ data: { runId, toolUseId: c.toolUseId, turn: c.turn, name: c.name, input: clean(c.input) as Prisma.InputJsonValue, status: 'started' } });
        return null;
      } catch (err) {
        if ((err as { code?: string }).code !== 'P2002') throw err;
        const row = await prisma.agentToolCall.findUniqueOrThrow({ where: { runId_toolUseId: { runId, toolUseId: c.toolUseId } } });
        return { ...row, status: row.status as StoredToolCall['status'] };
      }
    },
    async finishToolCall(toolUseId, status, result) {
      await prisma.agentToolCall.update({ where: { runId_toolUseId: { runId, toolUseId } }, data: { status, result: json(result), finishedAt: new Date() } });
    },
  };
}
