/**
 * The summary of an iteration: per task x environment x variant, run counts by outcome, the
 * pass rate with its Wilson interval and the mean score with its t interval. Infrastructure
 * failures (and cancelled runs) say nothing about the agent: they are left out of every
 * denominator and counted apart; so are runs without a verdict (setup or evaluation errors).
 */
import { mean, meanInterval, round, wilson, type Interval } from './stats';

export const OUTCOMES = ['passed', 'failed', 'incomplete', 'setup_error', 'evaluation_error', 'infra', 'cancelled', 'other'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface SummaryRun {
  runId: string;
  taskId: string;
  environmentId: string;
  variant: string | null;
  status: string;
  score: number | null;
  passed: boolean | null;
  failureCategory: string | null;
}

export interface SummaryRow {
  taskId: string;
  environmentId: string;
  variant: string;
  runs: number;
  outcomes: Record<Outcome, number>;
  infraFailures: number;
  /** The pass-rate denominator: runs with a verdict, infrastructure failures excluded. */
  evaluated: number;
  passed: number;
  passRate: number | null;
  passRateCi: Interval | null;
  scored: number;
  meanScore: number | null;
  meanScoreCi: Interval | null;
  /** Every score, ascending: what a later comparison tests against, without live data. */
  scores: number[];
}

export function outcomeOf(r: SummaryRun): Outcome {
  if (r.failureCategory === 'infra') return 'infra';
  if (r.status === 'cancelled') return 'cancelled';
  if (r.passed === true) return 'passed';
  if (r.passed === false) return 'failed';
  if (r.failureCategory === 'setup') return 'setup_error';
  if (r.failureCategory === 'evaluation') return 'evaluation_error';
  if (r.status === 'completed') return 'incomplete';
  return 'other';
}

/** Whether a run counts in scores and pass rates: not infrastructure, not cancelled. */
export const countsForAgent = (r: SummaryRun) => !['infra', 'cancelled'].includes(outcomeOf(r));

const ci = (i: Interval | null): Interval | null => (i ? [round(i[0]), round(i[1])] : null);

export function summarize(runs: SummaryRun[], key: (r: SummaryRun) => { taskId: string; environmentId: string; variant: string }): SummaryRow[] {
  const groups = new Map<string, { k: ReturnType<typeof key>; runs: SummaryRun[] }>();
  for (const r of runs) {
    const k = key(r);
    const id = `${k.taskId}\u0000${k.environmentId}\u0000${k.variant}`;
    const g = groups.get(id) ?? { k, runs: [] };
    g.runs.push(r);
    groups.set(id, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, { k, runs: rs }]) => {
      const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      for (const r of rs) outcomes[outcomeOf(r)]++;
      const counted = rs.filter(countsForAgent);
      const evaluated = counted.filter((r) => r.passed !== null);
      const passed = evaluated.filter((r) => r.passed === true).length;
      const scores = counted.map((r) => r.score).filter((s): s is number => s !== null).sort((a, b) => a - b);
      const m = mean(scores);
      return {
        ...k,
        runs: rs.length,
        outcomes,
        infraFailures: outcomes.infra,
        evaluated: evaluated.length,
        passed,
        passRate: evaluated.length ? round(passed / evaluated.length) : null,
        passRateCi: ci(wilson(passed, evaluated.length)),
        scored: scores.length,
        meanScore: m === null ? null : round(m),
        meanScoreCi: ci(meanInterval(scores)),
        scores,
      };
    });
}

export const cellKey = (r: SummaryRun) => ({ taskId: r.taskId, environmentId: r.environmentId, variant: r.variant ?? 'base' });
