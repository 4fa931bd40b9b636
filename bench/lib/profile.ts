/**
 * Where a run's time goes: its status timeline from the database (each transition is
 * written with its time), its activities and workflow tasks from Temporal's history,
 * the worker's SQL as counted on the wire, and Docker call times from the baseline.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../../prisma/client';
import { executionStats, mean, pct, type ExecutionStats } from './histories';
import type { SqlStats } from './sqlProxy';

const PHASES: [string, string, string][] = [
  ['queued', 'creating_sandbox', 'queued -> creating_sandbox (prepareRun + transition)'],
  ['creating_sandbox', 'running', 'creating_sandbox (provision + transition)'],
  ['running', 'evaluating', 'running (agent step + transition)'],
  ['evaluating', 'analyzing', 'evaluating (criteria + transition)'],
  ['analyzing', 'completed', 'analyzing (archive, destroy, final transition)'],
];

export async function runTimelines(prisma: PrismaClient, iterationId: string) {
  const runs = await prisma.run.findMany({ where: { iterationId }, select: { id: true, workflowId: true, createdAt: true, status: true } });
  const changes = await prisma.runStatusChange.findMany({ where: { runId: { in: runs.map((r) => r.id) } }, orderBy: { at: 'asc' }, select: { runId: true, to: true, at: true } });
  const byRun = new Map<string, Map<string, number>>();
  for (const c of changes) {
    const m = byRun.get(c.runId) ?? new Map<string, number>();
    m.set(c.to, c.at.getTime());
    byRun.set(c.runId, m);
  }
  const phases = PHASES.map(([from, to, name]) => {
    const xs = runs.map((r) => byRun.get(r.id)).filter((m) => m?.has(from) && m.has(to)).map((m) => m!.get(to)! - m!.get(from)!);
    return { name, meanMs: mean(xs), p95Ms: pct(xs, 95) };
  });
  const life = runs.map((r) => byRun.get(r.id)).filter((m) => m?.has('completed') && m.has('creating_sandbox')).map((m) => m!.get('completed')! - m!.get('creating_sandbox')!);
  const events = await prisma.runEvent.count({ where: { runId: { in: runs.map((r) => r.id) } } });
  return { runs, phases, lifeMs: mean(life), eventsPerRun: runs.length ? events / runs.length : 0, statusRowsPerRun: runs.length ? changes.length / runs.length : 0 };
}

/** Histories of up to `sample` run workflows (evenly spread), analysed. */
export async function runHistories(client: Client, workflowIds: string[], sample: number): Promise<ExecutionStats[]> {
  const step = Math.max(1, Math.floor(workflowIds.length / sample));
  const picked = workflowIds.filter((_, i) => i % step === 0).slice(0, sample);
  const out: ExecutionStats[] = [];
  // A few at a time: the dev server is shared.
  for (let i = 0; i < picked.length; i += 8) out.push(...(await Promise.all(picked.slice(i, i + 8).map((id) => executionStats(client, id)))));
  return out;
}

const ms = (x: number) => `${Math.round(x)} ms`;

