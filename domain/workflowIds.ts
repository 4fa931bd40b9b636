/** Deterministic workflow ids: a retry of the same request can never start a duplicate. Kept
 * apart from ids.ts because workflow code may not import node:crypto. */
export const iterationWorkflowId = (iterationId: string) => `simlab-iteration-${iterationId}`;
export const runWorkflowId = (runId: string) => `simlab-run-${runId}`;
