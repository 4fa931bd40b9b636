/**
 * The run lifecycle of the product documents, as data: which status may follow which.
 * Persisting a transition happens in one place (store/runStatus.ts); this module
 * only says what is allowed.
 */
export const RUN_STATUSES = [
  'queued',
  'creating_sandbox',
  'running',
  'evaluating',
  'analyzing',
  'completed',
  'failed',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled']);

const NEXT: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['creating_sandbox'],
  creating_sandbox: ['running'],
  running: ['evaluating'],
  evaluating: ['analyzing'],
  analyzing: ['completed'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(s: RunStatus): boolean {
  return TERMINAL_STATUSES.has(s);
}

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  if (isTerminal(from)) return false;
  // Any live run may fail or be cancelled; otherwise it moves one step forward.
  if (to === 'failed' || to === 'cancelled') return true;
  return NEXT[from].includes(to);
}

/** Why a run did not end as the agent's own result: infra never passes for the agent. */
export const FAILURE_CATEGORIES = ['infra', 'setup', 'agent', 'evaluation', 'cancelled'] as const;
export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

export const ITERATION_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type IterationStatus = (typeof ITERATION_STATUSES)[number];
