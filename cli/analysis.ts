/**
 * `simlab analysis get`, `simlab experiment results | signals | update --signal-config`:
 * the analysis half of the command line. Readable tables by default, the API's JSON with
 * `--format json` (the frozen results, so two reads of one iteration print the same bytes).
 */
import * as fs from 'node:fs';
import type { Api } from '../client/http';
import { describeViolations, parseSignalConfig } from '../analysis/signalConfig';
import { InputError } from './files';
import { cell, indent, table } from './format';
import type { CliCommand } from './schedules';

type Row = Record<string, any>;

const usage = (message: string) => new InputError([`simlab: ${message}`, 'Run `simlab --help` for usage.']);

/** A signal config file's text, refused before anything is sent when it does not validate. */
export function readSignalConfig(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = parseSignalConfig(text);
  if (!parsed.ok) throw new InputError([`${file}: the signal config is invalid; nothing was changed`, ...describeViolations(file, parsed.violations)]);
  return text;
}

function numberFlag(c: CliCommand, name: string): string | undefined {
  const v = c.flag(name);
  if (v !== undefined && !/^[1-9]\d{0,8}$/.test(v)) throw usage(`--${name} must be an iteration number, not '${v}'`);
  return v;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(0)}%`);
const ci = (i: [number, number] | null | undefined, f: (x: number) => string) => (i ? `[${f(i[0])}, ${f(i[1])}]` : '-');
const num = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
const signed = (x: number | null | undefined, f: (x: number) => string) => (x === null || x === undefined ? '-' : `${x > 0 ? '+' : ''}${f(x)}`);

function summaryTable(rows: Row[]): string {
  return table(
    rows.map((r) => ({
      task: r.taskId,
      environment: r.environmentId,
      variant: r.variant,
      runs: r.runs,
      passed: `${r.passed}/${r.evaluated}`,
      'pass rate': pct(r.passRate),
      '95% ci': ci(r.passRateCi, (x) => pct(x)),
      'mean score': num(r.meanScore),
      'score 95% ci': ci(r.meanScoreCi, (x) => num(x)),
      infra: r.infraFailures,
    })),
    ['task', 'environment', 'variant', 'runs', 'passed', 'pass rate', '95% ci', 'mean score', 'score 95% ci', 'infra'],
  );
}

function renderResults(r: Row): string {
  const o = r.outcomes ?? {};
  const lines = [
    `Experiment ${r.experimentId}  iteration #${r.iteration} (${r.iterationId})  ${r.runs} run(s): ${o.passed ?? 0} passed, ${o.failed ?? 0} failed, ${(o.setup_error ?? 0) + (o.evaluation_error ?? 0)} without a verdict, ${r.infraFailures} infrastructure failure(s) (excluded), ${o.cancelled ?? 0} cancelled`,
    '',
    'Summary (task x environment x variant; infrastructure failures excluded from every rate and mean)',
    summaryTable(r.summary),
    '',
    'Environments',
    summaryTable(r.environments),
    '',
    `Failure clusters${r.analysis?.clusterSource === 'model' ? ` (by ${r.analysis.model})` : ''}`,
  ];
  if (!r.clusters.length) lines.push('  (none: no run failed)');
  for (const c of r.clusters) {
    lines.push(`  [${c.runIds.length} run(s)] ${c.name}  (${c.rootCauseCategory})`, indent(`cause: ${c.rootCause}\nfix:   ${c.recommendedFix}\nruns:  ${c.runIds.join(', ')}`, '      '));
  }
  for (const p of r.analysis?.problems ?? []) lines.push(`  note: ${p}`);
  if (r.comparison) {
    const cmp = r.comparison;
    lines.push(
      '',
      `Compared with iteration #${cmp.baselineIteration} (pass rate: Fisher's exact test; score: Welch's t test; Holm-adjusted, significant below ${cmp.test.alpha})`,
      table(
        cmp.rows.map((x: Row) => ({
          task: x.taskId,
          environment: x.environmentId,
          variant: x.variant,
          'pass rate': `${pct(x.passRate[1])} -> ${pct(x.passRate[0])}`,
          'Δ pass': signed(x.passRateDelta, (v) => `${(v * 100).toFixed(0)}pt`),
          'Δ score': signed(x.scoreDelta, (v) => v.toFixed(1)),
          p: x.pValue === null ? '-' : x.pValue.toPrecision(3),
          verdict: x.verdict.replace(/_/g, ' ').toUpperCase(),
        })),
        ['task', 'environment', 'variant', 'pass rate', 'Δ pass', 'Δ score', 'p', 'verdict'],
      ),
      `  new clusters:        ${cmp.clusters.new.join(' | ') || '-'}`,
      `  resolved clusters:   ${cmp.clusters.resolved.join(' | ') || '-'}`,
      `  persisting clusters: ${cmp.clusters.persisting.join(' | ') || '-'}`,
    );
  }
  return lines.join('\n');
}

