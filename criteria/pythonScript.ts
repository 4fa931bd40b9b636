/** python_script: an inline Python script run with python3 in the post-run sandbox. */
import { runCriterionScript } from './scriptRunner';
import type { CriterionEvaluator } from './types';

const DEFAULT_TIMEOUT_S = 300;

export const pythonScript: CriterionEvaluator<'python_script'> = {
  executable: true,
  timeoutSeconds: (c) => c.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
  evaluate: (c, ctx) =>
    runCriterionScript(
      { script: c.script, timeoutSeconds: c.timeoutSeconds ?? DEFAULT_TIMEOUT_S, maxScore: c.maxScore, interpreter: () => ['python3'], extension: '.py' },
      ctx,
    ),
};
