/**
 * The evaluating step against a scripted sandbox (the Sandbox interface makes the step
 * testable without Docker; the integration tests run it on real containers).
 */
import { normalizeTask, type TaskInput } from '../../domain/contract';
import { EvaluationError } from '../../domain/errors';
import type { RunVerdict } from '../../domain/scoring';
import { evaluateRun } from '../../criteria/evaluateRun';
import type { ExecOptions, ExecResult, Sandbox } from '../../sandbox';
import type { RunRecord } from '../../store/runs';

/** A sandbox whose commands answer from a script: argv joined -> result. */
function scriptedSandbox(answer: (argv: string[], opts: ExecOptions) => Partial<ExecResult>): Sandbox {
  const unused = () => {
    throw new Error('not used by evaluation');
  };
  return {
    runId: 'run_x',
    id: 'c1',
    async exec(argv, opts) {
      const a = answer(argv, opts);
      const output = a.output ?? '';
      return { exitCode: 0, timedOut: false, durationMs: 1, bytes: Buffer.from(output), ...a, output };
    },
    createProcess: unused,
    startProcess: unused,
    processState: unused,
    watchProcessExit: unused,
    liveness: unused,
    writeFiles: unused,
    writeArchive: unused,
    readFileTail: unused,
    readFile: unused,
    readFileFrom: unused,
    fileSize: unused,
    exportDirectory: unused,
    recordProcessBaseline: unused,
    stopProcessesSinceBaseline: unused,
    endAgent: unused,
  };
}

const runOf = (task: TaskInput): RunRecord => ({
  id: 'run_x',
  iterationId: 'iter_x',
  organizationId: 'org_x',
  productId: 'prd_x',
  taskId: 'task_x',
  environmentId: 'env_x',
  status: 'evaluating',
  cancelRequestedAt: null,
  task: normalizeTask(task),
  environment: {} as RunRecord['environment'],
});

const task: TaskInput = {
  name: 't',
  category: 'coding',
  prompt: 'p',
  goals: [
    {
      name: 'g',
      criteria: [
        { name: 'exists', evaluationType: 'file_exists', path: 'slow/file' },
        { name: 'runs', evaluationType: 'bash_command', command: 'true' },
      ],
    },
  ],
};

const metrics = { agentExitCode: 0, agentDurationMs: 1000, runDurationMs: 2000, inputTokens: null, outputTokens: null, costUsd: null, agentTurns: null, toolCalls: null };
const ctx = (sandbox: Sandbox) => ({ sandbox, run: runOf(task), metrics, secretEnv: {}, signal: new AbortController().signal, onProgress: () => {} });

describe('evaluating a run', () => {
  it("records a check that could not run as an error, keeps the other criteria, and gives the run no score", async () => {
    // file_exists whose check does not answer in time: not the agent's doing.
    const sandbox = scriptedSandbox((argv) => (argv.includes('slow/file') ? { timedOut: true, exitCode: 137 } : { exitCode: 0, output: 'ok' }));
    let saved: RunVerdict | undefined;
    const err = await evaluateRun(ctx(sandbox), async (v) => {
      saved = v;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvaluationError);
    expect((err as Error).message).toMatch(/1 criterion check\(s\) could not run: 'exists' \(checking whether slow\/file exists did not finish within 30s\)/);
    expect(saved!.score).toBeNull();
    expect(saved!.passed).toBeNull();
    expect(saved!.goals[0]!.criteria.map((c) => [c.name, c.status, c.score])).toEqual([
      ['exists', 'error', null],
      ['runs', 'evaluated', 100],
    ]);
    expect(saved!.errors).toEqual([{ goal: 'g', criterion: 'exists', evidence: expect.stringContaining('did not finish') }]);
  });

  it('lets infrastructure errors through, so the step is retried instead of blaming anyone', async () => {
    const sandbox = scriptedSandbox(() => {
      throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    });
    const save = jest.fn();
    await expect(evaluateRun(ctx(sandbox), save)).rejects.toThrow('ECONNREFUSED');
    expect(save).not.toHaveBeenCalled();
  });

  it('scores a clean evaluation and saves it once', async () => {
    const sandbox = scriptedSandbox((argv) => (argv.includes('slow/file') ? { exitCode: 0, output: '-rw-r--r-- slow/file' } : { exitCode: 1 }));
    const save = jest.fn();
    await expect(evaluateRun(ctx(sandbox), save)).resolves.toEqual({ score: 50, passed: false });
    expect(save).toHaveBeenCalledTimes(1);
  });
});
