/**
 * `simlab experiment schedule …` and `simlab experiment webhook …`: nightly iterations on
 * Temporal Schedules, and the webhook that hears about regressions.
 */
import type { Api } from '../client/http';
import { InputError } from './files';
import { table } from './format';

/** The part of main.ts's Command these verbs use. */
export interface CliCommand {
  readonly json: boolean;
  readonly args: { positionals: string[] };
  flag(name: string): string | undefined;
  bool(name: string): boolean;
  arg(i: number, what: string): string;
  allowOnly(...names: string[]): void;
  print(json: unknown, human: () => string): void;
}

type Row = Record<string, any>;

const usage = (message: string) => new InputError([`simlab: ${message}`, 'Run `simlab --help` for usage.']);

const schedulePath = (exp: string, id?: string, action?: string) =>
  `/experiments/${encodeURIComponent(exp)}/schedules${id ? `/${encodeURIComponent(id)}` : ''}${action ? `/${action}` : ''}`;

function describeSchedule(s: Row): string {
  return [
    `${s.id}  ${s.cron} (${s.timezone})  ${s.paused === null ? 'MISSING IN TEMPORAL' : s.paused ? 'paused' : 'active'}${s.running ? ', an iteration is running' : ''}`,
    `  next run   ${s.nextRunAt ?? '-'}`,
    `  last run   ${s.lastRunAt ?? '-'}   (${s.actionsTaken} started, ${s.skippedOverlap} skipped while one was running)`,
    `  temporal   ${s.temporalScheduleId}`,
  ].join('\n');
}

/** SCHEDULE may be left out when the experiment has exactly one. */
async function resolveSchedule(c: CliCommand, api: Api, exp: string): Promise<string> {
  const given = c.args.positionals[4];
  if (given) return given;
  const { items } = await api.request<{ items: Row[] }>('GET', schedulePath(exp));
  if (items.length === 1) return items[0]!.id;
  throw usage(items.length ? `experiment ${exp} has ${items.length} schedules: name one (${items.map((s) => s.id).join(', ')})` : `experiment ${exp} has no schedule`);
}

export async function experimentSchedule(c: CliCommand, api: Api): Promise<number> {
  const sub = c.arg(2, "'create', 'list', 'pause', 'resume', 'trigger' or 'delete'");
  const exp = c.arg(3, 'EXP id');
  switch (sub) {
    case 'create': {
      c.allowOnly('cron', 'timezone');
      const cron = c.flag('cron');
      if (!cron) throw usage('--cron is required, for example --cron "0 2 * * *"');
      const tz = c.flag('timezone');
      const s = await api.request<Row>('POST', schedulePath(exp), { cron, ...(tz ? { timezone: tz } : {}) });
      c.print(s, () => `Created schedule ${s.id} for experiment ${exp}: ${s.cron} (${s.timezone}), next run ${s.nextRunAt ?? '-'}\nOverlapping iterations are skipped: a start while the previous scheduled iteration runs does nothing.`);
      return 0;
    }
    case 'list': {
      c.allowOnly();
      const { items } = await api.request<{ items: Row[] }>('GET', schedulePath(exp));
      c.print(items, () => table(items.map((s) => ({ ...s, state: s.paused === null ? 'missing' : s.paused ? 'paused' : 'active' })), ['id', 'cron', 'timezone', 'state', 'nextRunAt', 'lastRunAt', 'actionsTaken', 'skippedOverlap']));
      return 0;
    }
    case 'get': {
      c.allowOnly();
      const s = await api.request<Row>('GET', schedulePath(exp, await resolveSchedule(c, api, exp)));
      c.print(s, () => describeSchedule(s));
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'trigger': {
      c.allowOnly();
      const id = await resolveSchedule(c, api, exp);
      const s = await api.request<Row>('POST', schedulePath(exp, id, sub), {});
      const said = { pause: 'Paused', resume: 'Resumed', trigger: 'Triggered' }[sub];
      c.print(s, () => `${said} schedule ${s.id}${sub === 'trigger' ? `: an iteration is starting (follow it with \`simlab experiment run status ${exp} --watch\`)` : ''}`);
      return 0;
    }
    case 'delete': {
      c.allowOnly();
      const id = await resolveSchedule(c, api, exp);
      const r = await api.request<Row>('DELETE', schedulePath(exp, id));
      c.print(r, () => `Deleted schedule ${id} (an iteration it started keeps running)`);
      return 0;
    }
    default:
      throw usage(`experiment schedule ${sub}: expected create, list, get, pause, resume, trigger or delete`);
  }
}

export async function experimentWebhook(c: CliCommand, api: Api): Promise<number> {
  const sub = c.arg(2, "'set', 'get', 'delete' or 'deliveries'");
  const exp = c.arg(3, 'EXP id');
  const path = `/experiments/${encodeURIComponent(exp)}/webhook`;
  switch (sub) {
    case 'set': {
      c.allowOnly('url', 'rotate-secret');
      const url = c.flag('url');
      if (!url) throw usage('--url is required');
      const w = await api.request<Row>('PUT', path, { url, ...(c.bool('rotate-secret') ? { rotateSecret: true } : {}) });
      c.print(w, () =>
        [
          `Webhook of experiment ${exp}: ${w.url}`,
          ...(w.secret
            ? [`Signing secret (shown once, store it now): ${w.secret}`, `Each POST carries ${w.signing.headers.signature}: the ${w.signing.algorithm}.`]
            : ['Signing secret unchanged (--rotate-secret makes a new one).']),
        ].join('\n'),
      );
      return 0;
    }
    case 'get': {
      c.allowOnly();
      const w = await api.request<Row>('GET', path);
      c.print(w, () => `${w.url}  (set ${w.updatedAt})`);
      return 0;
    }
    case 'delete': {
      c.allowOnly();
      const r = await api.request<Row>('DELETE', path);
      c.print(r, () => `Deleted the webhook of experiment ${exp}`);
      return 0;
    }
    case 'deliveries': {
      c.allowOnly('limit');
      const limit = c.flag('limit');
      if (limit !== undefined && !/^\d+$/.test(limit)) throw usage(`--limit must be a whole number, not '${limit}'`);
      const { items } = await api.request<{ items: Row[] }>('GET', `${path}/deliveries${limit ? `?limit=${limit}` : ''}`);
      c.print(items, () => table(items, ['createdAt', 'deliveryId', 'iterationId', 'attempt', 'status', 'httpStatus', 'error', 'durationMs']));
      return 0;
    }
    default:
      throw usage(`experiment webhook ${sub}: expected set, get, delete or deliveries`);
  }
}
