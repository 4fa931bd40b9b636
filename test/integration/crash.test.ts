/**
 * A worker process killed mid-run loses nothing: the run's state is in PostgreSQL and
 * Temporal, the agent keeps running in its sandbox, and the retried agent activity on
 * the restarted worker resumes waiting for that same agent (by the exec id in its
 * heartbeat) instead of starting it again.
 */
import type { ChildProcess } from 'node:child_process';
import { startHarness, task, type Harness } from './harness';
import { startWorkerProcess } from './workerProcess';

let h: Harness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await startHarness({ inProcessWorkers: false });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await h?.close();
});

async function startWorker(): Promise<ChildProcess> {
  const child = await startWorkerProcess(h);
  children.push(child);
  return child;
}

/**
 * Starts a run whose agent prints `before`, works for `seconds`, then writes and prints
 * `after`; stops the worker that runs it with `signal` while the agent works; starts a
 * new worker, and returns the finished run.
 */
async function runAcrossWorkerStop(signal: NodeJS.Signals, seconds: number) {
  const first = await startWorker();
  const envId = await h.createEnvironment({
    agent: { harness: 'command', command: `echo before; sleep ${seconds}; echo after > hello.txt; echo after` },
  });
  const taskId = await h.createTask(task([{ name: 'agent finished', evaluationType: 'bash_command', command: 'grep -qx after hello.txt' }]));
  const [runId] = await h.runTask(taskId, [envId]);
  await h.waitForRun(runId!, (s) => s === 'running', 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  first.kill(signal);
  await new Promise((r) => first.once('exit', r));
  // The sandbox and its agent outlive the worker.
  expect((await h.sandboxesLeft()).length).toBe(1);
  const second = await startWorker();
  try {
    return await h.waitForRun(runId!, undefined, 180_000);
  } finally {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }
}

it('a run survives a worker crash during the agent step, with its transcript and archive', async () => {
  const run = await runAcrossWorkerStop('SIGKILL', 8);
  expect(run).toMatchObject({ status: 'completed', passed: true, score: 100 });
  // One agent, started once: 'before' appears a single time.
  expect(run.agent).toMatchObject({ exitCode: 0, timedOut: false, outputExcerpt: 'before\nafter\n' });
  expect(run.artifacts.archive.bytes).toBeGreaterThan(0);
  // Written by the worker process, read back by the API from the artifact store.
  const log = await h.download(run.artifacts.agentLog.url);
  expect(log.body.toString()).toBe('before\nafter\n');
  expect(run.statusHistory.map((s: { to: string }) => s.to)).toEqual(['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed']);
  expect(await h.sandboxesLeft()).toEqual([]);
}, 240_000);

it('a graceful worker restart (deploy) leaves the agent running and the run completes', async () => {
  const run = await runAcrossWorkerStop('SIGTERM', 6);
  expect(run).toMatchObject({ status: 'completed', passed: true });
  expect(run.agent).toMatchObject({ exitCode: 0, outputExcerpt: 'before\nafter\n' });
  expect(await h.sandboxesLeft()).toEqual([]);
}, 240_000);
