/**
 * The claude harness: simlab itself is the agent loop, on the Messages API, with tools
 * that run inside the sandbox (harnesses/claudeTools.ts).
 *
 * Durable across worker crashes: every completed turn is saved (AgentTurn) and the
 * conversation is rebuilt from them, so a retried step continues where the last one
 * stopped and never repeats a completed turn's events. A turn whose tools were running
 * when the worker died is replayed from the answer kept in the sandbox, with the same
 * tool_use ids, so each tool call (AgentToolCall, recorded before it runs) is either
 * reused, or reported as interrupted: never executed twice.
 */
import Anthropic from '@anthropic-ai/sdk';
import { costOf } from '../config/prices';
import { EnvironmentConfigError } from '../domain/errors';
import { AGENT_HOME, SIMLAB_DIR, type Sandbox } from '../sandbox';
import type { NewEvent } from '../transcript/types';
import { runTool, TOOLS, type ToolEnv, type ToolResult } from './claudeTools';
import type { AgentHarness, AgentResult, AgentUsage, HarnessContext, StopReason } from './types';

const HEARTBEAT_MS = 2000;
const DEFAULT_MAX_TURNS = 100;
const DEFAULT_MAX_TOKENS = 8192;
const DEFAULT_BASH_TIMEOUT_SECONDS = 120;
/** Recorded as the run's agent process: its start time is the agent's, whichever attempt runs. */
const PROCESS_ID = 'claude-harness';
const PENDING_LIMIT = 64 * 1024 * 1024;

export const DEFAULT_SYSTEM_PROMPT = [
  `You are working in a sandboxed Linux machine, as the user 'agent'; your working directory is ${AGENT_HOME}.`,
  `Relative paths given to the tools are relative to ${AGENT_HOME}.`,
  'Use the tools to do the task. When it is done, answer with a short summary and no tool call.',
].join(' ');

export const INTERRUPTED_RESULT =
  'This tool call was interrupted by a worker restart: it may or may not have taken effect. Check the state before running it again.';

type Tokens = Pick<AgentUsage, 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'>;
/** A model answer, as kept in the sandbox until its turn is saved. */
interface Answer {
  content: Anthropic.ContentBlock[];
  usage: Tokens;
  stopReason: string | null;
}
interface ToolUse {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export const claudeHarness: AgentHarness = {
  unavailable(env) {
    const a = env.agent;
    if (!a.model) return "the claude harness needs 'agent.model'";
    if (a.thinkingBudgetTokens !== undefined && a.maxTokens !== undefined && a.maxTokens <= a.thinkingBudgetTokens) {
      return "the claude harness needs 'agent.maxTokens' above 'agent.thinkingBudgetTokens' (thinking counts against max_tokens)";
    }
    return null;
  },
  run: runClaude,
};

async function runClaude(ctx: HarnessContext): Promise<AgentResult> {
  const { apiKey, baseURL } = ctx.anthropic;
  if (!apiKey) throw new EnvironmentConfigError('the claude harness needs ANTHROPIC_API_KEY (configuration or a secret)');
  const abort = new AbortController();
  ctx.cancelled.catch(() => abort.abort());
  // The API can be slow (long answers, retries with backoff): the step must not look dead meanwhile.
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
  ctx.heartbeat();
  try {
    return await new ClaudeLoop(ctx, new Anthropic({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 6 }), abort.signal).run();
  } catch (err) {
    // Only a cancelled run stops what the agent started; a worker shutting down leaves the
    // sandbox as it is for the retried step.
    if (ctx.cancelRequested()) await ctx.sandbox.stopProcessesSinceBaseline().catch(() => undefined);
    throw err;
  } finally {
    clearInterval(beat);
  }
}

class ClaudeLoop {
  private readonly agent;
  private readonly model: string;
  private readonly messages: Anthropic.MessageParam[];
  private readonly totals: Tokens = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  private turns = 0;
  private toolCalls = 0;
  private startedAt = new Date();

  constructor(
    private readonly ctx: HarnessContext,
    private readonly client: Anthropic,
    private readonly signal: AbortSignal,
  ) {
    this.agent = ctx.run.environment.agent;
    this.model = this.agent.model!;
    this.messages = [{ role: 'user', content: ctx.run.task.prompt }];
  }

