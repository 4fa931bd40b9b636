/** Tasks: the list (searchable), and one task's definition, environments, recent runs and a form to run it. */
import { useEffect, useState } from 'preact/hooks';
import { api, useApi } from '../api';
import { Failure, Field, Json, Link, Listing, Loading, Retired } from '../components';
import { navigate } from '../navigation';
import { href } from '../router';
import { useProductObject, type Product } from '../session';
import { RunsTable } from './Runs';
import * as fmt from '../format';

const LIMIT = 100;

export function TasksPage({ product }: { product: Product }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);
  const q = new URLSearchParams({ limit: String(LIMIT) });
  if (query) q.set('search', query);
  const list = useApi<{ items: any[] }>(`/products/${encodeURIComponent(product.slug)}/tasks?${q}`);
  return (
    <>
      <h1>Tasks</h1>
      <label class="inline">
        Search by name{' '}
        <input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
      </label>
      <Listing
        loaded={list}
        what="tasks"
        caption={`Tasks of ${product.name}${list.data?.items.length === LIMIT ? ` (the newest ${LIMIT}; search to narrow)` : ''}`}
        columns={[{ label: 'Name' }, { label: 'Category' }, { label: 'Goals', num: true }, { label: 'Version', num: true }, { label: 'Updated' }]}
        empty={query ? `No task named like “${query}”.` : 'No tasks yet: simlab task create --file task.json'}
        row={(t: any) => (
          <tr key={t.id}>
            <td>
              <Link href={href.task(t.id)}>{t.name}</Link>
            </td>
            <td>{t.category}</td>
            <td class="num">{t.definition?.goals?.length ?? '–'}</td>
            <td class="num">{t.version}</td>
            <td>{fmt.time(t.updatedAt)}</td>
          </tr>
        )}
      />
    </>
  );
}

export function TaskPage({ id }: { id: string }) {
  const task = useProductObject<any>(`/tasks/${encodeURIComponent(id)}`);
  const slug = task.slug;
  if (task.error) return <Failure error={task.error} what={`task '${id}'`} />;
  if (!task.data) return <Loading what="the task" />;
  const t = task.data;
  const def = t.definition;
  return (
    <>
      <h1>{t.name}</h1>
      {t.retired && <Retired at={t.retiredAt} />}
      <dl class="facts">
        <Field label="Category">{t.category}</Field>
        <Field label="Version">{t.version}</Field>
        <Field label="Time limit">{def.timeoutMinutes ? `${def.timeoutMinutes} min` : '–'}</Field>
        <Field label="Secrets">{def.secrets?.length ? def.secrets.join(', ') : <span class="muted">none</span>}</Field>
        <Field label="Created">{fmt.time(t.createdAt)}</Field>
        <Field label="Updated">{fmt.time(t.updatedAt)}</Field>
      </dl>
      <section aria-labelledby="prompt-h">
        <h2 id="prompt-h">Prompt</h2>
        <pre class="code prose">{def.prompt}</pre>
      </section>
      <section aria-labelledby="goals-h">
        <h2 id="goals-h">Goals</h2>
        <ol>
          {def.goals.map((g: any, i: number) => (
            <li key={i}>
              <strong>{g.name}</strong> <span class="muted">({g.scoringMethod?.replace(/_/g, ' ')}, passes at {g.passingThreshold})</span>
              {g.description && <div>{g.description}</div>}
              <ul>
                {(g.criteria ?? []).map((c: any, k: number) => (
                  <li key={k}>
                    {c.name ?? c.evaluationType} <span class="muted">· {c.evaluationType} · weight {c.weight ?? 1}</span>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ol>
      </section>
      {!t.retired && slug && <StartRun taskId={t.id} productSlug={slug} linked={t.environmentIds} />}
      {t.uploads?.length > 0 && (
        <section aria-labelledby="up-h">
          <h2 id="up-h">Uploads</h2>
          <ul>
            {t.uploads.map((u: any) => (
              <li key={u.id ?? u.name}>
                {u.name} <span class="muted">{fmt.bytes(u.bytes ?? u.size)} · sha256 {String(u.sha256).slice(0, 16)}…</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="def-h">
        <h2 id="def-h">Definition</h2>
        <details>
          <summary>The stored definition (version {t.version})</summary>
          <Json value={def} />
        </details>
      </section>
      {slug && (
        <section aria-labelledby="truns-h">
          <h2 id="truns-h">Runs of this task</h2>
          <RunsTable productSlug={slug} filter={{ taskId: t.id }} pageSize={10} caption={`Runs of ${t.name}`} />
        </section>
      )}
    </>
  );
}

/** Start a run of the task on environments chosen here (its linked ones ticked to begin with). */
function StartRun({ taskId, productSlug, linked }: { taskId: string; productSlug: string; linked: string[] }) {
  const envs = useApi<{ items: any[] }>(`/products/${encodeURIComponent(productSlug)}/environments?limit=1000`);
  const [chosen, setChosen] = useState<Set<string>>(new Set(linked));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!chosen.size) {
      setError('Choose at least one environment.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ iterationId: string; runIds: string[] }>('POST', `/tasks/${encodeURIComponent(taskId)}/runs`, { body: { environmentIds: [...chosen] } });
      navigate(res.runIds.length === 1 ? href.run(res.runIds[0]!) : href.iteration(res.iterationId));
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="start-h">
      <h2 id="start-h">Run this task</h2>
      {envs.error && <Failure error={envs.error} what="environments" />}
      {envs.data && envs.data.items.length === 0 && <p class="muted">No environment yet: create one first (simlab env create --file env.json).</p>}
      {envs.data && envs.data.items.length > 0 && (
        <form onSubmit={submit} class="start-run">
          <fieldset>
            <legend>Environments</legend>
            {envs.data.items.map((x) => (
              <label key={x.id} class="check">
                <input
                  type="checkbox"
                  name="environment"
                  value={x.id}
                  checked={chosen.has(x.id)}
                  disabled={!x.enabled && !chosen.has(x.id)}
                  onChange={(ev) => {
                    const on = (ev.target as HTMLInputElement).checked;
                    setChosen((s) => {
                      const n = new Set(s);
                      if (on) n.add(x.id);
                      else n.delete(x.id);
                      return n;
                    });
                  }}
                />{' '}
                {x.name} <span class="muted">({x.definition?.agent?.harness ?? '?'}{x.enabled ? '' : ', disabled'}{linked.includes(x.id) ? ', linked' : ''})</span>
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy}>
            {busy ? 'Starting…' : `Start ${chosen.size === 1 ? 'a run' : `${chosen.size} runs`}`}
          </button>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
