/**
 * Sandbox activities: they must run on the worker whose Docker host holds the run's
 * sandbox (that worker's own task queue, named by prepareRun). Thin bindings of the run
 * steps (setup/, harnesses/, criteria/, artifacts/, sandbox/) to Temporal: heartbeats,
 * cancellation, and the errors retry policies know by name.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as posixPath from 'node:path/posix';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { ArtifactTooLargeError, type ArtifactStore } from '../artifacts';
import { ArchiveTimeoutError, archiveHome, changesSinceSetup, MAX_ARCHIVE_BYTES } from '../artifacts/archiveHome';

const CANCELLED_ARCHIVE_BYTES = 64 * 1024 * 1024;
const CANCELLED_ARCHIVE_MS = 6000;
import { AGENT_HOME, shellArgv, type Sandbox, type SandboxProvider } from '../sandbox';
import { SandboxLostError } from '../domain/errors';
import { provisionSandbox, type ProvisionResult } from '../setup/provision';
import { runAgentStep } from '../harnesses/agentStep';
import { redactingWriter } from '../transcript/redacting';
import { transcriptWriter } from '../transcript/store';
import type { AgentResult } from '../harnesses';
import { evaluateRun, type EvaluationSummary } from '../criteria/evaluateRun';
import { loadRun, loadRunMetrics, recordArchive, recordChanges, recordSandbox } from '../store/runs';
import type { Judge } from '../criteria/judge';
import type { Keyring } from '../secrets/keyring';
import { transitionRun } from '../store/runStatus';
import type { RunStatus } from '../domain/runLifecycle';
import { loadRunSecrets } from '../secrets/runSecrets';
import { DEFAULT_PRICES, type PriceTable } from '../config/prices';
import { saveVerdict } from '../store/results';
import { steadyHeartbeat } from './heartbeat';
import {
  EXTERNAL_ERRORS,
  EXTERNAL_MAX_BYTES,
  type ExecResponse,
  type ReadFileResponse,
  type WriteFileResponse,
} from '../workflows/external';

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
  /** This host's sandbox slots: held while a sandbox of the run may exist here. */
  slots?: { hold(runId: string): void; release(runId: string): void };
}

/**
 * Status changes a step makes itself, in the same activity (since v5): one activity and one
 * workflow task fewer per change, which is most of a short run's orchestration cost.
 * Idempotent like every transition, so a retried step changes nothing twice.
 */
export interface StepTransitions {
  /** Before the step's work. */
  enter?: { to: RunStatus; detail?: string };
  /** After it succeeded. */
  leave?: { to: RunStatus; detail?: string };
}

export interface ArchiveResult {
  archived: boolean;
  bytes?: number;
}

/**
 * A step that failed while its container is stopped or gone will fail the same way on every
 * retry: say so at once, in words, instead of Docker's "no such exec" after the last attempt.
 */
async function orSandboxLost<T>(sandbox: Sandbox, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const state = await sandbox.liveness().catch(() => 'unknown' as const);
    if (state === 'stopped' || state === 'missing') {
      throw new SandboxLostError(`the sandbox's container is ${state === 'missing' ? 'gone' : 'stopped'} (the Docker engine restarted, or the container was killed from outside): ${(err as Error).message}`);
    }
    throw err;
  }
}

