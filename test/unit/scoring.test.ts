import { normalizeGoal } from '../../domain/contract';
import { goalScore, scoreGoal, scoreRun, type CriterionOutcome } from '../../domain/scoring';

const ok = (score: number): CriterionOutcome => ({ status: 'evaluated', score, evidence: '' });
const skipped: CriterionOutcome = { status: 'not_evaluated', score: null, evidence: 'not executable' };

const goal = (scoringMethod: 'weighted_average' | 'binary' | 'percentage', weights: number[], passingThreshold = 70) =>
  normalizeGoal({
    name: 'g',
    scoringMethod,
    passingThreshold,
    criteria: weights.map((weight) => ({ evaluationType: 'bash_command', command: 'true', weight })),
  });

describe('goal scoring', () => {
  it('weighted_average weighs each criterion by its share of maxScore', () => {
    const r = scoreGoal(goal('weighted_average', [3, 1]), [ok(100), ok(0)]);
    expect(r.score).toBe(75);
    expect(r.passed).toBe(true);
    expect(r.criteria.map((c) => c.passed)).toEqual([true, false]);
  });

  it('weighted_average uses partial scores and maxScore', () => {
    const g = normalizeGoal({
      name: 'g',
      criteria: [
        { evaluationType: 'llm_judge', maxScore: 10, weight: 1 },
        { evaluationType: 'llm_judge', maxScore: 5, weight: 1 },
      ],
    });
    expect(scoreGoal(g, [ok(5), ok(5)]).score).toBe(75);
  });

  it('binary is 100 only when every criterion passed', () => {
    expect(scoreGoal(goal('binary', [1, 1]), [ok(100), ok(100)]).score).toBe(100);
    const r = scoreGoal(goal('binary', [1, 1]), [ok(100), ok(0)]);
    expect([r.score, r.passed]).toEqual([0, false]);
  });

  it('percentage is the weighted share of criteria that passed', () => {
    const r = scoreGoal(goal('percentage', [1, 1, 2], 50), [ok(100), ok(0), ok(100)]);
    expect([r.score, r.passed]).toEqual([75, true]);
  });

  it('leaves unevaluated criteria out of the score and makes the verdict incomplete', () => {
    const r = scoreGoal(goal('weighted_average', [1, 1]), [ok(100), skipped]);
    expect(r.score).toBe(100);
    expect(r.passed).toBeNull();
    expect(r.criteria[1]).toMatchObject({ status: 'not_evaluated', score: null, passed: null });
  });

  it('a binary goal with one failed criterion fails even when another was not evaluated', () => {
    expect(scoreGoal(goal('binary', [1, 1]), [ok(0), skipped]).passed).toBe(false);
  });

  it('has no score when nothing was evaluated', () => {
    expect(goalScore('weighted_average', [])).toBeNull();
    const r = scoreGoal(goal('percentage', [1]), [skipped]);
    expect([r.score, r.passed]).toEqual([null, null]);
  });

  it('clamps a checker score into 0..maxScore', () => {
    expect(scoreGoal(goal('weighted_average', [1]), [ok(250)]).score).toBe(100);
    expect(scoreGoal(goal('weighted_average', [1]), [ok(-3)]).score).toBe(0);
  });

  it('passes exactly at the threshold', () => {
    expect(scoreGoal(goal('weighted_average', [7, 3], 70), [ok(100), ok(0)]).passed).toBe(true);
    expect(scoreGoal(goal('weighted_average', [7, 3], 70.01), [ok(100), ok(0)]).passed).toBe(false);
  });

  it('refuses outcomes that do not match the criteria', () => {
    expect(() => scoreGoal(goal('binary', [1, 1]), [ok(1)])).toThrow('1 outcomes for 2 criteria');
  });
});

describe('run scoring', () => {
  const g1 = goal('weighted_average', [1]);
  const g2 = goal('binary', [1]);

  it('averages goal scores and passes only when every goal passed', () => {
    expect(scoreRun([g1, g2], [[ok(100)], [ok(100)]])).toMatchObject({ score: 100, passed: true });
    expect(scoreRun([g1, g2], [[ok(100)], [ok(0)]])).toMatchObject({ score: 50, passed: false });
  });

  it('is undecided when a goal could not be evaluated and none failed', () => {
    expect(scoreRun([g1, g2], [[ok(100)], [skipped]])).toMatchObject({ score: 100, passed: null });
    expect(scoreRun([g1], [[skipped]])).toMatchObject({ score: null, passed: null });
  });

  it('fails when any goal failed, whatever else is unknown', () => {
    expect(scoreRun([g1, g2], [[skipped], [ok(0)]])).toMatchObject({ score: 0, passed: false });
  });
});
