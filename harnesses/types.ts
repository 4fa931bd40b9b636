/** What an agent harness is: one module per harness implements it. */
import type { EnvironmentDefinition, Harness } from '../domain/contract';
import type { Sandbox } from '../sandbox';
import type { AgentProcess, RunRecord } from '../store/runs';

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
  /** Call at least every few seconds: a silent step is taken for a dead worker. */
  heartbeat(): void;
  /** Rejects when the step is cancelled or its worker shuts down. */
  cancelled: Promise<never>;
  /** True when the run itself was cancelled (not merely the worker shutting down). */
  cancelRequested(): boolean;
}

export interface AgentResult {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

export interface AgentHarness {
  /** Why this build cannot run the environment's agent on this harness, or null when it can. */
  unavailable(env: EnvironmentDefinition): string | null;
  /** Runs the agent to its end (exit, time limit) and says how it ended. */
  run(ctx: HarnessContext): Promise<AgentResult>;
}

export type HarnessRegistry = Record<Harness, AgentHarness>;