export function createSandboxActivities(deps: SandboxActivityDeps) {
  const { prisma, sandboxes } = deps;
  const enter = async (runId: string, t?: StepTransitions) => {
    if (t?.enter) await transitionRun(prisma, { runId, ...t.enter });
  };
  const leave = async (runId: string, t?: StepTransitions) => {
    if (t?.leave) await transitionRun(prisma, { runId, ...t.leave });
  };
  return {
    async provisionSandbox(runId: string, t?: StepTransitions): Promise<ProvisionResult> {
      const ctx = Context.current();
      await enter(runId, t);
      // Claimed on this host by prepareRun; held again after a worker restart forgot it.
      deps.slots?.hold(runId);
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

    async runAgent(runId: string, t?: StepTransitions): Promise<AgentResult> {
      const ctx = Context.current();
      ctx.heartbeat();
      await enter(runId, t);
      const run = await loadRun(prisma, runId);
      const sandbox = sandboxes.attach(runId);
      return orSandboxLost(sandbox, async () =>
        runAgentStep({ prisma, artifacts: deps.artifacts, anthropic: deps.anthropic ?? {}, prices: deps.prices ?? DEFAULT_PRICES }, run, sandbox, await loadRunSecrets(prisma, deps.keyring, run), {
          heartbeat: () => ctx.heartbeat(),
          cancelled: ctx.cancelled,
          cancelRequested: () => ctx.cancellationDetails?.cancelRequested === true,
        }),
      );
    },

    async evaluateRun(runId: string, t?: StepTransitions): Promise<EvaluationSummary> {
      const ctx = Context.current();
      await enter(runId, t);
      const summary = await orSandboxLost(sandboxes.attach(runId), () => steadyHeartbeat(async () => {
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
      }));
      await leave(runId, t);
      return summary;
    },

    async archiveSandbox(runId: string): Promise<ArchiveResult> {
      return steadyHeartbeat(async () => {
        const run = await loadRun(prisma, runId);
        // A cancelled run must end within seconds whatever its home holds: a bounded archive.
        const cancelled = run.cancelRequestedAt !== null;
        const bounds = cancelled ? { maxBytes: CANCELLED_ARCHIVE_BYTES, signal: AbortSignal.timeout(CANCELLED_ARCHIVE_MS) } : {};
        try {
          const archived = await archiveHome(deps.artifacts, sandboxes.attach(runId), (await loadRunSecrets(prisma, deps.keyring, run)).redactor, undefined, bounds);
          if (!archived) return { archived: false };
          await recordArchive(prisma, runId, archived);
          const changes = await changesSinceSetup(deps.artifacts, runId);
          if (changes) await recordChanges(prisma, runId, changes);
          return { archived: true, bytes: archived.bytes };
        } catch (err) {
          // Not archived, and the run says why; never a silent gap.
          if (err instanceof ArtifactTooLargeError || err instanceof ArchiveTimeoutError) {
            const why =
              err instanceof ArchiveTimeoutError
                ? `not archived: the run was cancelled and its home took more than ${CANCELLED_ARCHIVE_MS / 1000}s to archive`
                : `not archived: the agent's home exceeds ${cancelled ? CANCELLED_ARCHIVE_BYTES : MAX_ARCHIVE_BYTES} bytes compressed${cancelled ? ' (the limit of a cancelled run)' : ''}`;
            await prisma.run.update({ where: { id: runId }, data: { archiveNote: why } });
            throw ApplicationFailure.nonRetryable(why, 'ArchiveTooLarge');
          }
          throw err;
        }
      });
    },

    async destroySandbox(runId: string): Promise<number> {
      const removed = await steadyHeartbeat(async () => (await sandboxes.destroy({ runId })).length);
      deps.slots?.release(runId);
      return removed;
    },

    /**
     * external harness: one command of the client, as the agent user with the run's
     * secrets, like the agent's own commands. Not retried by the workflow: a command is
     * not idempotent.
     */
    async externalExec(input: { runId: string; command: string; timeoutSeconds: number }): Promise<ExecResponse> {
      const ctx = Context.current();
      const run = await loadRun(prisma, input.runId);
      const secrets = await loadRunSecrets(prisma, deps.keyring, run);
      const transcript = redactingWriter(transcriptWriter(prisma, input.runId), secrets.redactor);
      const id = `external-${randomUUID()}`;
      await transcript.append({ type: 'tool_call', data: { id, name: 'bash', input: { command: input.command, timeoutSeconds: input.timeoutSeconds }, source: 'external' } });
      // Docker interleaves the two streams; stderr goes to a file the wrapper prints after
      // a marker no command can guess, so the client gets them apart.
      const marker = `\u001eSIMLAB-STDERR-${randomBytes(12).toString('hex')}\u001e`;
      const res = await sandboxes.attach(input.runId).exec(['/bin/sh', '-c', SPLIT_STDERR, 'simlab', marker, ...shellArgv(input.command, AGENT_HOME)], {
        timeoutSeconds: input.timeoutSeconds,
        user: 'agent',
        env: { ...(run.environment.agent.env ?? {}), ...secrets.env },
        outputLimit: EXTERNAL_MAX_BYTES,
        signal: ctx.cancellationSignal,
        onProgress: () => ctx.heartbeat(),
      });
      const at = res.bytes.lastIndexOf(Buffer.from(marker, 'utf8'));
      // No marker: the command was killed (time limit) before the wrapper printed it, or its
      // stderr alone filled the limit; what is left is reported as it came.
      const stdout = at >= 0 ? res.bytes.subarray(0, at) : res.timedOut ? res.bytes : Buffer.alloc(0);
      const stderr = at >= 0 ? res.bytes.subarray(at + Buffer.byteLength(marker)) : res.timedOut ? Buffer.alloc(0) : res.bytes;
      const out: ExecResponse = {
        exitCode: res.exitCode,
        stdout: secrets.redactor.redact(stdout.toString('utf8')),
        stderr: secrets.redactor.redact(stderr.toString('utf8')),
        timedOut: res.timedOut,
        // The tail buffer keeps at most the limit: reaching it means something was dropped.
        truncated: res.bytes.length >= EXTERNAL_MAX_BYTES,
        durationMs: res.durationMs,
      };
      const shown = `${out.stdout}${out.stderr}`;
      await transcript.append({
        type: 'tool_result',
        data: {
          id,
          name: 'bash',
          output: shown.length > TRANSCRIPT_OUTPUT_CHARS ? `[…]${shown.slice(-TRANSCRIPT_OUTPUT_CHARS)}` : shown,
          isError: res.exitCode !== 0,
          exitCode: res.exitCode,
          ...(res.timedOut ? { timedOut: true } : {}),
        },
      });
      return out;
    },

    /** external harness: writes a file as the agent would (its permissions), creating parent directories. */
    async externalWriteFile(input: { runId: string; path: string; contentBase64: string }): Promise<WriteFileResponse> {
      const content = Buffer.from(input.contentBase64, 'base64');
      if (content.length > EXTERNAL_MAX_BYTES) throw tooLarge(`the content is ${content.length} bytes`);
      const target = inHome(input.path);
      const run = await loadRun(prisma, input.runId);
      const secrets = await loadRunSecrets(prisma, deps.keyring, run);
      const transcript = redactingWriter(transcriptWriter(prisma, input.runId), secrets.redactor);
      const id = `external-${randomUUID()}`;
      await transcript.append({ type: 'tool_call', data: { id, name: 'write_file', input: { path: target, bytes: content.length }, source: 'external' } });
      const sandbox = sandboxes.attach(input.runId);
      // Docker's archive upload writes as root anywhere: the content is staged in /tmp, then
      // moved into place by the agent user, so the client can write only what the agent could.
      const staged = `.simlab-external-${randomUUID()}`;
      await sandbox.writeFiles('/tmp', [{ name: staged, content, mode: 0o600, owner: 'agent' }]);
      const res = await sandbox.exec(['/bin/sh', '-c', 'mkdir -p "$(dirname "$2")" && cat "$1" > "$2"; rc=$?; rm -f "$1"; exit $rc', 'simlab', `/tmp/${staged}`, target], {
        timeoutSeconds: 60,
        user: 'agent',
        outputLimit: 16 * 1024,
      });
      const ok = res.exitCode === 0;
      await transcript.append({ type: 'tool_result', data: { id, name: 'write_file', output: ok ? `wrote ${content.length} bytes` : res.output, isError: !ok } });
      if (!ok) throw ApplicationFailure.nonRetryable(`cannot write ${target}: ${res.output.trim() || `exit ${res.exitCode}`}`, EXTERNAL_ERRORS.invalid);
      return { path: target, bytes: content.length };
    },

    /** external harness: reads a file as the agent would (its permissions), at most EXTERNAL_MAX_BYTES. */
    async externalReadFile(input: { runId: string; path: string }): Promise<ReadFileResponse> {
      const target = inHome(input.path);
      const run = await loadRun(prisma, input.runId);
      const secrets = await loadRunSecrets(prisma, deps.keyring, run);
      const transcript = redactingWriter(transcriptWriter(prisma, input.runId), secrets.redactor);
      const id = `external-${randomUUID()}`;
      await transcript.append({ type: 'tool_call', data: { id, name: 'read_file', input: { path: target }, source: 'external' } });
      const res = await sandboxes.attach(input.runId).exec(['/bin/sh', '-c', READ_FILE, 'simlab', target, String(EXTERNAL_MAX_BYTES)], {
        timeoutSeconds: 60,
        user: 'agent',
        outputLimit: EXTERNAL_MAX_BYTES + 1,
      });
      const fail = async (message: string, type: string) => {
        await transcript.append({ type: 'tool_result', data: { id, name: 'read_file', output: message, isError: true } });
        return ApplicationFailure.nonRetryable(message, type);
      };
      switch (res.exitCode) {
        case 0:
          break;
        case 12:
          throw await fail(`${target} is not a regular file`, EXTERNAL_ERRORS.notFound);
        case 13:
          throw await fail(`${target} does not exist`, EXTERNAL_ERRORS.notFound);
        case 14:
          throw await fail(`${target} is not readable by the agent user`, EXTERNAL_ERRORS.notFound);
        case 15:
          throw await fail(`${target} is ${res.output.trim()} bytes: read-file returns at most ${EXTERNAL_MAX_BYTES} bytes (1 MiB); read it in parts with exec (e.g. head -c / tail -c)`, EXTERNAL_ERRORS.tooLarge);
        default:
          throw new Error(`reading ${target} failed with exit ${res.exitCode}`);
      }
      // Its size was checked first; a file still growing is cut at the limit.
      const content = secrets.redactor.redactBuffer(res.bytes.subarray(0, EXTERNAL_MAX_BYTES));
      await transcript.append({ type: 'tool_result', data: { id, name: 'read_file', output: `read ${content.length} bytes`, isError: false } });
      return { path: target, contentBase64: content.toString('base64'), bytes: content.length };
    },
  };
}

type AllSandboxActivities = ReturnType<typeof createSandboxActivities>;
/** The external harness's requests: apart, so the run steps' type (and its test doubles) stays as it was. */
export type ExternalSandboxActivities = Pick<AllSandboxActivities, 'externalExec' | 'externalWriteFile' | 'externalReadFile'>;
export type SandboxActivities = Omit<AllSandboxActivities, keyof ExternalSandboxActivities>;

/** How much of an external command's output the transcript keeps (the client gets up to 1 MiB). */
const TRANSCRIPT_OUTPUT_CHARS = 64 * 1024;

/** $1 marker, then the command's argv: its stderr is kept apart and printed after the marker. */
const SPLIT_STDERR = 'f=$(mktemp) || exit 125; m=$1; shift; "$@" 2>"$f"; rc=$?; printf "%s" "$m"; cat "$f"; rm -f "$f"; exit $rc';

/** $1 path, $2 limit: exit 12 not a regular file, 13 missing, 14 unreadable, 15 too large (size printed). */
const READ_FILE = [
  'exec 2>/dev/null',
  'if [ -d "$1" ]; then exit 12; fi',
  'if [ ! -e "$1" ]; then exit 13; fi',
  'if [ ! -f "$1" ]; then exit 12; fi',
  'if [ ! -r "$1" ]; then exit 14; fi',
  's=$(stat -L -c %s "$1" || wc -c < "$1") || exit 14',
  'if [ "$s" -gt "$2" ]; then echo "$s"; exit 15; fi',
  'exec cat "$1"',
].join('\n');

/** A client's path: absolute, or relative to the agent's home (where its commands start). */
function inHome(p: string): string {
  if (!p || p.includes('\0')) throw ApplicationFailure.nonRetryable('a path is required', EXTERNAL_ERRORS.invalid);
  return posixPath.resolve(AGENT_HOME, p);
}

function tooLarge(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${what}: at most ${EXTERNAL_MAX_BYTES} bytes (1 MiB) may be sent at once`, EXTERNAL_ERRORS.tooLarge);
}
