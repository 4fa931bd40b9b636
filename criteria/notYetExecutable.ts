/**
 * Evaluation types the contract accepts but this build cannot run yet: reported
 * `not_evaluated`, which leaves the verdict incomplete instead of a silent pass or fail.
 * Each one gets its own module when it becomes executable.
 */
import type { EvaluationType } from '../domain/contract';
import type { CriterionEvaluator } from './types';

export function notYetExecutable<T extends EvaluationType>(type: T): CriterionEvaluator<T> {
  return {
    executable: false,
    timeoutSeconds: () => 0,
    async evaluate() {
      return { status: 'not_evaluated', score: null, evidence: `evaluation type '${type}' is not executable in this build yet` };
    },
  };
}
