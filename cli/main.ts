/**
 * `simlab`: the command line client of the simlab API. Grammar of the product documents:
 * `simlab task create --file task.json`, `simlab task run TASK --watch`, `simlab run get RUN`,
 * `--format json` on every command.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTRACT } from '../domain/contract';
import { readConfig, writeConfig, configPath, type CliConfig } from '../client/config';
import { Api, ApiError } from '../client/http';
import { InputError, loadDocument, type LoadedDocument } from './files';
import { cell, duration, indent, table } from './format';
import { uploadLocalSources } from './uploads';
import { experimentSchedule, experimentWebhook } from './schedules';
import { analysisCommand, readSignalConfig } from './analysis';

const USAGE = `simlab — run AI agents against tasks in fresh sandboxes and score every attempt

Usage:
  simlab create --file simulation.json      task + environment links + secrets, in one step
  simlab task create --file task.json [--environment-id ENV[,ENV...]]
                        (zip init files given as local paths are uploaded for you)
  simlab task list [--search S]
  simlab task get TASK
  simlab task update TASK [--name N] [--file task.json]
  simlab task delete TASK                   retire: hidden from lists and new runs, runs kept
  simlab task env add|remove TASK ENV       the environments \`task run\` uses by default
  simlab task run TASK [--environment-id ENV[,ENV...]]... [--watch]
                        (without --environment-id: the task's linked, enabled environments;
                         with --watch, exits 0 only when every run completed and passed)
  simlab env create --file env.json
  simlab env list
  simlab env get ENV
  simlab env update ENV [--name N] [--file env.json]
  simlab env enable|disable|delete ENV
  simlab key create [--name N] | list | revoke KEY_ID
  simlab secret set NAME --value-from-env VAR [--environment-id ENV]   (or the value on stdin)
  simlab secret list [--environment-id ENV]
  simlab secret delete NAME [--environment-id ENV]
  simlab run list [--task-id TASK] [--environment-id ENV] [--status STATUS] [--iteration-id ITER]
                  [--limit N] [--cursor C]   (--format json: { items, nextCursor })
  simlab run get RUN
  simlab run logs RUN [--follow]            the transcript (--format json: the events)
  simlab run actions RUN                    normalized agent actions
  simlab run download RUN [--output DIR]    home.tar.gz, transcript.jsonl, agent.log
  simlab run cancel RUN
  simlab iteration get ITER
  simlab experiment create --name N [--task-ids a,b] [--env-ids c,d] [--repeats K] [--signal-config signals.yaml]
  simlab experiment list | get EXP
  simlab experiment task add|remove EXP TASK
  simlab experiment env add|remove EXP ENV
  simlab experiment variant add EXP --name V --file variant.json   ({ "agent"?: {...}, "prompt"?: "..." })
  simlab experiment run EXP [--variant V[,V...]] [--repeats K] [--detach]
                        (a new numbered iteration: every task x env x variant x repeat;
                         without --detach, follows it until it ends)
  simlab experiment run status EXP [--iteration N] [--watch]
  simlab experiment run cancel EXP          cancels its latest running iteration
  simlab experiment schedule create EXP --cron "0 2 * * *" [--timezone Europe/Paris]
  simlab experiment schedule list EXP
  simlab experiment schedule get|pause|resume|trigger|delete EXP [SCHEDULE]
                        (SCHEDULE may be left out when the experiment has one; a start while
                         the previous scheduled iteration still runs is skipped)
  simlab experiment webhook set EXP --url URL [--rotate-secret]   (the signing secret is shown once)
  simlab experiment webhook get|delete EXP
  simlab experiment webhook deliveries EXP [--limit N]             every delivery attempt
  simlab experiment results EXP [--iteration N] [--compare M] [--error-category NAME]
                        summary with 95% intervals, failure clusters; --compare: changes and
                        their significance; --error-category: one cluster's runs and excerpts
  simlab experiment signals EXP [--iteration N] [--limit N] [--cursor C]
                        signal aggregates, and per-run values a page at a time
                        (--format json: { ..., runs, nextCursor })
  simlab experiment update EXP --signal-config signals.yaml|none   for the next iterations
  simlab analysis get --run-id RUN | --task-id TASK   signals and friction points; a task's history
  simlab iteration cancel ITER
  simlab product list | create SLUG [--name N] | switch SLUG
  simlab config set [--api-url URL] [--api-key KEY] [--product SLUG] | show
  simlab spec

Global options:
  --format json|table   output format (default table)
  --api-url URL, --api-key KEY, --product SLUG   override the config file (${configPath()})`;

class UsageError extends Error {}

interface Parsed {
  positionals: string[];
  flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(['watch', 'help', 'follow', 'detach', 'rotate-secret']);

function parseArgs(argv: string[]): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') {
      flags.set('help', ['true']);
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq === -1 ? undefined : eq);
      let value: string;
      if (eq !== -1) value = a.slice(eq + 1);
      else if (BOOLEAN_FLAGS.has(name)) value = 'true';
      else {
        const next = argv[++i];
        if (next === undefined) throw new UsageError(`--${name} needs a value`);
        value = next;
      }
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else positionals.push(a);
  }
  return { positionals, flags };
}

class Command {
  constructor(
    readonly args: Parsed,
    readonly cfg: CliConfig,
    readonly out: (s: string) => void,
  ) {}
  get json() {
    const f = this.flag('format') ?? 'table';
    if (f !== 'json' && f !== 'table') throw new UsageError(`--format must be json or table, not '${f}'`);
    return f === 'json';
  }
  bool(name: string): boolean {
    const v = this.flag(name);
    if (v === undefined || v === 'false') return false;
    if (v === 'true') return true;
    throw new UsageError(`--${name} takes no value (or =true/=false), not '${v}'`);
  }
  flag(name: string): string | undefined {
    const v = this.args.flags.get(name);
    return v ? v[v.length - 1] : undefined;
  }
  list(name: string): string[] {
    return (this.args.flags.get(name) ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  }
  arg(i: number, what: string): string {
    const v = this.args.positionals[i];
    if (!v) throw new UsageError(`missing ${what}`);
    return v;
  }
  allowOnly(...names: string[]) {
    const allowed = new Set([...names, 'format', 'api-url', 'api-key', 'product', 'help']);
    for (const k of this.args.flags.keys()) if (!allowed.has(k)) throw new UsageError(`unknown option --${k}`);
  }
  print(json: unknown, human: () => string) {
    this.out(this.json ? JSON.stringify(json, null, 2) : human());
  }
}

type Run = Record<string, any>;

function renderEvent(e: Run): string {
  const d = e.data ?? {};
  const head = `${String(e.seq).padStart(4)} ${e.at.slice(11, 23)} ${e.type.padEnd(14)}`;
  switch (e.type) {
    case 'status':
      return `${head} ${d.from ?? '-'} -> ${d.to}${d.detail ? `  ${d.detail}` : ''}${d.failure ? `  (${d.failure.category}: ${d.failure.message})` : ''}`;
    case 'command_output':
    case 'agent_message':
    case 'thinking':
      return `${head} ${indent(String(d.text ?? '').replace(/\n$/, ''), ' '.repeat(head.length + 1)).trimStart()}`;
    case 'tool_call':
      return `${head} ${d.name} ${JSON.stringify(d.input).slice(0, 300)}`;
    case 'tool_result':
      return `${head} ${d.name ?? d.id}${d.isError ? ' (error)' : ''}${d.interrupted ? ' (interrupted)' : ''} ${String(d.output ?? '').slice(0, 300)}`;
    case 'criterion':
      return `${head} ${d.name}: ${d.status === 'evaluated' ? (d.passed ? 'pass' : 'fail') : d.status} ${d.score ?? '-'}/${d.maxScore}`;
    case 'setup':
      return `${head} ${d.step}${d.command ? ` ${d.command} -> exit ${d.exitCode}` : ''}${d.target ? ` -> ${d.target}` : ''}`;
    default:
      return `${head} ${JSON.stringify(d).slice(0, 300)}`;
  }
}

function renderRun(r: Run): string {
  const lines = [
    `Run ${r.id}  ${r.status}${r.verdict ? `  ${r.verdict.toUpperCase()}` : ''}`,
    `  task         ${r.taskName} (${r.taskId} v${r.taskVersion})`,
    `  environment  ${r.environmentName} (${r.environmentId} v${r.environmentVersion})`,
    `  iteration    ${r.iterationId}`,
    `  score        ${r.score === null ? '-' : r.score}   passed: ${cell(r.passed)}`,
  ];
  if (r.failure) lines.push(`  failure      ${r.failure.category}: ${r.failure.message}`);
  if (r.agent?.exitCode !== null || r.agent?.timedOut) {
    lines.push(`  agent        exit ${cell(r.agent.exitCode)}${r.agent.timedOut ? ' (timed out)' : ''} in ${duration(r.agent.durationMs)}`);
  }
  lines.push(`  duration     ${duration(r.timings.durationMs)}`, `  temporal     ${r.temporal.url}`);
  if (r.usage && (r.usage.inputTokens !== null || r.usage.costUsd !== null)) {
    lines.push(`  usage        ${cell(r.usage.inputTokens)} in / ${cell(r.usage.outputTokens)} out tokens, ${cell(r.usage.turns)} turns, ${cell(r.usage.toolCalls)} tool calls, cost ${r.usage.costUsd === null ? 'unknown' : `$${r.usage.costUsd.toFixed(4)}`}`);
  }
  if (r.changes) lines.push(`  changes      ${r.changes.added.length} added, ${r.changes.changed.length} changed, ${r.changes.deleted.length} deleted`);
  if (r.artifacts?.archive) lines.push(`  archive      ${r.artifacts.archive.bytes} bytes, sha256 ${r.artifacts.archive.sha256} (GET ${r.artifacts.archive.url})`);
  lines.push('', 'Status history:');
  for (const h of r.statusHistory) lines.push(`  ${h.at}  ${h.to.padEnd(16)} ${h.detail ?? ''}`.trimEnd());
  if (r.goals.length) lines.push('', 'Goals:');
  for (const g of r.goals) {
    lines.push(`  ${g.passed === true ? 'PASS' : g.passed === false ? 'FAIL' : '----'}  ${g.name}  score ${cell(g.score)} / threshold ${g.passingThreshold} (${g.scoringMethod})`);
    for (const c of g.criteria) {
      const mark = c.status !== 'evaluated' ? c.status.toUpperCase() : c.passed ? 'pass' : 'fail';
      lines.push(`        [${mark}] ${c.name} (${c.evaluationType}) ${c.score === null ? '-' : `${c.score}/${c.maxScore}`}`);
      if (c.evidence) lines.push(indent(c.evidence.split('\n').slice(-8).join('\n'), '              '));
    }
  }
  if (r.agent?.outputExcerpt) lines.push('', 'Agent output (tail):', indent(r.agent.outputExcerpt.split('\n').slice(-15).join('\n'), '  '));
  return lines.join('\n');
}

function documentError(doc: LoadedDocument, err: unknown): never {
  if (err instanceof ApiError && err.code === 'validation_failed' && Array.isArray(err.details)) {
    throw new InputError([`${doc.file}: rejected by the API: ${err.message}`, ...doc.describe(err.details as any)]);
  }
  throw err;
}

/** Follows an iteration from its counts (one small request per poll) until every run has ended. */
async function watchIteration(c: Command, api: Api, iterationId: string): Promise<Run> {
  let last = '';
  for (;;) {
    const it = await api.request<Run>('GET', `/iterations/${encodeURIComponent(iterationId)}`);
    const counts = Object.entries(it.summary.byStatus as Record<string, number>).map(([s, n]) => `${s} ${n}`).join(', ');
    const line = `${it.summary.ended}/${it.runCount} ended  (${counts})  passed ${it.summary.passed}`;
    if (line !== last && !c.json) c.out(`${new Date().toISOString()}  ${line}`);
    last = line;
    if (it.summary.ended >= it.runCount) return it;
    await new Promise((r) => setTimeout(r, Number(process.env.SIMLAB_WATCH_INTERVAL_MS ?? 2000)));
  }
}