  async run(): Promise<AgentResult> {
    const { ctx, agent } = this;
    this.startedAt = await this.start();
    let ended = false;
    for (const t of await ctx.conversation.turns()) {
      this.messages.push({ role: 'assistant', content: t.assistant as Anthropic.ContentBlockParam[] });
      if (t.reply) this.messages.push(t.reply as Anthropic.MessageParam);
      else ended = true;
      this.addTurn(t.usage as unknown as Tokens, toolUses(t.assistant as Anthropic.ContentBlock[]).length);
    }
    const maxTurns = agent.maxTurns ?? DEFAULT_MAX_TURNS;
    let firstTurn = true;
    for (;;) {
      if (ended) return this.end('end_turn');
      const cost = this.cost();
      if (agent.costCapUsd !== undefined && cost !== null && cost > agent.costCapUsd) {
        return this.end('cost_cap', { agentFailure: `the agent's estimated cost ($${cost.toFixed(4)}) exceeded its cap ($${agent.costCapUsd})` });
      }
      if (this.turns >= maxTurns) return this.end('max_turns', { agentFailure: `the agent used all of its ${maxTurns} turns without finishing` });
      if (this.elapsed() >= ctx.timeoutMs) return this.end('timeout');

      const index = this.turns;
      // Only the first turn of an attempt can have been answered by an attempt that died.
      let answer = firstTurn ? await readPending(ctx.sandbox, index) : null;
      firstTurn = false;
      if (!answer) {
        const got = await this.ask();
        if (got === 'timeout') return this.end('timeout');
        if ('failure' in got) return this.end('crashed', { agentFailure: got.failure });
        answer = got;
        // Kept before any tool runs: a retry replays this very answer, tool_use ids included.
        if (toolUses(answer.content).length) await writePending(ctx.sandbox, index, answer);
        await ctx.transcript.append(...this.answerEvents(index, answer));
      }
      const uses = toolUses(answer.content);
      if (!uses.length) {
        await ctx.conversation.saveTurn({ index, assistant: answer.content, reply: null, usage: { ...answer.usage } });
        this.addTurn(answer.usage, 0);
        if (answer.stopReason === 'max_tokens' || answer.stopReason === 'refusal') {
          return this.end('end_turn', { agentFailure: `the model stopped with '${answer.stopReason}'` });
        }
        ended = true;
        continue;
      }
      const results: Anthropic.ToolResultBlockParam[] = [];
      for (const use of uses) results.push(await this.toolCall(index, use));
      const reply: Anthropic.MessageParam = { role: 'user', content: results };
      await ctx.conversation.saveTurn({ index, assistant: answer.content, reply, usage: { ...answer.usage } });
      this.messages.push({ role: 'assistant', content: answer.content as Anthropic.ContentBlockParam[] }, reply);
      this.addTurn(answer.usage, uses.length);
    }
  }

  /** When the agent started, recorded once for all attempts (its time limit counts from there). */
  private async start(): Promise<Date> {
    const { ctx } = this;
    const recorded = await ctx.processes.read();
    if (recorded) return recorded.startedAt;
    const p = { processId: PROCESS_ID, startedAt: new Date() };
    if (await ctx.processes.claim(p)) return p.startedAt;
    return (await ctx.processes.read())!.startedAt;
  }

  private async ask(): Promise<Answer | 'timeout' | { failure: string }> {
    const { ctx, agent } = this;
    const budget = agent.thinkingBudgetTokens;
    const params: Anthropic.MessageCreateParamsNonStreaming = {
      model: this.model,
      max_tokens: agent.maxTokens ?? (budget ? budget + DEFAULT_MAX_TOKENS : DEFAULT_MAX_TOKENS),
      system: agent.systemPrompt ? `${agent.systemPrompt}\n\n${DEFAULT_SYSTEM_PROMPT}` : DEFAULT_SYSTEM_PROMPT,
      messages: this.messages,
      tools: TOOLS,
      ...(budget ? { thinking: { type: 'enabled', budget_tokens: budget } } : {}),
      // agent.temperature is not sent: this SDK's Messages API has no such parameter.
    };
    const deadline = AbortSignal.timeout(Math.max(1, ctx.timeoutMs - this.elapsed()));
    const request = this.client.messages.create(params, { signal: AbortSignal.any([this.signal, deadline]) });
    request.catch(() => undefined);
    try {
      const msg = await Promise.race([request, ctx.cancelled]);
      return { content: msg.content, usage: tokensOf(msg.usage), stopReason: msg.stop_reason };
    } catch (err) {
      if (this.signal.aborted) throw err;
      if (deadline.aborted) return 'timeout';
      const message = `the model API failed: ${(err as Error).message}`;
      await ctx.transcript.append({ type: 'error', data: { message, step: 'agent' } });
      if (err instanceof Anthropic.AuthenticationError || err instanceof Anthropic.PermissionDeniedError || err instanceof Anthropic.NotFoundError) {
        throw new EnvironmentConfigError(message);
      }
      // The request itself is wrong (too long a conversation, a bad parameter): no retry helps.
      if (err instanceof Anthropic.BadRequestError || err instanceof Anthropic.UnprocessableEntityError || err instanceof Anthropic.APIError && err.status === 413) {
        return { failure: message };
      }
      // Overloaded or unreachable after the SDK's own retries: the step is retried and resumes here.
      throw err;
    }
  }

  private async toolCall(turn: number, use: ToolUse): Promise<Anthropic.ToolResultBlockParam> {
    const { ctx } = this;
    const existing = await ctx.conversation.beginToolCall({ toolUseId: use.id, turn, name: use.name, input: use.input });
    if (existing && existing.status !== 'started') return resultBlock(use.id, existing.result as ToolResult);
    if (existing) {
      // The attempt that started it died: running it again could do it twice.
      return this.interrupt(use);
    }
    let result: ToolResult;
    try {
      result = await Promise.race([runTool(use.name, use.input, this.toolEnv()), ctx.cancelled]);
    } catch (err) {
      if (this.signal.aborted) {
        if (ctx.cancelRequested()) await this.interrupt(use).catch(() => undefined);
        throw err;
      }
      result = { output: `the tool failed: ${(err as Error).message}`, isError: true };
    }
    await ctx.conversation.finishToolCall(use.id, 'done', result);
    await ctx.transcript.append({ type: 'tool_result', data: { id: use.id, name: use.name, output: result.output, isError: result.isError } });
    return resultBlock(use.id, result);
  }

