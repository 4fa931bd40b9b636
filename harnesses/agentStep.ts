/**
 * The running step, common to every harness: the harness runs the agent; then every
 * process the agent started is ended (nothing may change the sandbox while it is
 * evaluated and archived), and its output is kept in the artifact store and on the run.
 */
import type { PrismaClient } from '../prisma/client';
import type { ArtifactStore } from '../artifacts';
import { artifactKeys } from '../artifacts';
import { agentTimeoutSeconds } from '../domain/contract';
import type { Sandbox } from '../sandbox';
import { claimAgentProcess, readAgentProcess, recordAgentOutcome, type RunRecord } from '../store/runs';
import { AGENT_LOG } from './command';
import type { RunSecrets } from '../secrets/runSecrets';
import { harnessFor, type AgentResult, type HarnessContext } from './index';

const LOG_LIMIT = 10 * 1024 * 1024;
const EXCERPT = 4000;

export async function runAgentStep(
  deps: { prisma: PrismaClient; artifacts: ArtifactStore },
  run: RunRecord,
  sandbox: Sandbox,
  secrets: RunSecrets,
  control: Pick<HarnessContext, 'heartbeat' | 'cancelled' | 'cancelRequested'>,
): Promise<AgentResult> {
  const harness = harnessFor(run.environment);
  // Before any sandbox call: a slow exec create must not look like a dead attempt.
  control.heartbeat();
  const result = await harness.run({
    sandbox,
    run,
    timeoutMs: agentTimeoutSeconds(run.task, run.environment) * 1000,
    secretEnv: secrets.env,
    processes: {
      read: () => readAgentProcess(deps.prisma, run.id),
      claim: (p) => claimAgentProcess(deps.prisma, run.id, p),
    },
    ...control,
  });
  await sandbox.stopProcessesSinceBaseline();

  const log = (await sandbox.readFileTail(AGENT_LOG, LOG_LIMIT, control.heartbeat)) ?? { content: Buffer.alloc(0), truncated: false };
  // Whatever the agent printed of its secrets is redacted before anything is stored.
  const content = secrets.redactor.redactBuffer(log.content);
  const stored = await deps.artifacts.put(artifactKeys.agentLog(run.id), content);
  const text = content.toString('utf8');
  await recordAgentOutcome(deps.prisma, run.id, {
    ...result,
    outputExcerpt: text.length > EXCERPT ? text.slice(text.length - EXCERPT) : text,
    log: stored,
  });
  return result;
}
