/**
 * A sandbox the agent exhausts is the agent's doing: a fork bomb or a memory hog leaves
 * the run evaluated on what it left, its output kept, and blamed on the agent with the
 * reason, never on the infrastructure.
 */
import { execFileSync } from 'node:child_process';
import { startHarness, task, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const goals = [{ name: 'wrote before', evaluationType: 'bash_command', command: 'grep -qx before out.txt' }];

describe('an agent that exhausts its sandbox', () => {
  it('fork bomb: stopped, evaluated, blamed on the agent (process limit)', async () => {
    const envId = await h.createEnvironment({
      name: 'bomb',
      agent: { harness: 'command', command: "echo before | tee out.txt; (f(){ f | f & }; f) >/dev/null 2>&1 & echo started" },
      resources: { cpus: 0.5, memoryMb: 128, pids: 48 },
    });
    const taskId = await h.createTask(task(goals));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!, undefined, 120_000);
    expect(run).toMatchObject({ status: 'completed', score: 100, failure: { category: 'agent', message: expect.stringContaining("process limit (48)") } });
    expect(run.agent.outputExcerpt).toContain('before');
    expect(await h.sandboxesLeft()).toEqual([]);
  });

  it('memory hog: its OOM-killed process is reported, the run still evaluated and blamed on the agent', async () => {
    const envId = await h.createEnvironment({
      name: 'hog',
      agent: { harness: 'command', command: 'echo before | tee out.txt; head -c 400000000 /dev/zero | tail > /dev/null; echo "tail exited $?"' },
      resources: { cpus: 0.5, memoryMb: 96, pids: 64 },
    });
    const taskId = await h.createTask(task(goals));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!, undefined, 120_000);
    expect(run).toMatchObject({ status: 'completed', score: 100, failure: { category: 'agent', message: expect.stringContaining('OOM-killed') } });
    expect(run.agent.outputExcerpt).toMatch(/tail exited 137/);
  });

  it('cancellation takes effect within 10 s whatever the home holds; the archive is bounded and says why it is missing', async () => {
    const envId = await h.createEnvironment({
      name: 'big-home',
      agent: { harness: 'command', command: 'head -c 200000000 /dev/urandom > big.bin && echo written && sleep 600' },
      resources: { cpus: 1, memoryMb: 256, pids: 64 },
    });
    const taskId = await h.createTask(task(goals));
    const [runId] = await h.runTask(taskId, [envId]);
    await h.waitForRun(runId!, (s) => s === 'running');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await h.api('GET', `/runs/${runId}/events`)).body.items.some((e: any) => e.type === 'command_output' && e.data.text.includes('written'))) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const asked = Date.now();
    expect((await h.api('POST', `/runs/${runId}/cancel`, {})).status).toBe(202);
    expect((await h.api('GET', `/runs/${runId}`)).body).toMatchObject({ cancelling: true });
    const run = await h.waitForRun(runId!, undefined, 30_000);
    const took = Date.now() - asked;
    expect(run).toMatchObject({ status: 'cancelled', cancelling: false, artifacts: { archive: null, archiveNote: expect.stringMatching(/^not archived: /) } });
    expect(took).toBeLessThan(10_000);
    expect(await h.sandboxesLeft()).toEqual([]);
  });

  it('disk quota: the home holds diskMb and no more; filling it is the agent\'s failure; the disk goes with the sandbox', async () => {
    const envId = await h.createEnvironment({
      name: 'quota',
      agent: { harness: 'command', command: 'echo before | tee out.txt; head -c 200000000 /dev/zero > big.bin; echo "write exited $?"; ls -l big.bin' },
      resources: { cpus: 0.5, memoryMb: 128, pids: 64, diskMb: 64 },
    });
    const taskId = await h.createTask(task([...goals, { name: 'bounded', evaluationType: 'bash_command', command: 'test $(wc -c < big.bin) -lt 70000000' }]));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!, undefined, 120_000);
    expect(run).toMatchObject({ status: 'completed', score: 100, failure: { category: 'agent', message: expect.stringContaining('filled its 64 MB disk quota') } });
    expect(run.agent.outputExcerpt).toMatch(/write exited 1/);
    expect(await h.sandboxesLeft()).toEqual([]);
    // The home disk went with its sandbox: nothing mounted or left on the host.
    expect(execFileSync('mount', { encoding: 'utf8' })).not.toContain(runId!);
  });
});
