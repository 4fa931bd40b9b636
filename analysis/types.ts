/**
 * What the analysis reads of a finished run (RunFacts, loaded by store/analysis.ts) and what
 * it stores (RunAnalysisDocument). Pure data: every module of analysis/ works on these.
 */
import type { TranscriptEvent } from '../transcript/types';
import type { RunMetrics } from '../store/runs';

export interface CriterionFact {
  goal: string;
  name: string;
  evaluationType: string;
  status: string;
  score: number | null;
  maxScore: number;
  passed: boolean | null;
  evidence: string;
}

/** A run as the analysis reads it: its metrics as the criteria saw them, and more. */
export interface RunFacts extends RunMetrics {
  runId: string;
  iterationId: string;
  taskId: string;
  environmentId: string;
  variant: string | null;
  repeat: number | null;
  status: string;
  score: number | null;
  passed: boolean | null;
  failureCategory: string | null;
  failureMessage: string | null;
  agentTimedOut: boolean | null;
  agentStopReason: string | null;
  /** A plain command agent's command: its only action when the transcript has no tool calls. */
  agentCommand: string | null;
  taskPrompt: string;
  criteria: CriterionFact[];
  events: TranscriptEvent[];
}

export type SignalValue = boolean | number | string | null;

export const FRICTION_KINDS = ['error', 'non_zero_exit', 'retry_loop', 'wrong_tool', 'missing_docs', 'auth', 'environment', 'timeout', 'stall'] as const;
export type FrictionKind = (typeof FRICTION_KINDS)[number];

export interface FrictionPoint {
  kind: FrictionKind;
  description: string;
  /** Sequence numbers of the transcript events it refers to (0: the run itself, no event). */
  seqs: number[];
  /** The error text normalized (numbers, ids, paths, quotes replaced): what clusters compare. */
  signature: string;
}

export interface RunAnalysisDocument {
  runId: string;
  signals: Record<string, SignalValue>;
  friction: { source: 'model' | 'deterministic'; points: FrictionPoint[] };
  /** Always kept, also when a model found the friction points: the fallback and a cross-check. */
  deterministicFriction: FrictionPoint[];
  /** What could not be analysed (a rubric question the model did not answer, …): reported, never thrown. */
  problems: string[];
  model: string | null;
}
