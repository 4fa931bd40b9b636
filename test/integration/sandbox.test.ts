/** Sandboxes on the real Docker engine: hardening, labels, and the reaper. */
import { LABELS, shellArgv, type SandboxIdentity } from '../../sandbox';
import { normalizeEnvironment, type EnvironmentDefinition } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { putSnapshots } from '../../store/snapshots';
import { reapOrphans } from '../../workers/reaper';
import { startHarness, type Harness } from './harness';
import { TEST_IMAGE } from './env';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.sandboxes.destroy({ hostId: h.hostId, deploymentId: h.deploymentId });
  await h?.close();
});

const createSandbox = (id: SandboxIdentity, e: EnvironmentDefinition) =>
  h.sandboxes.create(id, { image: e.image, resources: e.resources, network: e.network, env: {} });
const inspect = (id: string) => h.docker.getContainer(id).inspect();

const env = (over: Record<string, unknown> = {}) =>
  normalizeEnvironment({ name: 'e', image: TEST_IMAGE, agent: { harness: 'command', command: 'true' }, resources: { memoryMb: 96, pids: 50, cpus: 0.25 }, ...over } as never);

describe('sandbox', () => {
  it('is hardened and labelled', async () => {
    const runId = newId('run');
    const c = await createSandbox({ runId, iterationId: 'iter_x', organizationId: 'org_x', hostId: h.hostId, deploymentId: h.deploymentId }, env());
    try {
      const info = await inspect(c.id);
      expect(info.Config.Labels).toMatchObject({
        [LABELS.managed]: 'true',
        [LABELS.run]: runId,
        [LABELS.iteration]: 'iter_x',
        [LABELS.organization]: 'org_x',
        [LABELS.host]: h.hostId,
      });
      // The agent user by number: an image's passwd cannot turn it into root.
      expect(info.Config.User).toBe('1000:1000');
      expect(info.HostConfig).toMatchObject({
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: 50,
        Memory: 96 * 1024 * 1024,
        MemorySwap: 96 * 1024 * 1024,
        NanoCpus: 250_000_000,
        NetworkMode: 'none',
      });
      const probe = await c.exec(shellArgv('id -u; echo $HOME; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ls /sys/class/net'), { timeoutSeconds: 20 });
      expect(probe.exitCode).toBe(0);
      const lines = probe.output.trim().split('\n');
      expect(lines.slice(0, 2)).toEqual(['1000', '/home/agent']);
      expect(probe.output).toMatch(/CapEff:\s+0000000000000000/);
      expect(probe.output).toMatch(/NoNewPrivs:\s+1/);
      // No network: only the loopback interface exists.
      expect(lines.slice(4)).toEqual(['lo']);
      // The pids limit holds: a fork bomb cannot take the host down.
      const bomb = await c.exec(shellArgv('for i in $(seq 1 200); do sleep 5 & done 2>/dev/null; echo spawned; jobs -p | wc -l'), { timeoutSeconds: 20 });
      expect(Number(bomb.output.trim().split('\n').pop())).toBeLessThan(50);
    } finally {
      await h.sandboxes.destroy({ runId });
    }
    expect(await h.sandboxes.list({ runId })).toEqual([]);
  });

  it('says plainly when the image gives the agent no home it can write', async () => {
    // An image like the test image, but with a home that root owns and only root may write.
    const builder = await h.docker.createContainer({ Image: TEST_IMAGE, User: '0:0', Entrypoint: ['/bin/sh', '-c', 'chown 0:0 /home/agent && chmod 755 /home/agent'], Cmd: [], NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } });
    try {
      await builder.start();
      expect((await builder.wait()).StatusCode).toBe(0);
      await builder.commit({ repo: 'simlab/busybox', tag: 'root-home' });
    } finally {
      // Whatever failed above (a start refused by the engine), the builder goes.
      await builder.remove({ force: true });
    }
    const runId = newId('run');
    try {
      const c = await createSandbox({ runId, iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: h.deploymentId }, env({ image: 'simlab/busybox:root-home' }));
      const refused = await c.recordProcessBaseline().then(() => null, (err: Error) => err);
      expect(refused?.constructor.name).toBe('EnvironmentConfigError');
      expect(refused?.message).toMatch(/no \/home\/agent writable by uid 1000 .*owned by 0:0 with mode 755/);
      // The test image itself passes the same check.
      const fine = await createSandbox({ runId: newId('run'), iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: h.deploymentId }, env());
      try {
        await fine.writeFiles('/tmp', [{ name: '.simlab', type: 'directory', mode: 0o755, owner: 'root' }]);
        await expect(fine.recordProcessBaseline()).resolves.toBeUndefined();
      } finally {
        await h.sandboxes.destroy({ runId: fine.runId });
      }
    } finally {
      await h.sandboxes.destroy({ runId });
      await h.docker.getImage('simlab/busybox:root-home').remove().catch(() => undefined);
    }
  });

  it('tells a file\'s size from outside, without an exec', async () => {
    const runId = newId('run');
    const c = await createSandbox({ runId, iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: h.deploymentId }, env());
    try {
      await c.writeFiles('/home/agent', [{ name: 'log.txt', content: 'x'.repeat(1234) }]);
      const execs = (await inspect(c.id)).ExecIDs?.length ?? 0;
      expect(await c.fileSize('/home/agent/log.txt')).toBe(1234);
      expect(await c.fileSize('/home/agent/missing.txt')).toBeNull();
      expect((await inspect(c.id)).ExecIDs?.length ?? 0).toBe(execs);
    } finally {
      await h.sandboxes.destroy({ runId });
    }
  });

  it('has a network only when the environment allows it', async () => {
    const runId = newId('run');
    const c = await createSandbox({ runId, iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: h.deploymentId }, env({ network: { enabled: true } }));
    try {
      // Not Docker's default bridge: simlab's own network, whose firewall rules keep it off the host (egress.test.ts).
      expect((await inspect(c.id)).HostConfig.NetworkMode).toBe('simlab-open');
    } finally {
      await h.sandboxes.destroy({ runId });
    }
  });

  it('kills a command at its time limit', async () => {
    const runId = newId('run');
    const c = await createSandbox({ runId, iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: h.deploymentId }, env());
    try {
      const r = await c.exec(shellArgv('echo before; sleep 30; echo after'), { timeoutSeconds: 1 });
      expect(r).toMatchObject({ timedOut: true, exitCode: 137 });
      expect(r.output).toContain('before');
      expect(r.output).not.toContain('after');
      expect(r.durationMs).toBeLessThan(10_000);
    } finally {
      await h.sandboxes.destroy({ runId });
    }
  });

  it("reaper removes its installation's sandboxes whose run does not exist, and never another installation's", async () => {
    const orphanId = newId('run');
    const foreignId = newId('run');
    await createSandbox({ runId: orphanId, iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: h.deploymentId }, env());
    await createSandbox({ runId: foreignId, iterationId: 'i', organizationId: 'o', hostId: h.hostId, deploymentId: 'someone-else' }, env());
    try {
      const report = await reapOrphans({ sandboxes: h.sandboxes, prisma: h.prisma, client: h.client, hostId: h.hostId, deploymentId: h.deploymentId });
      expect(report).toMatchObject({ inspected: 1, errors: [] });
      expect(report.destroyed).toHaveLength(1);
      expect(await h.sandboxes.list({ runId: orphanId })).toEqual([]);
      expect(await h.sandboxes.list({ runId: foreignId })).toHaveLength(1);
    } finally {
      await h.sandboxes.destroy({ runId: foreignId });
    }
  });

  it('reaper fails a live run whose workflow is gone, and removes its sandbox', async () => {
    const envId = await h.createEnvironment();
    const taskId = await h.createTask({ name: 't', category: 'coding', prompt: 'p', goals: [{ name: 'g', evaluationType: 'file_exists', path: 'x' }] });
    const envRow = await h.prisma.environment.findUniqueOrThrow({ where: { id: envId } });
    const taskRow = await h.prisma.task.findUniqueOrThrow({ where: { id: taskId } });
    // A run whose workflow was terminated mid-run: simulated by a run row with no workflow at all.
    const iterationId = newId('iter');
    const runId = newId('run');
    await h.prisma.iteration.create({
      data: { id: iterationId, organizationId: h.org.organizationId, productId: h.org.productId, number: 1000, workflowId: `wf-${iterationId}`, runCount: 1 },
    });
    await h.prisma.run.create({
      data: {
        id: runId,
        organizationId: h.org.organizationId,
        productId: h.org.productId,
        iterationId,
        taskId,
        environmentId: envId,
        workflowId: `simlab-run-${runId}`,
        status: 'running',
        taskVersion: 1,
        environmentVersion: 1,
        ...(await snapshotsOf(taskRow.definition, envRow.definition)),
      },
    });
    await createSandbox({ runId, iterationId, organizationId: h.org.organizationId, hostId: h.hostId, deploymentId: h.deploymentId }, env());
    const report = await reapOrphans({ sandboxes: h.sandboxes, prisma: h.prisma, client: h.client, hostId: h.hostId, deploymentId: h.deploymentId });
    expect(report.destroyed).toHaveLength(1);
    const run = await h.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run).toMatchObject({ status: 'failed', failureCategory: 'infra' });

    // A queued run whose iteration workflow is gone too is failed by the sweep, sandbox or not.
    const queuedId = newId('run');
    await h.prisma.run.create({
      data: {
        id: queuedId,
        organizationId: h.org.organizationId,
        productId: h.org.productId,
        iterationId,
        taskId,
        environmentId: envId,
        workflowId: `simlab-run-${queuedId}`,
        taskVersion: 1,
        environmentVersion: 1,
        ...(await snapshotsOf(taskRow.definition, envRow.definition)),
      },
    });
    const sweep = await reapOrphans({ sandboxes: h.sandboxes, prisma: h.prisma, client: h.client, hostId: h.hostId, deploymentId: h.deploymentId, stuckAfterMs: 0 });
    expect(sweep.failedRuns).toContain(queuedId);
    expect(await h.prisma.run.findUniqueOrThrow({ where: { id: queuedId } })).toMatchObject({ status: 'failed', failureCategory: 'infra' });
  });
});

async function snapshotsOf(task: unknown, environment: unknown) {
  const [taskSnapshotHash, environmentSnapshotHash] = await putSnapshots(h.prisma, [task, environment]);
  return { taskSnapshotHash: taskSnapshotHash!, environmentSnapshotHash: environmentSnapshotHash! };
}
