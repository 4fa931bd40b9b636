/**
 * An iteration's results, computed once when its runs have ended and frozen as a JSON
 * document: the summary (task x environment x variant, and per environment), signal
 * aggregates, failure clusters. Built only from the runs' frozen facts and analyses, with
 * keys in a fixed order, so the same inputs always give the same bytes.
 */
import { signalAggregates, type SignalAggregates } from './aggregates';
import { deterministicClusters, type Cluster, type FailingRun, type PreviousCluster } from './clusters';
import { AnalysisModelError, type AnalysisModel } from './model';
import { modelClusters } from './modelClusters';
import { DEFAULT_ANALYSIS_MODEL, type SignalConfig, type SignalDefinition } from './signalConfig';
import { OUTCOMES, cellKey, countsForAgent, outcomeOf, summarize, type Outcome, type SummaryRow, type SummaryRun } from './summary';
import type { FrictionPoint, SignalValue } from './types';

export const RESULTS_SCHEMA_VERSION = 1;

export interface ResultsRun extends SummaryRun {
  signals: Record<string, SignalValue>;
  friction: FrictionPoint[];
  failureMessage: string | null;
  failingCriteria: { name: string; evidence: string }[];
}

export interface IterationResults {
  schemaVersion: number;
  iterationId: string;
  experimentId: string | null;
  iteration: number;
  /** When the iteration's last run ended (not when this was computed: the bytes must not depend on it). */
  finishedAt: string | null;
  runs: number;
  outcomes: Record<Outcome, number>;
  infraFailures: number;
  summary: SummaryRow[];
  environments: SummaryRow[];
  signals: { definitions: SignalDefinition[]; aggregates: SignalAggregates };
  clusters: Cluster[];
  analysis: { clusterSource: 'model' | 'deterministic' | 'none'; model: string | null; problems: string[] };
}

export async function computeResults(input: {
  iterationId: string;
  experimentId: string | null;
  iteration: number;
  finishedAt: string | null;
  config: SignalConfig;
  runs: ResultsRun[];
  previousClusters: PreviousCluster[];
  model?: AnalysisModel;
}): Promise<IterationResults> {
  const runs = [...input.runs].sort((a, b) => a.runId.localeCompare(b.runId));
  const problems: string[] = [];
  const summary = summarize(runs, cellKey);
  const environments = summarize(runs, (r) => ({ taskId: '*', environmentId: r.environmentId, variant: r.variant ?? 'base' }));
  const all = summarize(runs, () => ({ taskId: '*', environmentId: '*', variant: '*' }))[0];
  const counted = runs.filter(countsForAgent);

  const failing: FailingRun[] = counted
    .filter((r) => ['failed', 'setup_error', 'evaluation_error'].includes(outcomeOf(r)))
    .map((r) => ({ runId: r.runId, taskId: r.taskId, environmentId: r.environmentId, variant: r.variant, failureCategory: r.failureCategory, failureMessage: r.failureMessage, failingCriteria: r.failingCriteria, friction: r.friction }));
  let clusters: Cluster[] = [];
  let clusterSource: IterationResults['analysis']['clusterSource'] = failing.length ? 'deterministic' : 'none';
  if (failing.length && input.config.clusterModel && input.model) {
    try {
      clusters = await modelClusters(input.model, input.config.model ?? DEFAULT_ANALYSIS_MODEL, failing, input.previousClusters);
      clusterSource = 'model';
    } catch (err) {
      problems.push(`failure clusters: ${err instanceof AnalysisModelError ? err.message : (err as Error).message}; deterministic clusters stand in`);
    }
  } else if (failing.length && input.config.clusterModel) problems.push('failure clusters: no analysis model is configured; deterministic clusters stand in');
  if (failing.length && clusterSource === 'deterministic') clusters = deterministicClusters(failing, input.previousClusters);

  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    iterationId: input.iterationId,
    experimentId: input.experimentId,
    iteration: input.iteration,
    finishedAt: input.finishedAt,
    runs: runs.length,
    outcomes: all?.outcomes ?? (Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>),
    infraFailures: all?.infraFailures ?? 0,
    summary,
    environments,
    signals: { definitions: input.config.signals, aggregates: signalAggregates(input.config.signals, counted) },
    clusters: [...clusters].sort((a, b) => b.runIds.length - a.runIds.length || a.name.localeCompare(b.name)),
    analysis: { clusterSource, model: clusterSource === 'model' ? (input.config.model ?? DEFAULT_ANALYSIS_MODEL) : null, problems },
  };
}
