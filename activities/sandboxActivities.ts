/**
 * Sandbox activities: they must run on the worker whose Docker host holds the run's
 * sandbox (that worker's own task queue, named by prepareRun). Thin bindings of the run
 * steps (setup/, harnesses/, criteria/, artifacts/, sandbox/) to Temporal: heartbeats,
 * cancellation, and the errors retry policies know by name.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { ArtifactTooLargeError, type ArtifactStore } from '../artifacts';
import { archiveHome, changesSinceSetup, MAX_ARCHIVE_BYTES } from '../artifacts/archiveHome';
import type { SandboxProvider } from '../sandbox';
import { provisionSandbox, type ProvisionResult } from '../setup/provision';
import { runAgentStep } from '../harnesses/agentStep';
import { redactingWriter } from '../transcript/redacting';
import { transcriptWriter } from '../transcript/store';
import type { AgentResult } from '../harnesses';
import { evaluateRun, type EvaluationSummary } from '../criteria/evaluateRun';
import { loadRun, loadRunMetrics, recordArchive, recordChanges, recordSandbox } from '../store/runs';
import type { Judge } from '../criteria/judge';
import type { Keyring } from '../secrets/keyring';
import { loadRunSecrets } from '../secrets/runSecrets';
import { DEFAULT_PRICES, type PriceTable } from '../config/prices';
import { saveVerdict } from '../store/results';
import { steadyHeartbeat } from './heartbeat';

export interface SandboxActivityDeps {
  prisma: PrismaClient;
  sandboxes: SandboxProvider;
  artifacts: ArtifactStore;
  /** This worker's Docker host. */
  hostId: string;
  /** Labels this installation's sandboxes (config deploymentId). */
  deploymentId: string;
  /** The model behind llm_judge criteria; without one they end as evaluation errors. */
  judge?: Judge;
  /** Decrypts the run's secrets (on this worker, never through Temporal). */
  keyring?: Keyring;
  /** The model API for agent harnesses that call one (claude). */
  anthropic?: { apiKey?: string; baseURL?: string };
  prices?: PriceTable;
}

export interface ArchiveResult {
  archived: boolean;
  bytes?: number;
}

export function createSandboxActivities(deps: SandboxActivityDeps) {
  const { prisma, sandboxes } = deps;
  return {
    async provisionSandbox(runId: string): Promise<ProvisionResult> {
      const ctx = Context.current();
      return steadyHeartbeat(async () => {
        const run = await loadRun(prisma, runId);
        const secrets = await loadRunSecrets(prisma, deps.keyring, run);
        return provisionSandbox(
          {
            sandboxes,
            artifacts: deps.artifacts,
            identity: { hostId: deps.hostId, deploymentId: deps.deploymentId },
            created: (containerId) => recordSandbox(prisma, runId, { containerId, hostId: deps.hostId }),
            transcript: redactingWriter(transcriptWriter(prisma, runId), secrets.redactor),
          },
          run,
          secrets,
          { signal: ctx.cancellationSignal, onProgress: () => ctx.heartbeat() },
        );
      });
    },

    async runAgent(runId: string): Promise<AgentResult> {
      const ctx = Context.current();
      ctx.heartbeat();
      const run = await loadRun(prisma, runId);
      return runAgentStep({ prisma, artifacts: deps.artifacts, anthropic: deps.anthropic ?? {}, prices: deps.prices ?? DEFAULT_PRICES }, run, sandboxes.attach(runId), await loadRunSecrets(prisma, deps.keyring, run), {
        heartbeat: () => ctx.heartbeat(),
        cancelled: ctx.cancelled,
        cancelRequested: () => ctx.cancellationDetails?.cancelRequested === true,
      });
    },

    async evaluateRun(runId: string): Promise<EvaluationSummary> {
      const ctx = Context.current();
      return steadyHeartbeat(async () => {
        const run = await loadRun(prisma, runId);
        const metrics = await loadRunMetrics(prisma, runId);
        const secrets = await loadRunSecrets(prisma, deps.keyring, run);
        return evaluateRun(
          {
            sandbox: sandboxes.attach(runId),
            run,
            metrics,
            secretEnv: secrets.env,
            ...(deps.judge ? { judge: deps.judge } : {}),
            signal: ctx.cancellationSignal,
            onProgress: () => ctx.heartbeat(),
          },
          (verdict) => saveVerdict(prisma, runId, verdict),
          secrets.redactor,
          redactingWriter(transcriptWriter(prisma, runId), secrets.redactor),
        );
      });
    },

    async archiveSandbox(runId: string): Promise<ArchiveResult> {
      return steadyHeartbeat(async () => {
        try {
          const run = await loadRun(prisma, runId);
          const archived = await archiveHome(deps.artifacts, sandboxes.attach(runId), (await loadRunSecrets(prisma, deps.keyring, run)).redactor);
          if (!archived) return { archived: false };
          await recordArchive(prisma, runId, archived);
          const changes = await changesSinceSetup(deps.artifacts, runId);
          if (changes) await recordChanges(prisma, runId, changes);
          return { archived: true, bytes: archived.bytes };
        } catch (err) {
          if (err instanceof ArtifactTooLargeError) {
            throw ApplicationFailure.nonRetryable(`the agent's home exceeds ${MAX_ARCHIVE_BYTES} bytes compressed; not archived`, 'ArchiveTooLarge');
          }
          throw err;
        }
      });
    },

    async destroySandbox(runId: string): Promise<number> {
      return steadyHeartbeat(async () => (await sandboxes.destroy({ runId })).length);
    },
  };
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;
