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
}

export interface CriterionResult extends CriterionOutcome {
  name: string;
  evaluationType: string;
  weight: number;
  maxScore: number;
  passed: boolean | null;
  durationMs?: number;
}

export interface GoalResult {
  name: string;
  scoringMethod: ScoringMethod;
  passingThreshold: number;
  /** 0-100, null when no criterion of the goal could be evaluated. */
  score: number | null;
  /** null when the verdict cannot be given: some criterion was not evaluated. */
  passed: boolean | null;
  criteria: CriterionResult[];
}

export interface RunVerdict {
  score: number | null;
  passed: boolean | null;
  goals: GoalResult[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function criterionPassed(c: CriterionOutcome & { maxScore: number }, threshold: number): boolean | null {
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
  const scored = results.filter((g) => g.score !== null);
  const score = scored.length ? round2(scored.reduce((s, g) => s + g.score!, 0) / scored.length) : null;
  let passed: boolean | null;
  if (results.some((g) => g.passed === false)) passed = false;
  else if (results.every((g) => g.passed === true)) passed = true;
  else passed = null;
  return { score, passed, goals: results };
}
