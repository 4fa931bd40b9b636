/**
 * Messages between an iteration and its runs. Kept apart from both workflows so the run
 * workflow can report to its parent without importing it.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * A run tells its iteration it has ended. The iteration's children are abandoned on
 * continue-as-new (see iteration.ts), so a later execution of the iteration cannot await
 * the result of a child started by an earlier one: this signal, addressed by workflow id,
 * reaches whichever execution is current.
 */
export const runEndedSignal = defineSignal<[runId: string]>('simlabRunEnded');

export interface IterationWorkflowProgress {
  /** Runs of the iteration (known once it started). */
  total: number;
  started: number;
  ended: number;
  inFlight: number;
  /** How many times the iteration continued as new. */
  generation: number;
  cancelled: boolean;
}

export const iterationProgressQuery = defineQuery<IterationWorkflowProgress>('progress');
