/**
 * The external harness: the agent runs outside simlab and drives the sandbox through the
 * API (exec, files, score, complete, cancel); the run workflow waits for it instead of
 * running an agent step (workflows/run.ts, workflows/external.ts).
 */
import type { AgentHarness } from './types';

export const externalHarness: AgentHarness = {
  unavailable: () => null,
  async run() {
    // Reaching this means a run of the external harness took the agent-step path: a
    // workflow built before the external harness existed, or a bug in the run workflow.
    throw new Error("the external harness has no agent step: its client drives the run through /v1/runs/:id/external (this worker's run workflow predates it)");
  },
};
