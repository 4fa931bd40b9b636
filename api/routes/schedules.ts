/**
 * An experiment's schedules: `POST /experiments/:id/schedules` { cron, timezone? }, list,
 * get, pause, resume, trigger, delete. Temporal owns each schedule; the database row
 * lists it and scopes it to the organization, so another organization's is a 404.
 */
import { Router } from 'express';
import { ScheduleNotFoundError } from '@temporalio/client';
import { Prisma, type PrismaClient } from '../../prisma/client';
import type { ExperimentSchedule } from '../../prisma/generated/client';
import { findExperiment } from '../../store/experiments';
import { cronViolations, timezoneViolations } from '../../schedules/cron';
import { scheduleIdFor, temporalScheduleId } from '../../schedules/ids';
import {
  CATCHUP_WINDOW,
  createTemporalSchedule,
  deleteTemporalSchedule,
  describeTemporalSchedule,
  pauseTemporalSchedule,
  resumeTemporalSchedule,
  triggerTemporalSchedule,
  type ScheduleState,
} from '../../schedules/temporalSchedules';
import { principal } from '../auth';
import { HttpError, invalid, notFound } from '../errors';
import { onlyFields } from '../inputGuard';
import type { ApiDeps } from '../app';

const DEFAULT_TIMEZONE = 'UTC';
/** Plenty for nightly, weekly and per-branch schedules; a bound keeps listing (one describe each) cheap. */
const MAX_SCHEDULES_PER_EXPERIMENT = 20;

/** The caller's experiment; another organization's is simply not found. */
export async function experimentOrNotFound(prisma: PrismaClient, organizationId: string, id: string) {
  const e = await findExperiment(prisma, organizationId, id);
  if (!e) throw notFound('experiment', id);
  return e;
}

function scheduleView(s: ExperimentSchedule, state: ScheduleState | null) {
  return {
    id: s.id,
    experimentId: s.experimentId,
    cron: s.cron,
    timezone: s.timezone,
    // null: Temporal has lost it (recreate it with the same cron and time zone).
    paused: state ? state.paused : null,
    note: state?.note ?? null,
    nextRunAt: state?.nextRunAt ?? null,
    lastRunAt: state?.lastRunAt ?? null,
    running: state?.running ?? false,
    actionsTaken: state?.actionsTaken ?? 0,
    skippedOverlap: state?.skippedOverlap ?? 0,
    overlapPolicy: 'skip',
    catchupWindow: CATCHUP_WINDOW,
    temporalScheduleId: temporalScheduleId(s.id),
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
  };
}

