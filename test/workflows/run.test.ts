/**
 * runWorkflow against stubbed activities: who is blamed for each kind of failure, that the
 * sandbox is archived and destroyed after every ending, and that a cancellation at any
 * sandbox step still ends the run as cancelled with its cleanup done.
 */
import { ApplicationFailure } from '@temporalio/common';
import { EnvironmentConfigError, EvaluationError } from '../../domain/errors';
import { SA } from '../../workflows/searchAttributes';
import { blockUntilCancelled, startWorld, type RunScript, type World } from './world';

jest.setTimeout(60_000);

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, 60_000);
afterAll(async () => {
  await world?.close();
});

async function run(label: string, script: RunScript = {}) {
  const runId = world.newRunId(label);
  world.script(runId, script);
  const handle = await world.startRun(runId);
  return { runId, handle, result: await handle.result() };
}

/** How often each cleanup step ran for the run. */
function cleanups(runId: string) {
  return {
    archiveSandbox: world.callsFor(runId, 'archiveSandbox').length,
    destroySandbox: world.callsFor(runId, 'destroySandbox').length,
  };
}
const cleanedOnce = { archiveSandbox: 1, destroySandbox: 1 };

/** The transitions up to and including the step that was running when the run ended. */
const upTo = {
  setup: [{ to: 'creating_sandbox' }],
  agent: [{ to: 'creating_sandbox' }, { to: 'running' }],
  evaluation: [{ to: 'creating_sandbox' }, { to: 'running' }, { to: 'evaluating', detail: 'agent exited with 0 after 1s' }],
} as const;

