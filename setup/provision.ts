/**
 * The creating_sandbox step: a fresh sandbox, simlab's own files in it, then the task's
 * init commands in order. A previous attempt's half-initialised sandbox is destroyed
 * first, so every attempt starts from scratch.
 */
import * as path from 'node:path';
import { SetupError } from '../domain/errors';
import { truncate } from '../domain/text';
import { SIMLAB_DIR, shellArgv, type Sandbox, type SandboxIdentity, type SandboxProvider } from '../sandbox';
import type { RunRecord } from '../store/runs';
import { AGENT_LOG, PROMPT_FILE } from '../harnesses/command';
import type { RunSecrets } from '../secrets/runSecrets';
import { artifactKeys, ArtifactTooLargeError, type ArtifactStore } from '../artifacts';
import { archiveHome } from '../artifacts/archiveHome';
import { placeInitFiles } from './initFiles';
import type { TranscriptWriter } from '../transcript/types';

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
    transcript: TranscriptWriter;
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
  await deps.transcript.append({ type: 'setup', data: { step: 'sandbox', image: env.image, resources: env.resources, network: env.network } });
  // Root-owned: the agent reads its prompt and appends to its log, but cannot replace
  // anything simlab reads after the agent has run. Not a tmpfs: Docker's archive API
  // cannot see into one.
  const dir = path.posix.basename(SIMLAB_DIR);
  await sandbox.writeFiles(path.posix.dirname(SIMLAB_DIR), [
    { name: dir, type: 'directory', mode: 0o755, owner: 'root' },
    { name: `${dir}/${path.posix.basename(PROMPT_FILE)}`, content: run.task.prompt, mode: 0o444, owner: 'root' },
    { name: `${dir}/${path.posix.basename(AGENT_LOG)}`, content: '', mode: 0o600, owner: 'agent' },
  ]);

  // Proves the home writable; re-recorded below when init commands may have started services.
  await sandbox.recordProcessBaseline();

  await placeInitFiles({ artifacts: deps.artifacts, transcript: deps.transcript }, sandbox, run, secrets, control);
  for (const [i, cmd] of run.task.initCommands.entries()) {
    const res = await sandbox.exec(shellArgv(cmd.command, cmd.workingDirectory), { timeoutSeconds: cmd.timeoutSeconds, env: secrets.env, ...control });
    await deps.transcript.append({
      type: 'setup',
      data: { step: 'init_command', index: i + 1, command: cmd.command, exitCode: res.exitCode, timedOut: res.timedOut, durationMs: res.durationMs, output: truncate(res.output, 20000, true) },
    });
    if (res.timedOut || res.exitCode !== 0) {
      const why = res.timedOut ? `timed out after ${cmd.timeoutSeconds}s` : `exited with ${res.exitCode}`;
      // The message becomes the run's failure and a Temporal payload: no secret may be in it.
      throw new SetupError(secrets.redactor.redact(`init command ${i + 1} (${truncate(cmd.command, 120)}) ${why}: ${truncate(res.output.trim(), 2000, true)}`));
    }
  }
  // What runs now (PID 1, services the init commands started) is kept when the agent's processes are ended.
  if (run.task.initCommands.length) await sandbox.recordProcessBaseline();
  // The starting state the agent's changes are measured against; too large, and the run
  // just has no list of changes.
  try {
    await archiveSetup(deps.artifacts, sandbox, run, secrets);
  } catch (err) {
    if (!(err instanceof ArtifactTooLargeError)) throw err;
    await deps.transcript.append({ type: 'setup', data: { step: 'snapshot', skipped: err.message } });
  }
  return { containerId: sandbox.id, initCommands: run.task.initCommands.length };
}

/**
 * The home as the agent finds it. A run whose setup changed nothing there (no init files
 * or commands) and that has no secrets starts from its image's home exactly: that archive
 * is made once per image and copied, which spares the sandbox an export per run. Runs with
 * secrets archive their own, redacted with their secrets, so nothing shared ever passed
 * through one run's redaction on its way to another.
 */
async function archiveSetup(artifacts: ArtifactStore, sandbox: Sandbox, run: RunRecord, secrets: RunSecrets): Promise<void> {
  const key = artifactKeys.setupArchive(run.id);
  const pristine = !run.task.initFiles.length && !run.task.initCommands.length && secrets.redactor.empty && sandbox.imageId;
  if (!pristine) {
    await archiveHome(artifacts, sandbox, secrets.redactor, key);
    return;
  }
  const shared = artifactKeys.imageHome(sandbox.imageId!);
  let stored = await artifacts.get(shared);
  if (!stored) {
    // Two first runs of an image may both make it: the same bytes, stored whole by either.
    await archiveHome(artifacts, sandbox, secrets.redactor, shared);
    stored = await artifacts.get(shared);
    if (!stored) throw new Error(`the archive of the image's home (${shared}) vanished as it was stored`);
  }
  await artifacts.put(key, stored.stream);
}
