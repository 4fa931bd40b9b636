/**
 * A run: status history, score and verdict, goals and criteria with evidence, usage and
 * cost, the transcript as a timeline, normalized actions, workspace changes with diffs,
 * downloads and the Temporal link. Follows a live run without reloading.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, useApi } from '../api';
import { Failure, Field, isLive, Json, Link, Loading, Status, TemporalField, Verdict } from '../components';
import { href } from '../router';
import { useProductOfTask } from '../session';
import { diffLines, timeline, type TranscriptEvent } from '../transcript';
import * as fmt from '../format';

export function RunPage({ id }: { id: string }) {
  const run = useApi<any>(`/runs/${encodeURIComponent(id)}`, { pollMs: 2000, poll: (r) => isLive(r.status) });
  useProductOfTask(run.data?.taskId);
  if (run.error) return <Failure error={run.error} what={`run '${id}'`} />;
  if (!run.data) return <Loading what="the run" />;
  const r = run.data;
  const live = isLive(r.status);
  return (
    <>
      <p class="crumbs">
        <Link href={href.iteration(r.iterationId)}>Iteration {r.iterationId}</Link>
      </p>
      <h1>
        Run <span class="mono">{r.id}</span>
      </h1>
      <div class="summary" aria-live="polite">
        <Status status={r.status} /> <Verdict verdict={r.verdict} />
        <span class="big">{r.score === null ? 'no score' : `score ${fmt.score(r.score)}`}</span>
        {r.cancelling && <span class="badge status-cancelled">cancelling…</span>}
      </div>
      {r.failure && (
        <div class="error" role="alert">
          <strong>Failed ({r.failure.category})</strong>: {r.failure.message}
        </div>
      )}
      <dl class="facts">
        <Field label="Task">
          <Link href={href.task(r.taskId)}>{r.taskName}</Link> <span class="muted">v{r.taskVersion}</span>
        </Field>
        <Field label="Environment">
          <Link href={href.environment(r.environmentId)}>{r.environmentName}</Link> <span class="muted">v{r.environmentVersion}</span>
        </Field>
        {r.variant && <Field label="Variant">{r.variant}{r.repeat !== null ? ` (repeat ${r.repeat})` : ''}</Field>}
        <Field label="Created">{fmt.time(r.timings.createdAt)}</Field>
        <Field label="Duration">{fmt.duration(r.timings.durationMs)}</Field>
        <TemporalField temporal={r.temporal} />
      </dl>
      <div class="actions-bar">
        {r.artifacts.archive ? (
          <a class="button" href={r.artifacts.archive.url} download>
            Download archive ({fmt.bytes(r.artifacts.archive.bytes)})
          </a>
        ) : (
          <span class="muted">{r.artifacts.archiveNote ?? (live ? 'Archive: when the run ends' : 'No archive')}</span>
        )}
        <a class="button secondary" href={r.artifacts.transcript.url} download>
          Transcript (JSON lines)
        </a>
        {r.artifacts.agentLog && (
          <a class="button secondary" href={r.artifacts.agentLog.url} download>
            Agent log
          </a>
        )}
        {live && !r.cancelling && <CancelButton path={`/runs/${encodeURIComponent(r.id)}/cancel`} what="run" onDone={run.reload} />}
      </div>

      <section aria-labelledby="goals-h">
        <h2 id="goals-h">Goals and criteria</h2>
        {r.goals.length === 0 && <p class="muted">{live ? 'Scored when the agent is done.' : 'No results.'}</p>}
        {r.goals.map((g: any) => (
          <div class="goal" key={g.name}>
            <h3>
              {g.name} <Verdict verdict={g.passed === true ? 'passed' : g.passed === false ? 'failed' : null} />{' '}
              <span class="muted">
                {fmt.score(g.score)} / 100 · {g.scoringMethod.replace(/_/g, ' ')}, passes at {g.passingThreshold}
              </span>
            </h3>
            <div class="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Criterion</th>
                    <th scope="col">Type</th>
                    <th scope="col">Result</th>
                    <th scope="col" class="num">Score</th>
                    <th scope="col">Evidence</th>
                  </tr>
                </thead>
                <tbody>
                  {g.criteria.map((c: any, i: number) => (
                    <tr key={i}>
                      <td>{c.name}</td>
                      <td>{c.evaluationType}</td>
                      <td>
                        <CriterionOutcome status={c.status} passed={c.passed} />
                      </td>
                      <td class="num">
                        {fmt.score(c.score)} / {c.maxScore}
                      </td>
                      <td>
                        <pre class="evidence">{c.evidence}</pre>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        ))}
      </section>

      <section aria-labelledby="history-h">
        <h2 id="history-h">Status history</h2>
        <ol class="history">
          {r.statusHistory.map((s: any, i: number) => (
            <li key={i}>
              <time>{fmt.time(s.at)}</time> {s.from ? <Status status={s.from} /> : null} {s.from ? '→ ' : ''}
              <Status status={s.to} /> {s.detail && <span class="muted">{typeof s.detail === 'string' ? s.detail : JSON.stringify(s.detail)}</span>}
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="usage-h">
        <h2 id="usage-h">Usage and cost</h2>
        <dl class="facts">
          <Field label="Cost">{fmt.usd(r.usage.costUsd)}</Field>
          <Field label="Input tokens">{fmt.count(r.usage.inputTokens)}</Field>
          <Field label="Output tokens">{fmt.count(r.usage.outputTokens)}</Field>
          <Field label="Cache read / write">
            {fmt.count(r.usage.cacheReadTokens)} / {fmt.count(r.usage.cacheWriteTokens)}
          </Field>
          <Field label="Turns">{fmt.count(r.usage.turns)}</Field>
          <Field label="Tool calls">{fmt.count(r.usage.toolCalls)}</Field>
          <Field label="Agent">
            exit {r.agent.exitCode ?? '–'}
            {r.agent.timedOut ? ', timed out' : ''}
            {r.agent.stopReason ? `, ${r.agent.stopReason}` : ''} · {fmt.duration(r.agent.durationMs)}
          </Field>
          <Field label="Phases">
            setup {fmt.duration(r.usage.phases.setup)} · agent {fmt.duration(r.usage.phases.agent)} · evaluation {fmt.duration(r.usage.phases.evaluation)} · archive {fmt.duration(r.usage.phases.archive)}
          </Field>
        </dl>
      </section>

      <Analysis runId={r.id} live={live} />
      <Transcript runId={r.id} live={live} />
      <Actions runId={r.id} ended={!live} />
      <Changes changes={r.changes} live={live} />

      <section aria-labelledby="snap-h">
        <h2 id="snap-h">What the run used</h2>
        <details>
          <summary>Task snapshot (frozen)</summary>
          <Json value={r.snapshots.task} />
        </details>
        <details>
          <summary>Environment snapshot (frozen)</summary>
          <Json value={r.snapshots.environment} />
        </details>
      </section>
    </>
  );
}

/** passed or failed when evaluated; otherwise why not (not evaluated, error). */
function CriterionOutcome({ status, passed }: { status: string; passed: boolean | null }) {
  if (status === 'evaluated') return <Verdict verdict={passed ? 'passed' : 'failed'} />;
  return <span class="badge verdict-incomplete">{status.replace(/_/g, ' ')}</span>;
}

