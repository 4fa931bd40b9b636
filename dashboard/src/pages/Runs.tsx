/** Runs of a product, newest first, a page at a time (keyset cursor), filtered by status, task, environment or iteration. */
import { useEffect, useState } from 'preact/hooks';
import { useApi } from '../api';
import { isLive, Link, Listing, Pager, Status, useCursorPager, Verdict, type Column } from '../components';
import { useNames } from '../names';
import { href } from '../router';
import type { Product } from '../session';
import * as fmt from '../format';

export interface RunSummary {
  id: string;
  status: string;
  iterationId: string;
  taskId: string;
  environmentId: string;
  variant: string | null;
  repeat: number | null;
  score: number | null;
  verdict: string | null;
  failureCategory: string | null;
  createdAt: string;
  finishedAt: string | null;
}

const COLUMNS: Column[] = ['Run', 'Status', 'Verdict', 'Score', 'Task', 'Environment', 'Variant', 'Iteration', 'Created'].map((label) => ({ label, num: label === 'Score' }));

const STATUSES = ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed', 'failed', 'cancelled'];

export function RunsTable(props: { productSlug: string; filter: Record<string, string>; pageSize?: number; caption: string; statusFilter?: boolean }) {
  const pager = useCursorPager();
  const [status, setStatus] = useState('');
  const names = useNames(props.productSlug);
  const filterKey = JSON.stringify(props.filter);
  useEffect(() => pager.reset(), [filterKey, status, props.productSlug]);
  const q = new URLSearchParams({ ...props.filter, limit: String(props.pageSize ?? 25) });
  if (status) q.set('status', status);
  if (pager.cursor) q.set('cursor', pager.cursor);
  // The newest page follows live runs; older pages hold still.
  const runs = useApi<{ items: RunSummary[]; nextCursor: string | null }>(`/products/${encodeURIComponent(props.productSlug)}/runs?${q}`, {
    pollMs: 3000,
    poll: (d) => pager.page === 1 && d.items.some((r) => isLive(r.status)),
  });
  return (
    <div class="runs">
      {props.statusFilter !== false && (
        <label class="inline">
          Status{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
      )}
      <Listing
        loaded={runs}
        what="runs"
        caption={props.caption}
        columns={COLUMNS}
        empty={`No runs${status ? ` with status ${status}` : ''}.`}
        row={(r) => (
          <tr key={r.id}>
            <td>
              <Link href={href.run(r.id)} class="mono">
                {r.id}
              </Link>
            </td>
            <td>
              <Status status={r.status} />
              {r.failureCategory && <span class="muted"> ({r.failureCategory})</span>}
            </td>
            <td>
              <Verdict verdict={r.verdict} />
            </td>
            <td class="num">{fmt.score(r.score)}</td>
            <td>
              <Link href={href.task(r.taskId)}>{names.get(r.taskId) ?? r.taskId}</Link>
            </td>
            <td>
              <Link href={href.environment(r.environmentId)}>{names.get(r.environmentId) ?? r.environmentId}</Link>
            </td>
            <td>
              {r.variant ?? '–'}
              {r.repeat !== null && r.repeat !== undefined ? ` #${r.repeat}` : ''}
            </td>
            <td>
              <Link href={href.iteration(r.iterationId)} class="mono">
                {r.iterationId}
              </Link>
            </td>
            <td>{fmt.time(r.createdAt)}</td>
          </tr>
        )}
      />
      {runs.data && (
        <Pager label="Runs" page={pager.page} hasNext={!!runs.data.nextCursor} onPrev={pager.prev} onNext={() => runs.data?.nextCursor && pager.next(runs.data.nextCursor)} />
      )}
    </div>
  );
}

export function RunsPage({ product }: { product: Product }) {
  return (
    <>
      <h1>Runs</h1>
      <p class="muted">Every run of {product.name}, newest first. Start one from a task's page.</p>
      <RunsTable productSlug={product.slug} filter={{}} caption={`Runs of ${product.name}`} />
    </>
  );
}
