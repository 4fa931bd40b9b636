/**
 * Sandbox containers: how one is created (hardened, labelled) and the one place where one
 * dies. The run workflow's cleanup and the reaper both end containers through
 * `destroySandboxes`.
 */
import type Docker from 'dockerode';
import type { EnvironmentDefinition } from '../domain/contract';
import { EnvironmentConfigError } from '../domain/errors';
import { AGENT_HOME, AGENT_USER } from './docker-exec';

export const LABELS = {
  managed: 'simlab.managed',
  run: 'simlab.run',
  iteration: 'simlab.iteration',
  organization: 'simlab.organization',
  host: 'simlab.host',
} as const;

export interface SandboxIdentity {
  runId: string;
  iterationId: string;
  organizationId: string;
  hostId: string;
}

export const containerName = (runId: string) => `simlab-${runId}`;

/** PID 1 of every sandbox: waits for ever, ends on TERM, and needs only a POSIX shell. */
const KEEPALIVE = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

export async function createSandbox(
  docker: Docker,
  id: SandboxIdentity,
  env: EnvironmentDefinition,
  extraEnv: string[],
): Promise<Docker.Container> {
  try {
    await docker.getImage(env.image).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) {
      throw new EnvironmentConfigError(`sandbox image '${env.image}' is not present on Docker host '${id.hostId}'`);
    }
    throw err;
  }
  const memory = env.resources.memoryMb * 1024 * 1024;
  const container = await docker.createContainer({
    name: containerName(id.runId),
    Image: env.image,
    Entrypoint: KEEPALIVE,
    Cmd: [],
    User: AGENT_USER,
    WorkingDir: AGENT_HOME,
    Env: [`HOME=${AGENT_HOME}`, `SIMLAB_RUN_ID=${id.runId}`, ...extraEnv],
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.run]: id.runId,
      [LABELS.iteration]: id.iterationId,
      [LABELS.organization]: id.organizationId,
      [LABELS.host]: id.hostId,
    },
    NetworkDisabled: !env.network.enabled,
    HostConfig: {
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: env.resources.pids,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(env.resources.cpus * 1e9),
      NetworkMode: env.network.enabled ? 'bridge' : 'none',
      AutoRemove: false,
    },
  });
  try {
    await container.start();
    const info = await container.inspect();
    if (!info.State.Running) throw new Error(`sandbox exited at start: ${info.State.Error || `exit ${info.State.ExitCode}`}`);
  } catch (err) {
    await destroySandboxes(docker, { runId: id.runId });
    const msg = (err as Error).message ?? String(err);
    // A user that the image lacks or a broken entrypoint is the environment's fault, not flakiness.
    if (/unable to find user|no such file or directory|executable file not found/i.test(msg)) {
      throw new EnvironmentConfigError(`image '${env.image}' cannot run a sandbox: ${msg}`);
    }
    throw err;
  }
  return container;
}

export interface SandboxFilter {
  runId?: string;
  iterationId?: string;
  hostId?: string;
}

export async function listSandboxes(docker: Docker, filter: SandboxFilter = {}): Promise<Docker.ContainerInfo[]> {
  const label = [`${LABELS.managed}=true`];
  if (filter.runId) label.push(`${LABELS.run}=${filter.runId}`);
  if (filter.iterationId) label.push(`${LABELS.iteration}=${filter.iterationId}`);
  if (filter.hostId) label.push(`${LABELS.host}=${filter.hostId}`);
  return docker.listContainers({ all: true, filters: { label } });
}

/** Where sandboxes die. Idempotent: a container that is already gone counts as destroyed. */
export async function destroySandboxes(docker: Docker, filter: SandboxFilter): Promise<string[]> {
  if (!filter.runId && !filter.iterationId && !filter.hostId) throw new Error('refusing to destroy every sandbox without a filter');
  const found = await listSandboxes(docker, filter);
  const removed: string[] = [];
  for (const c of found) {
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      removed.push(c.Id);
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      // 404: already gone; 409: removal already in progress.
      if (code !== 404 && code !== 409) throw err;
    }
  }
  return removed;
}
