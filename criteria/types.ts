/** What a criterion evaluator is: one module per evaluation type implements it. */
import type { CriterionOf, EvaluationType } from '../domain/contract';
import type { CriterionOutcome } from '../domain/scoring';
import type { Sandbox } from '../sandbox';
import type { RunMetrics, RunRecord } from '../store/runs';
import type { Judge } from './judge';

export interface CriterionContext {
  /** The post-run sandbox: every agent process has ended. */
  sandbox: Sandbox;
  run: RunRecord;
  metrics: RunMetrics;
  /** The run's secrets, as environment variables for checks that run in the sandbox. */
  secretEnv: Record<string, string>;
  /** The model behind llm_judge; absent when none is configured. */
  judge?: Judge;
  /** Index of the criterion in the task, for files it needs in the sandbox. */
  position: { goal: number; criterion: number };
  signal: AbortSignal;
  /** Call while a long check runs: the activity heartbeats here. */
  onProgress: () => void;
}

export interface CriterionEvaluator<T extends EvaluationType> {
  /** False: the contract accepts the type but this build cannot run it; reported not_evaluated. */
  readonly executable: boolean;
  /** The longest its check may take, which bounds the evaluation step. */
  timeoutSeconds(c: CriterionOf<T>): number;
  /**
   * Checks the criterion. A check that ran and said no is a fail (score 0 with evidence);
   * a check that could not run throws EvaluationError (recorded as `error`); anything else
   * thrown (Docker, network) is infrastructure, and the step is retried.
   */
  evaluate(c: CriterionOf<T>, ctx: CriterionContext): Promise<CriterionOutcome>;
}

export type CriterionRegistry = { [T in EvaluationType]: CriterionEvaluator<T> };

export const pass = (c: { maxScore: number }, evidence: string): CriterionOutcome => ({ status: 'evaluated', score: c.maxScore, evidence });
export const fail = (evidence: string): CriterionOutcome => ({ status: 'evaluated', score: 0, evidence });

export const EVIDENCE_LIMIT = 2000;
