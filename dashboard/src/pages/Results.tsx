/**
 * An experiment iteration's results: the summary table (task × environment × variant: pass
 * rate and mean score with confidence intervals, outcomes, infrastructure failures apart),
 * pass rate by environment, score distributions, signal aggregates, failure clusters, and a
 * comparison with an earlier iteration with significant changes highlighted. Read from the
 * stored results (GET /experiments/:id/results), never from every run.
 */
import { useEffect } from 'preact/hooks';
import { useApi, type ApiError } from '../api';
import { Failure, Link, Loading, Status } from '../components';
import { useNames } from '../names';
import { navigate } from '../navigation';
import { href } from '../router';
import { useProductObject } from '../session';
import * as fmt from '../format';

type Interval = [number, number] | null;

const OUTCOMES = ['passed', 'failed', 'incomplete', 'setup_error', 'evaluation_error', 'cancelled', 'other'];

const rate = (r: number | null, ci: Interval) => (r === null ? '–' : `${fmt.score(r * 100)}%${ci ? ` (${fmt.score(ci[0] * 100)}–${fmt.score(ci[1] * 100)})` : ''}`);
const mean = (m: number | null, ci: Interval) => (m === null ? '–' : `${fmt.score(m)}${ci ? ` (${fmt.score(ci[0])}–${fmt.score(ci[1])})` : ''}`);

