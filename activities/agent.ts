/**
 * running: the agent harness. The command harness starts the agent as a detached exec
 * whose output goes to a file inside the sandbox, so a worker crash or restart loses
 * nothing. The exec id is written to the run before the agent starts, so a retried
 * activity always finds the agent it started and never starts a second one.
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Context, heartbeat, CancelledFailure } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { agentTimeoutSeconds } from '../domain/contract';
import { EnvironmentConfigError } from '../domain/errors';
import { AGENT_HOME, AGENT_USER, readTail, shellArgv, SIMLAB_DIR } from './docker-exec';
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
const PIDS_BEFORE = `${SIMLAB_DIR}/pids.before`;
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

  // Before any Docker call: a slow exec create must not look like a dead attempt.
  heartbeat();
  const state = await startOrResume(prisma, docker, container, run, agent.command, agent.env ?? {});
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
      break;
    }
    try {
      await Promise.race([sleep(POLL_MS), ctx.cancelled]);
    } catch (err) {
      // Only a cancelled run stops its agent. A worker shutting down (deploy, restart)
      // leaves it running: the retried activity resumes waiting for it.
      if (err instanceof CancelledFailure && ctx.cancellationDetails?.cancelRequested) {
        await killAgentProcesses(container).catch(() => undefined);
      }
      throw err;
    }
    heartbeat(state);
  }
  // Whether it exited or timed out, nothing the agent started may keep changing the
  // sandbox while it is evaluated and archived.
  await killAgentProcesses(container);
  const durationMs = Date.now() - state.startedAtMs;

  const log = (await readTail(container, AGENT_LOG, LOG_LIMIT, () => heartbeat(state))) ?? { content: Buffer.alloc(0), truncated: false };
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
  return { exitCode, timedOut, durationMs, outputBytes: log.content.length };
}

/**
 * The agent's exec: created, recorded on the run, then started. On a retry the recorded
 * exec is resumed, and started only if the previous attempt died between recording it
 * and starting it.
 */
async function startOrResume(
  prisma: PrismaClient,
  docker: Docker,
  container: Docker.Container,
  run: RunRecord,
  command: string,
  agentEnv: Record<string, string>,
): Promise<AgentHeartbeat> {
  const resume = async (): Promise<AgentHeartbeat | null> => {
    const recorded = await prisma.run.findUniqueOrThrow({ where: { id: run.id }, select: { agentExecId: true, agentStartedAt: true } });
    if (!recorded.agentExecId || !recorded.agentStartedAt) return null;
    const exec = docker.getExec(recorded.agentExecId);
    const info = await exec.inspect();
    // Created and recorded, but the attempt died before starting it.
    if (!info.Running && info.ExitCode === null && !info.Pid) await exec.start({ Detach: true });
    return { execId: recorded.agentExecId, startedAtMs: recorded.agentStartedAt.getTime() };
  };
  const resumed = await resume();
  if (resumed) return resumed;
  const env = [
    `SIMLAB_PROMPT_FILE=${SIMLAB_DIR}/prompt.md`,
    ...(Buffer.byteLength(run.task.prompt) <= PROMPT_ENV_LIMIT ? [`SIMLAB_PROMPT=${run.task.prompt}`] : []),
    ...Object.entries(agentEnv).map(([k, v]) => `${k}=${v}`),
  ];
  // The wrapper first notes which processes exist (PID 1, services of init commands), so
  // that afterwards exactly the agent's own processes can be ended.
  const exec = await container.exec({
    // ($$ is left out of that list: this very shell goes on to run the agent.)
    Cmd: shellArgv(
      `for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] || echo "\${p#/proc/}"; done > ${PIDS_BEFORE}; exec >>${AGENT_LOG} 2>&1 </dev/null; ${command}`,
    ),
    User: AGENT_USER,
    WorkingDir: AGENT_HOME,
    Env: env,
  });
  const startedAt = new Date();
  // Only one attempt may record its exec: a concurrent one resumes the winner's instead.
  const claimed = await prisma.run.updateMany({ where: { id: run.id, agentExecId: null }, data: { agentExecId: exec.id, agentStartedAt: startedAt } });
  if (claimed.count === 0) return (await resume())!;
  await exec.start({ Detach: true });
  return { execId: exec.id, startedAtMs: startedAt.getTime() };
}

/**
 * Ends every process the agent started, background ones included: all processes that did
 * not exist before it, except this killer itself. What init commands started (a database
 * the task provides, say) keeps running for the criteria.
 */
const KILL_AGENT_PROCESSES = `
  for p in /proc/[0-9]*; do
    pid="\${p#/proc/}"
    [ "$pid" = "$$" ] && continue
    grep -qx "$pid" ${PIDS_BEFORE} 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  done
  exit 0`;

async function killAgentProcesses(container: Docker.Container): Promise<void> {
  const exec = await container.exec({ Cmd: ['/bin/sh', '-c', KILL_AGENT_PROCESSES], User: AGENT_USER });
  await exec.start({ Detach: true });
  // Detached: wait for the kill itself to have run before anything reads the sandbox.
  for (let i = 0; i < 50 && (await exec.inspect()).Running; i++) await sleep(50);
  await sleep(100);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
