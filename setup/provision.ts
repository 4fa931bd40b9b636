/**
 * The creating_sandbox step: a fresh sandbox, simlab's own files in it, then the task's
 * init commands in order. A previous attempt's half-initialised sandbox is destroyed
 * first, so every attempt starts from scratch.
 */
import * as path from 'node:path';
import { SetupError } from '../domain/errors';
import { truncate } from '../domain/text';
import { SIMLAB_DIR, shellArgv, type SandboxIdentity, type SandboxProvider } from '../sandbox';
import type { RunRecord } from '../store/runs';
import { AGENT_LOG, PROMPT_FILE } from '../harnesses/command';
import type { RunSecrets } from '../secrets/runSecrets';
import type { ArtifactStore } from '../artifacts';
import { placeInitFiles } from './initFiles';

export interface ProvisionResult {
  containerId: string;
  initCommands: number;
}

export async function provisionSandbox(
  deps: {
    sandboxes: SandboxProvider;
    artifacts: ArtifactStore;
    identity: Omit<SandboxIdentity, 'runId' | 'iterationId' | 'organizationId'>;
    /** Called once the sandbox exists, before anything runs in it. */
    created: (containerId: string) => Promise<void>;
  },
  run: RunRecord,
  secrets: RunSecrets,
  control: { signal: AbortSignal; onProgress: () => void },
): Promise<ProvisionResult> {
  await deps.sandboxes.destroy({ runId: run.id });
  const env = run.environment;
  const sandbox = await deps.sandboxes.create(
    { ...deps.identity, runId: run.id, iterationId: run.iterationId, organizationId: run.organizationId },
    { image: env.image, resources: env.resources, network: env.network, env: { SIMLAB_PROMPT_FILE: PROMPT_FILE } },
  );
  await deps.created(sandbox.id);
  // Root-owned: the agent reads its prompt and appends to its log, but cannot replace
  // anything simlab reads after the agent has run. Not a tmpfs: Docker's archive API
  // cannot see into one.
  const dir = path.posix.basename(SIMLAB_DIR);
  await sandbox.writeFiles(path.posix.dirname(SIMLAB_DIR), [
    { name: dir, type: 'directory', mode: 0o755, owner: 'root' },
    { name: `${dir}/${path.posix.basename(PROMPT_FILE)}`, content: run.task.prompt, mode: 0o444, owner: 'root' },
    { name: `${dir}/${path.posix.basename(AGENT_LOG)}`, content: '', mode: 0o600, owner: 'agent' },
  ]);

  await placeInitFiles({ artifacts: deps.artifacts }, sandbox, run, secrets, control);
  for (const [i, cmd] of run.task.initCommands.entries()) {
    const res = await sandbox.exec(shellArgv(cmd.command, cmd.workingDirectory), { timeoutSeconds: cmd.timeoutSeconds, env: secrets.env, ...control });
    if (res.timedOut || res.exitCode !== 0) {
      const why = res.timedOut ? `timed out after ${cmd.timeoutSeconds}s` : `exited with ${res.exitCode}`;
      // The message becomes the run's failure and a Temporal payload: no secret may be in it.
      throw new SetupError(secrets.redactor.redact(`init command ${i + 1} (${truncate(cmd.command, 120)}) ${why}: ${truncate(res.output.trim(), 2000, true)}`));
    }
  }
  return { containerId: sandbox.id, initCommands: run.task.initCommands.length };
}
