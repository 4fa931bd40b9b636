/** creating_sandbox: a fresh container, the prompt file, then the task's init commands in order. */
import type Docker from 'dockerode';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { SetupError } from '../domain/errors';
import { truncate } from '../domain/text';
import { createSandbox, destroySandboxes } from './sandbox';
import { execCommand, putFiles, shellArgv, SIMLAB_DIR } from './docker-exec';
import type { RunRecord } from './runPlan';

export interface ProvisionResult {
  containerId: string;
  initCommands: number;
}

export async function provisionSandbox(
  deps: { prisma: PrismaClient; docker: Docker; hostId: string; deploymentId: string },
  run: RunRecord,
): Promise<ProvisionResult> {
  const { prisma, docker, hostId, deploymentId } = deps;
  // A previous attempt may have left a half-initialised sandbox: always start from scratch.
  await destroySandboxes(docker, { runId: run.id });
  if (run.task.initFiles.length > 0) {
    throw new SetupError(`init files (${run.task.initFiles.map((f) => f.type).join(', ')}) are not supported by this build yet`);
  }
  const container = await createSandbox(
    docker,
    { runId: run.id, iterationId: run.iterationId, organizationId: run.organizationId, hostId, deploymentId },
    run.environment,
    [`SIMLAB_PROMPT_FILE=${SIMLAB_DIR}/prompt.md`],
  );
  await prisma.run.update({ where: { id: run.id }, data: { containerId: container.id, sandboxHost: hostId } });
  // Not a tmpfs: Docker's archive API (how the agent's log is read back) cannot see into one.
  await putFiles(container, path.posix.dirname(SIMLAB_DIR), [
    { name: path.posix.basename(SIMLAB_DIR), content: '', type: 'directory', mode: 0o700 },
    { name: `${path.posix.basename(SIMLAB_DIR)}/prompt.md`, content: run.task.prompt, mode: 0o400 },
  ]);

  const signal = Context.current().cancellationSignal;
  for (const [i, cmd] of run.task.initCommands.entries()) {
    const res = await execCommand(container, shellArgv(cmd.command, cmd.workingDirectory), {
      timeoutSeconds: cmd.timeoutSeconds,
      signal,
    });
    if (res.timedOut || res.exitCode !== 0) {
      const why = res.timedOut ? `timed out after ${cmd.timeoutSeconds}s` : `exited with ${res.exitCode}`;
      throw new SetupError(`init command ${i + 1} (${truncate(cmd.command, 120)}) ${why}: ${truncate(res.output.trim(), 2000, true)}`);
    }
  }
  return { containerId: container.id, initCommands: run.task.initCommands.length };
}
