/**
 * An iteration larger than one workflow history allows (here: a history bound of 30 events,
 * SIMLAB_ITERATION_HISTORY_EVENTS) on the real Temporal, Docker and PostgreSQL: its parent
 * continues as new several times while runs are in flight, and every run is done exactly
 * once, none cancelled by a continue-as-new (their parent-close policy is ABANDON).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startHarness, task, type Harness } from './harness';
import { cliFor, jsonCli } from './cli';
import { iterationProgressQuery } from '../../workflows/signals';
import { SA } from '../../workflows/searchAttributes';

let h: Harness;
let dir: string;
const simlab = cliFor(
  () => h,
  () => dir,
  () => ({ SIMLAB_PRODUCT: h.org.productSlug }),
);

beforeAll(async () => {
  h = await startHarness({ iterationHistoryEvents: 30 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-can-'));
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const json = jsonCli(simlab);

it('continues as new at least twice and runs every run exactly once', async () => {
  const t = await h.createTask(task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt' }], { name: 'can' }));
  const envs = [await h.createEnvironment({ name: 'can-1', agent: { harness: 'command', command: 'sleep 1; echo hello > hello.txt' } }), await h.createEnvironment({ name: 'can-2' })];
  const exp = await json('experiment', 'create', '--name', 'continue-as-new', '--task-ids', t, '--env-ids', envs.join(','), '--repeats', '5');
  const launched = await json('experiment', 'run', exp.id, '--detach');
  expect(launched).toMatchObject({ number: 1, runCount: 10 });

  const status = await json('experiment', 'run', 'status', exp.id, '--watch');
  expect(status).toMatchObject({ status: 'completed', number: 1, total: 10, counts: { completed: 10 } });

  const it = await h.prisma.iteration.findUniqueOrThrow({ where: { id: launched.iterationId } });
  const handle = h.client.workflow.getHandle(it.workflowId);
  const progress = await handle.query(iterationProgressQuery);
  expect(progress).toMatchObject({ total: 10, started: 10, ended: 10, inFlight: 0, cancelled: false });
  expect(progress.generation).toBeGreaterThanOrEqual(2);
  const executions = [];
  for await (const e of h.client.workflow.list({ query: `WorkflowId = '${it.workflowId}'` })) executions.push(e);
  expect(executions).toHaveLength(progress.generation + 1);
  expect(executions.filter((e) => e.status.name === 'CONTINUED_AS_NEW')).toHaveLength(progress.generation);
  // The final execution still carries the experiment's search attributes.
  const described = await handle.describe();
  expect(described.typedSearchAttributes.get(SA.iterationNumber)).toBe(1);
  expect(described.typedSearchAttributes.get(SA.experiment)).toBe(exp.id);

  // Exactly once: one sandbox, one agent and one ending per run, no cancellation anywhere.
  const runs = await h.prisma.run.findMany({ where: { iterationId: it.id }, include: { statusChanges: { orderBy: [{ at: 'asc' }, { id: 'asc' }] } } });
  expect(runs).toHaveLength(10);
  for (const run of runs) {
    const to = run.statusChanges.map((c) => c.to);
    expect({ run: run.id, to }).toEqual({ run: run.id, to: ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'] });
    expect(run.passed).toBe(true);
  }
  expect(await h.sandboxesLeft()).toHaveLength(0);
  // The results were computed once the last run had ended.
  expect(await h.prisma.iterationResult.findUnique({ where: { iterationId: it.id } })).not.toBeNull();
}, 300_000);