/** Every run of an iteration, page by page. */
async function iterationRuns(api: Api, iterationId: string): Promise<Run[]> {
  const res = await api.request<{ items: Run[] }>('GET', api.productPath(`/runs?iterationId=${encodeURIComponent(iterationId)}&limit=1000`));
  return res.items;
}

async function dispatch(c: Command): Promise<number> {
  const [group, verb] = c.args.positionals;
  const api = new Api(c.cfg);
  const key = `${group ?? ''} ${verb ?? ''}`.trim();
  const analysed = await analysisCommand(c, api, key);
  if (analysed !== undefined) return analysed;
  switch (key) {
    case 'spec': {
      c.allowOnly();
      c.out(JSON.stringify(CONTRACT, null, 2));
      return 0;
    }
    case 'task create': {
      c.allowOnly('file', 'environment-id');
      const doc = loadDocument(requiredFlag(c, 'file'), 'task');
      const body = await uploadLocalSources(api, doc);
      let t = await api.request<Run>('POST', api.productPath('/tasks'), body).catch((e) => documentError(doc, e));
      for (const env of c.list('environment-id')) t = await api.request<Run>('POST', `/tasks/${encodeURIComponent(t.id)}/environments`, { environmentId: env });
      c.print(t, () => `Created task ${t.id} (${t.name})${t.environmentIds.length ? `, linked to ${t.environmentIds.join(', ')}` : ''}`);
      return 0;
    }
    case 'task delete': {
      c.allowOnly();
      const t = await api.request<Run>('DELETE', `/tasks/${encodeURIComponent(c.arg(2, 'TASK id'))}`);
      c.print(t, () => `Deleted (retired) task ${t.id}: hidden from lists and new runs, kept for the runs that used it`);
      return 0;
    }
    case 'task env': {
      c.allowOnly();
      const sub = c.arg(2, "'add' or 'remove'");
      const taskId = encodeURIComponent(c.arg(3, 'TASK id'));
      const envId = c.arg(4, 'ENV id');
      let t: Run;
      if (sub === 'add') t = await api.request<Run>('POST', `/tasks/${taskId}/environments`, { environmentId: envId });
      else if (sub === 'remove') t = await api.request<Run>('DELETE', `/tasks/${taskId}/environments/${encodeURIComponent(envId)}`);
      else throw new UsageError(`task env ${sub}: expected 'add' or 'remove'`);
      c.print(t, () => `Task ${t.id} runs on: ${t.environmentIds.join(', ') || '(no linked environment)'}`);
      return 0;
    }
    case 'task list': {
      c.allowOnly('search');
      const s = c.flag('search');
      const res = await api.request<{ items: Run[] }>('GET', api.productPath(`/tasks${s ? `?search=${encodeURIComponent(s)}` : ''}`));
      c.print(res.items, () => table(res.items.map((t) => ({ ...t, goals: t.definition.goals.length })), ['id', 'name', 'category', 'goals', 'version', 'updatedAt']));
      return 0;
    }
    case 'task get': {
      c.allowOnly();
      const t = await api.request<Run>('GET', `/tasks/${encodeURIComponent(c.arg(2, 'TASK id'))}`);
      c.print(t, () => `${t.id}  ${t.name}  (${t.category}, v${t.version})\n${JSON.stringify(t.definition, null, 2)}`);
      return 0;
    }
    case 'task update': {
      c.allowOnly('name', 'file');
      const id = c.arg(2, 'TASK id');
      const name = c.flag('name');
      const file = c.flag('file');
      if (!name && !file) throw new UsageError('task update needs --name and/or --file');
      const doc = file ? loadDocument(file, 'task') : undefined;
      const body = { ...(name ? { name } : {}), ...(doc ? { definition: await uploadLocalSources(api, doc) } : {}) };
      const t = await api.request<Run>('PATCH', `/tasks/${encodeURIComponent(id)}`, body).catch((e) => (doc ? documentError(doc, e) : Promise.reject(e)));
      c.print(t, () => `Updated task ${t.id} (${t.name}) to version ${t.version}`);
      return 0;
    }
    case 'task run': {
      c.allowOnly('environment-id', 'watch');
      const id = c.arg(2, 'TASK id');
      const envs = c.list('environment-id');
      const launched = await api.request<Run>('POST', `/tasks/${encodeURIComponent(id)}/runs`, envs.length ? { environmentIds: envs } : {});
      if (!c.bool('watch')) {
        c.print(launched, () => `Queued iteration ${launched.iterationId}: ${launched.runIds.length} run(s)\n${launched.runIds.join('\n')}`);
        return 0;
      }
      if (!c.json) c.out(`Queued iteration ${launched.iterationId}: ${launched.runIds.length} run(s); watching...`);
      const it = await watchIteration(c, api, launched.iterationId);
      const runs = await Promise.all(launched.runIds.map((id: string) => api.request<Run>('GET', `/runs/${encodeURIComponent(id)}`)));
      c.print({ iteration: it, runs }, () =>
        ['', ...runs.map((r) => `${r.id}  ${r.environmentName}  ${r.status}  score ${cell(r.score)}  ${r.verdict ?? ''}\n  ${r.temporal.url}`)].join('\n'),
      );
      // For CI: success means every run completed and passed its goals.
      return runs.every((r) => r.status === 'completed' && r.passed === true) ? 0 : 1;
    }
    case 'env create': {
      c.allowOnly('file');
      const doc = loadDocument(requiredFlag(c, 'file'), 'environment');
      const e = await api.request<Run>('POST', api.productPath('/environments'), doc.value).catch((err) => documentError(doc, err));
      c.print(e, () => `Created environment ${e.id} (${e.name})`);
      return 0;
    }
    case 'env list': {
      c.allowOnly();
      const res = await api.request<{ items: Run[] }>('GET', api.productPath('/environments'));
      c.print(res.items, () =>
        table(res.items.map((e) => ({ ...e, harness: e.definition.agent.harness, image: e.definition.image })), ['id', 'name', 'harness', 'image', 'enabled', 'version']),
      );
      return 0;
    }
    case 'env update': {
      c.allowOnly('name', 'file');
      const id = c.arg(2, 'ENV id');
      const name = c.flag('name');
      const file = c.flag('file');
      if (!name && !file) throw new UsageError('env update needs --name and/or --file');
      const doc = file ? loadDocument(file, 'environment') : undefined;
      const body = { ...(name ? { name } : {}), ...(doc ? { definition: doc.value } : {}) };
      const e = await api.request<Run>('PATCH', `/environments/${encodeURIComponent(id)}`, body).catch((err) => (doc ? documentError(doc, err) : Promise.reject(err)));
      c.print(e, () => `Updated environment ${e.id} (${e.name}) to version ${e.version}`);
      return 0;
    }
    case 'env enable':
    case 'env disable': {
      c.allowOnly();
      const e = await api.request<Run>('POST', `/environments/${encodeURIComponent(c.arg(2, 'ENV id'))}/${verb}`, {});
      c.print(e, () => `Environment ${e.id} is ${e.enabled ? 'enabled' : 'disabled'}`);
      return 0;
    }
    case 'env delete': {
      c.allowOnly();
      const e = await api.request<Run>('DELETE', `/environments/${encodeURIComponent(c.arg(2, 'ENV id'))}`);
      c.print(e, () => `Deleted (retired) environment ${e.id}: hidden from lists and new runs, kept for the runs that used it`);
      return 0;
    }
    case 'key create': {
      c.allowOnly('name');
      const k = await api.request<Run>('POST', '/api-keys', { ...(c.flag('name') ? { name: c.flag('name') } : {}) });
      c.print(k, () => `Created API key ${k.id} (${k.name}):\n  ${k.key}\nIt is shown this once: store it now.`);
      return 0;
    }
    case 'key list': {
      c.allowOnly();
      const res = await api.request<{ items: Run[] }>('GET', '/api-keys');
      c.print(res.items, () => table(res.items, ['id', 'name', 'prefix', 'createdAt', 'lastUsedAt', 'revokedAt']));
      return 0;
    }
    case 'key revoke': {
      c.allowOnly();
      const k = await api.request<Run>('DELETE', `/api-keys/${encodeURIComponent(c.arg(2, 'KEY id'))}`);
      c.print(k, () => `Revoked API key ${k.id} (${k.name})`);
      return 0;
    }
    case 'secret set': {
      c.allowOnly('value-from-env', 'environment-id');
      const name = c.arg(2, 'secret NAME');
      const value = await secretValue(c.flag('value-from-env'));
      const env = c.flag('environment-id');
      const s = await api.request<Run>('PUT', `/secrets/${encodeURIComponent(name)}`, { value, ...(env ? { environmentId: env } : {}) });
      c.print(s, () => `Secret ${s.name} set (${s.scope}${s.environmentId ? ` ${s.environmentId}` : ''})`);
      return 0;
    }
    case 'secret list': {
      c.allowOnly('environment-id');
      const env = c.flag('environment-id');
      const res = await api.request<{ items: Run[] }>('GET', `/secrets${env ? `?environmentId=${encodeURIComponent(env)}` : ''}`);
      c.print(res.items, () => table(res.items, ['name', 'scope', 'environmentId', 'createdAt', 'updatedAt']));
      return 0;
    }
    case 'secret delete': {
      c.allowOnly('environment-id');
      const name = c.arg(2, 'secret NAME');
      const env = c.flag('environment-id');
      await api.request('DELETE', `/secrets/${encodeURIComponent(name)}${env ? `?environmentId=${encodeURIComponent(env)}` : ''}`);
      c.print({ name, deleted: true }, () => `Deleted secret ${name}`);
      return 0;
    }
    case 'create': {
      c.allowOnly('file');
      const doc = loadDocument(requiredFlag(c, 'file'), 'simulation');
      const sim = doc.value as { product?: string; environmentIds?: string[]; secrets?: { name: string; valueFromEnv?: string }[] };
      // Every variable is read before anything is sent: an unset one creates nothing.
      const secrets = (sim.secrets ?? []).map((s, i) => {
        const variable = s.valueFromEnv ?? s.name;
        const value = process.env[variable];
        if (value === undefined || value === '') {
          throw new InputError(doc.describe([{ pointer: `/secrets/${i}/valueFromEnv`, message: `environment variable ${variable} is not set (secret ${s.name}); nothing was created` }]));
        }
        return { name: s.name, value };
      });
      const product = sim.product ? `/products/${encodeURIComponent(sim.product)}` : api.productPath('');
      const withUploads = (await uploadLocalSources(api, doc, '/task')) as { task: unknown };
      const created = await api
        .request<Run>('POST', `${product}/simulations`, { task: withUploads.task, environmentIds: sim.environmentIds ?? [], secrets })
        .catch((e) => documentError(doc, e));
      c.print(created, () =>
        [`Created task ${created.task.id} (${created.task.name})`, `  environments  ${created.task.environmentIds.join(', ') || '-'}`, `  secrets       ${created.secrets.join(', ') || '-'}`].join('\n'),
      );
      return 0;
    }
    case 'env get': {
      c.allowOnly();
      const e = await api.request<Run>('GET', `/environments/${encodeURIComponent(c.arg(2, 'ENV id'))}`);
      c.print(e, () => `${e.id}  ${e.name}  (v${e.version}, ${e.enabled ? 'enabled' : 'disabled'})\n${JSON.stringify(e.definition, null, 2)}`);
      return 0;
    }
    case 'run list': {
      c.allowOnly('task-id', 'environment-id', 'status', 'iteration-id', 'limit', 'cursor');
      const q = new URLSearchParams();
      for (const [flag, param] of [['task-id', 'taskId'], ['environment-id', 'environmentId'], ['status', 'status'], ['iteration-id', 'iterationId'], ['limit', 'limit'], ['cursor', 'cursor']] as const) {
        const v = c.flag(flag);
        if (v) q.set(param, v);
      }
      const res = await api.request<{ items: Run[]; nextCursor: string | null }>('GET', api.productPath(`/runs${q.size ? `?${q}` : ''}`));
      c.print({ items: res.items, nextCursor: res.nextCursor }, () =>
        [table(res.items, ['id', 'status', 'score', 'verdict', 'failureCategory', 'taskId', 'environmentId', 'variant', 'repeat', 'createdAt']), ...(res.nextCursor ? [`more: --cursor ${res.nextCursor}`] : [])].join('\n'),
      );
      return 0;
    }
    case 'experiment create': {
      c.allowOnly('name', 'task-ids', 'env-ids', 'repeats', 'signal-config');
      const file = c.flag('signal-config');
      const body: Record<string, unknown> = { name: requiredFlag(c, 'name'), taskIds: c.list('task-ids'), environmentIds: c.list('env-ids') };
      if (c.flag('repeats') !== undefined) body.repeats = intFlag(c, 'repeats');
      // Sent as written: the API keeps the file's text, not a re-serialization of it.
      if (file) body.signalConfig = readSignalConfig(file);
      const e = await api.request<Run>('POST', api.productPath('/experiments'), body);
      c.print(e, () => `Created experiment ${e.id} (${e.name}): ${e.taskIds.length} task(s) x ${e.environmentIds.length} environment(s), ${e.repeats} repeat(s)`);
      return 0;
    }
    case 'experiment list': {
      c.allowOnly();
      const res = await api.request<{ items: Run[] }>('GET', api.productPath('/experiments'));
      c.print(res.items, () => table(res.items.map((e) => ({ ...e, tasks: e.taskIds.length, envs: e.environmentIds.length, variants: e.variants.length, iterations: e.lastIterationNumber })), ['id', 'name', 'tasks', 'envs', 'variants', 'repeats', 'iterations', 'updatedAt']));
      return 0;
    }
    case 'experiment get': {
      c.allowOnly();
      const e = await api.request<Run>('GET', `/experiments/${encodeURIComponent(c.arg(2, 'EXP id'))}`);
      c.print(e, () => renderExperiment(e));
      return 0;
    }
    case 'experiment task':
    case 'experiment env': {
      c.allowOnly();
      const sub = c.arg(2, "'add' or 'remove'");
      const exp = encodeURIComponent(c.arg(3, 'EXP id'));
      const ref = c.arg(4, verb === 'task' ? 'TASK id' : 'ENV id');
      const [kind, field] = verb === 'task' ? ['tasks', 'taskId'] : ['environments', 'environmentId'];
      let e: Run;
      if (sub === 'add') e = await api.request<Run>('POST', `/experiments/${exp}/${kind}`, { [field]: ref });
      else if (sub === 'remove') e = await api.request<Run>('DELETE', `/experiments/${exp}/${kind}/${encodeURIComponent(ref)}`);
      else throw new UsageError(`experiment ${verb} ${sub}: expected 'add' or 'remove'`);
      c.print(e, () => renderExperiment(e));
      return 0;
    }
    case 'experiment variant': {
      c.allowOnly('name', 'file');
      if (c.arg(2, "'add'") !== 'add') throw new UsageError(`experiment variant ${c.arg(2, '')}: expected 'add'`);
      const exp = encodeURIComponent(c.arg(3, 'EXP id'));
      const file = requiredFlag(c, 'file');
      let override: unknown;
      try {
        override = JSON.parse(readFileOrUsage(file));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new InputError([`${file}: not valid JSON: ${(err as Error).message}`]);
      }
      const e = await api.request<Run>('POST', `/experiments/${exp}/variants`, { name: requiredFlag(c, 'name'), override });
      c.print(e, () => renderExperiment(e));
      return 0;
    }
    case 'experiment schedule':
      return experimentSchedule(c, api);
    case 'experiment webhook':
      return experimentWebhook(c, api);
    case 'experiment run': {
      const sub = c.args.positionals[2];
      if (sub === 'status') return experimentStatus(c, api, c.arg(3, 'EXP id'));
      if (sub === 'cancel') {
        c.allowOnly();
        const exp = c.arg(3, 'EXP id');
        const its = await api.request<{ items: Run[] }>('GET', `/experiments/${encodeURIComponent(exp)}/iterations`);
        const running = its.items.find((it) => it.finishedAt === null);
        if (!running) throw new UsageError(`experiment ${exp} has no running iteration`);
        const r = await api.request<Run>('POST', `/iterations/${encodeURIComponent(running.id)}/cancel`, {});
        c.print({ ...r, number: running.number }, () => `Cancellation requested for iteration #${running.number} (${r.id})`);
        return 0;
      }
      c.allowOnly('variant', 'repeats', 'detach');
      const exp = c.arg(2, 'EXP id');
      const body: Record<string, unknown> = {};
      if (c.list('variant').length) body.variants = c.list('variant');
      if (c.flag('repeats') !== undefined) body.repeats = intFlag(c, 'repeats');
      const launched = await api.request<Run>('POST', `/experiments/${encodeURIComponent(exp)}/iterations`, body);
      if (c.bool('detach')) {
        c.print(launched, () => `Queued iteration #${launched.number} (${launched.iterationId}): ${launched.runCount} run(s)`);
        return 0;
      }
      if (!c.json) c.out(`Queued iteration #${launched.number} (${launched.iterationId}): ${launched.runCount} run(s); following...`);
      const it = await watchIteration(c, api, launched.iterationId);
      c.print({ ...launched, iteration: it }, () => `Iteration #${launched.number} ${it.status}: ${it.summary.passed}/${it.runCount} passed, mean score ${cell(it.summary.meanScore)}`);
      return it.summary.ended === it.runCount && it.summary.byStatus.completed === it.runCount ? 0 : 1;
    }
    case 'run get': {
      c.allowOnly();
      const r = await api.request<Run>('GET', `/runs/${encodeURIComponent(c.arg(2, 'RUN id'))}`);
      c.print(r, () => renderRun(r));
      return 0;
    }
    case 'run logs': {
      c.allowOnly('follow');
      const id = encodeURIComponent(c.arg(2, 'RUN id'));
      const follow = c.bool('follow');
      const all: Run[] = [];
      for (let after = 0; ; ) {
        const page = await api.request<{ items: Run[]; nextAfter: number; ended: boolean }>('GET', `/runs/${id}/events?after=${after}&limit=1000`);
        for (const e of page.items) {
          // Following: one event per line as it comes; otherwise one JSON array at the end.
          if (c.json && follow) c.out(JSON.stringify(e));
          else if (c.json) all.push(e);
          else c.out(renderEvent(e));
        }
        after = page.nextAfter;
        if (page.items.length === 1000) continue;
        if (!follow || page.ended) break;
        await new Promise((r) => setTimeout(r, Number(process.env.SIMLAB_WATCH_INTERVAL_MS ?? 2000)));
      }
      if (c.json && !follow) c.out(JSON.stringify(all, null, 2));
      return 0;
    }
    case 'run actions': {
      c.allowOnly();
      const res = await api.request<{ items: Run[] }>('GET', `/runs/${encodeURIComponent(c.arg(2, 'RUN id'))}/actions`);
      c.print(res.items, () => table(res.items, ['seq', 'kind', 'outcome', 'target']));
      return 0;
    }
    case 'run download': {
      c.allowOnly('output');
      const id = c.arg(2, 'RUN id');
      const dir = path.resolve(c.flag('output') ?? `simlab-${id}`);
      fs.mkdirSync(dir, { recursive: true });
      const written: string[] = [];
      for (const [name, route] of [['home.tar.gz', 'archive'], ['transcript.jsonl', 'transcript'], ['agent.log', 'agent-log']] as const) {
        const body = await api.download(`/runs/${encodeURIComponent(id)}/artifacts/${route}`);
        if (body === null) continue;
        fs.writeFileSync(path.join(dir, name), body, { mode: 0o600 });
        written.push(name);
      }
      c.print({ directory: dir, files: written }, () => `Saved ${written.join(', ')} in ${dir}`);
      return 0;
    }
    case 'run cancel': {
      c.allowOnly();
      const r = await api.request<Run>('POST', `/runs/${encodeURIComponent(c.arg(2, 'RUN id'))}/cancel`, {});
      c.print(r, () => `Cancellation requested for run ${r.id}`);
      return 0;
    }
    case 'iteration cancel': {
      c.allowOnly();
      const it = await api.request<Run>('POST', `/iterations/${encodeURIComponent(c.arg(2, 'ITER id'))}/cancel`, {});
      c.print(it, () => `Cancellation requested for iteration ${it.id}`);
      return 0;
    }
    case 'iteration get': {
      c.allowOnly();
      const it = await api.request<Run>('GET', `/iterations/${encodeURIComponent(c.arg(2, 'ITER id'))}`);
      const runs = c.json ? [] : await iterationRuns(api, it.id);
      c.print(it, () =>
        [
          `Iteration ${it.id} #${it.number}  ${it.status}  ${it.summary.ended}/${it.runCount} ended, ${it.summary.passed} passed, mean score ${cell(it.summary.meanScore)}`,
          `  temporal  ${it.temporal.url}`,
          table(runs, ['id', 'status', 'score', 'verdict', 'environmentId']),
        ].join('\n'),
      );
      return 0;
    }
    case 'product list': {
      c.allowOnly();
      const res = await api.request<{ items: Run[] }>('GET', '/products');
      c.print(res.items, () => table(res.items.map((p) => ({ ...p, active: p.slug === c.cfg.product ? '*' : '' })), ['active', 'slug', 'name', 'id']));
      return 0;
    }
    case 'product create': {
      c.allowOnly('name');
      const slug = c.arg(2, 'product SLUG');
      const p = await api.request<Run>('POST', '/products', { slug, ...(c.flag('name') ? { name: c.flag('name') } : {}) });
      c.print(p, () => `Created product ${p.slug} (${p.id})`);
      return 0;
    }
    case 'product switch': {
      c.allowOnly();
      const slug = c.arg(2, 'product SLUG');
      const res = await api.request<{ items: Run[] }>('GET', '/products');
      const p = res.items.find((x) => x.slug === slug || x.id === slug);
      if (!p) throw new ApiError(404, 'not_found', `product '${slug}' not found; see \`simlab product list\``);
      const file = writeConfig({ product: p.slug });
      c.print({ product: p.slug, config: file }, () => `Active product: ${p.slug} (saved in ${file})`);
      return 0;
    }
    case 'config set': {
      c.allowOnly('api-url', 'api-key', 'product');
      const patch: CliConfig = {};
      if (c.flag('api-url')) patch.apiUrl = c.flag('api-url')!;
      if (c.flag('api-key')) patch.apiKey = c.flag('api-key')!;
      if (c.flag('product')) patch.product = c.flag('product')!;
      const file = writeConfig(patch);
      c.print({ config: file }, () => `Saved ${file}`);
      return 0;
    }
    case 'config show': {
      c.allowOnly();
      const shown = { ...c.cfg, apiKey: c.cfg.apiKey ? `${c.cfg.apiKey.slice(0, 7)}…` : null, file: configPath() };
      c.print(shown, () => table([shown], ['apiUrl', 'apiKey', 'product', 'file']));
      return 0;
    }
  }
  if (group === 'create' && verb) throw new UsageError(`create takes --file, not '${verb}'`);
  throw new UsageError(group ? `unknown command '${key}'` : 'no command given');
}

