/**
 * iterationWorkflow with real child runWorkflows against stubbed activities: the
 * concurrency window, and a cancellation that reaches every started child and still
 * settles the iteration after the children's cleanups.
 */
import { runWorkflowId } from '../../domain/workflowIds';
import { SA } from '../../workflows/searchAttributes';
import { iterationProgressQuery } from '../../workflows/signals';
import { blockUntilCancelled, slowly, startWorld, type World } from './world';

jest.setTimeout(60_000);

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, 60_000);
afterAll(async () => {
  await world?.close();
});

describe('iterationWorkflow', () => {
  it('runs every run with never more than maxConcurrentRuns in flight', async () => {
    world.inFlight.max = 0;
    const { iterationId, runIds, handle } = await world.startIteration('window', 7, 3, {
      runAgent: slowly(300, { exitCode: 0, timedOut: false, durationMs: 300 }),
    });
    expect(await handle.result()).toBe('completed');

    // Reaching the limit shows the window is used, not merely that runs went one by one.
    expect(world.inFlight.max).toBe(3);
    for (const runId of runIds) {
      expect({ runId, to: world.transitions(runId).map((t) => t.to) }).toEqual({
        runId,
        to: ['creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'],
      });
      expect(world.callsFor(runId, 'destroySandbox')).toHaveLength(1);
    }
    expect(world.callsFor(iterationId).map((c) => c.activity)).toEqual(['startIteration', 'listIterationRuns', 'computeIterationResults', 'finishIteration']);
    expect(world.finishes(iterationId)).toEqual([false]);
    // Each run started once: REJECT_DUPLICATE and the window never start a run twice.
    const prepared = world.calls.filter((c) => c.activity === 'prepareRun' && runIds.includes(c.id)).map((c) => c.id);
    expect(prepared.sort()).toEqual(runIds);
    const child = await world.client.workflow.getHandle(runWorkflowId(runIds[0]!)).describe();
    expect(child.typedSearchAttributes.get(SA.iteration)).toBe(iterationId);
    expect(child.typedSearchAttributes.get(SA.iterationNumber)).toBe(1);
    const progress = await handle.query(iterationProgressQuery);
    expect(progress).toMatchObject({ total: 7, started: 7, ended: 7, inFlight: 0, generation: 0, cancelled: false });
  });

  // A parent's close policy applies to its children when it continues as new
  // (temporalio/temporal#3666): runs in flight across a continue-as-new must go on.
  it('continues as new under a small history bound, with every run done exactly once', async () => {
    world.inFlight.max = 0;
    const { iterationId, runIds, handle } = await world.startIteration('can', 12, 3, {
      runAgent: slowly(200, { exitCode: 0, timedOut: false, durationMs: 200 }),
    }, { historyEventBound: 40 });
    expect(await handle.result()).toBe('completed');
    for (const runId of runIds) {
      expect({ runId, to: world.transitions(runId).map((t) => t.to) }).toEqual({
        runId,
        to: ['creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'],
      });
      expect(world.callsFor(runId, 'prepareRun')).toHaveLength(1);
      expect(world.callsFor(runId, 'destroySandbox')).toHaveLength(1);
    }
    expect(world.inFlight.max).toBe(3);
    expect(world.finishes(iterationId)).toEqual([false]);
    const progress = await handle.query(iterationProgressQuery);
    expect(progress.generation).toBeGreaterThanOrEqual(2);
    expect(progress).toMatchObject({ total: 12, started: 12, ended: 12, inFlight: 0 });
    // Every execution of the chain stayed near the bound: the events of the step that crossed
    // it, and for the last one its settling (results, status, memo).
    const executions = world.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` });
    let count = 0;
    for await (const e of executions) {
      count++;
      expect(e.historyLength).toBeLessThan(40 + 30);
    }
    expect(count).toBe(progress.generation + 1);
  }, 120_000);

  it('on cancel after continuing as new, cancels the runs an earlier execution started', async () => {
    const { iterationId, runIds, handle } = await world.startIteration('can-cancel', 6, 2, { runAgent: blockUntilCancelled }, { historyEventBound: 20 });
    await Promise.all(runIds.slice(0, 2).map((id) => world.reached(id, 'runAgent')));
    // Wait for a continue-as-new so the runs in flight were started by an earlier execution.
    for (let i = 0; i < 100 && (await handle.query(iterationProgressQuery)).generation === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await handle.query(iterationProgressQuery)).generation).toBeGreaterThan(0);
    await handle.cancel();
    expect(await handle.result()).toBe('cancelled');
    const started = runIds.filter((id) => world.callsFor(id, 'prepareRun').length > 0);
    expect(started).toEqual(runIds.slice(0, 2));
    for (const runId of started) {
      expect({ runId, to: world.transitions(runId).map((t) => t.to) }).toEqual({ runId, to: ['creating_sandbox', 'running', 'cancelled'] });
      expect(world.callsFor(runId, 'destroySandbox')).toHaveLength(1);
    }
    expect(runIds.map((id) => world.status(id))).toEqual(Array(6).fill('cancelled'));
    expect(world.finishes(iterationId)).toEqual([true]);
  }, 60_000);

  it('on cancel, cancels the started runs, then the queued ones, then settles as cancelled', async () => {
    const { iterationId, runIds, handle } = await world.startIteration('cancel', 5, 2, { runAgent: blockUntilCancelled });
    const [first, second] = runIds as [string, string];
    await Promise.all([world.reached(first, 'runAgent'), world.reached(second, 'runAgent')]);
    await handle.cancel();
    expect(await handle.result()).toBe('cancelled');

    const started = runIds.filter((id) => world.callsFor(id, 'prepareRun').length > 0);
    expect(started).toEqual([first, second]);
    for (const runId of started) {
      expect({ runId, transitions: world.transitions(runId) }).toEqual({
        runId,
        transitions: [
          { to: 'creating_sandbox' },
          { to: 'running' },
          { to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled during agent' } },
        ],
      });
      expect(world.callsFor(runId, 'archiveSandbox')).toHaveLength(1);
      expect(world.callsFor(runId, 'destroySandbox')).toHaveLength(1);
    }
    // The runs never started are ended by cancelQueuedRuns, never by a child of their own.
    expect(runIds.map((id) => world.status(id))).toEqual(Array(5).fill('cancelled'));
    expect(world.callsFor(iterationId, 'cancelQueuedRuns')).toHaveLength(1);
    expect(world.finishes(iterationId)).toEqual([true]);
    // The iteration settles only after every started child has cleaned up.
    const order = world.calls.map((c) => `${c.activity}:${c.id}`);
    const settled = order.indexOf(`cancelQueuedRuns:${iterationId}`);
    for (const runId of started) expect(order.indexOf(`destroySandbox:${runId}`)).toBeLessThan(settled);
    expect(order.indexOf(`finishIteration:${iterationId}`)).toBeGreaterThan(settled);
  });

  // A cancelled child returns normally (its status says cancelled), so nothing throws in the
  // iteration once every run has started: only the scope knows (PATCHES.iterationCancelAfterLastStart).
  it('on cancel after its last run has started, still settles as cancelled', async () => {
    const { iterationId, runIds, handle } = await world.startIteration('cancel-last', 2, 2, { runAgent: blockUntilCancelled });
    await Promise.all(runIds.map((id) => world.reached(id, 'runAgent')));
    await handle.cancel();
    expect(await handle.result()).toBe('cancelled');
    for (const runId of runIds) {
      expect({ runId, to: world.transitions(runId).map((t) => t.to) }).toEqual({ runId, to: ['creating_sandbox', 'running', 'cancelled'] });
      expect(world.callsFor(runId, 'destroySandbox')).toHaveLength(1);
    }
    expect(world.callsFor(iterationId, 'cancelQueuedRuns')).toHaveLength(1);
    expect(world.finishes(iterationId)).toEqual([true]);
  });
});
