/** Building blocks shared by the screens: links, badges, tables, pagers, charts. */
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api';
import { isPlainClick, navigate } from './navigation';
import * as fmt from './format';

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      {...props}
      onClick={(e) => {
        if (!isPlainClick(e as unknown as MouseEvent)) return;
        e.preventDefault();
        navigate(props.href);
      }}
    />
  );
}

const LIVE = ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing'];
export const isLive = (status: string) => LIVE.includes(status);

export function Status({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status.replace(/_/g, ' ')}</span>;
}

export function Verdict({ verdict }: { verdict: string | null | undefined }) {
  if (!verdict) return <span class="muted">–</span>;
  return <span class={`badge verdict-${verdict}`}>{verdict}</span>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A failed load: a 404 is a page of its own (another organization's object looks exactly like a missing one). */
export function Failure({ error, what }: { error: ApiError; what: string }) {
  if (error.status === 404) return <NotFound what={what} message={error.message} />;
  return (
    <div class="error" role="alert">
      <strong>Could not load {what}</strong>: {error.message}
    </div>
  );
}

export function NotFound({ what, message }: { what: string; message?: string }) {
  return (
    <section class="notfound" aria-labelledby="nf-title">
      <h1 id="nf-title">404: {what} not found</h1>
      <p>{message ?? 'There is nothing at this address.'}</p>
      <p>
        <Link href="/">Back to the dashboard</Link>
      </p>
    </section>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre class="code">{JSON.stringify(value, null, 2)}</pre>;
}

/** Cursor paging: the API hands out `nextCursor`; going back replays the cursors seen. */
export function useCursorPager() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const cursor = stack[stack.length - 1] ?? null;
  return {
    cursor,
    page: stack.length,
    next: (c: string) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
  };
}

export function Pager({ page, hasNext, onPrev, onNext, label }: { page: number; hasNext: boolean; onPrev: () => void; onNext: () => void; label: string }) {
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={onPrev} disabled={page <= 1}>
        ← Newer
      </button>
      <span>Page {page}</span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Older →
      </button>
    </nav>
  );
}

export interface Series {
  name: string;
  points: { x: number; y: number | null }[];
}

const PALETTE = ['#1f5fbf', '#b35900', '#2e7d32', '#8e24aa', '#c62828', '#00796b', '#5d4037', '#455a64'];

/**
 * A line chart in SVG (no chart library: a few lines across iterations is all it draws).
 * y runs 0..yMax; gaps (null) break a line. Every point has a text title for screen readers.
 */
export function LineChart({ series, yMax, yLabel, xLabel, title }: { series: Series[]; yMax: number; yLabel: string; xLabel: string; title: string }) {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  if (!xs.length) return <p class="muted">No data to chart yet.</p>;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const W = 640, H = 220, L = 44, R = 12, T = 12, B = 34;
  const sx = (x: number) => (x1 === x0 ? L + (W - L - R) / 2 : L + ((x - x0) / (x1 - x0)) * (W - L - R));
  const sy = (y: number) => T + (1 - y / yMax) * (H - T - B);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  const step = Math.ceil(xTicks.length / 10);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        <title>{title}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={L} x2={W - R} y1={sy(t)} y2={sy(t)} class="grid" />
            <text x={L - 6} y={sy(t) + 4} text-anchor="end" class="axis">
              {Math.round(t)}
            </text>
          </g>
        ))}
        {xTicks.filter((_, i) => i % step === 0).map((x) => (
          <text key={x} x={sx(x)} y={H - B + 16} text-anchor="middle" class="axis">
            {x}
          </text>
        ))}
        <text x={(L + W - R) / 2} y={H - 4} text-anchor="middle" class="axis">
          {xLabel}
        </text>
        <text x={12} y={T + (H - T - B) / 2} text-anchor="middle" class="axis" transform={`rotate(-90 12 ${T + (H - T - B) / 2})`}>
          {yLabel}
        </text>
        {series.map((s, i) => {
          const color = PALETTE[i % PALETTE.length];
          const segments: string[] = [];
          let d = '';
          for (const p of s.points) {
            if (p.y === null) {
              if (d) segments.push(d);
              d = '';
              continue;
            }
            d += `${d ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
          }
          if (d) segments.push(d);
          return (
            <g key={s.name} stroke={color} fill={color}>
              {segments.map((seg) => (
                <path key={seg} d={seg} fill="none" stroke-width="2" />
              ))}
              {s.points.filter((p) => p.y !== null).map((p) => (
                <circle key={p.x} cx={sx(p.x)} cy={sy(p.y!)} r="3.5">
                  <title>{`${s.name}, ${xLabel} ${p.x}: ${fmt.score(p.y)}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((s, i) => (
            <li key={s.name}>
              <span class="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
              {s.name}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

/** Horizontal bars of counts (runs per status): the numbers are in the text, the bars only show proportion. */
export function CountBars({ counts, total, label }: { counts: [string, number][]; total: number; label: string }) {
  return (
    <table class="bars">
      <caption class="sr-only">{label}</caption>
      <tbody>
        {counts.map(([name, n]) => (
          <tr key={name}>
            <th scope="row">
              <Status status={name} />
            </th>
            <td class="num">{n}</td>
            <td class="bar-cell" aria-hidden="true">
              <span class={`bar status-${name}`} style={{ width: `${total ? Math.max((n / total) * 100, n ? 1 : 0) : 0}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface Column {
  label: string;
  num?: boolean;
}

/** A list screen's table: loading and failure states, a caption, a header row, and a line for none. */
export function Listing<T>(props: { loaded: { data?: { items: T[] }; error?: ApiError }; what: string; caption: ComponentChildren; columns: Column[]; row: (item: T) => ComponentChildren; empty: ComponentChildren }) {
  const { loaded, columns } = props;
  if (loaded.error) return <Failure error={loaded.error} what={props.what} />;
  if (!loaded.data) return <Loading what={props.what} />;
  const items = loaded.data.items;
  return (
    <div class="scroll">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.label} scope="col" class={c.num ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map(props.row)}
          {items.length === 0 && (
            <tr>
              <td colSpan={columns.length} class="muted">
                {props.empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Retired({ at }: { at: string | null }) {
  return <p class="error">Retired on {fmt.time(at)}: kept for its runs, not run again.</p>;
}

/** The workflow in the Temporal Web UI, in a new tab. */
export function TemporalField({ temporal }: { temporal: { workflowId: string; url: string } }) {
  return (
    <Field label="Temporal">
      <a href={temporal.url} target="_blank" rel="noopener noreferrer">
        {temporal.workflowId} ↗
      </a>
    </Field>
  );
}
