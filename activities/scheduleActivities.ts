/**
 * The activity a schedule's workflow runs: the experiment's next iteration, created by the
 * same planning (api/launch.ts) and store code as an iteration a person triggers, with the
 * schedule as its origin. Idempotent per scheduled start (its launch key).
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import { Prisma, type PrismaClient } from '../prisma/client';
import { createExperimentIteration } from '../store/iterations';
import { findExperiment } from '../store/experiments';
import { experimentVariants, planExperimentIteration } from '../api/launch';
import { WireFailure } from '../domain/wire';

export interface LaunchedIteration {
  iterationId: string;
  number: number;
  organizationId: string;
  productId: string;
  maxConcurrentRuns: number;
}

export function createScheduleActivities(deps: { prisma: PrismaClient; maxConcurrentRuns: number }) {
  const { prisma } = deps;
  const launched = (it: { id: string; number: number; organizationId: string; productId: string }): LaunchedIteration => ({
    iterationId: it.id,
    number: it.number,
    organizationId: it.organizationId,
    productId: it.productId,
    maxConcurrentRuns: deps.maxConcurrentRuns,
  });
  const byKey = (launchKey: string) => prisma.iteration.findUnique({ where: { launchKey } });

  return {
    async launchScheduledIteration(input: { scheduleId: string; experimentId: string; launchKey: string }): Promise<LaunchedIteration | { iterationId: null; skipped: string }> {
      const done = await byKey(input.launchKey);
      if (done) return launched(done);
      // The row is simlab's record that the schedule exists: a schedule deleted here whose
      // Temporal side outlived it (a failed delete) starts nothing.
      const schedule = await prisma.experimentSchedule.findUnique({ where: { id: input.scheduleId } });
      if (!schedule || schedule.experimentId !== input.experimentId) {
        log.warn('scheduled start skipped: the schedule no longer exists', { scheduleId: input.scheduleId });
        return { iterationId: null, skipped: `schedule ${input.scheduleId} no longer exists` };
      }
      const experiment = await findExperiment(prisma, schedule.organizationId, schedule.experimentId);
      if (!experiment) return { iterationId: null, skipped: `experiment ${schedule.experimentId} no longer exists` };
      let specs;
      try {
        specs = await planExperimentIteration(prisma, { organizationId: schedule.organizationId, experiment, variants: experimentVariants(experiment), repeats: experiment.repeats });
      } catch (err) {
        // An experiment with nothing to run, or too much: the same refusal a person gets, and no retry changes it.
        if (err instanceof WireFailure && err.status < 500) throw ApplicationFailure.nonRetryable(err.message, 'ScheduledLaunchRefused');
        throw err;
      }
      try {
        const it = await createExperimentIteration(prisma, {
          organizationId: schedule.organizationId,
          productId: experiment.productId,
          experimentId: experiment.id,
          specs,
          origin: { kind: 'schedule', id: schedule.id },
          launchKey: input.launchKey,
        });
        return launched({ id: it.iterationId, number: it.number, organizationId: schedule.organizationId, productId: experiment.productId });
      } catch (err) {
        // An earlier attempt committed just before it was lost: its iteration is the one.
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          const again = await byKey(input.launchKey);
          if (again) return launched(again);
        }
        throw err;
      }
    },
  };
}

export type ScheduleActivities = ReturnType<typeof createScheduleActivities>;