/**
 * A secret's value: from the named environment variable, or from standard input when it is
 * not a terminal; never from an argument, which would land in shell history and `ps`.
 */
async function secretValue(fromEnv: string | undefined): Promise<string> {
  if (fromEnv) {
    const v = process.env[fromEnv];
    if (v === undefined || v === '') throw new UsageError(`environment variable ${fromEnv} is not set`);
    return v;
  }
  if (process.stdin.isTTY) throw new UsageError('give the value with --value-from-env VAR, or on standard input (never as an argument)');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const v = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!v) throw new UsageError('standard input gave an empty secret value');
  return v;
}

function renderExperiment(e: Run): string {
  return [
    `${e.id}  ${e.name}  (${e.repeats} repeat(s), ${e.lastIterationNumber} iteration(s))`,
    `  tasks         ${e.taskIds.join(', ') || '-'}`,
    `  environments  ${e.environmentIds.join(', ') || '-'}`,
    `  variants      ${e.variants.map((v: Run) => v.name).join(', ') || '(base only)'}`,
  ].join('\n');
}

/** `experiment run status`: counts per run status, once or until the iteration ends. */
async function experimentStatus(c: Command, api: Api, exp: string): Promise<number> {
  c.allowOnly('iteration', 'watch');
  const n = c.flag('iteration');
  if (n !== undefined && !/^[1-9]\d*$/.test(n)) throw new UsageError(`--iteration must be an iteration number, not '${n}'`);
  const url = `/experiments/${encodeURIComponent(exp)}/iterations/${n ?? 'latest'}`;
  let last = '';
  for (;;) {
    const st = await api.request<Run>('GET', url);
    const ended = st.finishedAt !== null;
    const line = `#${st.number} ${st.status}  ${st.ended}/${st.total} ended  (${Object.entries(st.counts).map(([k, v]) => `${k} ${v}`).join(', ')})`;
    if (!c.bool('watch') || ended) {
      c.print(st, () => line);
      return 0;
    }
    // Plain lines, only when something changed: readable in a log as on a terminal.
    if (!c.json && line !== last) c.out(`${new Date().toISOString()}  ${line}`);
    last = line;
    await new Promise((r) => setTimeout(r, Number(process.env.SIMLAB_WATCH_INTERVAL_MS ?? 5000)));
  }
}