describe('runWorkflow', () => {
  it('walks every status to completed, then cleans up once', async () => {
    const { runId, handle, result } = await run('ok');
    expect(result).toEqual({ runId, status: 'completed', score: 1, passed: true });
    expect(world.transitions(runId)).toEqual([...upTo.evaluation, { to: 'analyzing' }, { to: 'completed', detail: 'passed' }]);
    expect(cleanups(runId)).toEqual(cleanedOnce);
    // The cleanup comes before the final status: a completed run has no sandbox left.
    const order = world.callsFor(runId).map((c) => c.activity);
    const sa = (await handle.describe()).typedSearchAttributes;
    expect([SA.runStatus, SA.organization, SA.product, SA.task, SA.environment].map((k) => sa.get(k))).toEqual([
      'completed',
      'org-test',
      'product-test',
      'task-test',
      'env-test',
    ]);
    // Analysed in its analyzing step once the sandbox is destroyed (no container or host
    // slot held through model calls); since v6 the analysis writes the final status itself,
    // so no transition activity follows it.
    expect(world.callsFor(runId, 'analyzeRun')).toHaveLength(1);
    expect(order.indexOf('analyzeRun')).toBeGreaterThan(order.indexOf('destroySandbox'));
    expect(order.lastIndexOf('transitionRun')).toBeLessThan(order.indexOf('analyzeRun'));
    expect(order.at(-1)).toBe('analyzeRun');
  });

  it('analyses a failed run after its cleanup, and an analysis failure changes nothing', async () => {
    const failed = await run('analyse-failed', {
      provisionSandbox: async () => {
        throw ApplicationFailure.nonRetryable('init command 1 exited with 2', 'SetupError');
      },
    });
    const order = world.callsFor(failed.runId).map((c) => c.activity);
    expect(order.indexOf('analyzeRun')).toBeGreaterThan(order.lastIndexOf('transitionRun'));
    expect(world.callsFor(failed.runId, 'analyzeRun')).toHaveLength(1);

    const broken = await run('analysis-broken', {
      analyzeRun: async () => {
        throw new Error('the analysis database is down');
      },
    });
    expect(broken.result).toEqual({ runId: broken.runId, status: 'completed', score: 1, passed: true });
    expect(world.callsFor(broken.runId, 'analyzeRun').length).toBeGreaterThanOrEqual(2);
    // The analysis never wrote the ending: a transition of its own does.
    const brokenOrder = world.callsFor(broken.runId).map((c) => c.activity);
    expect(brokenOrder.at(-1)).toBe('transitionRun');
    expect(world.transitions(broken.runId).at(-1)).toEqual({ to: 'completed', detail: 'passed' });
  });

  it('says so when some criteria could not be evaluated', async () => {
    const { runId, result } = await run('incomplete', { evaluateRun: async () => ({ score: 0.5, passed: null }) });
    expect(result).toEqual({ runId, status: 'completed', score: 0.5, passed: null });
    expect(world.transitions(runId).at(-1)).toEqual({ to: 'completed', detail: 'verdict incomplete: some criteria were not evaluated' });
  });

  describe('blames a failure by its error type', () => {
    it('SetupError from provisioning: setup', async () => {
      const { runId, result } = await run('setup-error', {
        provisionSandbox: async () => {
          throw ApplicationFailure.nonRetryable('init command 1 exited with 2', 'SetupError');
        },
      });
      expect(result).toEqual({ runId, status: 'failed', score: null, passed: null, failureCategory: 'setup' });
      expect(world.transitions(runId)).toEqual([
        ...upTo.setup,
        { to: 'failed', failure: { category: 'setup', message: 'provisionSandbox: init command 1 exited with 2' } },
      ]);
      expect(cleanups(runId)).toEqual(cleanedOnce);
    });

    it('EnvironmentConfigError thrown as the domain class: setup, without a retry', async () => {
      // A plain Error subclass: its name becomes the failure type, which the retry policy lists.
      const { runId, result } = await run('env-config', {
        provisionSandbox: async () => {
          throw new EnvironmentConfigError('image simlab/missing:1 does not exist');
        },
      });
      expect(result).toMatchObject({ status: 'failed', failureCategory: 'setup' });
      expect(world.transitions(runId)).toEqual([
        ...upTo.setup,
        { to: 'failed', failure: { category: 'setup', message: 'provisionSandbox: image simlab/missing:1 does not exist' } },
      ]);
      expect(world.callsFor(runId, 'provisionSandbox').map((c) => c.attempt)).toEqual([1]);
      expect(cleanups(runId)).toEqual(cleanedOnce);
    });

    it('EvaluationError from evaluation: evaluation, without a retry', async () => {
      const { runId, result } = await run('eval-error', {
        evaluateRun: async () => {
          throw new EvaluationError('criterion 2 names no file');
        },
      });
      expect(result).toEqual({ runId, status: 'failed', score: null, passed: null, failureCategory: 'evaluation' });
      expect(world.transitions(runId)).toEqual([
        ...upTo.evaluation,
        { to: 'failed', failure: { category: 'evaluation', message: 'evaluateRun: criterion 2 names no file' } },
      ]);
      expect(world.callsFor(runId, 'evaluateRun').map((c) => c.attempt)).toEqual([1]);
      expect(cleanups(runId)).toEqual(cleanedOnce);
    });

    it('an error of any other type: infra, even from a step the task could be blamed for', async () => {
      // Non-retryable so the test need not wait out four attempts of backoff; the type is what counts.
      const { runId, result } = await run('infra', {
        provisionSandbox: async () => {
          throw ApplicationFailure.create({ message: 'docker daemon went away', type: 'DockerGone', nonRetryable: true });
        },
      });
      expect(result).toEqual({ runId, status: 'failed', score: null, passed: null, failureCategory: 'infra' });
      expect(world.transitions(runId)).toEqual([
        ...upTo.setup,
        { to: 'failed', failure: { category: 'infra', message: 'provisionSandbox: docker daemon went away' } },
      ]);
      expect(cleanups(runId)).toEqual(cleanedOnce);
    });

    it('a plain Error is retried, not blamed, when a later attempt succeeds', async () => {
      const { runId, result } = await run('retried', {
        runAgent: async (_, attempt) => {
          if (attempt === 1) throw new Error('connection reset by the Docker socket');
          return { exitCode: 0, timedOut: false, durationMs: 1234 };
        },
      });
      expect(result).toEqual({ runId, status: 'completed', score: 1, passed: true });
      expect(world.callsFor(runId, 'runAgent').map((c) => c.attempt)).toEqual([1, 2]);
      // The retried step enters `running` again, which the store makes a no-op.
      expect(world.transitions(runId).map((t) => t.to)).toEqual(['creating_sandbox', 'running', 'running', 'evaluating', 'analyzing', 'completed']);
      expect(world.status(runId)).toBe('completed');
    });

    it('an agent that runs out of time: completed, with the agent to blame', async () => {
      const { runId, result } = await run('agent-timeout', {
        runAgent: async () => ({ exitCode: null, timedOut: true, durationMs: 600_000 }),
        evaluateRun: async () => ({ score: 0.25, passed: false }),
      });
      expect(result).toEqual({ runId, status: 'completed', score: 0.25, passed: false, failureCategory: 'agent' });
      const detail = 'agent timed out after 600s and was stopped';
      expect(world.transitions(runId)).toEqual([
        ...upTo.agent,
        { to: 'evaluating', detail },
        { to: 'analyzing' },
        { to: 'completed', detail: 'did not pass', failure: { category: 'agent', message: detail } },
      ]);
      expect(cleanups(runId)).toEqual(cleanedOnce);
    });
  });

  describe('cleanup', () => {
    it('never touches a sandbox when the run had already ended', async () => {
      const { runId, handle, result } = await run('finished', { prepareRun: async () => ({ finished: 'cancelled' }) });
      expect(result).toEqual({ runId, status: 'cancelled', score: null, passed: null });
      expect(world.transitions(runId)).toEqual([]);
      expect(world.callsFor(runId).map((c) => c.activity)).toEqual(['prepareRun']);
      expect((await handle.describe()).typedSearchAttributes.get(SA.runStatus)).toBe('cancelled');
    });

    it('still destroys the sandbox and ends the run when archiving fails', async () => {
      const { runId, result } = await run('archive-fails', {
        archiveSandbox: async () => {
          throw ApplicationFailure.nonRetryable('home exceeds the archive limit', 'ArchiveTooLarge');
        },
      });
      expect(result).toMatchObject({ status: 'completed', passed: true });
      expect(cleanups(runId)).toEqual(cleanedOnce);
      expect(world.transitions(runId).at(-1)).toEqual({ to: 'completed', detail: 'passed' });
    });

    it('still ends the run when destroying fails (the reaper removes the container)', async () => {
      const { runId, result } = await run('destroy-fails', {
        provisionSandbox: async () => {
          throw ApplicationFailure.nonRetryable('bad init', 'SetupError');
        },
        destroySandbox: async () => {
          throw ApplicationFailure.nonRetryable('host unreachable', 'DockerGone');
        },
      });
      expect(result).toMatchObject({ status: 'failed', failureCategory: 'setup' });
      expect(cleanups(runId)).toEqual(cleanedOnce);
      expect(world.status(runId)).toBe('failed');
    });

    it('keeps an ending written from outside while the run was going on', async () => {
      // The API cancelled the run in the database before the workflow's cancellation arrived.
      const { runId, result } = await run('ended-outside', {
        provisionSandbox: async (id) => {
          world.setStatus(id, 'cancelled');
          return { containerId: 'c', initCommands: 0 };
        },
      });
      expect(result).toMatchObject({ runId, status: 'cancelled', score: null, passed: null });
      expect(world.status(runId)).toBe('cancelled');
      expect(world.transitions(runId).map((t) => t.to)).toEqual(['creating_sandbox', 'running', 'failed']);
      expect(cleanups(runId)).toEqual(cleanedOnce);
    });
  });

  describe('cancellation', () => {
    it.each([
      ['provisionSandbox', 'setup', upTo.setup],
      ['runAgent', 'agent', upTo.agent],
      ['evaluateRun', 'evaluation', upTo.evaluation],
    ] as const)('while %s runs: cancelled during %s, cleanup done', async (activity, step, before) => {
      const runId = world.newRunId(`cancel-${step}`);
      world.script(runId, { [activity]: blockUntilCancelled });
      const handle = await world.startRun(runId);
      await world.reached(runId, activity);
      await handle.cancel();
      const result = await handle.result();
      expect(result).toEqual({ runId, status: 'cancelled', score: null, passed: null, failureCategory: 'cancelled' });
      expect(world.transitions(runId)).toEqual([
        ...before,
        { to: 'cancelled', failure: { category: 'cancelled', message: `cancelled during ${step}` } },
      ]);
      expect(cleanups(runId)).toEqual(cleanedOnce);
      // WAIT_CANCELLATION_COMPLETED: the cancelled step has ended before the cleanup starts.
      const order = world.callsFor(runId).map((c) => c.activity);
      expect(order.indexOf('archiveSandbox')).toBeGreaterThan(order.indexOf(activity));
    });

    it('while preparing: cancelled during prepare, no sandbox to clean up', async () => {
      const runId = world.newRunId('cancel-prepare');
      world.script(runId, { prepareRun: blockUntilCancelled });
      const handle = await world.startRun(runId);
      await world.reached(runId, 'prepareRun');
      await handle.cancel();
      const result = await handle.result();
      expect(result).toEqual({ runId, status: 'cancelled', score: null, passed: null, failureCategory: 'cancelled' });
      expect(world.transitions(runId)).toEqual([{ to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled during prepare' } }]);
      expect(cleanups(runId)).toEqual({ archiveSandbox: 0, destroySandbox: 0 });
    });
  });
});
