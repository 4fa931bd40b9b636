/** Experiments: the list, and one experiment with its members, variants, iterations and trends. */
import { useEffect, useState } from 'preact/hooks';
import { api, useApi } from '../api';
import { Failure, Field, Json, Link, LineChart, Listing, Loading, Status, type Series } from '../components';
import { useNames } from '../names';
import { navigate } from '../navigation';
import { href } from '../router';
import { useProductObject, type Product } from '../session';
import * as fmt from '../format';

export function ExperimentsPage({ product }: { product: Product }) {
  const list = useApi<{ items: any[] }>(`/products/${encodeURIComponent(product.slug)}/experiments`);
  return (
    <>
      <h1>Experiments</h1>
      <p class="muted">Tasks × environments × variants × repeats, run as numbered, immutable iterations.</p>
      <Listing
        loaded={list}
        what="experiments"
        caption={`Experiments of ${product.name}`}
        columns={[{ label: 'Name' }, { label: 'Tasks', num: true }, { label: 'Environments', num: true }, { label: 'Variants' }, { label: 'Repeats', num: true }, { label: 'Iterations', num: true }, { label: 'Updated' }]}
        empty={
          <>
            No experiments yet: <code>simlab experiment create --name NAME --task-ids … --env-ids …</code>
          </>
        }
        row={(e: any) => (
          <tr key={e.id}>
            <td>
              <Link href={href.experiment(e.id)}>{e.name}</Link>
            </td>
            <td class="num">{e.taskIds.length}</td>
            <td class="num">{e.environmentIds.length}</td>
            <td>{e.variants.map((v: any) => v.name).join(', ') || <span class="muted">base</span>}</td>
            <td class="num">{e.repeats}</td>
            <td class="num">{e.lastIterationNumber ?? 0}</td>
            <td>{fmt.time(e.updatedAt)}</td>
          </tr>
        )}
      />
    </>
  );
}

/** The newest iterations charted and tabled; older ones are listed without their figures. */
const DETAILED = 20;