export function CancelButton({ path, what, onDone }: { path: string; what: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        class="danger"
        disabled={busy}
        onClick={async () => {
          if (!confirm(`Cancel this ${what}?`)) return;
          setBusy(true);
          try {
            await api('POST', path);
            onDone();
          } catch (e) {
            setErr((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        Cancel {what}
      </button>
      {err && <span class="error">{err}</span>}
    </>
  );
}

const PAGE = 300;
const LONG_OUTPUT_LINES = 40;

/** The timeline, read a page at a time with `after`; a live run's new events are fetched as they come. */
function Transcript({ runId, live }: { runId: string; live: boolean }) {
  const [events, setEvents] = useState<TranscriptEvent[]>([]);
  const [more, setMore] = useState(false);
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const after = events.length ? events[events.length - 1]!.seq : 0;
  const fetchPage = async (from: number) => {
    const page = await api<{ items: TranscriptEvent[]; ended: boolean }>('GET', `/runs/${encodeURIComponent(runId)}/events?after=${from}&limit=${PAGE}`);
    setEvents((ev) => (ev.length && ev[ev.length - 1]!.seq !== from ? ev : [...ev, ...page.items]));
    setMore(page.items.length === PAGE);
    setEnded(page.ended);
    return page;
  };
  useEffect(() => {
    setEvents([]);
    fetchPage(0).catch((e) => setError((e as Error).message));
  }, [runId]);
  // Following: while the run is live (or just ended and its last events may be in flight).
  useEffect(() => {
    if (more || (ended && !live)) return;
    const t = setTimeout(() => fetchPage(after).catch(() => undefined), 1500);
    return () => clearTimeout(t);
  }, [after, more, ended, live]);
  const items = timeline(events);
  return (
    <section aria-labelledby="tr-h">
      <h2 id="tr-h">Transcript</h2>
      {error && <p class="error">{error}</p>}
      {!events.length && !error && <p class="muted">{ended ? 'No events.' : 'Waiting for the first events…'}</p>}
      <ol class="timeline">
        {items.map((it) => (
          <li key={it.seq} id={`ev-${it.seq}`} class={`ev ev-${it.kind === 'event' ? it.event.type : it.kind}`}>
            <span class="seq" title={fmt.time(it.at)}>
              #{it.seq}
            </span>
            <TimelineBody item={it} />
          </li>
        ))}
      </ol>
      {more && (
        <button type="button" onClick={() => fetchPage(after).catch((e) => setError((e as Error).message))}>
          Load more events
        </button>
      )}
    </section>
  );
}

function TimelineBody({ item }: { item: ReturnType<typeof timeline>[number] }) {
  if (item.kind === 'output') {
    // Long output (a raw stream, a build log) folds away; short output reads in place.
    const lines = item.text.split('\n').length;
    if (lines <= LONG_OUTPUT_LINES)
      return (
        <div>
          <div class="ev-label">Command output</div>
          <pre class="code">{item.text}</pre>
        </div>
      );
    return (
      <details>
        <summary>
          <span class="ev-label">Command output</span> ({lines} lines)
        </summary>
        <pre class="code">{item.text}</pre>
      </details>
    );
  }
  if (item.kind === 'tool') {
    const { call, result } = item;
    return (
      <div>
        <div class="ev-label">
          Tool call <strong>{String(call.data.name)}</strong>
        </div>
        <pre class="code">{typeof call.data.input === 'object' ? JSON.stringify(call.data.input, null, 2) : String(call.data.input ?? '')}</pre>
        {result ? (
          <details open={!!result.data.isError}>
            <summary class={result.data.isError ? 'err' : ''}>
              Result{result.data.isError ? ' (error)' : ''}
              {result.data.interrupted ? ' (interrupted)' : ''}
            </summary>
            <pre class="code">{typeof result.data.output === 'string' ? result.data.output : JSON.stringify(result.data.output, null, 2)}</pre>
          </details>
        ) : (
          <p class="muted">No result yet.</p>
        )}
      </div>
    );
  }
  const e = item.event;
  const d = e.data;
  switch (e.type) {
    case 'status':
      return (
        <div>
          <span class="ev-label">Status</span> {d.from && <Status status={String(d.from)} />} → <Status status={String(d.to)} /> {d.detail && <span class="muted">{typeof d.detail === 'string' ? d.detail : JSON.stringify(d.detail)}</span>}
        </div>
      );
    case 'agent_message':
      return (
        <div>
          <div class="ev-label">Agent</div>
          <div class="message">{String(d.text ?? '')}</div>
        </div>
      );
    case 'thinking':
      return (
        <details>
          <summary>Thinking ({String(d.text ?? '').length} characters)</summary>
          <pre class="code thinking">{String(d.text ?? '')}</pre>
        </details>
      );
    case 'setup':
      return (
        <div>
          <span class="ev-label">Setup: {String(d.step ?? '')}</span> <span class="muted">{summarize(d, ['step'])}</span>
          {typeof d.output === 'string' && d.output && <pre class="code">{d.output}</pre>}
        </div>
      );
    case 'usage':
      return (
        <div class="muted">
          <span class="ev-label">Usage</span> {summarize(d, [])}
        </div>
      );
    case 'criterion':
      return (
        <div>
          <span class="ev-label">Criterion</span> {String(d.goal ?? '')} / {String(d.name ?? '')}: <CriterionOutcome status={String(d.status)} passed={d.passed ?? null} /> {d.score !== undefined && d.score !== null ? `${fmt.score(d.score)} / ${d.maxScore}` : ''}
        </div>
      );
    case 'error':
      return (
        <div class="error">
          <span class="ev-label">Error</span> {String(d.message ?? '')}
        </div>
      );
    default:
      return (
        <div>
          <span class="ev-label">{e.type}</span> {summarize(d, [])}
        </div>
      );
  }
}

function summarize(d: Record<string, unknown>, skip: string[]): string {
  return Object.entries(d)
    .filter(([k, v]) => !skip.includes(k) && k !== 'output' && v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}: ${String(v).slice(0, 200)}`)
    .join(' · ');
}

/** Friction points (each linked to the transcript events it is about) and signal values, once the run is analysed. */
function Analysis({ runId, live }: { runId: string; live: boolean }) {
  const a = useApi<any>(`/runs/${encodeURIComponent(runId)}/analysis`, { pollMs: 3000, poll: (d) => live || d.status === 'pending' });
  // A server without the analysis routes has nothing to show here.
  if (a.error?.status === 404 && /no route/.test(a.error.message)) return null;
  const signals = Object.entries(a.data?.signals ?? {});
  const points: any[] = a.data?.friction?.points ?? [];
  return (
    <section aria-labelledby="an-h">
      <h2 id="an-h">Analysis</h2>
      {a.error && <Failure error={a.error} what="the analysis" />}
      {a.data?.status === 'pending' && <p class="muted">Analysed when the run ends.</p>}
      {a.data && a.data.status !== 'pending' && (
        <>
          <h3>Friction points</h3>
          {points.length === 0 && <p class="muted">None found.</p>}
          <ul>
            {points.map((p, i) => (
              <li key={i}>
                <span class="badge verdict-incomplete">{String(p.kind).replace(/_/g, ' ')}</span> {p.description}{' '}
                {p.seqs.filter((q: number) => q > 0).map((q: number) => (
                  <a key={q} href={`#ev-${q}`} class="muted">
                    #{q}{' '}
                  </a>
                ))}
              </li>
            ))}
          </ul>
          {signals.length > 0 && (
            <dl class="facts">
              {signals.map(([k, v]) => (
                <Field key={k} label={k}>
                  {v === null ? '–' : String(v)}
                </Field>
              ))}
            </dl>
          )}
          {a.data.problems?.length > 0 && <p class="muted">Not analysed: {a.data.problems.join('; ')}</p>}
        </>
      )}
    </section>
  );
}