function intFlag(c: Command, name: string): number {
  const v = c.flag(name)!;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, not '${v}'`);
  return Number(v);
}

function readFileOrUsage(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function requiredFlag(c: Command, name: string): string {
  const v = c.flag(name);
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

export async function main(
  argv: string[],
  out: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  err: (s: string) => void = (s) => void process.stderr.write(`${s}\n`),
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
    if (parsed.flags.has('help') || parsed.positionals.length === 0) {
      out(USAGE);
      return parsed.positionals.length === 0 && !parsed.flags.has('help') ? 2 : 0;
    }
    const base = readConfig();
    const cfg: CliConfig = {
      ...base,
      ...(parsed.flags.get('api-url') ? { apiUrl: parsed.flags.get('api-url')!.at(-1)! } : {}),
      ...(parsed.flags.get('api-key') ? { apiKey: parsed.flags.get('api-key')!.at(-1)! } : {}),
      ...(parsed.flags.get('product') ? { product: parsed.flags.get('product')!.at(-1)! } : {}),
    };
    const command = new Command(parsed, cfg, out);
    // Checked before any request: a bad --format must not leave a half-done command behind.
    void command.json;
    return await dispatch(command);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`simlab: ${e.message}\nRun \`simlab --help\` for usage.`);
      return 2;
    }
    if (e instanceof InputError) {
      err(e.lines.join('\n'));
      return 2;
    }
    if (e instanceof ApiError) {
      const details = Array.isArray(e.details) ? (e.details as { pointer: string; message: string }[]).map((d) => `  ${d.pointer || '(document)'}: ${d.message}`) : [];
      err([`simlab: ${e.message}${e.status ? ` (HTTP ${e.status}, ${e.code})` : ''}`, ...details].join('\n'));
      return e.status === 400 ? 2 : 1;
    }
    err(`simlab: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
