/**
 * The running step, common to every harness: the harness runs the agent, its output
 * streaming into the transcript as it goes; then every process the agent started is
 * ended (nothing may change the sandbox while it is evaluated and archived), and its
 * output, usage and stop reason are kept in the artifact store and on the run.
 */
import type { PrismaClient } from '../prisma/client';
import type { ArtifactStore } from '../artifacts';
import { artifactKeys } from '../artifacts';
import { agentTimeoutSeconds } from '../domain/contract';
import type { Sandbox } from '../sandbox';
import { claimAgentProcess, readAgentProcess, recordAgentOutcome, type RunRecord } from '../store/runs';
import { conversationStore } from '../store/conversation';
import { readEvents, streamedOutputBytes, transcriptWriter } from '../transcript/store';
import { redactingWriter } from '../transcript/redacting';
import type { PriceTable } from '../config/prices';
import { AGENT_LOG } from './command';
import { OutputStreamer } from './outputStream';
import type { RunSecrets } from '../secrets/runSecrets';
import { harnessFor, type AgentResult, type HarnessContext } from './index';

const LOG_LIMIT = 10 * 1024 * 1024;
const EXCERPT = 4000;

async function conversationAsText(prisma: PrismaClient, runId: string): Promise<string> {
  const events = await readEvents(prisma, runId, { limit: 100_000, types: ['agent_message', 'tool_call', 'tool_result'] });
  return events
    .map((e) => {
      if (e.type === 'agent_message') return `${String(e.data.text ?? '')}\n`;
      if (e.type === 'tool_call') return `$ ${String(e.data.name)} ${JSON.stringify(e.data.input).slice(0, 2000)}\n`;
      return `${String(e.data.output ?? '').slice(0, 4000)}\n`;
    })
    .join('')
    .slice(-LOG_LIMIT);
}

export async function runAgentStep(
  deps: { prisma: PrismaClient; artifacts: ArtifactStore; anthropic: { apiKey?: string; baseURL?: string }; prices: PriceTable },
  run: RunRecord,
  sandbox: Sandbox,
  secrets: RunSecrets,
  control: Pick<HarnessContext, 'heartbeat' | 'cancelled' | 'cancelRequested'>,
): Promise<AgentResult> {
  const harness = harnessFor(run.environment);
  // Before any sandbox call: a slow exec create must not look like a dead attempt.
  control.heartbeat();
  const transcript = redactingWriter(transcriptWriter(deps.prisma, run.id), secrets.redactor);
  const format = run.environment.agent.outputFormat === 'claude-code-stream-json' ? 'claude-code-stream-json' : 'text';
  const streamer = new OutputStreamer(sandbox, AGENT_LOG, transcript, secrets.redactor, await streamedOutputBytes(deps.prisma, run.id), format);
  const result = await harness.run({
    sandbox,
    run,
    timeoutMs: agentTimeoutSeconds(run.task, run.environment) * 1000,
    secretEnv: secrets.env,
    processes: {
      read: () => readAgentProcess(deps.prisma, run.id),
      claim: (p) => claimAgentProcess(deps.prisma, run.id, p),
    },
    transcript,
    pollOutput: (final) => streamer.poll(final),
    anthropic: {
      ...deps.anthropic,
      ...(secrets.env.ANTHROPIC_API_KEY ? { apiKey: secrets.env.ANTHROPIC_API_KEY } : {}),
      ...(secrets.env.ANTHROPIC_BASE_URL ? { baseURL: secrets.env.ANTHROPIC_BASE_URL } : {}),
    },
    prices: deps.prices,
    conversation: conversationStore(deps.prisma, run.id, (v) => secrets.redactor.redactDeep(v)),
    ...control,
  });
  // Every process the agent started ends here; what it left is read in the same breath.
  const ending = await sandbox.endAgent({ logPath: AGENT_LOG, tailLimit: LOG_LIMIT, homeDisk: !!run.environment.resources.diskMb, onProgress: control.heartbeat });
  await streamer.poll(true, ending.log ?? { start: 0, content: Buffer.alloc(0) });
  // A sandbox the agent exhausted is the agent's doing: said on the run, which is still
  // evaluated on what it left.
  const diskMb = run.environment.resources.diskMb;
  const diskFull = !!diskMb && ending.homeAvailableKb !== null && ending.homeAvailableKb < 1024;
  const exhausted = [
    ...(diskFull ? [`it filled its ${diskMb} MB disk quota`] : []),
    ...(ending.oomKills ? [`the sandbox's memory limit (${run.environment.resources.memoryMb} MB) OOM-killed ${ending.oomKills} of its processes`] : []),
    ...(ending.pidsLimitHit ? [`it hit the sandbox's process limit (${run.environment.resources.pids}) ${ending.pidsLimitHit} time(s)`] : []),
  ];
  if (exhausted.length && !result.agentFailure) result.agentFailure = `the agent exhausted its sandbox: ${exhausted.join('; ')}`;
  if (result.agentFailure) await transcript.append({ type: 'error', data: { step: 'agent', message: result.agentFailure } });

  const log = ending.log ?? { content: Buffer.alloc(0) };
  // A harness that talks to a model prints nothing itself: its log is the conversation as
  // text, so that excerpts and judges see what the agent said and did.
  const printed = log.content.length ? log.content : Buffer.from(await conversationAsText(deps.prisma, run.id));
  // Whatever the agent printed of its secrets is redacted before anything is stored.
  const content = secrets.redactor.redactBuffer(printed);
  const stored = await deps.artifacts.put(artifactKeys.agentLog(run.id), content);
  const text = content.toString('utf8');
  const streamed = streamer.usage ? { ...streamer.usage, toolCalls: streamer.toolCalls } : undefined;
  const usage = result.usage ?? streamed;
  const stopReason = result.stopReason ?? (result.timedOut ? 'timeout' : 'exited');
  await recordAgentOutcome(deps.prisma, run.id, {
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    outputExcerpt: text.length > EXCERPT ? text.slice(text.length - EXCERPT) : text,
    log: stored,
    ...(usage ? { usage } : {}),
    stopReason,
  });
  return { ...result, stopReason, ...(usage ? { usage } : {}) };
}
