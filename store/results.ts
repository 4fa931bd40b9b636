/** A run's scored goals and criteria, written as one unit. */
import { Prisma, type PrismaClient } from '../prisma/client';
import { criterionResultOf, goalSummaryOf, type RunVerdict } from '../domain/scoring';
import { storable } from '../domain/text';

export async function saveVerdict(prisma: PrismaClient, runId: string, verdict: RunVerdict): Promise<void> {
  await prisma.$transaction(async (tx) => {
    // A retried evaluation replaces the previous attempt's rows rather than adding to them.
    await tx.goalResult.deleteMany({ where: { runId } });
    for (const [gi, g] of verdict.goals.entries()) {
      await tx.goalResult.create({
        data: {
          runId,
          index: gi,
          ...goalSummaryOf(g),
          criteria: {
            create: g.criteria.map((c, ci) => ({
              runId,
              index: ci,
              ...storable(criterionResultOf(c)),
              details: c.details === null ? Prisma.DbNull : (storable(c.details) as Prisma.InputJsonValue),
            })),
          },
        },
      });
    }
    await tx.run.update({ where: { id: runId }, data: { score: verdict.score, passed: verdict.passed } });
  });
}
