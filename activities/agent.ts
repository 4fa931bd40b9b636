/**
 * running: the agent harness. The command harness starts the agent as a detached exec
 * whose output goes to a file inside the sandbox, so a worker crash loses nothing: the
 * retried activity finds the exec id in its heartbeat details and resumes waiting.
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Context, heartbeat, CancelledFailure } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { agentTimeoutSeconds } from '../domain/contract';
import { EnvironmentConfigError } from '../domain/errors';
import { AGENT_HOME, AGENT_USER, readFile, shellArgv, SIMLAB_DIR } from './docker-exec';
import { containerName } from './sandbox';
import type { RunRecord } from './runPlan';

export interface AgentHeartbeat {
  execId: string;
  startedAtMs: number;
}

export interface AgentResult {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  outputBytes: number;
}

const AGENT_LOG = `${SIMLAB_DIR}/agent.log`;
const LOG_LIMIT = 10 * 1024 * 1024;
const EXCERPT = 4000;
/** Prompts larger than this reach the agent only as a file: the kernel caps one env string at 128 KiB. */
const PROMPT_ENV_LIMIT = 64 * 1024;
const POLL_MS = 1000;

export async function runAgent(
  deps: { prisma: PrismaClient; docker: Docker; artifactsDir: string },
  run: RunRecord,
): Promise<AgentResult> {
  const { prisma, docker } = deps;
  const { agent } = run.environment;
  if (agent.harness !== 'command' || !agent.command) {
    throw new EnvironmentConfigError(`agent harness '${agent.harness}' is not available in this build yet`);
  }
  const container = docker.getContainer(containerName(run.id));
  const timeoutMs = agentTimeoutSeconds(run.task, run.environment) * 1000;
  const ctx = Context.current();

  const previous = ctx.info.heartbeatDetails as AgentHeartbeat | undefined;
  let state: AgentHeartbeat;
  if (previous?.execId) {
    state = previous;
  } else {
    const env = [
      `SIMLAB_PROMPT_FILE=${SIMLAB_DIR}/prompt.md`,
      ...(Buffer.byteLength(run.task.prompt) <= PROMPT_ENV_LIMIT ? [`SIMLAB_PROMPT=${run.task.prompt}`] : []),
      ...Object.entries(agent.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ];
    const argv = shellArgv(`exec >>${AGENT_LOG} 2>&1 </dev/null; ${agent.command}`);
    const exec = await container.exec({ Cmd: argv, User: AGENT_USER, WorkingDir: AGENT_HOME, Env: env });
    await exec.start({ Detach: true });
    state = { execId: exec.id, startedAtMs: Date.now() };
  }
  heartbeat(state);

  const exec = docker.getExec(state.execId);
  let timedOut = false;
  let exitCode: number | null = null;
  for (;;) {
    const info = await exec.inspect();
    if (!info.Running) {
      exitCode = info.ExitCode ?? null;
      break;
    }
    if (Date.now() - state.startedAtMs >= timeoutMs) {
      timedOut = true;
      await killAgentProcesses(container);
      break;
    }
    try {
      await Promise.race([sleep(POLL_MS), ctx.cancelled]);
    } catch (err) {
      // Cancelled: stop the agent now; the workflow's cleanup archives and destroys the sandbox.
      if (err instanceof CancelledFailure) await killAgentProcesses(container).catch(() => undefined);
      throw err;
    }
    heartbeat(state);
  }
  const durationMs = Date.now() - state.startedAtMs;

  const log = (await readFile(container, AGENT_LOG, LOG_LIMIT)) ?? { content: Buffer.alloc(0), size: 0 };
  const dir = path.join(deps.artifactsDir, run.id);
  await fs.mkdir(dir, { recursive: true });
  const logPath = path.join(dir, 'agent.log');
  await fs.writeFile(logPath, log.content);
  const text = log.content.toString('utf8');
  await prisma.run.update({
    where: { id: run.id },
    data: {
      agentExitCode: exitCode,
      agentTimedOut: timedOut,
      agentDurationMs: durationMs,
      agentOutputExcerpt: text.length > EXCERPT ? text.slice(text.length - EXCERPT) : text,
      agentLogPath: logPath,
    },
  });
  return { exitCode, timedOut, durationMs, outputBytes: log.size };
}

/**
 * Ends every process of the agent user except the sandbox's PID 1, background ones
 * included, so evaluation sees the state the agent left and nothing keeps changing it.
 */
async function killAgentProcesses(container: Docker.Container): Promise<void> {
  const exec = await container.exec({ Cmd: ['/bin/sh', '-c', 'kill -KILL -1 2>/dev/null; exit 0'], User: AGENT_USER });
  await exec.start({ Detach: true });
  await sleep(300);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
