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
  /** Which simlab installation (database + Temporal namespace) owns the sandbox: a reaper
   * never touches another installation's sandboxes on a shared Docker engine. */
  deployment: 'simlab.deployment',
} as const;

export interface SandboxIdentity {
  runId: string;
  iterationId: string;
  organizationId: string;
  hostId: string;
  deploymentId: string;
}

export const containerName = (runId: string) => `simlab-${runId}`;

/**
 * PID 1 of every sandbox: waits for ever and needs only a POSIX shell. It installs no
 * signal handler, so nothing inside the sandbox can end it; removal is forced from outside.
 */
const KEEPALIVE = ['/bin/sh', '-c', 'while :; do sleep 3600 & wait $!; done'];

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
      [LABELS.deployment]: id.deploymentId,
    },
    NetworkDisabled: !env.network.enabled,
    HostConfig: {
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: env.resources.pids,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(env.resources.cpus * 1e9),
      Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
      NetworkMode: env.network.enabled ? 'bridge' : 'none',
      AutoRemove: false,
    },
  });
  try {
    await container.start();
    const info = await container.inspect();
    if (!info.State.Running) throw new Error(`sandbox exited at start: ${info.State.Error || `exit ${info.State.ExitCode}`}`);
    await requireWritableHome(container, env.image);
  } catch (err) {
    await destroySandboxes(docker, { runId: id.runId });
    if (err instanceof EnvironmentConfigError) throw err;
    const msg = (err as Error).message ?? String(err);
    // A user that the image lacks or a broken entrypoint is the environment's fault, not flakiness.
    if (/unable to find user|no such file or directory|executable file not found/i.test(msg)) {
      throw new EnvironmentConfigError(`image '${env.image}' cannot run a sandbox: ${msg}`);
    }
    throw err;
  }
  return container;
}

/** The image must give the agent (uid 1000) a home it can write; say so plainly if not. */
async function requireWritableHome(container: Docker.Container, image: string): Promise<void> {
  const exec = await container.exec({
    Cmd: ['/bin/sh', '-c', `test -d ${AGENT_HOME} && test -w ${AGENT_HOME}`],
    User: AGENT_USER,
    AttachStdout: false,
    AttachStderr: false,
  });
  await exec.start({ Detach: true });
  for (let i = 0; i < 100; i++) {
    const info = await exec.inspect();
    if (!info.Running) {
      if (info.ExitCode === 0) return;
      throw new EnvironmentConfigError(`image '${image}' has no ${AGENT_HOME} writable by uid ${AGENT_USER.split(':')[0]} (the agent user)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sandbox of image '${image}' did not answer a basic exec`);
}

export interface SandboxFilter {
  runId?: string;
  iterationId?: string;
  hostId?: string;
  deploymentId?: string;
}

export async function listSandboxes(docker: Docker, filter: SandboxFilter = {}): Promise<Docker.ContainerInfo[]> {
  const label = [`${LABELS.managed}=true`];
  if (filter.runId) label.push(`${LABELS.run}=${filter.runId}`);
  if (filter.iterationId) label.push(`${LABELS.iteration}=${filter.iterationId}`);
  if (filter.hostId) label.push(`${LABELS.host}=${filter.hostId}`);
  if (filter.deploymentId) label.push(`${LABELS.deployment}=${filter.deploymentId}`);
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