export function scheduleRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma, temporal } = deps;

  const experimentOf = (organizationId: string, id: string) => experimentOrNotFound(prisma, organizationId, id);
  const scheduleOf = async (organizationId: string, experimentId: string, scheduleId: string) => {
    await experimentOf(organizationId, experimentId);
    const s = await prisma.experimentSchedule.findFirst({ where: { id: scheduleId, experimentId, organizationId } });
    if (!s) throw notFound(`schedule of experiment '${experimentId}'`, scheduleId);
    return s;
  };
  const lost = (s: ExperimentSchedule) =>
    new HttpError(409, 'schedule_missing_in_temporal', `Temporal has no schedule for '${s.id}'; delete it and create it again (same cron and time zone: same id)`);

  r.post('/experiments/:id/schedules', async (req, res) => {
    const { organizationId, apiKeyId } = principal(req);
    const e = await experimentOf(organizationId, req.params.id);
    const body = onlyFields(req.body, ['cron', 'timezone']);
    const timezone = body.timezone ?? DEFAULT_TIMEZONE;
    const violations = [...cronViolations(body.cron), ...timezoneViolations(timezone)];
    if (violations.length) throw invalid('schedule', violations);
    const cron = (body.cron as string).trim().split(/\s+/).join(' ');
    const id = scheduleIdFor({ experimentId: e.id, cron, timezone: timezone as string });
    const existing = await prisma.experimentSchedule.findUnique({ where: { id } });
    if (existing) {
      // A create that failed halfway (row written, Temporal not reached) is finished here.
      if (await describeTemporalSchedule(temporal, id)) throw new HttpError(409, 'schedule_exists', `experiment '${e.id}' already has schedule '${id}' (${cron}, ${timezone})`);
    } else {
      if ((await prisma.experimentSchedule.count({ where: { experimentId: e.id } })) >= MAX_SCHEDULES_PER_EXPERIMENT) {
        throw new HttpError(409, 'too_many_schedules', `experiment '${e.id}' already has ${MAX_SCHEDULES_PER_EXPERIMENT} schedules`);
      }
      try {
        await prisma.experimentSchedule.create({ data: { id, organizationId, experimentId: e.id, cron, timezone: timezone as string, createdBy: apiKeyId } });
      } catch (err) {
        if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
      }
    }
    const row = await prisma.experimentSchedule.findUniqueOrThrow({ where: { id } });
    try {
      await createTemporalSchedule(temporal, { scheduleId: id, organizationId, productId: e.productId, experimentId: e.id, cron, timezone: row.timezone, taskQueue: deps.taskQueue });
    } catch (err) {
      // Temporal's own check of the spec is the last word: its refusal is still the request's fault.
      if ((err as { code?: number }).code === 3 /* INVALID_ARGUMENT */) {
        await prisma.experimentSchedule.delete({ where: { id } }).catch(() => undefined);
        const pointer = /time ?zone|location/i.test((err as Error).message) ? '/timezone' : '/cron';
        throw invalid('schedule', [{ pointer, message: `refused by Temporal: ${(err as Error).message}` }]);
      }
      throw new HttpError(503, 'orchestrator_unavailable', `could not create the schedule in Temporal: ${(err as Error).message}; retry the same request`);
    }
    res.status(201).json(scheduleView(row, await describeTemporalSchedule(temporal, id)));
  });

  r.get('/experiments/:id/schedules', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await experimentOf(organizationId, req.params.id);
    const rows = await prisma.experimentSchedule.findMany({ where: { experimentId: e.id, organizationId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const states = await Promise.all(rows.map((s) => describeTemporalSchedule(temporal, s.id)));
    res.json({ items: rows.map((s, i) => scheduleView(s, states[i]!)) });
  });

  r.get('/experiments/:id/schedules/:scheduleId', async (req, res) => {
    const { organizationId } = principal(req);
    const s = await scheduleOf(organizationId, req.params.id, req.params.scheduleId);
    res.json(scheduleView(s, await describeTemporalSchedule(temporal, s.id)));
  });

  const actions: Record<string, (s: ExperimentSchedule, who: string) => Promise<void>> = {
    pause: (s, who) => pauseTemporalSchedule(temporal, s.id, `paused through simlab by ${who}`),
    resume: (s, who) => resumeTemporalSchedule(temporal, s.id, `resumed through simlab by ${who}`),
    trigger: async (s) => {
      const state = await describeTemporalSchedule(temporal, s.id);
      if (!state) throw lost(s);
      // The overlap policy would drop it silently; say so instead.
      if (state.running) throw new HttpError(409, 'iteration_running', `an iteration started by schedule '${s.id}' is still running; overlapping iterations are skipped`);
      await triggerTemporalSchedule(temporal, s.id);
    },
  };
  for (const [action, act] of Object.entries(actions)) {
    r.post(`/experiments/:id/schedules/:scheduleId/${action}`, async (req, res) => {
      const { organizationId, apiKeyId } = principal(req);
      onlyFields(req.body, []);
      const s = await scheduleOf(organizationId, req.params.id, req.params.scheduleId);
      try {
        await act(s, apiKeyId);
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) throw lost(s);
        throw err;
      }
      res.status(action === 'trigger' ? 202 : 200).json(scheduleView(s, await describeTemporalSchedule(temporal, s.id)));
    });
  }

  r.delete('/experiments/:id/schedules/:scheduleId', async (req, res) => {
    const { organizationId } = principal(req);
    const s = await scheduleOf(organizationId, req.params.id, req.params.scheduleId);
    // Temporal first: a row left behind by a failed delete can be deleted again; a Temporal
    // schedule left behind would keep starting workflows (which then start nothing).
    await deleteTemporalSchedule(temporal, s.id);
    await prisma.experimentSchedule.deleteMany({ where: { id: s.id } });
    res.json({ id: s.id, deleted: true });
  });

  return r;
}
