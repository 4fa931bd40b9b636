/** Iteration results and comparisons from fixture runs: denominators, intervals, verdicts, determinism. */
import { computeResults, type ResultsRun } from '../../analysis/iterationResults';
import { compareResults } from '../../analysis/compare';
import { aggregate } from '../../analysis/aggregates';
import { parseSignalConfig, EMPTY_SIGNAL_CONFIG } from '../../analysis/signalConfig';

let n = 0;
function runs(count: number, over: Partial<ResultsRun>): ResultsRun[] {
  return Array.from({ length: count }, () => ({
    runId: `run_${String(++n).padStart(4, '0')}`, taskId: 'task_1', environmentId: 'env_a', variant: 'base', status: 'completed',
    score: 100, passed: true, failureCategory: null, failureMessage: null, failingCriteria: [], signals: {}, friction: [], ...over,
  }));
}
const failed = (message: string) => ({ score: 0, passed: false, friction: [{ kind: 'error' as const, description: message, seqs: [2], signature: message }] });

async function results(iteration: number, rs: ResultsRun[], config = EMPTY_SIGNAL_CONFIG) {
  return computeResults({ iterationId: `iter_${iteration}`, experimentId: 'exp_1', iteration, finishedAt: null, config, runs: rs, previousClusters: [] });
}

describe('iteration results', () => {
  it('excludes infrastructure failures from every denominator and counts them apart', async () => {
    const r = await results(1, [
      ...runs(8, {}),
      ...runs(2, failed('boom')),
      ...runs(3, { status: 'failed', score: null, passed: null, failureCategory: 'infra', failureMessage: 'docker died' }),
      ...runs(1, { status: 'cancelled', score: null, passed: null }),
    ]);
    expect(r.summary).toHaveLength(1);
    const row = r.summary[0]!;
    expect(row).toMatchObject({ runs: 14, evaluated: 10, passed: 8, passRate: 0.8, infraFailures: 3, meanScore: 80, scored: 10 });
    expect(row.passRateCi).toEqual([0.490162, 0.943318]);
    expect(row.outcomes).toMatchObject({ passed: 8, failed: 2, infra: 3, cancelled: 1 });
    expect(r.infraFailures).toBe(3);
    expect(r.clusters).toHaveLength(1);
    expect(r.clusters[0]!.runIds).toHaveLength(2);
  });

  it('is the same bytes whatever the order of its input', async () => {
    const rs = [...runs(3, {}), ...runs(3, failed('x failed')), ...runs(2, { environmentId: 'env_b' })];
    expect(JSON.stringify(await results(1, rs))).toBe(JSON.stringify(await results(1, [...rs].reverse())));
  });

  it('aggregates signals by environment, task and variant', async () => {
    const cfg = parseSignalConfig('signals:\n  - {name: slow, type: boolean, metric: passed}\n  - {name: secs, type: number, metric: score}\n');
    if (!cfg.ok) throw new Error('config');
    const rs = [...runs(2, { signals: { slow: true, secs: 10 } }), ...runs(2, { environmentId: 'env_b', signals: { slow: false, secs: 30 } }), ...runs(1, { environmentId: 'env_b', signals: { slow: null, secs: null } })];
    const r = await results(1, rs, cfg.config);
    expect(r.signals.aggregates.overall.slow).toMatchObject({ type: 'boolean', n: 4, missing: 1, trueCount: 2, rate: 0.5 });
    expect(r.signals.aggregates.byEnvironment.env_b!.secs).toMatchObject({ n: 2, missing: 1, mean: 30, median: 30, min: 30, max: 30 });
    expect(r.signals.aggregates.overall.secs).toMatchObject({ mean: 20, median: 20, p90: 30, histogram: { edges: [10, 15, 20, 25, 30], counts: [2, 0, 0, 2] } });
    expect(aggregate('category', ['a', 'b', 'a', null])).toEqual({ type: 'category', n: 3, missing: 1, counts: { a: 2, b: 1 } });
  });
});

describe('comparisons', () => {
  it('flags a regression of 6/6 to 0/6 (Fisher p = 0.002165, Holm over the family) and calls 3 vs 3 too small', async () => {
    const before = await results(1, [...runs(6, {}), ...runs(3, { environmentId: 'env_b' })]);
    const after = await results(2, [...runs(6, failed('it broke')), ...runs(3, { environmentId: 'env_b', ...failed('it broke') })]);
    const c = compareResults(after, before);
    const [a, b] = c.rows;
    expect(a).toMatchObject({ environmentId: 'env_a', passRateDelta: -1, scoreDelta: -100, passRatePValue: 0.0021645, significant: true, direction: 'regressed', verdict: 'regressed' });
    // 3/3 -> 0/3: Fisher's p cannot go below 0.1 at this size, and the scores have no spread.
    expect(b).toMatchObject({ environmentId: 'env_b', passRateDelta: -1, passRatePValue: 0.1, significant: false, verdict: 'insufficient_data' });
    expect(c.clusters.new).toHaveLength(1);
    expect(c.clusters.resolved).toEqual([]);
  });

  it('no significant change when the rates barely move', async () => {
    const before = await results(1, [...runs(8, {}), ...runs(2, failed('x'))]);
    const after = await results(2, [...runs(7, {}), ...runs(3, failed('x'))]);
    const [row] = compareResults(after, before).rows;
    expect(row).toMatchObject({ passRateDelta: -0.1, significant: false, verdict: 'no_significant_change', direction: 'regressed' });
    expect(compareResults(after, before).clusters.persisting).toHaveLength(1);
  });
});
