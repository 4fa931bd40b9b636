/**
 * iterationWorkflow with real child runWorkflows against stubbed activities: the
 * concurrency window, and a cancellation that reaches every started child and still
 * settles the iteration after the children's cleanups.
 */
import { runWorkflowId } from '../../domain/workflowIds';
import { SA } from '../../workflows/searchAttributes';
import { blockUntilCancelled, slowly, startWorld, type World } from './world';

jest.setTimeout(30_000);

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
    expect(world.callsFor(iterationId).map((c) => c.activity)).toEqual(['startIteration', 'listIterationRuns', 'finishIteration']);
    expect(world.finishes(iterationId)).toEqual([false]);
    // Each run started once: REJECT_DUPLICATE and the window never start a run twice.
    const prepared = world.calls.filter((c) => c.activity === 'prepareRun' && runIds.includes(c.id)).map((c) => c.id);
    expect(prepared.sort()).toEqual(runIds);
    const child = await world.client.workflow.getHandle(runWorkflowId(runIds[0]!)).describe();
    expect(child.typedSearchAttributes.get(SA.iteration)).toBe(iterationId);
  });

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
