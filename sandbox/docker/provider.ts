/**
 * Sandboxes as Docker containers on one Docker host: how one is created (hardened,
 * labelled) and the one place where one dies (`destroy`). The run's cleanup and the
 * worker's reaper both end containers through it.
 */
import type Docker from 'dockerode';
import * as path from 'node:path';
import { EnvironmentConfigError } from '../../domain/errors';
import { AGENT_HOME, AGENT_UID, type Sandbox, type SandboxFilter, type SandboxIdentity, type SandboxInfo, type SandboxProvider, type SandboxSpec } from '../types';
import { DockerSandbox } from './container';
import { containerName, LABELS } from './labels';
import type { HomeDisks } from './homeDisk';
import type { SandboxNetworks } from './network';

/**
 * PID 1 of every sandbox: waits for ever and needs only a POSIX shell. It installs no
 * signal handler, so nothing inside the sandbox can end it; removal is forced from outside.
 */
const KEEPALIVE = ['/bin/sh', '-c', 'while :; do sleep 3600 & wait $!; done'];

export class DockerSandboxProvider implements SandboxProvider {
  /**
   * `homeDisks`: where quota'd homes live on this host; without it, `diskMb` cannot be
   * honoured. `networks`: the egress-filtered networks; without them, no sandbox gets a network.
   */
  constructor(
    readonly docker: Docker,
    private readonly homeDisks?: HomeDisks,
    private readonly networks?: SandboxNetworks,
  ) {}

  async create(id: SandboxIdentity, spec: SandboxSpec): Promise<Sandbox> {
    let imageId: string;
    try {
      imageId = (await this.docker.getImage(spec.image).inspect()).Id;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        throw new EnvironmentConfigError(`sandbox image '${spec.image}' is not present on Docker host '${id.hostId}'`);
      }
      throw err;
    }
    if (spec.network.enabled && !this.networks) {
      throw new EnvironmentConfigError(`Docker host '${id.hostId}' has no egress-filtered network: sandboxes with network access cannot run there`);
    }
    const net = await this.networks?.plan(spec.network);
    const labels = {
      [LABELS.managed]: 'true',
      [LABELS.run]: id.runId,
      [LABELS.iteration]: id.iterationId,
      [LABELS.organization]: id.organizationId,
      [LABELS.host]: id.hostId,
      [LABELS.deployment]: id.deploymentId,
    };
    let home: string | undefined;
    if (spec.resources.diskMb) {
      if (!this.homeDisks) throw new EnvironmentConfigError(`Docker host '${id.hostId}' cannot enforce disk quotas (diskMb)`);
      home = await this.homeDisks.create(id.runId, spec.resources.diskMb);
    }
    const container = await this.docker
      .createContainer({
      name: containerName(id.runId),
      Image: spec.image,
      Entrypoint: KEEPALIVE,
      Cmd: [],
      User: `${AGENT_UID}:${AGENT_UID}`,
      WorkingDir: AGENT_HOME,
      Env: [`HOME=${AGENT_HOME}`, `SIMLAB_RUN_ID=${id.runId}`, ...Object.entries({ ...spec.env, ...net?.env }).map(([k, v]) => `${k}=${v}`)],
      Labels: { ...labels, ...net?.labels },
      NetworkDisabled: !net,
      HostConfig: {
        ...hardenedHostConfig(spec.resources),
        NetworkMode: net?.networkMode ?? 'none',
        ...(home ? { Mounts: [{ Type: 'bind' as const, Source: home, Target: AGENT_HOME }] } : {}),
        AutoRemove: false,
      },
      })
      .catch(async (err: unknown) => {
        // No container to destroy later: the home disk made for it goes now.
        if (home) await this.homeDisks?.remove(id.runId);
        throw err;
      });
    try {
      if (home) await copyImageHome(this.docker, spec.image, container, labels);
      await container.start();
      if (net) this.networks?.sandboxStarted();
      const info = await container.inspect();
      if (!info.State.Running) throw new Error(`sandbox exited at start: ${info.State.Error || `exit ${info.State.ExitCode}`}`);
    } catch (err) {
      await this.destroy({ runId: id.runId });
      if (err instanceof EnvironmentConfigError) throw err;
      const msg = (err as Error).message ?? String(err);
      // A user that the image lacks or a broken entrypoint is the environment's fault, not flakiness.
      if (/unable to find user|no such file or directory|executable file not found/i.test(msg)) {
        throw new EnvironmentConfigError(`image '${spec.image}' cannot run a sandbox: ${msg}`);
      }
      throw err;
    }
    return new DockerSandbox(this.docker, id.runId, container.id, imageId);
  }

  attach(runId: string): Sandbox {
    return new DockerSandbox(this.docker, runId);
  }

  async list(filter: SandboxFilter = {}): Promise<SandboxInfo[]> {
    const label = [`${LABELS.managed}=true`];
    if (filter.runId) label.push(`${LABELS.run}=${filter.runId}`);
    if (filter.iterationId) label.push(`${LABELS.iteration}=${filter.iterationId}`);
    if (filter.hostId) label.push(`${LABELS.host}=${filter.hostId}`);
    if (filter.deploymentId) label.push(`${LABELS.deployment}=${filter.deploymentId}`);
    const found = await this.docker.listContainers({ all: true, filters: { label } });
    return found.map((c) => ({
      id: c.Id,
      ...(c.Labels[LABELS.run] ? { runId: c.Labels[LABELS.run] } : {}),
      ...(c.Labels[LABELS.iteration] ? { iterationId: c.Labels[LABELS.iteration] } : {}),
    }));
  }

  async sweep(): Promise<number> {
    if (!this.homeDisks) return 0;
    const live = new Set((await this.list({})).map((c) => c.runId));
    let swept = 0;
    // A disk is made before its container: young ones may belong to a sandbox being created.
    for (const runId of await this.homeDisks.list(5 * 60_000)) {
      if (live.has(runId)) continue;
      await this.homeDisks.remove(runId);
      swept++;
    }
    return swept;
  }

  async destroy(filter: SandboxFilter): Promise<string[]> {
    if (!filter.runId && !filter.iterationId && !filter.hostId) throw new Error('refusing to destroy every sandbox without a filter');
    const removed: string[] = [];
    for (const c of await this.list(filter)) {
      try {
        await this.docker.getContainer(c.id).remove({ force: true, v: true });
        removed.push(c.id);
      } catch (err) {
        const code = (err as { statusCode?: number }).statusCode;
        // 404: already gone; 409: removal already in progress.
        if (code !== 404 && code !== 409) throw err;
      }
      if (c.runId && c.runId !== filter.runId) await this.homeDisks?.remove(c.runId);
    }
    if (filter.runId) await this.homeDisks?.remove(filter.runId);
    return removed;
  }
}