function renderCluster(r: Row): string {
  const c = r.cluster;
  const lines = [`Iteration #${r.iteration}: ${c.name}  (${c.rootCauseCategory}, ${c.runIds.length} run(s))`, `  cause: ${c.rootCause}`, `  fix:   ${c.recommendedFix}`];
  for (const run of r.runs) {
    lines.push('', `${run.runId}  task ${run.taskId}  env ${run.environmentId}${run.variant ? `  variant ${run.variant}` : ''}  ${run.status}  score ${cell(run.score)}${run.failureCategory ? `  ${run.failureCategory}: ${run.failureMessage ?? ''}` : ''}`);
    for (const p of run.frictionPoints) lines.push(`  - ${p.kind}: ${p.description}  (events ${p.seqs.join(', ') || '-'})`);
    for (const e of run.excerpts) lines.push(indent(`[${e.seq}] ${e.type}: ${e.text}`, '      '));
  }
  if (r.more) lines.push('', `… and ${r.more} more run(s)`);
  return lines.join('\n');
}

function renderSignals(r: Row): string {
  const lines = [`Signals of iteration #${r.iteration} (${r.iterationId})`];
  if (!r.definitions.length) return `${lines[0]}\n  (the experiment's signal config defines no signals)`;
  const agg = r.aggregates.overall as Record<string, Row>;
  lines.push(
    table(
      r.definitions.map((d: Row) => {
        const a = agg[d.name]!;
        const value = a.type === 'boolean' ? `${pct(a.rate)} ${ci(a.rateCi, (x) => pct(x))}` : a.type === 'number' ? `mean ${num(a.mean, 2)}  median ${num(a.median, 2)}  p90 ${num(a.p90, 2)}  min ${cell(a.min)}  max ${cell(a.max)}` : Object.entries(a.counts).map(([k, n]) => `${k} ${n}`).join(', ');
        return { signal: d.name, type: d.type, n: a.n, unknown: a.missing, value };
      }),
      ['signal', 'type', 'n', 'unknown', 'value'],
    ),
    '',
    'Per run',
    table(r.runs.map((x: Row) => ({ run: x.runId, task: x.taskId, environment: x.environmentId, variant: x.variant, ...x.signals })), ['run', 'task', 'environment', 'variant', ...r.definitions.map((d: Row) => d.name)]),
    ...(r.nextCursor ? [`more: --cursor ${r.nextCursor}`] : []),
  );
  return lines.join('\n');
}

function renderRunAnalysis(a: Row): string {
  const lines = [`Analysis of run ${a.runId}  ${a.status}  (run ${a.runStatus}, score ${cell(a.score)}, passed ${cell(a.passed)})`];
  const signals = Object.entries(a.signals);
  lines.push('', 'Signals', signals.length ? table(signals.map(([k, v]) => ({ signal: k, value: v })), ['signal', 'value']) : '  (none)');
  lines.push('', `Friction points${a.friction ? ` (${a.friction.source})` : ''}`);
  const points = a.friction?.points ?? [];
  if (!points.length) lines.push('  (none)');
  for (const p of points) lines.push(`  - ${p.kind}: ${p.description}  (events ${p.seqs.join(', ') || '-'})`);
  for (const p of a.problems) lines.push(`  note: ${p}`);
  return lines.join('\n');
}