export function ExperimentPage({ id }: { id: string }) {
  const exp = useProductObject<any>(`/experiments/${encodeURIComponent(id)}`);
  const its = useApi<{ items: any[] }>(`/experiments/${encodeURIComponent(id)}/iterations`, { pollMs: 5000, poll: (d) => d.items.some((i) => !i.finishedAt) });
  const names = useNames(exp.slug);
  const [details, setDetails] = useState<Record<number, any>>({});
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  useEffect(() => {
    if (!its.data) return;
    let alive = true;
    // Per-iteration figures come from the database's counts, one small request each.
    const wanted = its.data.items.slice(0, DETAILED);
    // Finished ones also have stored results: pass rate per environment, for the trend.
    const get = (p: string) => api('GET', `/experiments/${encodeURIComponent(id)}/${p}`).catch(() => null);
    Promise.all(wanted.map(async (i) => ({ ...(await get(`iterations/${i.number}`)), results: i.finishedAt ? await get(`results?iteration=${i.number}`) : null }))).then((rows) => {
      if (!alive) return;
      const m: Record<number, any> = {};
      rows.forEach((r, k) => r.id && (m[wanted[k]!.number] = r));
      setDetails(m);
    });
    return () => {
      alive = false;
    };
  }, [its.data]);
  if (exp.error) return <Failure error={exp.error} what={`experiment '${id}'`} />;
  if (!exp.data) return <Loading what="the experiment" />;
  const e = exp.data;
  const rows = (its.data?.items ?? []).slice(0, DETAILED).map((i) => ({ ...i, d: details[i.number] }));
  const chronological = [...rows].reverse().filter((r) => r.d);
  const passRate = (d: any) => (d.ended ? (100 * d.passed) / d.ended : null);
  const series: Series[] = [
    { name: 'pass rate (% of ended runs)', points: chronological.map((r) => ({ x: r.number, y: passRate(r.d) })) },
    { name: 'mean score', points: chronological.map((r) => ({ x: r.number, y: r.d.meanScore })) },
  ];
  const byEnvironment = new Map<string, Series>();
  for (const r of chronological) {
    for (const row of r.d.results?.environments ?? []) {
      const label = `${names.get(row.environmentId) ?? row.environmentId}${row.variant && row.variant !== 'base' ? ` (${row.variant})` : ''}`;
      if (!byEnvironment.has(label)) byEnvironment.set(label, { name: label, points: [] });
      byEnvironment.get(label)!.points.push({ x: r.number, y: row.passRate === null ? null : row.passRate * 100 });
    }
  }
  const start = async () => {
    setStarting(true);
    setStartError(null);
    try {
      const res = await api<{ iterationId: string }>('POST', `/experiments/${encodeURIComponent(e.id)}/iterations`, { body: {} });
      navigate(href.iteration(res.iterationId));
    } catch (err) {
      setStartError((err as Error).message);
    } finally {
      setStarting(false);
    }
  };
  return (
    <>
      <h1>{e.name}</h1>
      <div class="actions-bar">
        <button type="button" onClick={start} disabled={starting}>
          {starting ? 'Starting…' : 'Run a new iteration'}
        </button>
        {startError && (
          <span class="error" role="alert">
            {startError}
          </span>
        )}
      </div>
      <dl class="facts">
        <Field label="Tasks">
          <ul class="plain">
            {e.taskIds.map((t: string) => (
              <li key={t}>
                <Link href={href.task(t)}>{names.get(t) ?? t}</Link>
              </li>
            ))}
          </ul>
        </Field>
        <Field label="Environments">
          <ul class="plain">
            {e.environmentIds.map((x: string) => (
              <li key={x}>
                <Link href={href.environment(x)}>{names.get(x) ?? x}</Link>
              </li>
            ))}
          </ul>
        </Field>
        <Field label="Repeats">{e.repeats}</Field>
        <Field label="Schedule">
          <Schedules experimentId={e.id} />
        </Field>
      </dl>
      <section aria-labelledby="var-h">
        <h2 id="var-h">Variants</h2>
        {e.variants.length === 0 && <p class="muted">None: every iteration runs the environments as they are.</p>}
        {e.variants.map((v: any) => (
          <details key={v.name}>
            <summary>{v.name}</summary>
            <Json value={v.override} />
          </details>
        ))}
      </section>
      <section aria-labelledby="trend-h">
        <h2 id="trend-h">Trend across iterations</h2>
        <LineChart series={series} yMax={100} yLabel="%, score" xLabel="iteration" title={`Pass rate and mean score of ${e.name} per iteration`} />
        <h3>Pass rate per environment</h3>
        {byEnvironment.size ? (
          <LineChart series={[...byEnvironment.values()]} yMax={100} yLabel="pass rate %" xLabel="iteration" title={`Pass rate of each environment of ${e.name} per iteration`} />
        ) : (
          <p class="muted">From an iteration's results, once its runs have all ended.</p>
        )}
      </section>
      <section aria-labelledby="its-h">
        <h2 id="its-h">Iterations</h2>
        {its.error && <Failure error={its.error} what="iterations" />}
        {its.data && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Runs</th>
                  <th scope="col" class="num">Ended</th>
                  <th scope="col" class="num">Pass rate</th>
                  <th scope="col" class="num">Mean score</th>
                  <th scope="col">Created</th>
                  <th scope="col">Finished</th>
                </tr>
              </thead>
              <tbody>
                {its.data.items.map((i, k) => {
                  const d = k < DETAILED ? details[i.number] : undefined;
                  return (
                    <tr key={i.id}>
                      <td>
                        <Link href={href.results(id, i.number)} aria-label={`Iteration ${i.number} results`}>
                          {i.number}
                        </Link>
                      </td>
                      <td>
                        <Status status={i.status} />
                      </td>
                      <td class="num">{i.runCount}</td>
                      <td class="num">{d ? d.ended : '–'}</td>
                      <td class="num">{d ? fmt.percent(d.passed, d.ended) : '–'}</td>
                      <td class="num">{d ? fmt.score(d.meanScore) : '–'}</td>
                      <td>{fmt.time(i.createdAt)}</td>
                      <td>{fmt.time(i.finishedAt)}</td>
                    </tr>
                  );
                })}
                {its.data.items.length === 0 && (
                  <tr>
                    <td colSpan={8} class="muted">
                      No iterations yet.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {e.signalConfig && (
        <section aria-labelledby="sig-h">
          <h2 id="sig-h">Signal configuration</h2>
          <pre class="code">{e.signalConfig}</pre>
        </section>
      )}
    </>
  );
}

/** Its cron schedules (Temporal owns them): when the next iteration starts by itself. */
function Schedules({ experimentId }: { experimentId: string }) {
  const list = useApi<{ items: any[] }>(`/experiments/${encodeURIComponent(experimentId)}/schedules`);
  if (list.error) return <span class="muted">{list.error.status === 404 ? 'none' : list.error.message}</span>;
  if (!list.data) return <span class="muted">…</span>;
  if (!list.data.items.length) return <span class="muted">none (started by hand)</span>;
  return (
    <ul class="plain">
      {list.data.items.map((s) => (
        <li key={s.id}>
          <code>{s.cron}</code> {s.timezone}
          {s.paused ? ' · paused' : s.nextRunAt ? ` · next ${fmt.time(s.nextRunAt)}` : ''}
        </li>
      ))}
    </ul>
  );
}
