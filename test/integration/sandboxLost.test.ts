/**
 * A sandbox killed from outside mid-run (what a Docker engine restart does to it): the run
 * fails at once as infra, saying what happened in words, not after every retry of the step
 * with Docker's own "no such exec"; nothing is left behind.
 */
import { startHarness, task, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

it('a container killed under a running agent fails the run as infra, promptly and in words', async () => {
  const envId = await h.createEnvironment({ name: 'doomed', agent: { harness: 'command', command: 'sleep 60; echo hello > hello.txt' } });
  const taskId = await h.createTask(task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt' }]));
  const [runId] = await h.runTask(taskId, [envId]);
  await h.waitForRun(runId!, (s) => s === 'running', 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  const [sandbox] = await h.sandboxesLeft();
  const killedAt = Date.now();
  await h.docker.getContainer(sandbox!.id).kill();
  const run = await h.waitForRun(runId!, undefined, 120_000);
  expect(run).toMatchObject({ status: 'failed', failure: { category: 'infra' } });
  expect(run.failure.message).toMatch(/runAgent: the sandbox's container is stopped \(the Docker engine restarted, or the container was killed from outside\)/);
  // One attempt, not the step's five retries with backoff.
  expect(Date.now() - killedAt).toBeLessThan(20_000);
  expect(await h.sandboxesLeft()).toHaveLength(0);
}, 180_000);