export function ResultsPage({ id, number, compare }: { id: string; number: number; compare?: number }) {
  const exp = useProductObject<any>(`/experiments/${encodeURIComponent(id)}`);
  const names = useNames(exp.slug);
  const it = useApi<any>(`/experiments/${encodeURIComponent(id)}/iterations/${number}`, { pollMs: 3000, poll: (d) => !d.finishedAt });
  const its = useApi<{ items: any[] }>(`/experiments/${encodeURIComponent(id)}/iterations`);
  const q = `iteration=${number}${compare ? `&compare=${compare}` : ''}`;
  const res = useApi<any>(it.data?.finishedAt ? `/experiments/${encodeURIComponent(id)}/results?${q}` : null);
  // Results are stored moments after the last run ends: until then the API says 409.
  useEffect(() => {
    if (res.error?.status !== 409) return;
    const t = setTimeout(res.reload, 3000);
    return () => clearTimeout(t);
  }, [res.error]);
  if (exp.error) return <Failure error={exp.error} what={`experiment '${id}'`} />;
  if (it.error) return <Failure error={it.error} what={`iteration ${number} of experiment '${id}'`} />;
  if (!exp.data || !it.data) return <Loading what="the iteration" />;
  const n = (x: string) => names.get(x) ?? x;
  const earlier = (its.data?.items ?? []).filter((i) => i.number < number);
  return (
    <>
      <p class="crumbs">
        <Link href={href.experiment(id)}>{exp.data.name}</Link>
      </p>
      <h1>Iteration {number} results</h1>
      <div class="summary">
        <Status status={it.data.status} />
        <span>
          {it.data.ended} of {it.data.total} runs ended · pass rate {fmt.percent(it.data.passed, it.data.ended)} · mean score {fmt.score(it.data.meanScore)}
        </span>
        <Link href={href.iteration(it.data.id)}>Progress and runs</Link>
      </div>
      {!it.data.finishedAt && <p class="muted">Results are computed once every run has ended; this page follows the iteration until then.</p>}
      {res.error && <ResultsUnavailable error={res.error} />}
      {it.data.finishedAt && !res.data && !res.error && <Loading what="results" />}
      {res.data && (
        <>
          <section aria-labelledby="rs-h">
            <h2 id="rs-h">Summary</h2>
            <p>
              {res.data.runs} runs · {OUTCOMES.filter((o) => res.data.outcomes[o]).map((o) => `${res.data.outcomes[o]} ${o.replace(/_/g, ' ')}`).join(' · ')}
              {res.data.infraFailures ? ` · ${res.data.infraFailures} infrastructure failures (left out of pass rates)` : ''}
            </p>
            <SummaryTable rows={res.data.summary} name={n} />
          </section>
          <section aria-labelledby="env-h">
            <h2 id="env-h">Pass rate by environment</h2>
            <table class="bars">
              <caption class="sr-only">Pass rate by environment</caption>
              <tbody>
                {res.data.environments.map((e: any) => (
                  <tr key={e.environmentId + e.variant}>
                    <th scope="row">
                      {n(e.environmentId)}
                      {e.variant && e.variant !== 'base' ? ` (${e.variant})` : ''}
                    </th>
                    <td class="num">{rate(e.passRate, e.passRateCi)}</td>
                    <td class="bar-cell" aria-hidden="true">
                      <span class="bar status-completed" style={{ width: `${(e.passRate ?? 0) * 100}%` }} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Score distributions</h3>
            <ScoreStrips rows={res.data.summary} name={n} />
          </section>
          <Signals signals={res.data.signals} name={n} />
          <Clusters clusters={res.data.clusters} source={res.data.analysis?.clusterSource} name={n} />
          <section aria-labelledby="cmp-h">
            <h2 id="cmp-h">Compare with an earlier iteration</h2>
            {earlier.length === 0 ? (
              <p class="muted">This is the first iteration.</p>
            ) : (
              <label class="inline">
                Baseline{' '}
                <select
                  id="cmp-base"
                  value={compare ?? ''} onChange={(e) => navigate(href.results(id, number, Number((e.target as HTMLSelectElement).value) || undefined), { replace: true })}>
                  <option value="">none</option>
                  {earlier.map((i) => (
                    <option key={i.number} value={i.number}>
                      iteration {i.number}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {res.data.comparison && <ComparisonTable c={res.data.comparison} name={n} />}
          </section>
        </>
      )}
    </>
  );
}

function ResultsUnavailable({ error }: { error: ApiError }) {
  if (error.status === 409) return <p class="muted">{error.message}</p>;
  if (error.status === 404 && /no route/.test(error.message)) return <p class="muted">This server does not compute iteration results.</p>;
  return <Failure error={error} what="results" />;
}

function SummaryTable({ rows, name }: { rows: any[]; name: (id: string) => string }) {
  return (
    <div class="scroll">
      <table>
        <caption>Task × environment × variant: pass rate and mean score with 95% confidence intervals</caption>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Environment</th>
            <th scope="col">Variant</th>
            <th scope="col" class="num">Runs</th>
            <th scope="col" class="num">Pass rate (CI)</th>
            <th scope="col" class="num">Mean score (CI)</th>
            <th scope="col">Outcomes</th>
            <th scope="col" class="num">Infra</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.taskId}|${r.environmentId}|${r.variant}`}>
              <td>{name(r.taskId)}</td>
              <td>{name(r.environmentId)}</td>
              <td>{r.variant}</td>
              <td class="num">{r.runs}</td>
              <td class="num">{rate(r.passRate, r.passRateCi)}</td>
              <td class="num">{mean(r.meanScore, r.meanScoreCi)}</td>
              <td>{OUTCOMES.filter((o) => r.outcomes[o]).map((o) => `${r.outcomes[o]} ${o.replace(/_/g, ' ')}`).join(', ') || '–'}</td>
              <td class="num">{r.infraFailures}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Every score of a cell as a tick on a 0-100 line: the spread at a glance, without a chart library. */
function ScoreStrips({ rows, name }: { rows: any[]; name: (id: string) => string }) {
  return (
    <div class="strips">
      {rows.map((r) => (
        <div class="strip" key={`${r.taskId}|${r.environmentId}|${r.variant}`}>
          <span class="strip-label">
            {name(r.taskId)} · {name(r.environmentId)} · {r.variant}
          </span>
          <svg viewBox="0 0 200 16" role="img" aria-label={`scores: ${r.scores.join(', ') || 'none'}`}>
            <line x1="0" x2="200" y1="8" y2="8" class="grid" />
            {r.scores.map((s: number, i: number) => (
              <line key={i} x1={s * 2} x2={s * 2} y1="2" y2="14" class="tick" />
            ))}
          </svg>
        </div>
      ))}
    </div>
  );
}

function Signals({ signals, name }: { signals: any; name: (id: string) => string }) {
  const defs: any[] = signals?.definitions ?? [];
  if (!defs.length) return null;
  const show = (a: any) => (a === undefined ? '–' : typeof a === 'object' ? Object.entries(a).filter(([, v]) => v !== null && typeof v !== 'object').map(([k, v]) => `${k} ${typeof v === 'number' ? fmt.score(v) : v}`).join(' · ') : String(a));
  const envs = Object.keys(signals.aggregates?.byEnvironment ?? {});
  return (
    <section aria-labelledby="sig-h">
      <h2 id="sig-h">Signals</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Signal</th>
              <th scope="col">Overall</th>
              {envs.map((e) => (
                <th scope="col" key={e}>
                  {name(e)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {defs.map((d) => (
              <tr key={d.name}>
                <th scope="row">{d.name}</th>
                <td>{show(signals.aggregates.overall?.[d.name])}</td>
                {envs.map((e) => (
                  <td key={e}>{show(signals.aggregates.byEnvironment[e]?.[d.name])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Clusters({ clusters, source, name }: { clusters: any[]; source?: string; name: (id: string) => string }) {
  return (
    <section aria-labelledby="cl-h">
      <h2 id="cl-h">Failure clusters</h2>
      {clusters.length === 0 && <p class="muted">No failures to cluster.</p>}
      {clusters.length > 0 && source && <p class="muted">Clustered by {source === 'model' ? 'a model' : 'deterministic rules'}.</p>}
      {clusters.map((c) => (
        <article class="cluster" key={c.key}>
          <h3>
            {c.name} <span class="badge verdict-failed">{c.runIds.length} runs</span> <span class="muted">{c.rootCauseCategory}</span>
          </h3>
          <p>
            <strong>Root cause:</strong> {c.rootCause}
          </p>
          <p>
            <strong>Recommended fix:</strong> {c.recommendedFix}
          </p>
          <p class="muted">
            {c.environmentIds.map(name).join(', ')} · runs:{' '}
            {c.runIds.slice(0, 10).map((r: string, i: number) => (
              <span key={r}>
                {i ? ', ' : ''}
                <Link href={href.run(r)} class="mono">
                  {r}
                </Link>
              </span>
            ))}
            {c.runIds.length > 10 ? ` and ${c.runIds.length - 10} more` : ''}
          </p>
        </article>
      ))}
    </section>
  );
}

function ComparisonTable({ c, name }: { c: any; name: (id: string) => string }) {
  const pct = (x: number | null) => (x === null ? '–' : `${fmt.score(x * 100)}%`);
  const delta = (x: number | null, scale = 1) => (x === null ? '–' : `${x > 0 ? '+' : ''}${fmt.score(x * scale)}`);
  return (
    <>
      <div class="scroll">
        <table>
          <caption>
            Iteration {c.iteration} against {c.baselineIteration}: Fisher's exact test on pass rates, Welch's t on scores, Holm-corrected, α = {c.test.alpha}. Significant changes are highlighted.
          </caption>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Environment</th>
              <th scope="col">Variant</th>
              <th scope="col" class="num">Pass rate</th>
              <th scope="col" class="num">Δ</th>
              <th scope="col" class="num">Mean score</th>
              <th scope="col" class="num">Δ</th>
              <th scope="col" class="num">p</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {c.rows.map((r: any) => (
              <tr key={`${r.taskId}|${r.environmentId}|${r.variant}`} class={r.significant ? `significant ${r.direction}` : undefined}>
                <td>{name(r.taskId)}</td>
                <td>{name(r.environmentId)}</td>
                <td>{r.variant}</td>
                <td class="num">
                  {pct(r.passRate[1])} → {pct(r.passRate[0])}
                </td>
                <td class="num">{delta(r.passRateDelta, 100)}</td>
                <td class="num">
                  {fmt.score(r.meanScore[1])} → {fmt.score(r.meanScore[0])}
                </td>
                <td class="num">{delta(r.scoreDelta)}</td>
                <td class="num">{r.pValue === null ? '–' : r.pValue.toFixed(3)}</td>
                <td>{r.significant ? <strong>{r.direction}</strong> : r.verdict?.replace(/_/g, ' ') ?? 'no significant change'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        Clusters: {c.clusters.new.length} new{c.clusters.new.length ? ` (${c.clusters.new.join(', ')})` : ''} · {c.clusters.resolved.length} resolved
        {c.clusters.resolved.length ? ` (${c.clusters.resolved.join(', ')})` : ''} · {c.clusters.persisting.length} persisting
      </p>
    </>
  );
}