export function formatHistories(hs: ExecutionStats[]): string[] {
  if (!hs.length) return ['(no run histories)'];
  const lines: string[] = [];
  const acts = hs.flatMap((h) => h.activities);
  const types = [...new Set(acts.map((a) => a.type))];
  lines.push(
    `run workflow: ${mean(hs.map((h) => h.events)).toFixed(1)} events (max ${Math.max(...hs.map((h) => h.events))}), ${(acts.length / hs.length).toFixed(1)} activities, ` +
      `${mean(hs.map((h) => h.workflowTasks.length)).toFixed(1)} workflow tasks, ${mean(hs.map((h) => h.timers)).toFixed(1)} timers, largest payload ${Math.max(...hs.map((h) => h.largestPayload))} B, ` +
      `wall ${ms(mean(hs.map((h) => h.wallMs)))} (start to close)`,
  );
  lines.push('  activity                  n/run  schedule-to-start mean/p95   run mean/p95      total/run');
  for (const t of types.sort((a, b) => acts.filter((x) => x.type === b).reduce((s, x) => s + x.runMs + x.scheduleToStartMs, 0) - acts.filter((x) => x.type === a).reduce((s, x) => s + x.runMs + x.scheduleToStartMs, 0))) {
    const xs = acts.filter((a) => a.type === t);
    const s2s = xs.map((a) => a.scheduleToStartMs);
    const run = xs.map((a) => a.runMs);
    lines.push(
      `  ${t.padEnd(24)}  ${(xs.length / hs.length).toFixed(1).padStart(5)}  ${ms(mean(s2s)).padStart(9)} / ${ms(pct(s2s, 95)).padEnd(9)}     ${ms(mean(run)).padStart(8)} / ${ms(pct(run, 95)).padEnd(8)}  ${ms((s2s.reduce((a, b) => a + b, 0) + run.reduce((a, b) => a + b, 0)) / hs.length)}`,
    );
  }
  const wft = hs.flatMap((h) => h.workflowTasks);
  const wfPerRun = (wft.reduce((a, w) => a + w.scheduleToStartMs + w.runMs, 0) / hs.length);
  lines.push(`  workflow tasks: schedule-to-start mean ${ms(mean(wft.map((w) => w.scheduleToStartMs)))} (p95 ${ms(pct(wft.map((w) => w.scheduleToStartMs), 95))}), run mean ${ms(mean(wft.map((w) => w.runMs)))}; ${ms(wfPerRun)} per run in workflow tasks`);
  const actTotal = acts.reduce((a, x) => a + x.runMs, 0) / hs.length;
  const s2sTotal = acts.reduce((a, x) => a + x.scheduleToStartMs, 0) / hs.length;
  const wall = mean(hs.map((h) => h.wallMs));
  lines.push(`  per run: ${ms(actTotal)} executing activities + ${ms(s2sTotal)} waiting for activity slots + ${ms(wfPerRun)} in workflow tasks; the rest of the ${ms(wall)} (${ms(Math.max(0, wall - actTotal - s2sTotal - wfPerRun))}) is between them (server round trips)`);
  return lines;
}

/** Event kinds of a set of executions, per `per` (e.g. per run), largest first. */
export function formatEventKinds(hs: ExecutionStats[], per: number, title: string): string[] {
  const total: Record<string, number> = {};
  for (const h of hs) for (const [k, n] of Object.entries(h.byKind)) total[k] = (total[k] ?? 0) + n;
  const rows = Object.entries(total).sort((a, b) => b[1] - a[1]);
  return [`${title}:`, ...rows.map(([k, n]) => `  ${(n / per).toFixed(2).padStart(6)}  ${k}`)];
}

export function formatSql(sql: SqlStats, runs: number): string[] {
  const lines = [
    `worker SQL: ${(sql.statements / runs).toFixed(1)} statements per run in ${(sql.roundTrips / runs).toFixed(1)} round trips (${(sql.transactions / runs).toFixed(1)} transactions); round trip mean ${mean(sql.roundTripMs).toFixed(1)} ms, p95 ${pct(sql.roundTripMs, 95).toFixed(1)} ms, ${ms(sql.roundTripMs.reduce((a, b) => a + b, 0) / runs)} per run`,
  ];
  const kinds = [...sql.byKind.entries()].sort((a, b) => b[1] - a[1]);
  for (const [k, n] of kinds) lines.push(`  ${(n / runs).toFixed(2).padStart(6)}  ${k}`);
  return lines;
}

export function formatTimeline(t: Awaited<ReturnType<typeof runTimelines>>): string[] {
  return [
    `run timeline (database status times, ${t.runs.length} runs): creating_sandbox -> completed mean ${ms(t.lifeMs)}; ${t.statusRowsPerRun.toFixed(1)} status rows and ${t.eventsPerRun.toFixed(1)} transcript events per run`,
    ...t.phases.map((p) => `  ${p.name.padEnd(52)} mean ${ms(p.meanMs).padStart(8)}  p95 ${ms(p.p95Ms)}`),
  ];
}
