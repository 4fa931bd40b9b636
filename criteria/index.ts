/**
 * The evaluator of every evaluation type. A `Record` over the contract's types: a type
 * without an evaluator does not compile, and there is no second list to keep in step.
 */
import type { Criterion, CriterionOf, EvaluationType } from '../domain/contract';
import { bashCommand } from './bashCommand';
import { fileExists } from './fileExists';
import { notYetExecutable } from './notYetExecutable';
import type { CriterionOutcome } from '../domain/scoring';
import type { CriterionContext, CriterionEvaluator, CriterionRegistry } from './types';

export const CRITERIA: CriterionRegistry = {
  bash_command: bashCommand,
  file_exists: fileExists,
  comparison: notYetExecutable('comparison'),
  file_content_match: notYetExecutable('file_content_match'),
  json_schema: notYetExecutable('json_schema'),
  python_script: notYetExecutable('python_script'),
  script_judge: notYetExecutable('script_judge'),
  llm_judge: notYetExecutable('llm_judge'),
};

/** A criterion together with the evaluator of its type. */
export interface BoundCriterion {
  executable: boolean;
  timeoutSeconds: number;
  evaluate(ctx: CriterionContext): Promise<CriterionOutcome>;
}

export function bindCriterion(c: Criterion): BoundCriterion {
  // CRITERIA is keyed by the criterion's own discriminant, so the evaluator takes exactly
  // c's type; TypeScript cannot follow that correlation through the union, hence the cast.
  const e = CRITERIA[c.evaluationType] as CriterionEvaluator<EvaluationType>;
  const own = c as CriterionOf<EvaluationType> as never;
  return { executable: e.executable, timeoutSeconds: e.timeoutSeconds(own), evaluate: (ctx) => e.evaluate(own, ctx) };
}

/** The longest the evaluation of a task's criteria may take. */
export function evaluationBudgetSeconds(criteria: Criterion[]): number {
  return criteria.reduce((s, c) => s + bindCriterion(c).timeoutSeconds, 0);
}

export type { CriterionContext, CriterionEvaluator } from './types';
