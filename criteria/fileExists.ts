/** file_exists: a path (relative to the agent's home, or absolute) exists after the run. */
import { EvaluationError } from '../domain/errors';
import { fail, pass, type CriterionEvaluator } from './types';

const DEFAULT_TIMEOUT_S = 30;

export const fileExists: CriterionEvaluator<'file_exists'> = {
  executable: true,
  timeoutSeconds: (c) => c.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
  async evaluate(c, { sandbox, signal, onProgress }) {
    const timeoutSeconds = c.timeoutSeconds ?? DEFAULT_TIMEOUT_S;
    const res = await sandbox.exec(['/bin/sh', '-c', 'cd ~ && test -e "$1" && ls -ld -- "$1"', 'simlab', c.path], { timeoutSeconds, signal, onProgress });
    // Whether a path exists is not something the agent can make slow: a check that does not
    // answer says nothing about the agent's work.
    if (res.timedOut) throw new EvaluationError(`checking whether ${c.path} exists did not finish within ${timeoutSeconds}s`);
    return res.exitCode === 0 ? pass(c, `found: ${res.output.trim()}`) : fail(`${c.path} does not exist`);
  },
};