function renderTaskHistory(h: Row): string {
  const lines = [`Task ${h.taskId} (${h.taskName}): ${h.iterations.length} iteration(s), newest first`];
  for (const it of h.iterations) {
    lines.push('', `#${it.number} ${it.iterationId}${it.experimentId ? ` (experiment ${it.experimentId})` : ''}  ${it.status}  ${it.createdAt}${it.frozen ? '' : '  (live: results not computed)'}`);
    lines.push(indent(summaryTable(it.summary), '  '));
    const kinds = Object.entries(it.frictionKinds).map(([k, n]) => `${k} ${n}`).join(', ');
    if (kinds) lines.push(`  friction: ${kinds}`);
    for (const c of it.clusters) lines.push(`  cluster: ${c.name} (${c.rootCauseCategory}) runs ${c.runIds.join(', ')}`);
  }
  return lines.join('\n');
}

/** The analysis verbs; undefined when `key` is not one of them. */
export async function analysisCommand(c: CliCommand, api: Api, key: string): Promise<number | undefined> {
  const id = (i: number, what: string) => encodeURIComponent(c.arg(i, what));
  switch (key) {
    case 'analysis get': {
      c.allowOnly('run-id', 'task-id');
      const run = c.flag('run-id');
      const task = c.flag('task-id');
      if (!run === !task) throw usage('analysis get needs exactly one of --run-id RUN or --task-id TASK');
      if (run) {
        const a = await api.request<Row>('GET', `/runs/${encodeURIComponent(run)}/analysis`);
        c.print(a, () => renderRunAnalysis(a));
      } else {
        const h = await api.request<Row>('GET', `/tasks/${encodeURIComponent(task!)}/analysis`);
        c.print(h, () => renderTaskHistory(h));
      }
      return 0;
    }
    case 'experiment results': {
      c.allowOnly('iteration', 'compare', 'error-category');
      const exp = id(2, 'EXP id');
      const q = new URLSearchParams();
      const n = numberFlag(c, 'iteration');
      const m = numberFlag(c, 'compare');
      const category = c.flag('error-category');
      if (n) q.set('iteration', n);
      if (m) q.set('compare', m);
      if (category !== undefined) q.set('errorCategory', category);
      if (m && category !== undefined) throw usage('--compare and --error-category cannot be combined');
      const r = await api.request<Row>('GET', `/experiments/${exp}/results${q.size ? `?${q}` : ''}`);
      c.print(r, () => (category !== undefined ? renderCluster(r) : renderResults(r)));
      return 0;
    }
    case 'experiment signals': {
      c.allowOnly('iteration', 'limit', 'cursor');
      const exp = id(2, 'EXP id');
      const q = new URLSearchParams();
      const n = numberFlag(c, 'iteration');
      if (n) q.set('iteration', n);
      // The API checks the page size (1-1000) and says so with a 400.
      const limit = c.flag('limit');
      if (limit !== undefined) q.set('limit', limit);
      const cursor = c.flag('cursor');
      if (cursor !== undefined) q.set('cursor', cursor);
      const r = await api.request<Row>('GET', `/experiments/${exp}/signals${q.size ? `?${q}` : ''}`);
      c.print(r, () => renderSignals(r));
      return 0;
    }
    case 'experiment update': {
      c.allowOnly('signal-config');
      const exp = id(2, 'EXP id');
      const file = c.flag('signal-config');
      if (!file) throw usage('experiment update needs --signal-config signals.yaml (or --signal-config none to remove it)');
      const e = await api.request<Row>('PUT', `/experiments/${exp}/signal-config`, { signalConfig: file === 'none' ? null : readSignalConfig(file) });
      c.print(e, () => `Experiment ${e.id}: signal config ${e.signalConfig === null ? 'removed' : 'replaced'}; iterations from now on use it (started ones keep theirs)`);
      return 0;
    }
  }
  return undefined;
}