/**
 * A quota'd home is a fresh filesystem over the image's home: the image's own files there
 * (dotfiles) are copied in, so the agent sees the same home with or without a quota. Read
 * from a never-started container of the image and unpacked by Docker inside the sandbox's
 * root (owners and modes as in the image), so nothing of the image is extracted on the host.
 */
async function copyImageHome(docker: Docker, image: string, sandbox: Docker.Container, labels: Record<string, string>): Promise<void> {
  // Labelled as the run's: should the worker die right here, the reaper removes it with the sandbox.
  const source = await docker.createContainer({ Image: image, Labels: labels, Entrypoint: KEEPALIVE, Cmd: [], NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } });
  try {
    let tar: NodeJS.ReadableStream;
    try {
      tar = await source.getArchive({ path: AGENT_HOME });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return; // no home in the image: the checks after start say so
      throw err;
    }
    // The archive's entries are `agent/...`: unpacked in the parent, they land in the mounted home.
    await sandbox.putArchive(tar as unknown as NodeJS.ReadableStream, { path: path.posix.dirname(AGENT_HOME) }).catch((err: Error) => {
      if (/no space left/i.test(err.message)) throw new EnvironmentConfigError(`the home of image '${image}' does not fit in the sandbox's disk quota (diskMb)`);
      throw err;
    });
  } finally {
    await source.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * What every sandbox's container gets, whatever else it is given: no capabilities, no new
 * privileges, and its process, memory (no extra swap), CPU and open-file limits. The
 * benchmarks' plain-Docker baseline uses it too, so both sides do the same container work.
 */
export function hardenedHostConfig(resources: { pids: number; memoryMb: number; cpus: number }) {
  const memory = resources.memoryMb * 1024 * 1024;
  return {
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: resources.pids,
    Memory: memory,
    MemorySwap: memory,
    NanoCpus: Math.round(resources.cpus * 1e9),
    Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
  };
}
