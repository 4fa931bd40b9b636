/**
 * The evaluating step: every criterion of every goal checked against the post-run
 * sandbox, the results scored (domain/scoring) and stored. A criterion whose check could
 * not run is recorded as `error` with its reason while the others are still checked and
 * kept; the run then ends as an evaluation failure, with no score of its own.
 */
import { EvaluationError } from '../domain/errors';
import { scoreRun, type CriterionOutcome } from '../domain/scoring';
import { truncate } from '../domain/text';
import type { Criterion } from '../domain/contract';
import { bindCriterion, type CriterionContext } from './index';
import type { Redactor } from '../domain/redact';
import type { TranscriptWriter } from '../transcript/types';

export async function evaluateCriterion(c: Criterion, ctx: CriterionContext): Promise<CriterionOutcome> {
  const started = Date.now();
  let outcome: CriterionOutcome;
  try {
    outcome = await bindCriterion(c).evaluate(ctx);
  } catch (err) {
    if (!(err instanceof EvaluationError)) throw err;
    outcome = { status: 'error', score: null, evidence: truncate(err.message, 2000) };
  }
  return { ...outcome, durationMs: Date.now() - started };
}

export interface EvaluationSummary {
  score: number | null;
  passed: boolean | null;
}

export async function evaluateRun(
  ctx: Omit<CriterionContext, 'position'>,
  save: (verdict: ReturnType<typeof scoreRun>) => Promise<void>,
  redactor?: Redactor,
  transcript?: TranscriptWriter,
): Promise<EvaluationSummary> {
  const outcomes: CriterionOutcome[][] = [];
  for (const [g, goal] of ctx.run.task.goals.entries()) {
    const row: CriterionOutcome[] = [];
    for (const [i, c] of goal.criteria.entries()) {
      const outcome = await evaluateCriterion(c, { ...ctx, position: { goal: g, criterion: i } });
      // Evidence quotes output the run produced: secrets out before it is stored.
      row.push(redactor ? redactor.redactDeep(outcome) : outcome);
    }
    outcomes.push(row);
  }
  const verdict = scoreRun(ctx.run.task.goals, outcomes);
  await save(verdict);
  await transcript?.append(
    ...verdict.goals.flatMap((g) =>
      g.criteria.map((c) => ({
        type: 'criterion' as const,
        data: { goal: g.name, name: c.name, evaluationType: c.evaluationType, status: c.status, score: c.score, maxScore: c.maxScore, passed: c.passed, evidence: truncate(c.evidence, 4000) },
      })),
    ),
  );
  if (verdict.errors.length) {
    const what = verdict.errors.map((e) => `'${e.criterion}' (${truncate(e.evidence, 300)})`).join('; ');
    throw new EvaluationError(`${verdict.errors.length} criterion check(s) could not run: ${what}`);
  }
  return { score: verdict.score, passed: verdict.passed };
}
