/**
 * An iteration: live progress (counts per status, ETA) polled from the database's counts,
 * its summary, and its runs a page at a time: never every run (10,000-run iterations).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, useApi } from '../api';
import { CountBars, Failure, Field, Link, Loading, Status, TemporalField } from '../components';
import { href } from '../router';
import { useApp } from '../session';
import { RunsTable } from './Runs';
import { CancelButton } from './Run';
import * as fmt from '../format';

const ORDER = ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed', 'failed', 'cancelled'];

/** Which product of the organization holds the iteration: its runs' list answers for one product only. */
function useIterationProduct(iterationId: string) {
  const { session, product, showProduct } = useApp();
  const [slug, setSlug] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    let alive = true;
    (async () => {
      const candidates = [...session.products].sort((a, b) => (a.id === product?.id ? -1 : b.id === product?.id ? 1 : 0));
      for (const p of candidates) {
        const page = await api<{ items: { id: string }[] }>('GET', `/products/${encodeURIComponent(p.slug)}/runs?iterationId=${encodeURIComponent(iterationId)}&limit=1`).catch(() => ({ items: [] }));
        if (!alive) return;
        if (page.items.length) {
          setSlug(p.slug);
          showProduct(p.id);
          return;
        }
      }
      setSlug(null);
    })();
    return () => {
      alive = false;
    };
  }, [iterationId]);
  return slug;
}

export function IterationPage({ id }: { id: string }) {
  const it = useApi<any>(`/iterations/${encodeURIComponent(id)}`, { pollMs: 2000, poll: (d) => !d.finishedAt });
  const slug = useIterationProduct(id);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  if (it.error) return <Failure error={it.error} what={`iteration '${id}'`} />;
  if (!it.data) return <Loading what="the iteration" />;
  const d = it.data;
  const s = d.summary;
  const counts: [string, number][] = ORDER.map((k) => [k, s.byStatus[k] ?? 0]);
  const running = !d.finishedAt;
  const eta = running ? fmt.eta({ startedAt: d.startedAt ?? d.createdAt, total: d.runCount, ended: s.ended, now }) : null;
  const verdicts = s.passed + s.failedVerdicts;
  return (
    <>
      <h1>
        Iteration {d.number} <span class="mono muted">{d.id}</span>
      </h1>
      <div class="summary">
        <Status status={d.status} />
        {running && <CancelButton path={`/iterations/${encodeURIComponent(d.id)}/cancel`} what="iteration" onDone={it.reload} />}
      </div>
      <section aria-labelledby="prog-h">
        <h2 id="prog-h">Progress</h2>
        <div aria-live="polite" class="progress-text">
          <strong>
            {s.ended} of {d.runCount}
          </strong>{' '}
          runs ended ({fmt.percent(s.ended, d.runCount)}){running && <> · ETA {eta === null ? 'estimating…' : fmt.duration(eta)}</>}
          {!running && <> · finished {fmt.time(d.finishedAt)}</>}
        </div>
        <progress max={d.runCount} value={s.ended} aria-label="Runs ended" />
        <CountBars counts={counts} total={d.runCount} label="Runs per status" />
      </section>
      <section aria-labelledby="sum-h">
        <h2 id="sum-h">Summary</h2>
        <dl class="facts">
          <Field label="Pass rate">
            {fmt.percent(s.passed, verdicts)} <span class="muted">({s.passed} passed, {s.failedVerdicts} failed of {verdicts} with a verdict)</span>
          </Field>
          <Field label="Mean score">{fmt.score(s.meanScore)}</Field>
          <Field label="Failed runs">{s.byStatus.failed ?? 0} <span class="muted">(infrastructure, setup or evaluation trouble; see each run's failure)</span></Field>
          <Field label="Created">{fmt.time(d.createdAt)}</Field>
          <Field label="Started">{fmt.time(d.startedAt)}</Field>
          <TemporalField temporal={d.temporal} />
        </dl>
      </section>
      <section aria-labelledby="runs-h">
        <h2 id="runs-h">Runs</h2>
        {slug === undefined && <Loading what="runs" />}
        {slug === null && <p class="muted">No runs.</p>}
        {slug && <RunsTable productSlug={slug} filter={{ iterationId: d.id }} caption={`Runs of iteration ${d.number}`} />}
        {slug && (
          <p>
            <Link href={href.runs(slug)}>All runs of the product</Link>
          </p>
        )}
      </section>
    </>
  );
}
