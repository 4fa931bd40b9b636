/** bash_command: a shell command in the post-run sandbox; passes on the expected exit code. */
import { AGENT_HOME, shellArgv } from '../sandbox';
import { truncate } from '../domain/text';
import { EVIDENCE_LIMIT, fail, pass, type CriterionEvaluator } from './types';

const DEFAULT_TIMEOUT_S = 300;

export const bashCommand: CriterionEvaluator<'bash_command'> = {
  executable: true,
  timeoutSeconds: (c) => c.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
  async evaluate(c, { sandbox, signal, onProgress, secretEnv }) {
    const timeoutSeconds = c.timeoutSeconds ?? DEFAULT_TIMEOUT_S;
    const res = await sandbox.exec(shellArgv(c.command, c.workingDirectory ?? AGENT_HOME), { timeoutSeconds, signal, onProgress, env: secretEnv });
    const expected = c.expectedExitCode ?? 0;
    const out = res.output.trim() ? `\n${truncate(res.output.trim(), EVIDENCE_LIMIT, true)}` : '';
    // The command's own time limit is part of the criterion: running out is a fail.
    if (res.timedOut) return fail(`timed out after ${timeoutSeconds}s${out}`);
    const head = `exit ${res.exitCode} (expected ${expected})`;
    return res.exitCode === expected ? pass(c, `${head}${out}`) : fail(`${head}${out}`);
  },
};
