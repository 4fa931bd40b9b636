/**
 * script_judge: the task's own verification script, in any language the image runs: its
 * shebang decides the interpreter (no shebang: /bin/sh). It sees the agent's output and
 * the run's metrics through SIMLAB_* variables (see the README's scoring section).
 */
import { runCriterionScript } from './scriptRunner';
import type { CriterionEvaluator } from './types';

const DEFAULT_TIMEOUT_S = 300;

export const scriptJudge: CriterionEvaluator<'script_judge'> = {
  executable: true,
  timeoutSeconds: (c) => c.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
  evaluate: (c, ctx) =>
    runCriterionScript(
      {
        script: c.script,
        timeoutSeconds: c.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
        maxScore: c.maxScore,
        interpreter: () => (c.script.startsWith('#!') ? [] : ['/bin/sh']),
        extension: '',
      },
      ctx,
    ),
};
