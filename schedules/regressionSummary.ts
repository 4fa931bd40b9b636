/**
 * What a regression alert says, and where it comes from. The comparison of an iteration
 * with the previous comparable one is computed and stored by the analysis (issue 12,
 * items 3-4); the alert only reads it, through a `RegressionSource`, and decides whether
 * there is anything to send.
 */
export interface RegressionRow {
  taskId: string;
  environmentId: string;
  variant: string | null;
  passRateDelta: number | null;
  scoreDelta: number | null;
  pValue: number | null;
}

export interface NewClusterRow {
  name: string;
  rootCauseCategory: string;
  rootCause: string;
  recommendedFix: string;
  runIds: string[];
}

export interface RegressionSummary {
  /** The iteration compared against; null when there was none (nothing can regress). */
  comparedWith: { iterationId: string; number: number } | null;
  /** Significant regressions only (improvements and too-small samples are not alerts). */
  regressions: RegressionRow[];
  /** Failure clusters that the compared iteration did not have. */
  newClusters: NewClusterRow[];
}

/** The stored comparison of an iteration, or null when none has been stored. */
export type RegressionSource = (iterationId: string) => Promise<RegressionSummary | null>;

export const shouldAlert = (s: RegressionSummary | null): s is RegressionSummary =>
  !!s && !!s.comparedWith && (s.regressions.length > 0 || s.newClusters.length > 0);

/** Bounds what one alert carries: a receiver gets the gist and follows the link for the rest. */
const MAX_ROWS = 50;
const MAX_RUN_IDS = 20;

export function alertBody(input: {
  deliveryId: string;
  sentAt: Date;
  experiment: { id: string; name: string };
  iteration: { id: string; number: number };
  summary: RegressionSummary;
}): string {
  const { summary } = input;
  return JSON.stringify({
    event: 'iteration.regressed',
    deliveryId: input.deliveryId,
    sentAt: Math.floor(input.sentAt.getTime() / 1000),
    experiment: input.experiment,
    iteration: input.iteration,
    comparedWith: summary.comparedWith,
    regressions: summary.regressions.slice(0, MAX_ROWS),
    regressionCount: summary.regressions.length,
    newClusters: summary.newClusters.slice(0, MAX_ROWS).map((c) => ({ ...c, runIds: c.runIds.slice(0, MAX_RUN_IDS), runCount: c.runIds.length })),
    newClusterCount: summary.newClusters.length,
  });
}
