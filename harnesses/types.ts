/** What an agent harness is: one module per harness implements it. */
import type { EnvironmentDefinition, Harness } from '../domain/contract';
import type { Sandbox } from '../sandbox';
import type { AgentProcess, RunRecord } from '../store/runs';
import type { TranscriptWriter } from '../transcript/types';
import type { PriceTable } from '../config/prices';
import type { ConversationStore } from './conversation';

export interface HarnessContext {
  sandbox: Sandbox;
  run: RunRecord;
  /** The agent's time budget (task and environment limits combined). */
  timeoutMs: number;
  /** The run's secrets, as environment variables for the agent. */
  secretEnv: Record<string, string>;
  /** Where the harness records the process it starts, before starting it, so that a
   * retried step resumes that process instead of starting a second agent. */
  processes: {
    read(): Promise<AgentProcess | null>;
    claim(p: AgentProcess): Promise<boolean>;
  };
  /** The run's transcript; what is appended is redacted of the run's secrets on the way. */
  transcript: TranscriptWriter;
  /** Streams what the agent printed so far into the transcript (`final`: it has ended). */
  pollOutput(final: boolean): Promise<void>;
  /** The model API for harnesses that call one (the worker's configuration, or the
   * run's ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL secrets, which win). */
  anthropic: { apiKey?: string; baseURL?: string };
  prices: PriceTable;
  /** Persistence of a model conversation (claude harness); see harnesses/conversation.ts. */
  conversation: ConversationStore;
  /** Call at least every few seconds: a silent step is taken for a dead worker. */
  heartbeat(): void;
  /** Rejects when the step is cancelled or its worker shuts down. */
  cancelled: Promise<never>;
  /** True when the run itself was cancelled (not merely the worker shutting down). */
  cancelRequested(): boolean;
}

export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  turns: number;
  toolCalls: number;
  /** Estimated from the price table; null when the model has no price (unknown, not 0). */
  costUsd: number | null;
}

/** Why the agent step ended. */
export type StopReason = 'exited' | 'end_turn' | 'max_turns' | 'timeout' | 'cost_cap' | 'cancelled' | 'crashed';

export interface AgentResult {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Known when the harness reports it (claude harness, claude-code stream output). */
  usage?: AgentUsage;
  stopReason?: StopReason;
  /** An agent failure to report (crashed, cost cap, max turns): the run is still evaluated. */
  agentFailure?: string;
}

export interface AgentHarness {
  /** Why this build cannot run the environment's agent on this harness, or null when it can. */
  unavailable(env: EnvironmentDefinition): string | null;
  /** Runs the agent to its end (exit, time limit) and says how it ended. */
  run(ctx: HarnessContext): Promise<AgentResult>;
}

export type HarnessRegistry = Record<Harness, AgentHarness>;

export type { ConversationStore } from './conversation';
