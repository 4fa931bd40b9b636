/**
 * Scoring math: criterion results -> goal score and verdict -> run score and verdict.
 * Criteria that were not evaluated (a type this build cannot run yet, or a check that
 * errored) are left out of the arithmetic and make the verdict incomplete instead of
 * counting as a silent zero or a silent pass.
 */
import type { Goal, ScoringMethod } from './contract/types';

export type CriterionStatus = 'evaluated' | 'not_evaluated' | 'error';

export interface CriterionOutcome {
  status: CriterionStatus;
  /** 0..maxScore when evaluated. */
  score: number | null;
  evidence: string;
  durationMs?: number;
  /** What an auditor needs beyond the evidence (a judge's model, prompt version, raw answer, usage). */
  details?: Record<string, unknown>;
}

/** A scored criterion: what is stored for it and what the API shows, field for field. */
export interface CriterionResult {
  name: string;
  evaluationType: string;
  status: CriterionStatus;
  weight: number;
  maxScore: number;
  score: number | null;
  passed: boolean | null;
  evidence: string;
  durationMs: number | null;
  details: Record<string, unknown> | null;
}

const CRITERION_RESULT_FIELDS = [
  'name',
  'evaluationType',
  'status',
  'weight',
  'maxScore',
  'score',
  'passed',
  'evidence',
  'durationMs',
  'details',
] as const satisfies readonly (keyof CriterionResult)[];

/** The criterion-result fields of any record that has them (a database row, a result). */
export function criterionResultOf(row: { [K in keyof CriterionResult]: unknown }): CriterionResult {
  const out: Record<string, unknown> = {};
  for (const k of CRITERION_RESULT_FIELDS) out[k] = row[k];
  return out as unknown as CriterionResult;
}

/** A scored goal's own fields, shared likewise by the stored row and the API. */
export interface GoalSummary {
  name: string;
  scoringMethod: ScoringMethod;
  passingThreshold: number;
  score: number | null;
  passed: boolean | null;
}

export function goalSummaryOf(row: { [K in keyof GoalSummary]: unknown }): GoalSummary {
  return {
    name: row.name as string,
    scoringMethod: row.scoringMethod as ScoringMethod,
    passingThreshold: row.passingThreshold as number,
    score: row.score as number | null,
    passed: row.passed as boolean | null,
  };
}

/** score: 0-100, null when no criterion of the goal could be evaluated; passed: null when
 * the verdict cannot be given because some criterion was not evaluated. */
export interface GoalResult extends GoalSummary {
  criteria: CriterionResult[];
}

export interface RunVerdict {
  score: number | null;
  passed: boolean | null;
  goals: GoalResult[];
  /** Criteria whose check could not run. While there is one, the run has no score or
   * verdict of its own: a broken check must not pass for the agent's result. */
  errors: { goal: string; criterion: string; evidence: string }[];
}

/** Two decimals, rounding halves up: 66.665 (whose float is 66.66499…) gives 66.67. */
const round2 = (x: number) => Math.round((x + Number.EPSILON * Math.max(1, Math.abs(x))) * 100) / 100;

function criterionPassed(c: Pick<CriterionResult, 'status' | 'score' | 'maxScore'>, threshold: number): boolean | null {
  if (c.status !== 'evaluated' || c.score === null) return null;
  return (c.score / c.maxScore) * 100 >= threshold;
}

export function goalScore(method: ScoringMethod, criteria: CriterionResult[]): number | null {
  const evaluated = criteria.filter((c) => c.status === 'evaluated' && c.score !== null);
  if (evaluated.length === 0) return null;
  const totalWeight = evaluated.reduce((s, c) => s + c.weight, 0);
  switch (method) {
    case 'weighted_average':
      return round2((evaluated.reduce((s, c) => s + c.weight * (c.score! / c.maxScore), 0) / totalWeight) * 100);
    case 'percentage':
      return round2((evaluated.reduce((s, c) => s + (c.passed ? c.weight : 0), 0) / totalWeight) * 100);
    case 'binary':
      return evaluated.every((c) => c.passed) ? 100 : 0;
  }
}

export function scoreGoal(goal: Goal, outcomes: CriterionOutcome[]): GoalResult {
  if (outcomes.length !== goal.criteria.length) {
    throw new Error(`goal '${goal.name}': ${outcomes.length} outcomes for ${goal.criteria.length} criteria`);
  }
  const criteria: CriterionResult[] = goal.criteria.map((c, i) => {
    const o = outcomes[i]!;
    const score = o.status === 'evaluated' && o.score !== null ? Math.min(Math.max(o.score, 0), c.maxScore) : null;
    const r: CriterionResult = {
      name: c.name,
      evaluationType: c.evaluationType,
      weight: c.weight,
      maxScore: c.maxScore,
      status: o.status,
      score,
      evidence: o.evidence,
      passed: null,
      durationMs: o.durationMs ?? null,
      details: o.details ?? null,
    };
    r.passed = criterionPassed(r, goal.passingThreshold);
    return r;
  });
  const score = goalScore(goal.scoringMethod, criteria);
  const complete = criteria.every((c) => c.status === 'evaluated');
  let passed: boolean | null = null;
  if (score !== null && complete) passed = score >= goal.passingThreshold;
  // Under binary scoring one failed criterion settles the goal, whatever is still unknown.
  else if (goal.scoringMethod === 'binary' && criteria.some((c) => c.passed === false)) passed = false;
  return { name: goal.name, scoringMethod: goal.scoringMethod, passingThreshold: goal.passingThreshold, score, passed, criteria };
}

/**
 * The run's score is the mean of its goals' scores; it passes when every goal passed,
 * fails as soon as one goal failed, and is undecided (null) otherwise.
 */
export function scoreRun(goals: Goal[], outcomes: CriterionOutcome[][]): RunVerdict {
  const results = goals.map((g, i) => scoreGoal(g, outcomes[i] ?? []));
  const errors = results.flatMap((g) => g.criteria.filter((c) => c.status === 'error').map((c) => ({ goal: g.name, criterion: c.name, evidence: c.evidence })));
  if (errors.length) return { score: null, passed: null, goals: results, errors };
  const scored = results.filter((g) => g.score !== null);
  const score = scored.length ? round2(scored.reduce((s, g) => s + g.score!, 0) / scored.length) : null;
  let passed: boolean | null;
  if (results.some((g) => g.passed === false)) passed = false;
  else if (results.every((g) => g.passed === true)) passed = true;
  else passed = null;
  return { score, passed, goals: results, errors };
}
