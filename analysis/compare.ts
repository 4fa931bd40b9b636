/**
 * Comparison of two iterations' frozen results, per task x environment x variant: the change
 * in pass rate (Fisher's exact test) and in mean score (Welch's t test), p-values adjusted
 * with Holm's method across every test of the comparison, a verdict per cell, and which
 * failure clusters are new, resolved or persisting (by their stable names).
 */
import type { Cluster } from './clusters';
import { fisherExact, fisherMinimumP, holm, round, welchTTest } from './stats';
import type { SummaryRow } from './summary';

export const ALPHA = 0.05;

export type Verdict = 'improved' | 'regressed' | 'no_significant_change' | 'insufficient_data';

export interface ComparisonRow {
  taskId: string;
  environmentId: string;
  variant: string;
  runs: [number, number];
  passRate: [number | null, number | null];
  passRateDelta: number | null;
  meanScore: [number | null, number | null];
  scoreDelta: number | null;
  passRatePValue: number | null;
  scorePValue: number | null;
  /** The smaller Holm-adjusted p-value of the cell's tests; null when no test could run. */
  pValue: number | null;
  significant: boolean;
  direction: 'improved' | 'regressed' | 'unchanged';
  verdict: Verdict;
}

export interface Comparison {
  baselineIteration: number;
  iteration: number;
  test: { passRate: 'fisher_exact'; score: 'welch_t'; correction: 'holm'; alpha: number };
  rows: ComparisonRow[];
  clusters: { new: string[]; resolved: string[]; persisting: string[] };
}

const sign = (x: number | null) => (x === null || x === 0 ? 0 : x > 0 ? 1 : -1);

export function compareResults(
  current: { iteration: number; summary: SummaryRow[]; clusters: Pick<Cluster, 'name'>[] },
  baseline: { iteration: number; summary: SummaryRow[]; clusters: Pick<Cluster, 'name'>[] },
): Comparison {
  const key = (r: SummaryRow) => `${r.taskId}\u0000${r.environmentId}\u0000${r.variant}`;
  const base = new Map(baseline.summary.map((r) => [key(r), r]));
  const cur = new Map(current.summary.map((r) => [key(r), r]));
  const keys = [...new Set([...cur.keys(), ...base.keys()])].sort();
  const tests: { cell: number; kind: 'pass' | 'score'; p: number }[] = [];
  const cells = keys.map((k, cell) => {
    const a = cur.get(k);
    const b = base.get(k);
    const id = (a ?? b)!;
    const passP = a && b && a.evaluated && b.evaluated ? fisherExact(a.passed, a.evaluated - a.passed, b.passed, b.evaluated - b.passed).pValue : null;
    // Scores without spread on both sides (all 0 against all 0) test nothing: no evidence either way.
    const welch = a && b ? welchTTest(a.scores, b.scores) : null;
    const scoreP = welch && welch.statistic !== null ? welch.pValue : null;
    if (passP !== null) tests.push({ cell, kind: 'pass', p: passP });
    if (scoreP !== null) tests.push({ cell, kind: 'score', p: scoreP });
    return { id, a, b, passP, scoreP };
  });
  const adjusted = holm(tests.map((t) => t.p));
  return {
    baselineIteration: baseline.iteration,
    iteration: current.iteration,
    test: { passRate: 'fisher_exact', score: 'welch_t', correction: 'holm', alpha: ALPHA },
    rows: cells.map(({ id, a, b, passP, scoreP }, cell) => {
      const adj = (kind: 'pass' | 'score') => {
        const i = tests.findIndex((t) => t.cell === cell && t.kind === kind);
        return i === -1 ? null : adjusted[i]!;
      };
      const passAdj = adj('pass');
      const scoreAdj = adj('score');
      const passRateDelta = a?.passRate != null && b?.passRate != null ? round(a.passRate - b.passRate) : null;
      const scoreDelta = a?.meanScore != null && b?.meanScore != null ? round(a.meanScore - b.meanScore) : null;
      const ps = [passAdj, scoreAdj].filter((p): p is number => p !== null);
      const pValue = ps.length ? round(Math.min(...ps), 8) : null;
      const passSig = passAdj !== null && passAdj < ALPHA && sign(passRateDelta) !== 0;
      const scoreSig = scoreAdj !== null && scoreAdj < ALPHA && sign(scoreDelta) !== 0;
      const significant = passSig || scoreSig;
      // The pass rate speaks first: it is what the task's goals decide.
      const s = passSig ? sign(passRateDelta) : scoreSig ? sign(scoreDelta) : sign(passRateDelta) || sign(scoreDelta);
      const direction = s > 0 ? 'improved' : s < 0 ? 'regressed' : 'unchanged';
      // Too small to tell: a side with under two verdicts, or samples whose most extreme
      // outcome could not reach significance with no score test to speak instead.
      const tooSmall = !a || !b || a.evaluated < 2 || b.evaluated < 2 || (fisherMinimumP(a.evaluated, b.evaluated) >= ALPHA && scoreAdj === null);
      const verdict: Verdict = significant ? (direction as 'improved' | 'regressed') : tooSmall ? 'insufficient_data' : 'no_significant_change';
      return {
        taskId: id.taskId,
        environmentId: id.environmentId,
        variant: id.variant,
        runs: [a?.runs ?? 0, b?.runs ?? 0],
        passRate: [a?.passRate ?? null, b?.passRate ?? null],
        passRateDelta,
        meanScore: [a?.meanScore ?? null, b?.meanScore ?? null],
        scoreDelta,
        passRatePValue: passP === null ? null : round(passP, 8),
        scorePValue: scoreP === null ? null : round(scoreP, 8),
        pValue,
        significant,
        direction,
        verdict,
      };
    }),
    clusters: {
      new: current.clusters.map((c) => c.name).filter((n) => !baseline.clusters.some((c) => c.name === n)).sort(),
      resolved: baseline.clusters.map((c) => c.name).filter((n) => !current.clusters.some((c) => c.name === n)).sort(),
      persisting: current.clusters.map((c) => c.name).filter((n) => baseline.clusters.some((c) => c.name === n)).sort(),
    },
  };
}
