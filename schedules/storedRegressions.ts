/**
 * The alert's view of the analysis: an iteration's frozen results compared with those of
 * the experiment's previous iteration that has results (analysis/compare.ts, the same
 * comparison `experiment results --compare` shows), keeping what deserves an alert: cells
 * that regressed significantly and failure clusters the previous iteration did not have.
 */
import type { PrismaClient } from '../prisma/client';
import { compareResults } from '../analysis/compare';
import type { IterationResults } from '../analysis/iterationResults';
import { findIterationResult, previousIterationResult } from '../store/analysis';
import type { RegressionSource } from './regressionSummary';

export function storedRegressions(prisma: PrismaClient): RegressionSource {
  return async (iterationId) => {
    const stored = await findIterationResult(prisma, iterationId);
    if (!stored) return null;
    const current = JSON.parse(stored.document) as IterationResults;
    if (!current.experimentId) return null;
    const previous = await previousIterationResult(prisma, current.experimentId, current.iteration);
    if (!previous) return { comparedWith: null, regressions: [], newClusters: [] };
    const baseline = JSON.parse(previous.document) as IterationResults;
    const cmp = compareResults(current, baseline);
    return {
      comparedWith: { iterationId: baseline.iterationId, number: baseline.iteration },
      regressions: cmp.rows
        .filter((r) => r.verdict === 'regressed')
        .map((r) => ({ taskId: r.taskId, environmentId: r.environmentId, variant: r.variant, passRateDelta: r.passRateDelta, scoreDelta: r.scoreDelta, pValue: r.pValue })),
      newClusters: current.clusters
        .filter((c) => cmp.clusters.new.includes(c.name))
        .map((c) => ({ name: c.name, rootCauseCategory: c.rootCauseCategory, rootCause: c.rootCause, recommendedFix: c.recommendedFix, runIds: c.runIds })),
    };
  };
}
