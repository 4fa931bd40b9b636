/**
 * The command harness: the environment's shell command is the agent. It runs as a
 * detached process whose output goes to a file inside the sandbox, so a worker crash or
 * restart loses nothing. The process is recorded on the run before it starts, so a
 * retried step always finds the agent it started and never starts a second one.
 */
import { AGENT_HOME, SIMLAB_DIR, shellArgv } from '../sandbox';
import type { AgentHarness, HarnessContext } from './types';

export const AGENT_LOG = `${SIMLAB_DIR}/agent.log`;
export const PROMPT_FILE = `${SIMLAB_DIR}/prompt.md`;
/** Prompts larger than this reach the agent only as a file: the kernel caps one env string at 128 KiB. */
const PROMPT_ENV_LIMIT = 64 * 1024;
const POLL_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const commandHarness: AgentHarness = {
  unavailable(env) {
    return env.agent.command ? null : "the command harness needs 'agent.command'";
  },

  async run(ctx) {
    const { sandbox } = ctx;
    const started = await startOrResume(ctx);
    ctx.heartbeat();
    // Woken by the agent's end itself; the poll interval only paces output and heartbeats.
    const watch = sandbox.watchProcessExit(started.processId);
    try {
      return await waitForAgent(ctx, started, watch.exited);
    } finally {
      watch.close();
    }
  },
};

async function waitForAgent(ctx: HarnessContext, started: { processId: string; startedAt: Date }, exited: Promise<void>) {
  const { sandbox } = ctx;
  let exitSeen = false;
  const onExit = exited.then(() => {
    exitSeen = true;
  });
  // Short agents end before the event stream is open: the first checks come quickly.
  let interval = 50;
  for (;;) {
    const state = await sandbox.processState(started.processId);
    if (state.state === 'exited') return { exitCode: state.exitCode, timedOut: false, durationMs: Date.now() - started.startedAt.getTime(), stopReason: 'exited' as const };
    if (Date.now() - started.startedAt.getTime() >= ctx.timeoutMs) {
      return { exitCode: null, timedOut: true, durationMs: Date.now() - started.startedAt.getTime(), stopReason: 'timeout' as const };
    }
    // The transcript follows the agent as it works; a failed read is retried next poll.
    await ctx.pollOutput(false).catch(() => undefined);
    try {
      // Once the exit event came, only Docker's state may lag: look again shortly.
      await Promise.race([sleep(exitSeen ? 50 : interval), ...(exitSeen ? [] : [onExit]), ctx.cancelled]);
    } catch (err) {
      // Only a cancelled run stops its agent. A worker shutting down (deploy, restart)
      // leaves it running: the retried step resumes waiting for it.
      if (ctx.cancelRequested()) await sandbox.stopProcessesSinceBaseline().catch(() => undefined);
      throw err;
    }
    interval = Math.min(POLL_MS, interval * 2);
    ctx.heartbeat();
  }
}

async function startOrResume(ctx: HarnessContext) {
  const { sandbox, run } = ctx;
  const resume = async () => {
    const recorded = await ctx.processes.read();
    if (!recorded) return null;
    // Created and recorded, but the attempt died before starting it.
    if ((await sandbox.processState(recorded.processId)).state === 'created') await sandbox.startProcess(recorded.processId);
    return recorded;
  };
  const resumed = await resume();
  if (resumed) return resumed;
  const env: Record<string, string> = {
    SIMLAB_PROMPT_FILE: PROMPT_FILE,
    ...(Buffer.byteLength(run.task.prompt) <= PROMPT_ENV_LIMIT ? { SIMLAB_PROMPT: run.task.prompt } : {}),
    ...(run.environment.agent.env ?? {}),
    ...ctx.secretEnv,
  };
  const processId = await sandbox.createProcess({
    argv: shellArgv(`exec >>${AGENT_LOG} 2>&1 </dev/null; ${run.environment.agent.command}`),
    workingDir: AGENT_HOME,
    env,
  });
  const p = { processId, startedAt: new Date() };
  // Only one attempt may record its process: a concurrent one resumes the winner's instead.
  if (!(await ctx.processes.claim(p))) return (await resume())!;
  await sandbox.startProcess(processId);
  return p;
}
