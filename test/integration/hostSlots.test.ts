/**
 * Host capacity: two worker processes, each with its own Docker host id and sandbox slots,
 * share one iteration. Neither ever runs more sandboxes than its slots, both take runs, and
 * the runs beyond the hosts' capacity wait in Temporal until a slot frees.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { LABELS } from '../../sandbox/docker/labels';
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

it('each worker runs at most its host slots at once, and both take runs', async () => {
  const hosts = { [`${h.hostId}-a`]: 2, [`${h.hostId}-b`]: 1 };
  for (const [k, [hostId, slots]] of Object.entries(hosts).entries()) {
    // The second sets its own malloc arenas: an operator's setting wins over the launcher's.
    const own: Record<string, string> = k === 1 ? { MALLOC_ARENA_MAX: '4' } : {};
    children.push(await startWorkerProcess(h, { SIMLAB_HOST_ID: hostId, SIMLAB_HOST_SLOTS: String(slots), SIMLAB_DEPLOYMENT_ID: h.deploymentId, ...own }));
  }
  // Started by bin/simlab-worker, as deployed: the process is node itself (the launcher
  // execs it, so signals and RSS are the worker's), with two malloc arenas by default.
  for (const [k, child] of children.entries()) {
    const environ = fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    expect({ exe: fs.readlinkSync(`/proc/${child.pid}/exe`), arenas: environ.filter((v) => v.startsWith('MALLOC_ARENA_MAX=')) }).toEqual({
      exe: fs.realpathSync(process.execPath),
      arenas: [k === 1 ? 'MALLOC_ARENA_MAX=4' : 'MALLOC_ARENA_MAX=2'],
    });
  }
  const envIds: string[] = [];
  for (let i = 0; i < 4; i++) envIds.push(await h.createEnvironment({ name: `slow-${i}`, agent: { harness: 'command', command: 'sleep 3; echo done > hello.txt' } }));
  const taskIds: string[] = [];
  for (let i = 0; i < 2; i++) taskIds.push(await h.createTask(task([{ name: 'done', evaluationType: 'bash_command', command: 'grep -q done hello.txt' }])));
  // The harness's API keeps 4 runs of an iteration in flight: more than the 3 slots of both hosts.
  const runIds = (await Promise.all(taskIds.map((t) => h.runTask(t, envIds)))).flat();
  expect(runIds).toHaveLength(8);

  // Sample every sandbox container of this test, per host label, until every run has ended.
  const peak: Record<string, number> = {};
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const containers = await h.docker.listContainers({ all: true, filters: { label: [`${LABELS.deployment}=${h.deploymentId}`] } });
      const perHost: Record<string, number> = {};
      for (const c of containers) {
        const host = c.Labels[LABELS.host] ?? '?';
        perHost[host] = (perHost[host] ?? 0) + 1;
      }
      for (const [host, n] of Object.entries(perHost)) peak[host] = Math.max(peak[host] ?? 0, n);
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const runs = [];
  try {
    for (const id of runIds) runs.push(await h.waitForRun(id, undefined, 240_000));
  } finally {
    sampling = false;
    await sampler;
  }
  for (const run of runs) expect({ id: run.id, status: run.status, passed: run.passed }).toEqual({ id: run.id, status: 'completed', passed: true });

  const byHost = await h.prisma.run.groupBy({ by: ['sandboxHost'], where: { id: { in: runIds } }, _count: { _all: true } });
  const taken = Object.fromEntries(byHost.map((g) => [g.sandboxHost, g._count._all]));
  for (const [hostId, slots] of Object.entries(hosts)) {
    expect({ hostId, took: (taken[hostId] ?? 0) > 0 }).toEqual({ hostId, took: true });
    expect(peak[hostId]).toBeLessThanOrEqual(slots);
  }
  // The hosts were full: both reached their slots at some point.
  expect(peak).toEqual(hosts);
  expect(await h.docker.listContainers({ all: true, filters: { label: [`${LABELS.deployment}=${h.deploymentId}`] } })).toHaveLength(0);
}, 300_000);