  private async interrupt(use: ToolUse): Promise<Anthropic.ToolResultBlockParam> {
    const result = { output: INTERRUPTED_RESULT, isError: true };
    await this.ctx.conversation.finishToolCall(use.id, 'interrupted', result);
    await this.ctx.transcript.append({ type: 'tool_result', data: { id: use.id, name: use.name, output: result.output, isError: true, interrupted: true } });
    return resultBlock(use.id, result);
  }

  private toolEnv(): ToolEnv {
    const remaining = Math.ceil((this.ctx.timeoutMs - this.elapsed()) / 1000);
    return {
      sandbox: this.ctx.sandbox,
      secretEnv: this.ctx.secretEnv,
      bashTimeoutSeconds: Math.max(1, Math.min(this.agent.bashTimeoutSeconds ?? DEFAULT_BASH_TIMEOUT_SECONDS, remaining)),
      signal: this.signal,
      heartbeat: () => this.ctx.heartbeat(),
    };
  }

  private answerEvents(index: number, a: Answer): NewEvent[] {
    const events: NewEvent[] = [];
    for (const b of a.content) {
      if (b.type === 'thinking') events.push({ type: 'thinking', data: { text: b.thinking } });
      else if (b.type === 'redacted_thinking') events.push({ type: 'thinking', data: { text: '', redacted: true } });
      else if (b.type === 'text') events.push({ type: 'agent_message', data: { text: b.text } });
      else if (b.type === 'tool_use') events.push({ type: 'tool_call', data: { id: b.id, name: b.name, input: b.input } });
    }
    const after = sum(this.totals, a.usage);
    events.push({ type: 'usage', data: { turn: index + 1, ...a.usage, stopReason: a.stopReason, totalCostUsd: costOf(this.ctx.prices, this.model, after) } });
    return events;
  }

  private addTurn(u: Tokens, toolCalls: number) {
    Object.assign(this.totals, sum(this.totals, u));
    this.turns++;
    this.toolCalls += toolCalls;
  }

  private cost() {
    return costOf(this.ctx.prices, this.model, this.totals);
  }

  private elapsed() {
    return Date.now() - this.startedAt.getTime();
  }

  private end(stopReason: StopReason, extra: Partial<AgentResult> = {}): AgentResult {
    return {
      exitCode: stopReason === 'end_turn' && !extra.agentFailure ? 0 : null,
      timedOut: stopReason === 'timeout',
      durationMs: this.elapsed(),
      usage: { ...this.totals, turns: this.turns, toolCalls: this.toolCalls, costUsd: this.cost() },
      stopReason,
      ...extra,
    };
  }
}

function toolUses(content: Anthropic.ContentBlock[] | unknown): ToolUse[] {
  return Array.isArray(content) ? (content as { type: string }[]).filter((b): b is ToolUse => b.type === 'tool_use') : [];
}

function tokensOf(u: Anthropic.Usage): Tokens {
  return {
    inputTokens: u.input_tokens ?? 0,
    outputTokens: u.output_tokens ?? 0,
    cacheReadTokens: u.cache_read_input_tokens ?? 0,
    cacheWriteTokens: u.cache_creation_input_tokens ?? 0,
  };
}

function sum(a: Tokens, b: Partial<Tokens>): Tokens {
  return {
    inputTokens: a.inputTokens + (b.inputTokens ?? 0),
    outputTokens: a.outputTokens + (b.outputTokens ?? 0),
    cacheReadTokens: a.cacheReadTokens + (b.cacheReadTokens ?? 0),
    cacheWriteTokens: a.cacheWriteTokens + (b.cacheWriteTokens ?? 0),
  };
}

function resultBlock(id: string, r: ToolResult): Anthropic.ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content: r.output || '(no output)', ...(r.isError ? { is_error: true } : {}) };
}

/**
 * The answer of a turn whose tools have started lives in the sandbox (root's, unreadable
 * by the agent) until the turn is saved: it survives the worker, as the tools' effects do.
 */
const pendingName = (index: number) => `claude-turn-${index}.json`;

async function readPending(sandbox: Sandbox, index: number): Promise<Answer | null> {
  const f = await sandbox.readFile(`${SIMLAB_DIR}/${pendingName(index)}`, PENDING_LIMIT);
  return f.kind === 'file' && !f.truncated ? (JSON.parse(f.content.toString('utf8')) as Answer) : null;
}

async function writePending(sandbox: Sandbox, index: number, a: Answer): Promise<void> {
  await sandbox.writeFiles(SIMLAB_DIR, [{ name: pendingName(index), content: JSON.stringify(a), mode: 0o600, owner: 'root' }]);
}