function Actions({ runId, ended }: { runId: string; ended: boolean }) {
  // Derived from the whole transcript: re-read while the run is live.
  const actions = useApi<{ items: any[] }>(`/runs/${encodeURIComponent(runId)}/actions`, { pollMs: 3000, poll: () => !ended });
  return (
    <section aria-labelledby="act-h">
      <h2 id="act-h">Actions</h2>
      {actions.error && <Failure error={actions.error} what="actions" />}
      {actions.data && actions.data.items.length === 0 && <p class="muted">No actions recorded.</p>}
      {actions.data && actions.data.items.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {actions.data.items.map((a, i) => (
                <tr key={i}>
                  <td class="num">{a.seq}</td>
                  <td>{String(a.kind).replace(/_/g, ' ')}</td>
                  <td>
                    <code class="wrap">{a.target}</code>
                  </td>
                  <td>{a.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Changes({ changes, live }: { changes: any; live: boolean }) {
  return (
    <section aria-labelledby="ch-h">
      <h2 id="ch-h">Workspace changes</h2>
      {!changes && <p class="muted">{live ? 'Known once the run is archived.' : 'Not recorded (no archive before or after the agent).'}</p>}
      {changes && (
        <>
          <p>
            {changes.added.length} added · {changes.changed.length} changed · {changes.deleted.length} deleted
          </p>
          <ul class="changes">
            {changes.added.map((f: any) => (
              <li key={`a${f.path}`}>
                <span class="badge verdict-passed">added</span> <code>{f.path}</code> <span class="muted">{fmt.bytes(f.size)}</span>
              </li>
            ))}
            {changes.changed.map((f: any) => (
              <li key={`c${f.path}`}>
                <details>
                  <summary>
                    <span class="badge verdict-incomplete">changed</span> <code>{f.path}</code> <span class="muted">{fmt.bytes(f.size)}</span>
                  </summary>
                  {f.diff ? (
                    <pre class="code diff">
                      {diffLines(f.diff).map((l, i) => (
                        <span key={i} class={`d-${l.cls}`}>
                          {l.text}
                          {'\n'}
                        </span>
                      ))}
                    </pre>
                  ) : (
                    <p class="muted">No diff: {f.diffOmitted}</p>
                  )}
                </details>
              </li>
            ))}
            {changes.deleted.map((f: any) => (
              <li key={`d${f.path}`}>
                <span class="badge verdict-failed">deleted</span> <code>{f.path}</code>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
