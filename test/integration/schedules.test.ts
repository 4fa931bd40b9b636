/**
 * Nightly schedules on Temporal Schedules: created, listed, triggered (the iteration records
 * the schedule as its origin, and a second start while it runs is skipped), paused and
 * resumed (as Temporal describes them), deleted; bad cron and time zones are 400s naming
 * the field; another organization sees none of it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { startHarness, task, type Harness } from './harness';
import { cliFor, jsonCli } from './cli';
import { createOrganization } from '../../api/tenancy';
import { temporalScheduleId } from '../../schedules/ids';

let h: Harness;
let dir: string;
const simlab = cliFor(
  () => h,
  () => dir,
  () => ({ SIMLAB_PRODUCT: h.org.productSlug }),
);

beforeAll(async () => {
  h = await startHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-sched-'));
});
afterAll(async () => {
  // Whatever a failed assertion left: no schedule of this file may outlive it.
  const rows = await h?.prisma.experimentSchedule.findMany({ where: { organizationId: h.org.organizationId } });
  for (const s of rows ?? []) await h.client.schedule.getHandle(temporalScheduleId(s.id)).delete().catch(() => undefined);
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const json = jsonCli(simlab);

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('experiment schedules', () => {
  let exp: any;
  let schedule: any;

  beforeAll(async () => {
    const t = await h.createTask(task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt' }]));
    // Long enough that a second start arrives while the first iteration still runs.
    const e = await h.createEnvironment({ agent: { harness: 'command', command: 'sleep 4; echo hello > hello.txt' } });
    exp = await json('experiment', 'create', '--name', 'nightly', '--task-ids', t, '--env-ids', e);
  });

  it('refuses a bad cron or time zone with a 400 naming the field, and creates nothing', async () => {
    const badCron = await simlab('experiment', 'schedule', 'create', exp.id, '--cron', '0 25 * * *');
    expect(badCron.code).toBe(2);
    expect(badCron.err).toContain('/cron');
    expect(badCron.err).toContain('field 2 (hour)');
    const fields = await h.api('POST', `/experiments/${exp.id}/schedules`, { cron: '0 2 * *' });
    expect(fields.status).toBe(400);
    expect(fields.body.error.details).toEqual([{ pointer: '/cron', message: expect.stringContaining('5 fields') }]);
    const badTz = await simlab('experiment', 'schedule', 'create', exp.id, '--cron', '0 2 * * *', '--timezone', 'Mars/Olympus');
    expect(badTz.code).toBe(2);
    expect(badTz.err).toContain('/timezone');
    const extra = await h.api('POST', `/experiments/${exp.id}/schedules`, { cron: '0 2 * * *', every: 'night' });
    expect(extra.status).toBe(400);
    expect(await json('experiment', 'schedule', 'list', exp.id)).toEqual([]);
    expect(await h.prisma.experimentSchedule.count({ where: { experimentId: exp.id } })).toBe(0);
  });

  it('creates a schedule that Temporal owns, with a deterministic id and the skip overlap policy', async () => {
    schedule = await json('experiment', 'schedule', 'create', exp.id, '--cron', '0  2 * * *', '--timezone', 'Europe/Paris');
    expect(schedule).toMatchObject({ id: expect.stringMatching(/^sch_[0-9a-f]{20}$/), cron: '0 2 * * *', timezone: 'Europe/Paris', paused: false, overlapPolicy: 'skip' });
    // The next 2 a.m. in Paris is 01:00 or 02:00 UTC (summer or winter time).
    expect(schedule.nextRunAt).toMatch(/T0[01]:00:00\.000Z$/);
    const d = await h.client.schedule.getHandle(temporalScheduleId(schedule.id)).describe();
    expect(d.spec.timezone).toBe('Europe/Paris');
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledIterationWorkflow', taskQueue: h.taskQueue });
    // The same schedule again is the same id: refused, not duplicated.
    const again = await h.api('POST', `/experiments/${exp.id}/schedules`, { cron: '0 2 * * *', timezone: 'Europe/Paris' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('schedule_exists');
    const list = await json('experiment', 'schedule', 'list', exp.id);
    expect(list).toEqual([expect.objectContaining({ id: schedule.id, cron: '0 2 * * *', timezone: 'Europe/Paris', paused: false })]);
  });

  it('triggers an iteration that records the schedule as its origin, and skips a start while it runs', async () => {
    await json('experiment', 'schedule', 'trigger', exp.id);
    const it = await waitFor('the scheduled iteration', async () => (await h.prisma.iteration.findFirst({ where: { experimentId: exp.id } })) ?? null);
    expect(it).toMatchObject({ origin: 'schedule', originId: schedule.id, number: 1, runCount: 1 });
    expect(it.launchKey).toMatch(new RegExp(`^simlab-scheduled-${schedule.id}-`));

    // Running: a second start is refused, and Temporal would skip it anyway.
    const overlap = await h.api('POST', `/experiments/${exp.id}/schedules/${schedule.id}/trigger`, {});
    expect(overlap.status).toBe(409);
    expect(overlap.body.error.code).toBe('iteration_running');

    const status = await waitFor('the iteration to end', async () => {
      const st = (await h.api('GET', `/experiments/${exp.id}/iterations/1`)).body;
      return st.finishedAt ? st : null;
    }, 120_000);
    expect(status).toMatchObject({ status: 'completed', counts: { completed: 1 }, passed: 1, origin: { kind: 'schedule', id: schedule.id } });
    // A scheduled iteration ends as any other: its results stored before it ended, then its alert started.
    expect(await h.prisma.iterationResult.findUnique({ where: { iterationId: it.id } })).toMatchObject({ experimentId: exp.id, number: 1 });
    expect(await waitFor('the alert to end', () => h.client.workflow.getHandle(`simlab-alert-${it.id}`).result().catch(() => null))).toEqual({ sent: false, reason: 'the experiment has no webhook' });
    expect(await h.prisma.iteration.count({ where: { experimentId: exp.id } })).toBe(1);
    const scheduled = await waitFor('Temporal to see the action end', async () => {
      const s = (await h.api('GET', `/experiments/${exp.id}/schedules/${schedule.id}`)).body;
      return !s.running ? s : null;
    });
    expect(scheduled).toMatchObject({ actionsTaken: 1, lastRunAt: expect.any(String) });

    // A person's iteration records the key that started it.
    await json('experiment', 'run', exp.id, '--detach');
    const key = await h.prisma.apiKey.findFirstOrThrow({ where: { organizationId: h.org.organizationId } });
    const its = (await h.api('GET', `/experiments/${exp.id}/iterations`)).body.items;
    expect(its.map((x: any) => [x.number, x.origin])).toEqual([
      [2, { kind: 'api_key', id: key.id }],
      [1, { kind: 'schedule', id: schedule.id }],
    ]);
    await waitFor('the second iteration to end', async () => (await h.api('GET', `/experiments/${exp.id}/iterations/2`)).body.finishedAt, 120_000);
  });

  it('pauses and resumes, as Temporal describes the schedule', async () => {
    const handle = h.client.schedule.getHandle(temporalScheduleId(schedule.id));
    expect((await json('experiment', 'schedule', 'pause', exp.id, schedule.id)).paused).toBe(true);
    let d = await handle.describe();
    expect(d.state.paused).toBe(true);
    expect(d.state.note).toContain('paused through simlab');
    expect((await json('experiment', 'schedule', 'list', exp.id))[0].paused).toBe(true);
    const table = await simlab('experiment', 'schedule', 'list', exp.id);
    expect(table.out.split('\n')[0]).toMatch(/^ID\s+CRON\s+TIMEZONE\s+STATE/);
    expect(table.out).toMatch(new RegExp(`${schedule.id}\\s+0 2 \\* \\* \\*\\s+Europe/Paris\\s+paused`));
    expect((await json('experiment', 'schedule', 'resume', exp.id)).paused).toBe(false);
    d = await handle.describe();
    expect(d.state.paused).toBe(false);
  });

  it('fails a scheduled start of an experiment with nothing to run, as a person would be refused, and creates nothing', async () => {
    const empty = await json('experiment', 'create', '--name', 'empty');
    const s = await json('experiment', 'schedule', 'create', empty.id, '--cron', '@daily');
    await json('experiment', 'schedule', 'trigger', empty.id);
    const handle = h.client.schedule.getHandle(temporalScheduleId(s.id));
    const workflowId = await waitFor('the scheduled start', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
    const failure = await h.client.workflow.getHandle(workflowId).result().then(() => null, (err: any) => err);
    expect(failure?.cause?.cause).toMatchObject({ type: 'ScheduledLaunchRefused', message: expect.stringContaining('needs at least one task and one environment') });
    expect(await h.prisma.iteration.count({ where: { experimentId: empty.id } })).toBe(0);
    await json('experiment', 'schedule', 'delete', empty.id);
  });

  it('is invisible to another organization', async () => {
    const other = await createOrganization(h.prisma, { slug: `other-${Date.now()}`, name: 'Other' });
    const base = `/experiments/${exp.id}/schedules`;
    for (const [method, p, body] of [
      ['GET', base, undefined],
      ['POST', base, { cron: '0 3 * * *' }],
      ['GET', `${base}/${schedule.id}`, undefined],
      ['POST', `${base}/${schedule.id}/pause`, {}],
      ['POST', `${base}/${schedule.id}/trigger`, {}],
      ['DELETE', `${base}/${schedule.id}`, undefined],
    ] as const) {
      const res = await h.api(method, p, body, other.apiKey);
      expect([method, p, res.status]).toEqual([method, p, 404]);
    }
    // Its own experiment cannot name ours either.
    const res = await h.api('POST', `/products/default/experiments`, { name: 'theirs' }, other.apiKey);
    expect((await h.api('POST', `/experiments/${res.body.id}/schedules/${schedule.id}/pause`, {}, other.apiKey)).status).toBe(404);
    expect((await h.client.schedule.getHandle(temporalScheduleId(schedule.id)).describe()).state.paused).toBe(false);
  });

  it('deletes the schedule from Temporal and from the list', async () => {
    const r = await json('experiment', 'schedule', 'delete', exp.id, schedule.id);
    expect(r).toEqual({ id: schedule.id, deleted: true });
    await expect(h.client.schedule.getHandle(temporalScheduleId(schedule.id)).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await json('experiment', 'schedule', 'list', exp.id)).toEqual([]);
    expect((await h.api('POST', `/experiments/${exp.id}/schedules/${schedule.id}/trigger`, {})).status).toBe(404);
    // Iterations it started stay, with their origin.
    expect(await h.prisma.iteration.count({ where: { experimentId: exp.id, origin: 'schedule', originId: schedule.id } })).toBe(1);
  });
});
