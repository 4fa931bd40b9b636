/**
 * The evaluator of every evaluation type. A `Record` over the contract's types: a type
 * without an evaluator does not compile, and there is no second list to keep in step.
 */
import type { Criterion, CriterionOf, EvaluationType } from '../domain/contract';
import { bashCommand } from './bashCommand';
import { fileExists } from './fileExists';
import { comparison } from './comparison';
import { fileContentMatch } from './fileContentMatch';
import { jsonSchema } from './jsonSchema';
import { pythonScript } from './pythonScript';
import { scriptJudge } from './scriptJudge';
import { llmJudge } from './llmJudge';
import type { CriterionOutcome } from '../domain/scoring';
import type { CriterionContext, CriterionEvaluator, CriterionRegistry } from './types';

export const CRITERIA: CriterionRegistry = {
  bash_command: bashCommand,
  file_exists: fileExists,
  comparison,
  file_content_match: fileContentMatch,
  json_schema: jsonSchema,
  python_script: pythonScript,
  script_judge: scriptJudge,
  llm_judge: llmJudge,
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
